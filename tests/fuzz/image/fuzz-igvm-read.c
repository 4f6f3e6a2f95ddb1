/* SPDX-License-Identifier: MIT */
/* The IGVM reader (tools/mhcl-image/igvm.c) on arbitrary bytes: it must refuse or accept
 * without reading outside the buffer, and every header it reports must lie inside it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "igvm.h"

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
	free(buf);
	return 0;
}
