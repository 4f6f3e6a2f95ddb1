/* SPDX-License-Identifier: MIT */
/* Unit tests for tools/mhcl/metrics.c: names, labels, grouping and escaping of `mhcl metrics`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "test.h"

/* Trees are built from a static pool: tests are small. */
static Mhcl__Node pool[256];
static Mhcl__Node *kids[256][8];
static size_t used;

static Mhcl__Node *node(Mhcl__Node *parent, const char *name)
{
	Mhcl__Node *n;

	ASSERT_LT(used, 256);
	n = &pool[used];
	*n = (Mhcl__Node)MHCL__NODE__INIT;
	n->name = (char *)name;
	n->children = kids[used++];
	if (parent) {
		ASSERT_LT(parent->n_children, 8);
		parent->children[parent->n_children++] = n;
	}
	return n;
}

static Mhcl__Node *u64(Mhcl__Node *parent, const char *name, uint64_t v)
{
	Mhcl__Node *n = node(parent, name);

	n->value_case = MHCL__NODE__VALUE_U64;
	n->u64 = v;
	return n;
}

static char *render(struct metrics *m, bool json)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	ASSERT_TRUE(f);
	metrics_finish(m);
	if (json)
		metrics_print_json(m, f);
	else
		metrics_print_text(m, f);
	fclose(f);
	return out;
}

/* Sorts m and checks its exposition against want. */
static void expect_text(struct metrics *m, const char *want)
{
	char *out = render(m, false);

	ASSERT_STREQ(out, want);
	free(out);
}

static void test_tree(void)
{
	struct metrics m = {0};
	Mhcl__Node *root, *s, *d, *ch, *c0, *init, *ss;
	char *out;

	used = 0;
	root = node(NULL, "mhcl");
	s = node(root, "storage");
	u64(s, "io_total", 5);
	d = node(s, "controllers");
	ch = node(node(d, "0"), "channels");
	c0 = node(ch, "1");
	u64(node(c0, "counters"), "messages", 7);
	node(c0, "state")->value_case = MHCL__NODE__VALUE_STR; /* strings are left out */
	Mhcl__Node *b = node(s, "weird-name.x");
	b->value_case = MHCL__NODE__VALUE_BOOLEAN;
	b->boolean = 1;
	Mhcl__Node *neg = node(s, "delta");
	neg->value_case = MHCL__NODE__VALUE_I64;
	neg->i64 = -3;
	/* A server that did not answer, and one named outside [a-z0-9_-]. */
	node(root, "net")->value_case = MHCL__NODE__VALUE_STR;
	u64(node(root, "Bad\"Name"), "x", 1);
	init = node(root, "init");
	u64(init, "orphans_reaped", 2);
	ss = node(init, "servers");
	u64(node(ss, "storage"), "log_dropped", 4);

	ASSERT_OK(metrics_add_inspect(&m, root));
	expect_text(&m, "# TYPE mhcl_controllers_channels_counters_messages gauge\n"
			"mhcl_controllers_channels_counters_messages{server=\"storage\","
			"controllers=\"0\",channels=\"1\"} 7\n"
			"# TYPE mhcl_delta gauge\n"
			"mhcl_delta{server=\"storage\"} -3\n"
			"# TYPE mhcl_init_server_log_dropped gauge\n"
			"mhcl_init_server_log_dropped{server=\"storage\"} 4\n"
			"# TYPE mhcl_io_total counter\n"
			"mhcl_io_total{server=\"storage\"} 5\n"
			"# TYPE mhcl_orphans_reaped gauge\n"
			"mhcl_orphans_reaped{server=\"init\"} 2\n"
			"# TYPE mhcl_weird_name_x gauge\n"
			"mhcl_weird_name_x{server=\"storage\"} 1\n");
	ASSERT_EQ(m.dropped, 1); /* the bad server name */
	out = render(&m, true);
	ASSERT_TRUE(strstr(out, "{\"name\":\"mhcl_delta\",\"type\":\"gauge\",\"labels\":"
				"{\"server\":\"storage\"},\"value\":-3}"));
	free(out);
	metrics_free(&m);
}

static void test_labels_fall_back(void)
{
	struct metrics m = {0};
	Mhcl__Node *root, *s, *a;

	used = 0;
	root = node(NULL, "mhcl");
	s = node(root, "vmbus");
	/* An index directly under the server has no parent to name its label. */
	u64(node(s, "7"), "x", 1);
	/* A parent called "server" would clash with server="...": flattened. */
	u64(node(node(s, "server"), "3"), "y", 2);
	/* The same parent twice: the second index is flattened. */
	a = node(node(node(s, "q"), "0x1f"), "q");
	u64(node(a, "2"), "z", 3);
	/* Not indices: flattened. */
	u64(node(node(s, "vps"), "vp0"), "w", 4);

	ASSERT_OK(metrics_add_inspect(&m, root));
	expect_text(&m, "# TYPE mhcl_7_x gauge\n"
			"mhcl_7_x{server=\"vmbus\"} 1\n"
			"# TYPE mhcl_q_q_2_z gauge\n"
			"mhcl_q_q_2_z{server=\"vmbus\",q=\"0x1f\"} 3\n"
			"# TYPE mhcl_server_3_y gauge\n"
			"mhcl_server_3_y{server=\"vmbus\"} 2\n"
			"# TYPE mhcl_vps_vp0_w gauge\n"
			"mhcl_vps_vp0_w{server=\"vmbus\"} 4\n");
	metrics_free(&m);
}

