/* SPDX-License-Identifier: MIT */
/*
 * Command-line filtering. The host's command line is untrusted in isolated
 * mode, and Linux is lenient in how it reads parameter names: it drops a
 * leading '"', treats '-' and '_' alike, and matches __setup() names as
 * prefixes. A byte-exact filter is therefore bypassed by "init=/bin/sh" or
 * ignore-loglevel, so every decision here is made on Linux's view of the
 * token (shim_param_next), and isolated mode takes from the host only an
 * allow-list.
 */
#include <errno.h>
#include <string.h>

#include "cmdline.h"
#include "config.h"
#include "error.h"

bool shim_cmdline_is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0;
}

bool shim_param_next(const char **cursor, struct shim_param *ret)
{
	const char *s = *cursor;
	bool quoted = false, in_quote = false;
	size_t i, eq = 0;

	while (shim_cmdline_is_space((unsigned char)*s))
		s++;
	if (!*s) {
		*cursor = s;
		return false;
	}
	const char *a = s;
	if (*a == '"') {
		a++;
		quoted = in_quote = true;
	}
	for (i = 0; a[i]; i++) {
		if (shim_cmdline_is_space((unsigned char)a[i]) && !in_quote)
			break;
		/* An '=' in the first byte does not split (eq stays 0), as in next_arg. */
		if (!eq && a[i] == '=')
			eq = i;
		if (a[i] == '"')
			in_quote = !in_quote;
	}
	const char *end = a + i;
	/* A quoted token loses its closing quote, from the value or from the name. */
	const char *trimmed = quoted && i > 0 && end[-1] == '"' ? end - 1 : end;

	memset(ret, 0, sizeof(*ret));
	ret->raw = s;
	ret->raw_len = (size_t)(end - s);
	ret->name_len = eq ? eq : (size_t)(trimmed - a);
	if (eq) {
		const char *v = a + eq + 1, *vend = trimmed;
		if (v < end && *v == '"') {
			v++;
			if (end[-1] == '"')
				vend = end - 1;
		}
		ret->has_value = true;
		ret->value = v;
		ret->value_len = vend > v ? (size_t)(vend - v) : 0;
	}
	size_t keep =
	    ret->name_len < SHIM_PARAM_NAME_MAX - 1 ? ret->name_len : SHIM_PARAM_NAME_MAX - 1;
	ret->ends_options = !eq && ret->name_len == 2 && a[0] == '-' && a[1] == '-';
	for (size_t k = 0; k < keep; k++)
		ret->name[k] = a[k] == '-' ? '_' : a[k];
	ret->name[keep] = '\0';
	*cursor = end;
	return true;
}

static bool name_is(const struct shim_param *p, const char *name)
{
	size_t n = strlen(name);
	return p->name_len == n && n < SHIM_PARAM_NAME_MAX && memcmp(p->name, name, n) == 0;
}

static bool value_is(const struct shim_param *p, const char *v)
{
	size_t n = strlen(v);
	return p->has_value && p->value_len == n && memcmp(p->value, v, n) == 0;
}

/* Value is an optional '-' and 1..max_digits decimal digits. */
static bool value_is_int(const struct shim_param *p, size_t max_digits)
{
	size_t k = p->value_len && p->value[0] == '-' ? 1 : 0;
	if (!p->has_value || p->value_len <= k || p->value_len - k > max_digits)
		return false;
	for (; k < p->value_len; k++)
		if (p->value[k] < '0' || p->value[k] > '9')
			return false;
	return true;
}

/* ---------------- deny-list ---------------- */

/*
 * Debug and diagnostic enablement, by Linux name. Linux matches __setup()
 * names as prefixes (init/main.c obsolete_checksetup uses parameqn over the
 * name's length), so most entries here match any name they begin; `exact`
 * ones are early_param()s or "name=" setups, which Linux matches whole.
 */
