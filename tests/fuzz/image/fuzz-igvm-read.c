/* SPDX-License-Identifier: MIT */
/* The IGVM reader (lib/igvm/igvm.c) on arbitrary bytes: it must refuse or accept
 * without reading outside the buffer, and every header it reports must lie inside it.
 * The payload and PVH ELF readers (image.c) get the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "igvm.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
	const uint8_t *buf;
	size_t size;
	uint64_t sum;
};

static int visit(void *ctx, const struct igvm_header_view *h)
{
	struct walk *w = ctx;
	if (h->body < w->buf || h->body + h->length > w->buf + w->size)
		abort();
	for (uint32_t i = 0; i < h->length; i++)
		w->sum += h->body[i];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, exactly sized, so ASan sees any read past the end. */
	uint8_t *buf = malloc(size ? size : 1);
	struct walk w = {buf, size, 0};
	struct igvm_summary s;
	char err[256];

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	(void)igvm_parse(buf, size, visit, &w, &s, err, sizeof(err));
	struct mhcl_payload_header ph;
	if (payload_parse(buf, size, &ph, err, sizeof(err)) == 0)
		for (int i = 0; i < MHCL_PAYLOAD_ITEM_MAX; i++)
			if (ph.item[i].size)
				w.sum += buf[ph.item[i].offset + ph.item[i].size - 1];
	struct pvh_elf e;
	if (pvh_elf_parse(buf, size, &e, err, sizeof(err)) == 0)
		for (unsigned i = 0; i < e.nseg; i++)
			if (e.seg[i].filesz)
				w.sum += buf[e.seg[i].offset + e.seg[i].filesz - 1];
	free(buf);
	return 0;
}
