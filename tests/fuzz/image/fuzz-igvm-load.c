/* SPDX-License-Identifier: MIT */
/* The IGVM loader of mhcl-vp (worker/loader/igvm_load.c) on arbitrary bytes, into 132 MiB of
 * guest RAM (enough for the mhcl image layout's payload at 128 MiB): it must refuse or
 * place the file without touching memory outside guest RAM or outside the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "igvm_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guestmem ram;
	static bool ready;
	struct igvm_load_params p = {.cmdline = "console=ttyS0 mhcl.boot_cpus=1", .vp_count = 2};
	struct igvm_load_result res;
	char err[256];

	if (!ready) {
		if (guestmem_create(132ull << 20, &ram) < 0)
			abort();
		ready = true;
	}
	/* A private copy, exactly sized, so ASan sees any read past the end. */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (igvm_load(&ram, buf, size, &p, &res, err, sizeof(err)) == 0 &&
	    (res.pages < res.zero_pages || !(res.boot.cr0 & 1)))
		abort();
	free(buf);
	return 0;
}
