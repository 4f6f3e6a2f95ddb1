/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jail.h"
#include "macros.h"

#define MANIFEST_PATH "/mhcl/manifest"
#define MANIFEST_COMPATIBLE "mhcl,manifest-v1"

static const char *const restart_names[_RESTART_MAX] = {
    [RESTART_ALWAYS] = "always",
    [RESTART_ON_FAILURE] = "on-failure",
    [RESTART_NEVER] = "never",
};

const char *restart_policy_name(enum restart_policy p)
{
	if ((int)p < 0 || p >= _RESTART_MAX)
		return "invalid";
	return restart_names[p];
}

static const struct {
	const char *name;
	uint32_t flag;
} ns_names[] = {
    {"ipc", CLONE_NEWIPC},  {"uts", CLONE_NEWUTS},	 {"net", CLONE_NEWNET},
    {"mount", CLONE_NEWNS}, {"cgroup", CLONE_NEWCGROUP},
};

/* u32 properties: name, offset in srv_conf, bounds. */
static const struct {
	const char *name;
	size_t off;
	uint32_t min, max;
} u32_props[] = {
    {"start-order", offsetof(struct srv_conf, start_order), 0, 10000},
    {"rlimit-nofile", offsetof(struct srv_conf, rlimit_nofile), 16, 1048576},
    {"ready-timeout-ms", offsetof(struct srv_conf, ready_timeout_ms), 10, 600000},
    {"restart-delay-ms", offsetof(struct srv_conf, restart_delay_ms), 10, 600000},
    {"restart-delay-max-ms", offsetof(struct srv_conf, restart_delay_max_ms), 10, 3600000},
    {"crash-loop-limit", offsetof(struct srv_conf, crash_loop_limit), 1, 64},
    {"crash-loop-window-ms", offsetof(struct srv_conf, crash_loop_window_ms), 100, 86400000},
    {"stop-timeout-ms", offsetof(struct srv_conf, stop_timeout_ms), 10, 600000},
};

int config_fail(char *err, size_t err_len, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return r;
}

static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return false;
	return true;
}

/*
 * Splits a string-list property into at most max strings. Each must be
 * NUL-terminated, shorter than MANIFEST_STR_MAX and printable; empty strings
 * only when allow_empty. Returns the count or -EINVAL.
 */
int config_split_strings(const char *val, int len, const char **out, size_t max, bool allow_empty)
{
	size_t n = 0;
	int pos = 0;

	if (len <= 0 || val[len - 1] != '\0')
		return -EINVAL;
	while (pos < len) {
		size_t l = strnlen(val + pos, (size_t)(len - pos));
		if (l >= MANIFEST_STR_MAX || (l == 0 && !allow_empty) || !printable(val + pos, l))
			return -EINVAL;
		if (n >= max)
			return -E2BIG;
		out[n++] = val + pos;
		pos += (int)l + 1;
	}
	return (int)n;
}

