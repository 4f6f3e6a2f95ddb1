/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing for mhcl, kept free of I/O so it can be unit tested.
 * Not getopt: subcommands take options anywhere and musl and glibc disagree
 * on how to rescan argv.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "diag.pb-c.h"
#include "macros.h"
#include "mhcl.h"

_printf_(3, 4) static int bad(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Decimal u32 in [min, max]; no sign, no trailing bytes. */
static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

int mhcl_target_from(enum mhcl_transport kind, const char *arg, struct mhcl_target *ret)
{
	struct mhcl_target t = {.kind = kind};
	const char *colon;
	uint32_t port;

	if (!arg || !*arg)
		return -EINVAL;
	switch (kind) {
	case MHCL_TRANSPORT_UNIX:
		if (strlen(arg) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return -ENAMETOOLONG;
		break;
	case MHCL_TRANSPORT_TCP:
		/* HOST:PORT, HOST may be a bracketed IPv6 address. */
		colon = strrchr(arg, ':');
		if (!colon || colon == arg || strlen(arg) >= sizeof(t.addr))
			return -EINVAL;
		if (parse_u32(colon + 1, 1, 65535, &port) < 0)
			return -EINVAL;
		break;
	case MHCL_TRANSPORT_VSOCK: {
		char cid[16];
		colon = strchr(arg, ':');
		if (!colon || (size_t)(colon - arg) >= sizeof(cid))
			return -EINVAL;
		memcpy(cid, arg, (size_t)(colon - arg));
		cid[colon - arg] = '\0';
		if (parse_u32(cid, 0, UINT32_MAX, &t.cid) < 0 ||
		    parse_u32(colon + 1, 0, UINT32_MAX, &t.port) < 0)
			return -EINVAL;
		*ret = t;
		return 0;
	}
	default:
		return -EINVAL;
	}
	snprintf(t.addr, sizeof(t.addr), "%s", arg);
	*ret = t;
	return 0;
}

int mhcl_target_parse(const char *spec, struct mhcl_target *ret)
{
	if (!spec)
		return -EINVAL;
	if (spec[0] == '/')
		return mhcl_target_from(MHCL_TRANSPORT_UNIX, spec, ret);
	if (!strncmp(spec, "unix:", 5))
		return mhcl_target_from(MHCL_TRANSPORT_UNIX, spec + 5, ret);
	if (!strncmp(spec, "tcp:", 4))
		return mhcl_target_from(MHCL_TRANSPORT_TCP, spec + 4, ret);
	if (!strncmp(spec, "vsock:", 6))
		return mhcl_target_from(MHCL_TRANSPORT_VSOCK, spec + 6, ret);
	return -EINVAL;
}

void mhcl_target_format(const struct mhcl_target *t, char *buf, size_t len)
{
	switch (t->kind) {
	case MHCL_TRANSPORT_UNIX:
		snprintf(buf, len, "unix:%s", t->addr);
		break;
	case MHCL_TRANSPORT_TCP:
		snprintf(buf, len, "tcp:%s", t->addr);
		break;
	case MHCL_TRANSPORT_VSOCK:
		snprintf(buf, len, "vsock:%u:%u", t->cid, t->port);
		break;
	}
}

static const char *const signal_names[] = {
    [1] = "HUP",   [2] = "INT",	    [3] = "QUIT",  [4] = "ILL",	    [5] = "TRAP",  [6] = "ABRT",
    [7] = "BUS",   [8] = "FPE",	    [9] = "KILL",  [10] = "USR1",   [11] = "SEGV", [12] = "USR2",
    [13] = "PIPE", [14] = "ALRM",   [15] = "TERM", [16] = "STKFLT", [17] = "CHLD", [18] = "CONT",
    [19] = "STOP", [20] = "TSTP",   [21] = "TTIN", [22] = "TTOU",   [23] = "URG",  [24] = "XCPU",
    [25] = "XFSZ", [26] = "VTALRM", [27] = "PROF", [28] = "WINCH",  [29] = "IO",   [30] = "PWR",
    [31] = "SYS",
};

const char *mhcl_signal_name(int sig)
{
	if (sig <= 0 || (size_t)sig >= ARRAY_SIZE(signal_names))
		return NULL;
	return signal_names[sig];
}

int mhcl_signal_parse(const char *s, int *ret_sig)
{
	uint32_t n;

	if (!s || !*s)
		return -EINVAL;
	if (parse_u32(s, 1, DIAG_SIGNAL_MAX, &n) == 0) {
		*ret_sig = (int)n;
		return 0;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 1; i < ARRAY_SIZE(signal_names); i++) {
		if (!strcasecmp(s, signal_names[i])) {
			*ret_sig = (int)i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const fault_names[] = {
    [MHCL__FAULT_KIND__FAULT_NONE] = "none",
    [MHCL__FAULT_KIND__FAULT_FORBIDDEN_SYSCALL] = "syscall",
    [MHCL__FAULT_KIND__FAULT_ABORT] = "abort",
    [MHCL__FAULT_KIND__FAULT_HANG] = "hang",
};

int mhcl_fault_parse(const char *s, int *ret_fault)
{
	if (!s)
		return -EINVAL;
	/* "none" is not offered: no --fault means a signal. */
	for (size_t i = 1; i < ARRAY_SIZE(fault_names); i++) {
		if (!strcmp(s, fault_names[i])) {
			*ret_fault = (int)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *mhcl_fault_name(int fault)
{
	if (fault < 0 || (size_t)fault >= ARRAY_SIZE(fault_names))
		return "?";
	return fault_names[fault];
}

int mhcl_server_path_parse(const char *arg, char ret_server[DIAG_NAME_MAX + 1],
			   const char **ret_path)
{
	const char *slash = strchr(arg, '/');
	size_t nlen = slash ? (size_t)(slash - arg) : strlen(arg);
	const char *path = slash ? slash + 1 : "";

	if (!diag_name_valid(arg, nlen))
		return -EINVAL;
	if (!diag_path_valid(path, strlen(path)))
		return -EINVAL;
	memcpy(ret_server, arg, nlen);
	ret_server[nlen] = '\0';
	*ret_path = path;
	return 0;
}

enum opt_id {
	OPT_JSON,
	OPT_TIMEOUT,
	OPT_SOCKET,
	OPT_TCP,
	OPT_VSOCK,
	OPT_HELP,
	OPT_FOLLOW,
	OPT_SIGNAL,
	OPT_FAULT,
	OPT_LINES,
	OPT_INTERVAL,
	OPT_COUNT,
	OPT_SECRET_FILE,
};

struct opt_def {
	const char *lng;
	char shrt;
	bool has_arg;
	enum opt_id id;
};

static const struct opt_def opt_defs[] = {
    {"json", 'j', false, OPT_JSON},	 {"timeout", 't', true, OPT_TIMEOUT},
    {"socket", 0, true, OPT_SOCKET},	 {"tcp", 0, true, OPT_TCP},
    {"vsock", 0, true, OPT_VSOCK},	 {"help", 'h', false, OPT_HELP},
    {"follow", 'f', false, OPT_FOLLOW},	 {"signal", 's', true, OPT_SIGNAL},
    {"fault", 0, true, OPT_FAULT},	 {"lines", 'n', true, OPT_LINES},
    {"interval", 0, true, OPT_INTERVAL}, {"count", 'c', true, OPT_COUNT},
    {"secret-file", 0, true, OPT_SECRET_FILE},
};

static const struct opt_def *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_defs); i++)
		if (strlen(opt_defs[i].lng) == len && !strncmp(opt_defs[i].lng, name, len))
			return &opt_defs[i];
	return NULL;
}

static const struct opt_def *find_short(char c)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_defs); i++)
		if (opt_defs[i].shrt && opt_defs[i].shrt == c)
			return &opt_defs[i];
	return NULL;
}

static int apply(struct mhcl_args *a, const struct opt_def *o, const char *val, bool *target_set,
		 char *err, size_t err_len)
{
	int r;

	switch (o->id) {
	case OPT_JSON:
		a->json = true;
		return 0;
	case OPT_HELP:
		a->help = true;
		return 0;
	case OPT_TIMEOUT:
		if (parse_u32(val, 1, MHCL_TIMEOUT_MAX_MS, &a->timeout_ms) < 0)
			return bad(err, err_len, "--timeout wants milliseconds in 1..%u, not '%s'",
				   MHCL_TIMEOUT_MAX_MS, val);
		return 0;
	case OPT_SOCKET:
	case OPT_TCP:
	case OPT_VSOCK:
		if (*target_set)
			return bad(err, err_len, "only one of --socket, --tcp, --vsock");
		r = mhcl_target_from(o->id == OPT_SOCKET ? MHCL_TRANSPORT_UNIX
				     : o->id == OPT_TCP	 ? MHCL_TRANSPORT_TCP
							 : MHCL_TRANSPORT_VSOCK,
				     val, &a->target);
		if (r < 0)
			return bad(err, err_len, "--%s: invalid address '%s'%s", o->lng, val,
				   o->id == OPT_TCP	? " (want HOST:PORT)"
				   : o->id == OPT_VSOCK ? " (want CID:PORT)"
							: "");
		*target_set = true;
		return 0;
	case OPT_SECRET_FILE:
		if (!*val)
			return bad(err, err_len, "--secret-file wants a path");
		a->secret_file = val;
		return 0;
	case OPT_FOLLOW:
		a->follow = true;
		a->opts_seen |= MHCL_OPT_FOLLOW;
		return 0;
	case OPT_SIGNAL:
		if (mhcl_signal_parse(val, &a->signal) < 0)
			return bad(err, err_len, "unknown signal '%s'", val);
		a->opts_seen |= MHCL_OPT_SIGNAL;
		return 0;
	case OPT_FAULT:
		if (mhcl_fault_parse(val, &a->fault) < 0)
			return bad(err, err_len, "unknown fault '%s' (want syscall, abort or hang)",
				   val);
		a->opts_seen |= MHCL_OPT_FAULT;
		return 0;
	case OPT_LINES:
		if (parse_u32(val, 1, DIAG_LOG_LINES_MAX, &a->lines) < 0)
			return bad(err, err_len, "--lines wants 1..%u, not '%s'",
				   DIAG_LOG_LINES_MAX, val);
		a->opts_seen |= MHCL_OPT_LINES;
		return 0;
	case OPT_COUNT:
		if (parse_u32(val, 1, MHCL_COUNT_MAX, &a->count) < 0)
			return bad(err, err_len, "--count wants 1..%u, not '%s'", MHCL_COUNT_MAX,
				   val);
		a->opts_seen |= MHCL_OPT_COUNT;
		return 0;
	case OPT_INTERVAL:
		if (parse_u32(val, 10, 60000, &a->interval_ms) < 0)
			return bad(err, err_len,
				   "--interval wants milliseconds in 10..60000, not '%s'", val);
		a->opts_seen |= MHCL_OPT_INTERVAL;
		return 0;
	}
	return -EINVAL;
}

int mhcl_args_parse(int argc, char **argv, const char *default_target, struct mhcl_args *ret,
		    char *err, size_t err_len)
{
	struct mhcl_args a = {
	    .timeout_ms = MHCL_DEFAULT_TIMEOUT_MS,
	    .interval_ms = MHCL_FOLLOW_INTERVAL_MS,
	};
	bool target_set = false, only_pos = false;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const struct opt_def *o;
		const char *val = NULL;

		if (only_pos || arg[0] != '-' || arg[1] == '\0') {
			if (!a.cmd) {
				a.cmd = arg;
				continue;
			}
			if (a.npos >= MHCL_POS_MAX)
				return bad(err, err_len, "too many arguments at '%s'", arg);
			a.pos[a.npos++] = arg;
			continue;
		}
		if (!strcmp(arg, "--")) {
			only_pos = true;
			continue;
		}
		if (arg[1] == '-') {
			const char *eq = strchr(arg + 2, '=');
			size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
			o = find_long(arg + 2, len);
			if (!o)
				return bad(err, err_len, "unknown option '%s'", arg);
			if (eq) {
				if (!o->has_arg)
					return bad(err, err_len, "option '--%s' takes no value",
						   o->lng);
				val = eq + 1;
			}
		} else {
			/* One short option per word; "-n5" style is accepted for its value. */
			o = find_short(arg[1]);
			if (!o)
				return bad(err, err_len, "unknown option '%s'", arg);
			if (arg[2]) {
				if (!o->has_arg)
					return bad(err, err_len, "unknown option '%s'", arg);
				val = arg + 2;
			}
		}
		if (o->has_arg && !val) {
			if (i + 1 >= argc)
				return bad(err, err_len, "option '--%s' needs a value", o->lng);
			val = argv[++i];
		}
		r = apply(&a, o, val, &target_set, err, err_len);
		if (r < 0)
			return r;
	}
	if (!target_set) {
		const char *spec =
		    default_target && *default_target ? default_target : MHCL_DEFAULT_TARGET;
		if (mhcl_target_parse(spec, &a.target) < 0)
			return bad(err, err_len,
				   "invalid diag address '%s' (want unix:PATH, tcp:HOST:PORT or "
				   "vsock:CID:PORT)",
				   spec);
	}
	*ret = a;
	return 0;
}

int mhcl_args_check(const struct mhcl_args *a, unsigned allowed, int min_pos, int max_pos,
		    char *err, size_t err_len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
	    {MHCL_OPT_FOLLOW, "--follow"},     {MHCL_OPT_SIGNAL, "--signal"},
	    {MHCL_OPT_FAULT, "--fault"},       {MHCL_OPT_LINES, "--lines"},
	    {MHCL_OPT_INTERVAL, "--interval"}, {MHCL_OPT_COUNT, "--count"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if ((a->opts_seen & names[i].bit) && !(allowed & names[i].bit))
			return bad(err, err_len, "%s does not take %s", a->cmd, names[i].name);
	if (a->npos < min_pos)
		return bad(err, err_len, "%s: missing argument", a->cmd);
	if (a->npos > max_pos)
		return bad(err, err_len, "%s: unexpected argument '%s'", a->cmd, a->pos[max_pos]);
	return 0;
}
