/* SPDX-License-Identifier: MIT */
/*
 * boot/cmdline.c built hosted: Linux's view of a token, the deny-list, the
 * isolated-mode allow-list and the whole parse (shim options, counts, names).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "test.h"

static struct shim_error err;

static struct shim_param one(const char *s)
{
	struct shim_param p;
	const char *c = s;
	ASSERT_TRUE(shim_param_next(&c, &p));
	return p;
}

static void assert_value(const struct shim_param *p, const char *v)
{
	ASSERT_TRUE(p->has_value);
	ASSERT_EQ(p->value_len, strlen(v));
	ASSERT_TRUE(memcmp(p->value, v, p->value_len) == 0);
}

/* Facts from lib/cmdline.c next_arg and kernel/params.c parameq. */
static void test_kernel_view(void)
{
	struct shim_param p = one("\"init=/bin/sh\"");
	ASSERT_STREQ(p.name, "init");
	assert_value(&p, "/bin/sh");
	ASSERT_EQ(p.raw_len, 14);

	p = one("ignore-loglevel");
	ASSERT_STREQ(p.name, "ignore_loglevel");
	ASSERT_FALSE(p.has_value);

	p = one("\"sysrq-always_enabled\"");
	ASSERT_STREQ(p.name, "sysrq_always_enabled");
	ASSERT_FALSE(p.has_value);

	/* Dashes count only in the name; the value is left alone. */
	p = one("kgdb-oc=tty-S0");
	ASSERT_STREQ(p.name, "kgdb_oc");
	assert_value(&p, "tty-S0");

	/* A quote opened at the start spans spaces: one parameter. */
	const char *c = "\"rdinit=/bin/sh -x\" quiet";
	ASSERT_TRUE(shim_param_next(&c, &p));
	ASSERT_STREQ(p.name, "rdinit");
	assert_value(&p, "/bin/sh -x");
	ASSERT_TRUE(shim_param_next(&c, &p));
	ASSERT_STREQ(p.name, "quiet");
	ASSERT_FALSE(shim_param_next(&c, &p));

	/* A quoted value: quotes removed, spaces kept. */
	p = one("foo=\"a b\"");
	ASSERT_STREQ(p.name, "foo");
	assert_value(&p, "a b");

	/* A quote inside the name stays in it, so Linux does not see "init". */
	p = one("ini\"t=/bin/sh\"");
	ASSERT_STREQ(p.name, "ini\"t");

	/* '=' as the first byte does not split; the next one does. */
	p = one("=a=b");
	ASSERT_STREQ(p.name, "=a");
	assert_value(&p, "b");

	/* Degenerate quoting never reads outside the token. */
	p = one("x=\"");
	assert_value(&p, "");
	p = one("\"");
	ASSERT_STREQ(p.name, "");
	ASSERT_FALSE(p.has_value);
	p = one("\"x=\"");
	ASSERT_STREQ(p.name, "x");
	assert_value(&p, "");

	/* Linux's isspace: tab, vertical tab, form feed and 0xa0 separate too. */
	c = "quiet\xa0init=/bin/sh\vdebug\fx\ty";
	const char *want[] = {"quiet", "init", "debug", "x", "y"};
	for (size_t i = 0; i < 5; i++) {
		ASSERT_TRUE(shim_param_next(&c, &p));
		ASSERT_STREQ(p.name, want[i]);
	}
	ASSERT_FALSE(shim_param_next(&c, &p));

	/* "--" quoted is still the end of kernel parameters. */
	p = one("\"--\"");
	ASSERT_TRUE(p.ends_options);
	ASSERT_STREQ(p.name, "__");
	p = one("__");
	ASSERT_FALSE(p.ends_options);
	p = one("--=x");
	ASSERT_FALSE(p.ends_options);

	/* A long name is cut in name[] but keeps its length, so it never matches. */
	char longname[200];
	memset(longname, 'q', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	p = one(longname);
	ASSERT_EQ(p.name_len, sizeof(longname) - 1);
	ASSERT_EQ(strlen(p.name), SHIM_PARAM_NAME_MAX - 1);
	ASSERT_FALSE(shim_param_host_allowed(&p));
}

/* Each bypass of the old byte-exact list, plain, quoted, with dashes, mixed. */
static const char *const bypasses[] = {
    "init=/bin/sh",
    "\"init=/bin/sh\"",
    "rdinit=/bin/sh",
    "\"rdinit=/bin/sh\"",
    "kgdboc=ttyS0",
    "\"kgdboc=ttyS0\"",
    "kgdbwait",
    "kgdbcon",
    "kgdboc_earlycon",
    "kgdboc-earlycon=uart",
    "ekgdboc=ttyS0",
    "\"ekgdboc=ttyS0\"",
    "earlycon=uart8250,io,0x3f8",
    "\"earlycon\"",
    "earlyprintk=ttyS0",
    "ignore_loglevel",
    "ignore-loglevel",
    "\"ignore-loglevel\"",
    "initcall_debug",
    "initcall-debug",
    "\"initcall-debug\"",
    "sysrq_always_enabled",
    "sysrq-always-enabled",
    "\"sysrq-always_enabled\"",
    "debug",
    "mhcl.diag=1",
    "mhcl.debug.trace",
    "mhcl.shell",
};

static void test_denied(void)
{
	for (size_t i = 0; i < sizeof(bypasses) / sizeof(bypasses[0]); i++) {
		struct shim_param p = one(bypasses[i]);
		if (!shim_param_denied(&p))
			TEST_FAIL_("%s not denied (name \"%s\")", bypasses[i], p.name);
		ASSERT_FALSE(shim_param_host_allowed(&p));
	}
	/* Linux matches these whole, so neighbours stay (the image may need them). */
	const char *kept[] = {"init_on_free=1", "initrd=x", "debugfs=off",
			      "console=ttyS0",	"quiet",    "Init=/bin/sh"};
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		struct shim_param p = one(kept[i]);
		if (shim_param_denied(&p))
			TEST_FAIL_("%s denied", kept[i]);
	}
}

