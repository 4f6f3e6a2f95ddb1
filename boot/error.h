/* SPDX-License-Identifier: MIT */
/* How the shim's parsers explain a refusal: they do not log, the caller does. */
#ifndef MHCL_BOOT_ERROR_H
#define MHCL_BOOT_ERROR_H

#include "rt.h"

struct shim_error {
	char msg[192];
};

/* Fills err (when given) and evaluates to -code. */
#define SHIM_ERR(err, code, ...)                                                                   \
	({                                                                                         \
		if (err)                                                                           \
			rt_snprintf((err)->msg, sizeof((err)->msg), __VA_ARGS__);                  \
		-(code);                                                                           \
	})

#endif