static int one_string(const char *val, int len, char *dst, size_t dst_len)
{
	const char *s;
	int n = config_split_strings(val, len, &s, 1, false);
	if (n != 1 || strlen(s) >= dst_len)
		return -EINVAL;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* Replaces every ${RUN} in s with run_dir; returns a malloc'd string. */
static char *subst_run(const char *s, const char *run_dir)
{
	static const char key[] = "${RUN}";
	size_t klen = sizeof(key) - 1, rlen = strlen(run_dir), count = 0;

	for (const char *p = strstr(s, key); p; p = strstr(p + klen, key))
		count++;
	size_t len = strlen(s) + count * rlen + 1;
	char *out = malloc(len), *o = out;
	if (!out)
		return NULL;
	while (*s) {
		if (strncmp(s, key, klen) == 0) {
			memcpy(o, run_dir, rlen);
			o += rlen;
			s += klen;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static bool valid_node_name(const char *n)
{
	size_t l = strlen(n);
	if (l == 0 || l >= MANIFEST_NAME_MAX)
		return false;
	for (size_t i = 0; i < l; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static void conf_defaults(struct srv_conf *c)
{
	c->restart = RESTART_ON_FAILURE;
	c->start_order = 100;
	c->rlimit_nofile = 1024;
	c->ready_timeout_ms = 5000;
	c->restart_delay_ms = 1000;
	c->restart_delay_max_ms = 30000;
	c->crash_loop_limit = 5;
	c->crash_loop_window_ms = 60000;
	c->stop_timeout_ms = 5000;
}

static void conf_clear(struct srv_conf *c)
{
	for (size_t i = 0; i < c->nargs; i++)
		free(c->args[i]);
	c->nargs = 0;
	c->args[0] = NULL;
}

static const char *const var_names[] = {"GUEST_VPS",  "GUEST_MEMORY_MIB", "GUEST_DATA_DISK",
					"GUEST_NVME", "GUEST_NIC_MAC",	  "NIC_INDEX"};
#define VAR_DATA_DISK 2u
#define VAR_NVME 3u

/* How many values list variable k has (the others are no lists: 0). */
static unsigned list_len(const struct manifest_vars *v, size_t k)
{
	return k == VAR_DATA_DISK ? v->nguest_data_disks : k == VAR_NVME ? v->nguest_nvme : 0;
}

/* Which variable the ${...} reference at name (nlen bytes of name) is, or -1. */
static int var_index(const char *name, size_t nlen)
{
	for (size_t k = 0; k < ARRAY_SIZE(var_names); k++)
		if (strlen(var_names[k]) == nlen && strncmp(var_names[k], name, nlen) == 0)
			return (int)k;
	return -1;
}

/* A ${NAME} or ${NAME:-default} reference. */
struct var_ref {
	int k;		  /* var_names index, -1: unknown */
	const char *name; /* nlen bytes */
	size_t nlen;
	const char *dflt; /* dlen bytes; NULL: none */
	size_t dlen;
};

/* The reference at p (which starts with "${"): the byte after its '}', or NULL when it
 * has none (then p is no reference). */
static const char *parse_ref(const char *p, struct var_ref *ref)
{
	const char *end = strchr(p, '}');
	if (!end)
		return NULL;
	const char *name = p + 2, *d = strstr(name, ":-");
	bool has_dflt = d && d < end;
	ref->name = name;
	ref->nlen = (size_t)((has_dflt ? d : end) - name);
	ref->k = var_index(name, ref->nlen);
	ref->dflt = has_dflt ? d + 2 : NULL;
	ref->dlen = has_dflt ? (size_t)(end - (d + 2)) : 0;
	return end + 1;
}

/* ${NAME} or ${NAME:-default} in s, for the host's variables (struct manifest_vars), with
 * value number item of the list variable s names. */
static int subst_vars(const char *s, const struct manifest_vars *v, unsigned item, char **ret,
		      char *why, size_t why_len)
{
	char vps[12] = "", mem[12] = "", nic[12] = "";
	if (v->guest_vps)
		snprintf(vps, sizeof(vps), "%u", v->guest_vps);
	if (v->guest_memory_mib)
		snprintf(mem, sizeof(mem), "%u", v->guest_memory_mib);
	if (v->in_per_nic)
		snprintf(nic, sizeof(nic), "%u", v->nic);
	unsigned mac = v->in_per_nic ? v->nic : 0;
	const char *vals[] = {vps,
			      mem,
			      item < v->nguest_data_disks ? v->guest_data_disks[item] : "",
			      item < v->nguest_nvme ? v->guest_nvme[item] : "",
			      mac < v->nguest_nic_macs ? v->guest_nic_macs[mac] : "",
			      nic};
	static_assert(ARRAY_SIZE(var_names) == ARRAY_SIZE(vals), "a value per name");
	static_assert(VAR_DATA_DISK < ARRAY_SIZE(vals) && VAR_NVME < ARRAY_SIZE(vals),
		      "the lists are among them");
	char out[MANIFEST_STR_MAX];
	size_t o = 0;

	while (*s) {
		struct var_ref ref;
		const char *next = strncmp(s, "${", 2) == 0 ? parse_ref(s, &ref) : NULL;
		if (!next) {
			if (o + 1 >= sizeof(out))
				goto too_long;
			out[o++] = *s++;
			continue;
		}
		if (ref.k < 0) {
			snprintf(why, why_len, "unknown variable '${%.*s}'",
				 (int)MIN(ref.nlen, 32u), ref.name);
			return -EINVAL;
		}
		const char *val = vals[ref.k][0] ? vals[ref.k] : ref.dflt;
		size_t vlen = vals[ref.k][0] ? strlen(val) : ref.dlen;
		if (!val) {
			snprintf(why, why_len, "${%s} is not set and has no default",
				 var_names[ref.k]);
			return -EINVAL;
		}
		if (o + vlen >= sizeof(out))
			goto too_long;
		memcpy(out + o, val, vlen);
		o += vlen;
		s = next;
	}
	out[o] = '\0';
	*ret = strdup(out);
	return *ret ? 0 : -ENOMEM;
too_long:
	snprintf(why, why_len, "longer than %u bytes once substituted", MANIFEST_STR_MAX - 1);
	return -EINVAL;
}

/*
 * How many strings s stands for: one per value of the list variable it names (a data
 * disk, an NVMe function); with the list empty, one if the reference has a default, else
 * none; one if it names no list. -EINVAL for two different lists in one string.
 */
static int copies(const char *s, const struct manifest_vars *v, char *why, size_t why_len)
{
	int list = -1;
	bool dflt = false;
	struct var_ref ref;
	for (const char *p = strstr(s, "${"); p; p = strstr(p, "${")) {
		const char *next = parse_ref(p, &ref);
		if (!next)
			break;
		p = next;
		if (ref.k != (int)VAR_DATA_DISK && ref.k != (int)VAR_NVME)
			continue;
		if (list >= 0 && list != ref.k) {
			snprintf(why, why_len, "names two lists, ${%s} and ${%s}", var_names[list],
				 var_names[ref.k]);
			return -EINVAL;
		}
		list = ref.k;
		dflt = dflt || ref.dflt;
	}
	if (list < 0)
		return 1;
	unsigned n = list_len(v, (size_t)list);
	return n ? (int)n : dflt ? 1 : 0;
}

int config_subst(const char *s, const char *run_dir, const struct manifest_vars *v, char **out,
		 size_t room, char *why, size_t why_len)
{
	int n = copies(s, v, why, why_len);
	if (n < 0)
		return n;
	if ((size_t)n > room) {
		snprintf(why, why_len, "no room for %d strings, one per value of its list", n);
		return -EINVAL;
	}
	char *run = subst_run(s, run_dir);
	if (!run)
		return -ENOMEM;
	int r = 0;
	for (int i = 0; i < n && r == 0; i++) {
		r = subst_vars(run, v, (unsigned)i, &out[i], why, why_len);
		if (r < 0)
			while (i-- > 0) {
				free(out[i]);
				out[i] = NULL;
			}
	}
	free(run);
	return r < 0 ? r : n;
}

/* The empty properties that switch something on: their flag, or NULL. */
static bool *flag_prop(struct srv_conf *c, const char *pname)
{
	if (strcmp(pname, "control") == 0)
		return &c->control;
	if (strcmp(pname, "stop-all-on-exit") == 0)
		return &c->stop_all_on_exit;
	if (strcmp(pname, "request-cpus") == 0)
		return &c->request_cpus;
	if (strcmp(pname, "prestart") == 0)
		return &c->prestart;
	if (strcmp(pname, "per-nic") == 0)
		return &c->per_nic;
	return NULL;
}

static int parse_server(const void *fdt, int node, const char *run_dir,
			const struct manifest_vars *vars, struct srv_conf *c, char *err,
			size_t err_len)
{
	const char *name = fdt_get_name(fdt, node, NULL);
	bool have_binary = false, have_policy = false, have_max = false, *flag;
	int prop, sub, r;

	if (!name || !valid_node_name(name))
		return config_fail(
		    err, err_len, -EINVAL,
		    "manifest: server node name '%.40s' is invalid (want [a-z0-9_-]{1,31})",
		    name ? name : "?");
	if (strcmp(name, "init") == 0)
		return config_fail(err, err_len, -EINVAL,
				   "manifest: server node name 'init' is reserved for init itself");
	memcpy(c->name, name, strlen(name) + 1);
	conf_defaults(c);

	fdt_for_each_subnode(sub, fdt, node)
	{
		return config_fail(err, err_len, -EINVAL,
				   "manifest: %s: unexpected subnode '%.40s'", name,
				   fdt_get_name(fdt, sub, NULL));
	}

	fdt_for_each_property_offset(prop, fdt, node)
	{
		const char *pname;
		int len;
		const char *val = fdt_getprop_by_offset(fdt, prop, &pname, &len);
		if (!val || !pname)
			return config_fail(err, err_len, -EBADMSG,
					   "manifest: %s: unreadable property", name);

		if (strcmp(pname, "binary") == 0) {
			if (one_string(val, len, c->binary, sizeof(c->binary)) < 0 ||
			    strchr(c->binary, '/') || strcmp(c->binary, ".") == 0 ||
			    strcmp(c->binary, "..") == 0)
				return config_fail(
				    err, err_len, -EINVAL,
				    "manifest: %s: property 'binary' must be one file name "
				    "without '/'",
				    name);
			have_binary = true;
		} else if (strcmp(pname, "args") == 0) {
			const char *a[MANIFEST_ARGS_MAX];
			int n = config_split_strings(val, len, a, MANIFEST_ARGS_MAX, true);
			if (n < 0)
				return config_fail(
				    err, err_len, -EINVAL,
				    "manifest: %s: property 'args' must be a list of at most "
				    "%d printable strings shorter than %u bytes",
				    name, MANIFEST_ARGS_MAX, MANIFEST_STR_MAX);
			conf_clear(c);
			for (int i = 0; i < n; i++) {
				char why[96];
				r = config_subst(a[i], run_dir, vars, &c->args[c->nargs],
						 MANIFEST_ARGS_MAX - c->nargs, why, sizeof(why));
				if (r == -ENOMEM)
					return r;
				if (r < 0)
					return config_fail(err, err_len, -EINVAL,
							   "manifest: %s: property 'args': %s",
							   name, why);
				c->nargs += (size_t)r;
			}
			c->args[c->nargs] = NULL;
		} else if (strcmp(pname, "policy") == 0) {
			if (one_string(val, len, c->policy, sizeof(c->policy)) < 0)
				return config_fail(
				    err, err_len, -EINVAL,
				    "manifest: %s: property 'policy' must be one string", name);
			if (jail_profile_find(c->policy) < 0)
				return config_fail(
				    err, err_len, -EINVAL,
				    "manifest: %s: property 'policy': no seccomp profile "
				    "'%s'",
				    name, c->policy);
			have_policy = true;
		} else if (strcmp(pname, "restart") == 0) {
			char v[16];
			int p = -1;
			if (one_string(val, len, v, sizeof(v)) == 0)
				for (int i = 0; i < _RESTART_MAX; i++)
					if (strcmp(v, restart_names[i]) == 0)
						p = i;
			if (p < 0)
				return config_fail(
				    err, err_len, -EINVAL,
				    "manifest: %s: property 'restart' must be \"always\", "
				    "\"on-failure\" or \"never\"",
				    name);
			c->restart = (enum restart_policy)p;
		} else if ((flag = flag_prop(c, pname))) {
			if (len != 0)
				return config_fail(err, err_len, -EINVAL,
						   "manifest: %s: property '%s' takes no value",
						   name, pname);
			*flag = true;
		} else if (strcmp(pname, "namespaces") == 0) {
			const char *a[8];
			int n = config_split_strings(val, len, a, ARRAY_SIZE(a), false);
			if (n < 0)
				return config_fail(
				    err, err_len, -EINVAL,
				    "manifest: %s: property 'namespaces' must be a list of "
				    "names",
				    name);
			c->namespaces = 0;
			for (int i = 0; i < n; i++) {
				uint32_t f = 0;
				for (size_t j = 0; j < ARRAY_SIZE(ns_names); j++)
					if (strcmp(a[i], ns_names[j].name) == 0)
						f = ns_names[j].flag;
				if (!f)
					return config_fail(
					    err, err_len, -EINVAL,
					    "manifest: %s: property 'namespaces': unknown "
					    "namespace '%s' (ipc, uts, net, mount, cgroup)",
					    name, a[i]);
				c->namespaces |= f;
			}
		} else if ((r = config_identity_prop(c, pname, val, len, run_dir, vars, err,
						     err_len)) != 0) {
			if (r < 0)
				return r;
		} else {
			size_t i;
			for (i = 0; i < ARRAY_SIZE(u32_props); i++)
				if (strcmp(pname, u32_props[i].name) == 0)
					break;
			if (i == ARRAY_SIZE(u32_props))
				return config_fail(err, err_len, -EINVAL,
						   "manifest: %s: unknown property '%.40s'", name,
						   pname);
			if (len != 4)
				return config_fail(
				    err, err_len, -EINVAL,
				    "manifest: %s: property '%s' must be one cell <N>", name,
				    pname);
			uint32_t v = fdt32_to_cpu(*(const fdt32_t *)val);
			if (v < u32_props[i].min || v > u32_props[i].max)
				return config_fail(
				    err, err_len, -EINVAL,
				    "manifest: %s: property '%s' = %u is out of range "
				    "[%u, %u]",
				    name, pname, v, u32_props[i].min, u32_props[i].max);
			memcpy((char *)c + u32_props[i].off, &v, sizeof(v));
			if (strcmp(pname, "restart-delay-max-ms") == 0)
				have_max = true;
		}
	}
	if (prop != -FDT_ERR_NOTFOUND)
		return config_fail(err, err_len, -EBADMSG, "manifest: %s: bad property table",
				   name);
	if (!have_binary)
		return config_fail(err, err_len, -EINVAL,
				   "manifest: %s: property 'binary' is missing", name);
	if (!have_policy)
		return config_fail(err, err_len, -EINVAL,
				   "manifest: %s: property 'policy' is missing", name);
	r = config_identity_check(c, err, err_len);
	if (r < 0)
		return r;
	if (c->restart_delay_max_ms < c->restart_delay_ms) {
		if (have_max)
			return config_fail(err, err_len, -EINVAL,
					   "manifest: %s: property 'restart-delay-max-ms' is below "
					   "'restart-delay-ms'",
					   name);
		c->restart_delay_max_ms = c->restart_delay_ms;
	}
	return 0;
}

static int conf_cmp(const void *a, const void *b)
{
	const struct srv_conf *x = a, *y = b;
	if (x->start_order != y->start_order)
		return x->start_order < y->start_order ? -1 : 1;
	return strcmp(x->name, y->name);
}

int fdt_check_untrusted(const void *fdt, size_t len)
{
	/*
	 * Header first, and only the tree version dtc and libfdt's writers
	 * produce (17): older layouts take paths in libfdt's full check that
	 * crash on hostile input (found by the manifest fuzz target).
	 */
	if (len < sizeof(struct fdt_header))
		return -FDT_ERR_TRUNCATED;
	int r = fdt_check_header(fdt);
	if (r == 0 && (fdt_version(fdt) < 17 || fdt_last_comp_version(fdt) > 17))
		r = -FDT_ERR_BADVERSION;
	if (r == 0 && fdt_totalsize(fdt) > len)
		r = -FDT_ERR_TRUNCATED;
	if (r == 0)
		r = fdt_check_full(fdt, len);
	return r;
}

struct manifest *manifest_free(struct manifest *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->nservers; i++) {
		conf_clear(&m->servers[i]);
		config_identity_clear(&m->servers[i]);
	}
	free(m->servers);
	free(m->dtb);
	free(m);
	return NULL;
}

bool fdt_isolated(const void *fdt)
{
	int chosen = fdt_path_offset(fdt, "/chosen");

	/* Presence is what counts: the shim writes it empty, and any value (or a
	 * malformed one) errs on the isolated side. */
	return chosen >= 0 && fdt_getprop(fdt, chosen, ISOLATED_PROP, NULL) != NULL;
}

/* Each server with a user has a uid of its own: two sharing one could signal, trace and
 * read each other, and vmbusd could not tell their offers apart. */
static int check_own_uids(const struct manifest *m, char *err, size_t err_len)
{
	for (size_t i = 0; i < m->nservers; i++)
		for (size_t j = 0; j < i && m->servers[i].have_user; j++)
			if (m->servers[j].have_user && m->servers[j].uid == m->servers[i].uid)
				return config_fail(err, err_len, -EINVAL,
						   "manifest: %s and %s are both user %u (each "
						   "needs its own)",
						   m->servers[j].name, m->servers[i].name,
						   m->servers[i].uid);
	return 0;
}

/* How many servers node stands for: one per NIC the host named if it is per-nic (one when
 * it named none), else one. */
static unsigned instances(const void *fdt, int node, const struct manifest_vars *v)
{
	if (!fdt_getprop(fdt, node, "per-nic", NULL))
		return 1;
	return v->nguest_nic_macs ? v->nguest_nic_macs : 1;
}

/* Server node's instance for NIC nic (see instances): named for it, its own NIC in vars. */
static int parse_instance(const void *fdt, int node, const char *run_dir,
			  const struct manifest_vars *vars, unsigned nic, struct srv_conf *c,
			  char *err, size_t err_len)
{
	struct manifest_vars own = *vars;
	own.in_per_nic = fdt_getprop(fdt, node, "per-nic", NULL) != NULL;
	own.nic = nic;
	int r = parse_server(fdt, node, run_dir, &own, c, err, err_len);
	if (r < 0 || nic == 0)
		return r;
	size_t l = strlen(c->name);
	if (l + 2 >= sizeof(c->name))
		return config_fail(err, err_len, -EINVAL,
				   "manifest: %s: too long a name for a per-nic server", c->name);
	snprintf(c->name + l, sizeof(c->name) - l, "%u", nic);
	return 0;
}

int manifest_parse(const void *buf, size_t len, const char *run_dir, struct manifest **ret,
		   char *err, size_t err_len)
{
	return manifest_parse_vars(buf, len, run_dir, NULL, ret, err, err_len);
}

int manifest_parse_vars(const void *buf, size_t len, const char *run_dir,
			const struct manifest_vars *vars, struct manifest **ret, char *err,
			size_t err_len)
{
	int r, node, mnode;

	if (len < sizeof(struct fdt_header) || len > MANIFEST_DTB_MAX)
		return config_fail(err, err_len, -E2BIG,
				   "manifest: tree size %zu outside [%zu, %u]", len,
				   sizeof(struct fdt_header), MANIFEST_DTB_MAX);
	struct manifest *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* Copy first: the checks below and every later read see the same bytes. */
	m->dtb = malloc(len);
	if (!m->dtb) {
		r = -ENOMEM;
		goto err_free;
	}
	memcpy(m->dtb, buf, len);
	if (vars)
		m->vars = *vars;
	m->dtb_len = len;
	const void *fdt = m->dtb;

	r = fdt_check_untrusted(fdt, len);
	if (r < 0) {
		r = config_fail(err, err_len, -EBADMSG, "manifest: not a valid device tree: %s",
				fdt_strerror(r));
		goto err_free;
	}
	mnode = fdt_path_offset(fdt, MANIFEST_PATH);
	if (mnode < 0) {
		r = config_fail(err, err_len, -EINVAL, "manifest: no node %s", MANIFEST_PATH);
		goto err_free;
	}
	int plen;
	const char *compat = fdt_getprop(fdt, mnode, "compatible", &plen);
	if (!compat || plen != (int)sizeof(MANIFEST_COMPATIBLE) ||
	    memcmp(compat, MANIFEST_COMPATIBLE, sizeof(MANIFEST_COMPATIBLE)) != 0) {
		r = config_fail(err, err_len, -EINVAL,
				"manifest: %s: property 'compatible' must be \"%s\"", MANIFEST_PATH,
				MANIFEST_COMPATIBLE);
		goto err_free;
	}
	int prop;
	fdt_for_each_property_offset(prop, fdt, mnode)
	{
		const char *pname;
		if (!fdt_getprop_by_offset(fdt, prop, &pname, &plen) || !pname) {
			r = config_fail(err, err_len, -EBADMSG, "manifest: unreadable property");
			goto err_free;
		}
		if (strcmp(pname, "compatible") == 0)
			continue;
		const char *val = fdt_getprop_by_offset(fdt, prop, &pname, &plen);
		r = config_manifest_prop(m, pname, val, plen, err, err_len);
		if (r == 0)
			r = config_fail(err, err_len, -EINVAL,
					"manifest: %s: unknown property '%.40s'", MANIFEST_PATH,
					pname);
		if (r < 0)
			goto err_free;
	}

	size_t n = 0;
	fdt_for_each_subnode(node, fdt, mnode)
	{
		n += instances(fdt, node, &m->vars);
	}
	if (n > MANIFEST_SERVERS_MAX) {
		r = config_fail(err, err_len, -E2BIG, "manifest: %zu servers, at most %d", n,
				MANIFEST_SERVERS_MAX);
		goto err_free;
	}
	m->servers = calloc(n ? n : 1, sizeof(*m->servers));
	if (!m->servers) {
		r = -ENOMEM;
		goto err_free;
	}
	fdt_for_each_subnode(node, fdt, mnode)
	{
		unsigned k = instances(fdt, node, &m->vars);
		for (unsigned nic = 0; nic < k; nic++) {
			struct srv_conf *c = &m->servers[m->nservers++];
			r = parse_instance(fdt, node, run_dir, &m->vars, nic, c, err, err_len);
			if (r < 0)
				goto err_free;
			for (size_t i = 0; i + 1 < m->nservers; i++)
				if (strcmp(m->servers[i].name, c->name) == 0) {
					r = config_fail(err, err_len, -EINVAL,
							"manifest: server '%s' appears twice",
							c->name);
					goto err_free;
				}
		}
	}
	if (node != -FDT_ERR_NOTFOUND) {
		r = config_fail(err, err_len, -EBADMSG, "manifest: bad node table");
		goto err_free;
	}
	r = check_own_uids(m, err, err_len);
	if (r < 0)
		goto err_free;
	qsort(m->servers, m->nservers, sizeof(*m->servers), conf_cmp);
	m->isolated = fdt_isolated(fdt);
	*ret = m;
	return 0;

err_free:
	manifest_free(m);
	return r;
}

int manifest_load(const char *path, const char *run_dir, struct manifest **ret, char *err,
		  size_t err_len)
{
	return manifest_load_vars(path, run_dir, NULL, ret, err, err_len);
}

int manifest_load_vars(const char *path, const char *run_dir, const struct manifest_vars *vars,
		       struct manifest **ret, char *err, size_t err_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return config_fail(err, err_len, -errno, "manifest: unable to open %s: %s", path,
				   strerror(errno));
	_cleanup_free_ uint8_t *buf = malloc(MANIFEST_DTB_MAX + 1);
	if (!buf)
		return -ENOMEM;
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, MANIFEST_DTB_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return config_fail(err, err_len, -errno, "manifest: unable to read %s: %s",
					   path, strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > MANIFEST_DTB_MAX)
			return config_fail(err, err_len, -E2BIG,
					   "manifest: %s is larger than %u bytes", path,
					   MANIFEST_DTB_MAX);
	}
	return manifest_parse_vars(buf, len, run_dir, vars, ret, err, err_len);
}