static void test_allowed(void)
{
	const char *yes[] = {"quiet",	  "loglevel=0",	   "loglevel=4",       "panic=-1",
			     "panic=30",  "mhcl.isolated", "mhcl.boot_cpus=2", "mhcl.sidecar=off",
			     "loglevel=3"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		struct shim_param p = one(yes[i]);
		if (!shim_param_host_allowed(&p))
			TEST_FAIL_("%s not allowed", yes[i]);
	}
	const char *no[] = {"loglevel=7",
			    "loglevel=",
			    "loglevel=-1",
			    "loglevel=44",
			    "quiet=1",
			    "\"quiet\"",
			    "console=ttyS0",
			    "panic=x",
			    "panic",
			    "maxcpus=8",
			    "mitigations=off",
			    "nokaslr",
			    "foo",
			    "foo=bar",
			    "--",
			    "mhcl.debug.fault=pf",
			    "mhcl.diag=1",
			    "mhcl-boot-cpus=2",
			    "QUIET",
			    "panic=\"1 init=/x\""};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		struct shim_param p = one(no[i]);
		if (shim_param_host_allowed(&p))
			TEST_FAIL_("%s allowed", no[i]);
	}
	/* A control byte splits the token for the x86 boot code: never allowed. */
	struct shim_param p = one("quiet\x01"
				  "earlyprintk=ttyS0");
	ASSERT_FALSE(shim_param_host_allowed(&p));
}

static struct shim_options fresh(bool isolated)
{
	return (struct shim_options){.isolated = isolated, .sidecar = true, .boot_cpus = 1};
}

/* The names in o->dropped_names, space-joined. */
static const char *names(const struct shim_options *o)
{
	static char buf[SHIM_DROPPED_NAMES + 1];
	for (uint32_t i = 0; i < o->dropped_names_len; i++)
		buf[i] = o->dropped_names[i] ? o->dropped_names[i] : ' ';
	buf[o->dropped_names_len ? o->dropped_names_len - 1 : 0] = '\0';
	return buf;
}