static const struct {
	const char *name;
	bool exact;
} denied[] = {
    {"mhcl.debug", false},	     /* shim and init debug switches */
    {"mhcl.diag", false},	     /* diagnostics server */
    {"mhcl.shell", false},	     /* a shell on the console */
    {"earlyprintk", false},	     /* early console, also parsed by the x86 boot code */
    {"earlycon", false},	     /* early console (console= alone is the image's) */
    {"debug", true},		     /* console loglevel 10 */
    {"ignore_loglevel", false},	     /* every printk to the console */
    {"initcall_debug", false},	     /* traces every initcall */
    {"sysrq_always_enabled", false}, /* magic SysRq from the (host) console */
    {"kgdb", false},		     /* kgdboc kgdbwait kgdbcon kgdbdbgp kgdboc_earlycon */
    {"ekgdboc", false},		     /* kgdb over the early console */
    {"init", true},		     /* another program as PID 1 */
    {"rdinit", true},		     /* another program as the initramfs' PID 1 */
};

bool shim_param_denied(const struct shim_param *p)
{
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		size_t n = strlen(denied[i].name);
		if (p->name_len < n || memcmp(p->name, denied[i].name, n) != 0)
			continue;
		if (!denied[i].exact || p->name_len == n)
			return true;
	}
	return false;
}

/* ---------------- allow-list (isolated mode, host parameters) ---------------- */

static bool no_value(const struct shim_param *p)
{
	return !p->has_value;
}

/* 0..4: the console shows warnings at most; more is what `debug` would give. */
static bool loglevel_quiet(const struct shim_param *p)
{
	return p->value_len == 1 && value_is_int(p, 1) && p->value[0] <= '4';
}

static bool panic_timeout(const struct shim_param *p)
{
	return value_is_int(p, 6);
}

/* Shim options: the shim validates their values itself when it takes them. */
static bool shim_option(const struct shim_param *p)
{
	(void)p;
	return true;
}

/*
 * Everything isolated mode accepts from the host. Kept short on purpose: the
 * image's own command line (measured with it) carries what the image needs,
 * console= included, so the host only tunes what cannot open a path into the
 * guest or weaken it.
 */
static const struct {
	const char *name;
	bool (*value_ok)(const struct shim_param *p);
} allowed[] = {
    {"quiet", no_value},	     /* fewer console messages */
    {"loglevel", loglevel_quiet},    /* bounded, see loglevel_quiet */
    {"panic", panic_timeout},	     /* reboot delay after a panic: the host owns the VM's life */
    {"mhcl.isolated", shim_option},  /* can only tighten */
    {"mhcl.sidecar", shim_option},   /* CPU parking: the host owns the CPUs anyway */
    {"mhcl.boot_cpus", shim_option}, /* likewise; passed on as maxcpus= */
};

/* Only plain printable ASCII without quotes, so that every parser of the line (x86 boot
 * code splits at any byte <= ' ' and knows no quotes) sees this same single token. */
static bool plain_token(const struct shim_param *p)
{
	for (size_t k = 0; k < p->raw_len; k++) {
		unsigned char c = (unsigned char)p->raw[k];
		if (c <= ' ' || c > '~' || c == '"')
			return false;
	}
	return true;
}

bool shim_param_host_allowed(const struct shim_param *p)
{
	if (!plain_token(p) || shim_param_denied(p))
		return false;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (name_is(p, allowed[i].name))
			return allowed[i].value_ok(p);
	return false;
}

/* ---------------- the parse ---------------- */

static void note_dropped(struct shim_options *o, const struct shim_param *p)
{
	size_t n = p->name_len < SHIM_DROPPED_NAME_MAX ? p->name_len : SHIM_DROPPED_NAME_MAX;
	if (n > SHIM_PARAM_NAME_MAX - 1)
		n = SHIM_PARAM_NAME_MAX - 1;

	o->dropped++;
	if (o->dropped_names_len + n + 1 > sizeof(o->dropped_names)) {
		o->dropped_names_cut = true;
		return;
	}
	char *d = o->dropped_names + o->dropped_names_len;
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)p->name[k];
		d[k] = c > ' ' && c <= '~' ? (char)c : '?';
	}
	d[n] = '\0';
	o->dropped_names_len += (uint32_t)(n + 1);
}

/* mhcl.isolated anywhere: isolation must be known before anything is filtered. */
static int find_isolation(const char *line, struct shim_options *opts, struct shim_error *err)
{
	struct shim_param p;

	for (const char *c = line; c && shim_param_next(&c, &p);) {
		if (!name_is(&p, "mhcl.isolated"))
			continue;
		if (p.has_value && !value_is(&p, "1"))
			return SHIM_ERR(err, EINVAL,
					"mhcl.isolated takes no value (isolation cannot be "
					"turned off)");
		opts->isolated = true;
	}
	return 0;
}

