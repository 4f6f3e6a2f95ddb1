/* SPDX-License-Identifier: MIT */
/* The header checks are compile-time; running is trivially fine. */
int main(void)
{
	return 0;
}