static void test_parse_isolated(void)
{
	char host[2048] = "", out[512];
	size_t n = 0;

	/* Every bypass from the host, mixed with allowed and unknown parameters. */
	for (size_t i = 0; i < sizeof(bypasses) / sizeof(bypasses[0]); i++)
		n += (size_t)snprintf(host + n, sizeof(host) - n, "%s ", bypasses[i]);
	snprintf(host + n, sizeof(host) - n,
		 "quiet foo=bar console=ttyS0 loglevel=3 loglevel=9 panic=-1 mhcl.boot_cpus=2");

	/* Isolation preset (from the host tree): no mhcl.isolated anywhere. */
	struct shim_options o = fresh(true);
	ASSERT_OK(shim_cmdline_parse(NULL, host, &o, out, sizeof(out), &err));
	ASSERT_STREQ(out, "quiet loglevel=3 panic=-1");
	ASSERT_EQ(o.boot_cpus, 2);
	ASSERT_EQ(o.dropped, sizeof(bypasses) / sizeof(bypasses[0]) + 3);
	ASSERT_FALSE(o.dropped_names_cut);
	/* Linux's names, never values. */
	const char *nm = names(&o);
	ASSERT_TRUE(strncmp(nm, "init init rdinit rdinit kgdboc kgdboc ", 38) == 0);
	ASSERT_TRUE(strstr(nm, " ignore_loglevel ignore_loglevel ignore_loglevel ") != NULL);
	ASSERT_TRUE(strstr(nm, " sysrq_always_enabled sysrq_always_enabled ") != NULL);
	ASSERT_TRUE(strstr(nm, " foo console loglevel") != NULL);
	ASSERT_TRUE(strstr(nm, "/bin/sh") == NULL && strstr(nm, "ttyS0") == NULL);

	/* The same from mhcl.isolated in the image's line: the whole host line is filtered. */
	o = fresh(false);
	ASSERT_OK(shim_cmdline_parse("console=ttyS0 mhcl.isolated rdinit=/sbin/x foo=\"a b\"", host,
				     &o, out, sizeof(out), &err));
	ASSERT_TRUE(o.isolated);
	ASSERT_STREQ(out, "console=ttyS0 foo=\"a b\" quiet loglevel=3 panic=-1");
	/* The image's own debug paths are still denied when isolated. */
	ASSERT_EQ(o.dropped, sizeof(bypasses) / sizeof(bypasses[0]) + 4);
	ASSERT_TRUE(strncmp(names(&o), "rdinit init ", 12) == 0);

	/* And from the host's own mhcl.isolated, after the parameters it filters. */
	o = fresh(false);
	ASSERT_OK(shim_cmdline_parse(NULL, "\"init=/bin/sh\" quiet \"mhcl.isolated\"", &o, out,
				     sizeof(out), &err));
	ASSERT_TRUE(o.isolated);
	ASSERT_STREQ(out, "quiet");
	ASSERT_EQ(o.dropped, 2); /* init, and the quoted mhcl.isolated itself */

	/* The host's "--": everything after it would be init's; all dropped. */
	o = fresh(true);
	ASSERT_OK(shim_cmdline_parse("a -- b", "quiet -- loglevel=3 init=/bin/sh", &o, out,
				     sizeof(out), &err));
	ASSERT_STREQ(out, "a -- b quiet");
	ASSERT_EQ(o.dropped, 3);
	ASSERT_STREQ(names(&o), "__ loglevel init");

	/* Smuggling through a quoted value or a non-space separator. */
	o = fresh(true);
	ASSERT_OK(shim_cmdline_parse(NULL,
				     "panic=\"1 init=/bin/sh\" quiet\xa0init=/x a\x01"
				     "b=1",
				     &o, out, sizeof(out), &err));
	ASSERT_STREQ(out, "quiet");
	ASSERT_EQ(o.dropped, 3);
	ASSERT_STREQ(names(&o), "panic init a?b");

	/* Fault injection never fires when isolated, from either line, in either order. */
	o = fresh(true);
	ASSERT_OK(shim_cmdline_parse("mhcl.debug.fault=pf", "mhcl.debug.fault=ud", &o, out,
				     sizeof(out), &err));
	ASSERT_STREQ(o.fault, "");
	ASSERT_EQ(o.dropped, 2);
	o = fresh(false);
	ASSERT_OK(
	    shim_cmdline_parse("mhcl.debug.fault=pf", "mhcl.isolated", &o, out, sizeof(out), &err));
	ASSERT_STREQ(o.fault, "");
	ASSERT_EQ(o.dropped, 1);
	/* Isolated, a malformed fault option is only dropped: it is never looked at. */
	o = fresh(true);
	ASSERT_OK(shim_cmdline_parse("mhcl.debug.fault=xx", NULL, &o, out, sizeof(out), &err));

	/* More dropped names than fit: every one counted, the list marked cut. */
	char many[SHIM_MAX_CMDLINE];
	n = 0;
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "unknown_%02d=1 ", i);
	o = fresh(true);
	ASSERT_OK(shim_cmdline_parse(NULL, many, &o, out, sizeof(out), &err));
	ASSERT_EQ(o.dropped, 100);
	ASSERT_TRUE(o.dropped_names_cut);
	ASSERT_LE(o.dropped_names_len, SHIM_DROPPED_NAMES);
	ASSERT_STREQ(out, "");
}