/* Takes a shim option: 1 if p was one (consumed), 0 if not, -EINVAL if malformed. */
static int take_shim_option(const struct shim_param *p, struct shim_options *opts,
			    struct shim_error *err)
{
	if (name_is(p, "mhcl.isolated"))
		return 1; /* validated by find_isolation */
	if (name_is(p, "mhcl.sidecar")) {
		if (value_is(p, "on"))
			opts->sidecar = true;
		else if (value_is(p, "off"))
			opts->sidecar = false;
		else
			return SHIM_ERR(err, EINVAL, "mhcl.sidecar must be on or off");
		return 1;
	}
	if (name_is(p, "mhcl.boot_cpus")) {
		uint32_t n = 0;
		if (!value_is_int(p, 4) || p->value[0] == '-')
			return SHIM_ERR(err, EINVAL, "mhcl.boot_cpus needs a number 1..%u",
					SHIM_MAX_CPUS);
		for (size_t i = 0; i < p->value_len; i++)
			n = n * 10 + (uint32_t)(p->value[i] - '0');
		if (n < 1 || n > SHIM_MAX_CPUS)
			return SHIM_ERR(err, EINVAL, "mhcl.boot_cpus=%u out of range 1..%u", n,
					SHIM_MAX_CPUS);
		opts->boot_cpus = n;
		return 1;
	}
	if (name_is(p, "mhcl.debug.fault")) {
		if (opts->isolated) {
			note_dropped(opts, p); /* never armed when isolated, whatever its value */
			return 1;
		}
		if (!value_is(p, "ud") && !value_is(p, "pf") && !value_is(p, "gp"))
			return SHIM_ERR(err, EINVAL, "mhcl.debug.fault must be ud, pf or gp");
		memcpy(opts->fault, p->value, 2);
		opts->fault[2] = '\0';
		return 1;
	}
	return 0;
}

static int append(char *out, size_t out_size, size_t *len, const struct shim_param *p,
		  struct shim_error *err)
{
	if (*len + (*len ? 1 : 0) + p->raw_len + 1 > out_size)
		return SHIM_ERR(err, E2BIG, "Linux command line exceeds %zu bytes", out_size - 1);
	if (*len)
		out[(*len)++] = ' ';
	memcpy(out + *len, p->raw, p->raw_len);
	*len += p->raw_len;
	out[*len] = '\0';
	return 0;
}

/* One line's parameters into out. from_host: subject to the allow-list when isolated. */
static int filter_line(const char *line, bool from_host, struct shim_options *opts, char *out,
		       size_t out_size, size_t *len, struct shim_error *err)
{
	struct shim_param p;
	bool after_end = false; /* the host's "--": the rest would be init's argv/envp */
	int r;

	for (const char *c = line; c && shim_param_next(&c, &p);) {
		if (opts->isolated && from_host) {
			after_end = after_end || p.ends_options;
			if (after_end || !shim_param_host_allowed(&p)) {
				note_dropped(opts, &p);
				continue;
			}
		}
		r = take_shim_option(&p, opts, err);
		if (r < 0)
			return r;
		if (r)
			continue;
		if (opts->isolated && shim_param_denied(&p)) {
			note_dropped(opts, &p);
			continue;
		}
		r = append(out, out_size, len, &p, err);
		if (r)
			return r;
	}
	return 0;
}

int shim_cmdline_parse(const char *image, const char *host, struct shim_options *opts, char *out,
		       size_t out_size, struct shim_error *err)
{
	size_t len = 0;
	int r;

	if (!out_size)
		return SHIM_ERR(err, E2BIG, "no room for the command line");
	out[0] = '\0';
	if ((image && strnlen(image, SHIM_MAX_CMDLINE) >= SHIM_MAX_CMDLINE) ||
	    (host && strnlen(host, SHIM_MAX_CMDLINE) >= SHIM_MAX_CMDLINE))
		return SHIM_ERR(err, E2BIG, "command line longer than %u bytes",
				SHIM_MAX_CMDLINE - 1);

	r = find_isolation(image, opts, err);
	if (!r)
		r = find_isolation(host, opts, err);
	if (!r)
		r = filter_line(image, false, opts, out, out_size, &len, err);
	if (!r)
		r = filter_line(host, true, opts, out, out_size, &len, err);
	return r;
}
