/* SPDX-License-Identifier: MIT */
/* The init manifest parser on arbitrary bytes: it is configuration from the
 * host in image mode. Must never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m = NULL;
	char err[256];

	if (manifest_parse(data, size, "/run/mhcl", &m, err, sizeof(err)) < 0)
		return 0;
	/* Whatever parsed must be self-consistent. */
	for (size_t i = 0; i < m->nservers; i++) {
		const struct srv_conf *c = &m->servers[i];
		if (!c->name[0] || !c->binary[0] || !c->policy[0] || c->nargs > MANIFEST_ARGS_MAX ||
		    c->args[c->nargs] != NULL || c->restart_delay_max_ms < c->restart_delay_ms)
			__builtin_trap();
	}
	manifest_free(m);
	return 0;
}
