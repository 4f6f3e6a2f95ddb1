/* SPDX-License-Identifier: MIT */
/*
 * The shim's command-line filter. Tokens are read the way Linux reads them
 * (lib/cmdline.c next_arg, kernel/params.c parameq), so that what the filter
 * decides about a parameter is what the kernel will act on. Pure C over
 * caller-supplied strings: builds hosted for unit tests and fuzzing.
 */
#ifndef MHCL_BOOT_CMDLINE_H
#define MHCL_BOOT_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shim_error;

#define SHIM_MAX_CMDLINE 4096u
#define SHIM_PARAM_NAME_MAX 64u	  /* longer names are kept truncated and never match */
#define SHIM_DROPPED_NAMES 512u	  /* room for the dropped names, NUL-separated */
#define SHIM_DROPPED_NAME_MAX 32u /* each logged name is cut to this many bytes */

/* One parameter as Linux sees it. */
struct shim_param {
	const char *raw; /* the token as written (quotes included) */
	size_t raw_len;
	/* Linux's name: a leading '"' dropped (and the closing one of a quoted
	 * token), '-' turned into '_'. NUL-terminated, cut to the buffer. */
	char name[SHIM_PARAM_NAME_MAX];
	size_t name_len;   /* full length; > SHIM_PARAM_NAME_MAX - 1 means cut */
	bool has_value;	   /* an '=' after the first byte of the name */
	const char *value; /* inside raw, with the quotes Linux removes removed */
	size_t value_len;
	bool ends_options; /* exactly "--" (compared before '-' becomes '_'): the rest is init's */
};

/* Shim options taken off the command line (they are not passed to Linux). */
struct shim_options {
	bool isolated;	    /* mhcl.isolated, or preset from the host tree's /chosen */
	bool sidecar;	    /* mhcl.sidecar=on|off, default on */
	uint32_t boot_cpus; /* mhcl.boot_cpus=N: CPUs Linux starts with, default 1 */
	char fault[4];	    /* mhcl.debug.fault=ud|pf|gp: fault on purpose (never when isolated) */
	/* Parameters dropped because of isolation: how many, and their Linux names
	 * (never their values), NUL-separated, cut to SHIM_DROPPED_NAME_MAX bytes
	 * each with bytes outside printable ASCII shown as '?'. */
	uint32_t dropped;
	char dropped_names[SHIM_DROPPED_NAMES];
	uint32_t dropped_names_len; /* bytes used, NULs included */
	bool dropped_names_cut;	    /* some names did not fit */
};

/* Linux's isspace() (lib/ctype.c): \t \n \v \f \r, space, and 0xa0. */
bool shim_cmdline_is_space(unsigned char c);

/*
 * Reads the next parameter from *cursor as Linux's next_arg does: a leading
 * '"' opens a quote that spans spaces, quotes toggle anywhere, the first '='
 * after the first byte splits name and value. Advances *cursor; false at the
 * end of the string.
 */
bool shim_param_next(const char **cursor, struct shim_param *ret);

/* Whether isolated mode accepts p from the host (allow-list plus value check). */
bool shim_param_host_allowed(const struct shim_param *p);

/* Whether p opens a debug or diagnostic path (deny-list, Linux's name matching). */
bool shim_param_denied(const struct shim_param *p);

/*
 * Splits the image's command line (from the payload, part of the measured
 * image) and the host's (loader's -append, IGVM command line area) into shim
 * options and the Linux command line (written to out, NUL-terminated: the
 * image's parameters, then the host's). Isolation (already set in *opts from
 * the host tree, or mhcl.isolated in either line) applies to the whole
 * parse: host parameters must then be on the allow-list, image parameters
 * must not be on the deny-list, mhcl.debug.fault is ignored; each dropped
 * parameter is counted in opts->dropped and named in opts->dropped_names.
 * Either line may be NULL. -EINVAL on a malformed shim option, -E2BIG if a
 * line is too long or out too small.
 */
int shim_cmdline_parse(const char *image, const char *host, struct shim_options *opts, char *out,
		       size_t out_size, struct shim_error *err);

#endif