static void test_parse_not_isolated(void)
{
	struct shim_options o = fresh(false);
	char out[256];

	ASSERT_OK(shim_cmdline_parse("console=ttyS0 mhcl.boot_cpus=3", "mhcl.sidecar=off quiet", &o,
				     out, sizeof(out), &err));
	ASSERT_STREQ(out, "console=ttyS0 quiet");
	ASSERT_EQ(o.boot_cpus, 3);
	ASSERT_FALSE(o.sidecar);
	ASSERT_FALSE(o.isolated);

	/* Not isolated: the host may debug; everything passes byte for byte. */
	o = fresh(false);
	ASSERT_OK(shim_cmdline_parse(NULL, "debug \"init=/bin/sh\" ignore-loglevel x\xa0y", &o, out,
				     sizeof(out), &err));
	ASSERT_STREQ(out, "debug \"init=/bin/sh\" ignore-loglevel x y");
	ASSERT_EQ(o.dropped, 0);
	ASSERT_EQ(o.dropped_names_len, 0);

	/* Shim options are read in Linux's view too. */
	o = fresh(false);
	ASSERT_OK(shim_cmdline_parse(NULL, "\"mhcl.boot_cpus=4\" mhcl.sidecar=\"off\"", &o, out,
				     sizeof(out), &err));
	ASSERT_EQ(o.boot_cpus, 4);
	ASSERT_FALSE(o.sidecar);

	ASSERT_EQ(shim_cmdline_parse(NULL, "mhcl.isolated=0", &o, out, sizeof(out), &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "cannot be turned off") != NULL);
	ASSERT_EQ(shim_cmdline_parse("\"mhcl.isolated=0\"", NULL, &o, out, sizeof(out), &err),
		  -EINVAL);
	ASSERT_EQ(shim_cmdline_parse(NULL, "mhcl.boot_cpus=0", &o, out, sizeof(out), &err),
		  -EINVAL);
	ASSERT_EQ(shim_cmdline_parse(NULL, "mhcl.boot_cpus=12x", &o, out, sizeof(out), &err),
		  -EINVAL);
	ASSERT_EQ(shim_cmdline_parse(NULL, "mhcl.boot_cpus=-1", &o, out, sizeof(out), &err),
		  -EINVAL);
	ASSERT_EQ(shim_cmdline_parse(NULL, "mhcl.boot_cpus=", &o, out, sizeof(out), &err), -EINVAL);
	ASSERT_EQ(shim_cmdline_parse(NULL, "mhcl.boot_cpus=257", &o, out, sizeof(out), &err),
		  -EINVAL);
	ASSERT_EQ(shim_cmdline_parse(NULL, "mhcl.sidecar=maybe", &o, out, sizeof(out), &err),
		  -EINVAL);
	ASSERT_EQ(shim_cmdline_parse(NULL, "mhcl.debug.fault=xx", &o, out, sizeof(out), &err),
		  -EINVAL);

	/* The fault trigger is a shim option, armed when not isolated. */
	o = fresh(false);
	ASSERT_OK(shim_cmdline_parse("a", "mhcl.debug.fault=pf b", &o, out, sizeof(out), &err));
	ASSERT_STREQ(o.fault, "pf");
	ASSERT_STREQ(out, "a b");

	ASSERT_EQ(shim_cmdline_parse(NULL, "aaaaaaaaaaaaaaaaaaaaaaaa", &o, out, 8, &err), -E2BIG);
	static char huge[SHIM_MAX_CMDLINE + 1];
	memset(huge, 'a', SHIM_MAX_CMDLINE);
	ASSERT_EQ(shim_cmdline_parse(NULL, huge, &o, out, sizeof(out), &err), -E2BIG);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
	    {"kernel-view", test_kernel_view},
	    {"denied", test_denied},
	    {"allowed", test_allowed},
	    {"parse-isolated", test_parse_isolated},
	    {"parse-not-isolated", test_parse_not_isolated},
	};
	return test_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