static void test_ps_and_duplicates(void)
{
	Mhcl__ServerInfo a = MHCL__SERVER_INFO__INIT, b = MHCL__SERVER_INFO__INIT;
	Mhcl__ServerInfo in = MHCL__SERVER_INFO__INIT;
	Mhcl__ServerInfo *list[] = {&a, &b};
	Mhcl__PsReply ps = MHCL__PS_REPLY__INIT;
	struct metrics m = {0};
	Mhcl__Node *root, *s;

	a.name = "testd";
	a.pid = 10;
	a.state = "running";
	a.restarts = 3;
	a.pss_bytes = 4096;
	a.uss_bytes = 1024;
	b.name = "net";
	b.state = "backoff";
	in.name = "init";
	in.pid = 1;
	in.pss_bytes = 100;
	in.uss_bytes = 50;
	ps.servers = list;
	ps.n_servers = 2;
	ps.init = &in;
	ASSERT_OK(metrics_add_ps(&m, &ps));

	/* testd's inspect names the same sample as ps: ps wins, the leaf is dropped. */
	used = 0;
	root = node(NULL, "mhcl");
	s = node(root, "testd");
	u64(node(s, "server"), "up", 0);
	Mhcl__Node *f = node(s, "ratio");
	f->value_case = MHCL__NODE__VALUE_F64;
	f->f64 = 0.5;
	ASSERT_OK(metrics_add_inspect(&m, root));

	expect_text(&m,
		    "# TYPE mhcl_ratio gauge\n"
		    "mhcl_ratio{server=\"testd\"} 0.5\n"
		    "# HELP mhcl_server_pss_bytes proportional set size, guest RAM left out (smaps)\n"
		    "# TYPE mhcl_server_pss_bytes gauge\n"
		    "mhcl_server_pss_bytes{server=\"init\"} 100\n"
		    "mhcl_server_pss_bytes{server=\"testd\"} 4096\n"
		    "# HELP mhcl_server_restarts_total times init has restarted the server\n"
		    "# TYPE mhcl_server_restarts_total counter\n"
		    "mhcl_server_restarts_total{server=\"net\"} 0\n"
		    "mhcl_server_restarts_total{server=\"testd\"} 3\n"
		    "# HELP mhcl_server_up 1 if init reports the server running, else 0\n"
		    "# TYPE mhcl_server_up gauge\n"
		    "mhcl_server_up{server=\"net\"} 0\n"
		    "mhcl_server_up{server=\"testd\"} 1\n"
		    "# HELP mhcl_server_uss_bytes unique set size, guest RAM left out (smaps)\n"
		    "# TYPE mhcl_server_uss_bytes gauge\n"
		    "mhcl_server_uss_bytes{server=\"init\"} 50\n"
		    "mhcl_server_uss_bytes{server=\"testd\"} 1024\n");
	ASSERT_EQ(m.dropped, 1);
	metrics_free(&m);
}

static void test_values_and_bounds(void)
{
	struct metrics m = {0};
	Mhcl__Node *root, *s, *n, *deep;
	char longname[300];

	used = 0;
	root = node(NULL, "mhcl");
	s = node(root, "x");
	n = node(s, "nan");
	n->value_case = MHCL__NODE__VALUE_F64;
	n->f64 = NAN;
	n = node(s, "inf");
	n->value_case = MHCL__NODE__VALUE_F64;
	n->f64 = -INFINITY;
	n = node(s, "big");
	n->value_case = MHCL__NODE__VALUE_U64;
	n->u64 = UINT64_MAX;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	u64(s, longname, 1); /* name over METRICS_NAME_MAX: dropped */
	/* Deeper than METRICS_DEPTH_MAX: not visited. */
	deep = s;
	for (int i = 0; i < METRICS_DEPTH_MAX + 2; i++)
		deep = node(deep, "d");
	deep->value_case = MHCL__NODE__VALUE_U64;

	ASSERT_OK(metrics_add_inspect(&m, root));
	expect_text(&m, "# TYPE mhcl_big gauge\n"
			"mhcl_big{server=\"x\"} 18446744073709551615\n"
			"# TYPE mhcl_inf gauge\n"
			"mhcl_inf{server=\"x\"} -Inf\n"
			"# TYPE mhcl_nan gauge\n"
			"mhcl_nan{server=\"x\"} NaN\n");
	ASSERT_EQ(m.dropped, 1);
	metrics_free(&m);
}

static void test_escape(void)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	ASSERT_TRUE(f);
	metrics_put_label_value(f, "a\\b\"c\nd\te\x01\xc3\xa9");
	fclose(f);
	ASSERT_STREQ(out, "a\\\\b\\\"c\\nd?e???");
	free(out);
	ASSERT_STREQ(metrics_type("mhcl_x_total"), "counter");
	ASSERT_STREQ(metrics_type("mhcl_total"), "counter");
	ASSERT_STREQ(metrics_type("mhcl_totals"), "gauge");
	ASSERT_STREQ(metrics_type("_total"), "counter");
}

int main(void)
{
	test_tree();
	test_labels_fall_back();
	test_ps_and_duplicates();
	test_values_and_bounds();
	test_escape();
	return 0;
}
