/* SPDX-License-Identifier: MIT */
/*
 * Header self-containment: each diag and CLI header is included first and
 * alone by its own generated translation unit (header.c.in) linked into this
 * test, so a header that needs another include fails the build.
 */
int main(void)
{
	return 0;
}
