/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for tools/mhcl/dts.c: property classification, the exact dts
 * text for a known tree, a round trip through dtc when $DTC names it,
 * refusal of malformed and too-deep blobs, and the JSON form.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libfdt.h>

#include "dts.h"
#include "json.h"
#include "test.h"

static char fdt_buf[8192];

#define FDT_OK(e) ASSERT_EQ((e), 0)

/* The tree of a small manifest: strings, a string list, cells, bytes, a flag. */
static void *build_tree(void)
{
	static const uint8_t bytes[] = {0x01, 0x02, 0x03};

	FDT_OK(fdt_create(fdt_buf, sizeof(fdt_buf)));
	FDT_OK(fdt_add_reservemap_entry(fdt_buf, 0x1000, 0x2000));
	FDT_OK(fdt_finish_reservemap(fdt_buf));
	FDT_OK(fdt_begin_node(fdt_buf, ""));
	FDT_OK(fdt_property_string(fdt_buf, "compatible", "mhcl,manifest"));
	FDT_OK(fdt_property_u32(fdt_buf, "#address-cells", 1));
	FDT_OK(fdt_begin_node(fdt_buf, "servers"));
	FDT_OK(fdt_begin_node(fdt_buf, "diagd"));
	FDT_OK(fdt_property_string(fdt_buf, "binary", "mhcl-diagd"));
	FDT_OK(fdt_property(fdt_buf, "args", "--unix\0/run/mhcl/diag.sock", 27));
	FDT_OK(fdt_property(fdt_buf, "control", NULL, 0));
	FDT_OK(fdt_property(fdt_buf, "raw", bytes, sizeof(bytes)));
	FDT_OK(fdt_property_string(fdt_buf, "quote", "a\"b\\c"));
	FDT_OK(fdt_property_u64(fdt_buf, "big", 0x100000002ull));
	FDT_OK(fdt_end_node(fdt_buf));
	FDT_OK(fdt_begin_node(fdt_buf, "testd@1"));
	FDT_OK(fdt_end_node(fdt_buf));
	FDT_OK(fdt_end_node(fdt_buf));
	FDT_OK(fdt_end_node(fdt_buf));
	FDT_OK(fdt_finish(fdt_buf));
	return fdt_buf;
}

static const char want_dts[] = "/dts-v1/;\n"
			       "/memreserve/ 0x1000 0x2000;\n"
			       "\n"
			       "/ {\n"
			       "\tcompatible = \"mhcl,manifest\";\n"
			       "\t#address-cells = <0x1>;\n"
			       "\tservers {\n"
			       "\t\tdiagd {\n"
			       "\t\t\tbinary = \"mhcl-diagd\";\n"
			       "\t\t\targs = \"--unix\", \"/run/mhcl/diag.sock\";\n"
			       "\t\t\tcontrol;\n"
			       "\t\t\traw = [01 02 03];\n"
			       "\t\t\tquote = \"a\\\"b\\\\c\";\n"
			       "\t\t\tbig = <0x1 0x2>;\n"
			       "\t\t};\n"
			       "\t\ttestd@1 {\n"
			       "\t\t};\n"
			       "\t};\n"
			       "};\n";

static char *print(const void *dtb, size_t len, int *ret)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	ASSERT_TRUE(f);
	*ret = dts_print(f, dtb, len);
	fclose(f);
	return buf;
}

static void test_classify(void)
{
	ASSERT_EQ(dts_prop_classify("", 0), DTS_PROP_EMPTY);
	ASSERT_EQ(dts_prop_classify("abc", 4), DTS_PROP_STRINGS);
	ASSERT_EQ(dts_prop_classify("a\0b", 4), DTS_PROP_STRINGS);
	/* An empty string inside, or at the start, is not a string list. */
	ASSERT_EQ(dts_prop_classify("a\0\0", 4), DTS_PROP_CELLS);
	ASSERT_EQ(dts_prop_classify("\0abc", 5), DTS_PROP_BYTES);
	ASSERT_EQ(dts_prop_classify("\0\0\0\0", 4), DTS_PROP_CELLS);
	/* Not NUL-terminated. */
	ASSERT_EQ(dts_prop_classify("abcd", 4), DTS_PROP_CELLS);
	ASSERT_EQ(dts_prop_classify("abc", 3), DTS_PROP_BYTES);
	/* Non-printable bytes. */
	ASSERT_EQ(dts_prop_classify("\x01\x02\x03", 4), DTS_PROP_CELLS);
	ASSERT_EQ(dts_prop_classify("\xff\0", 2), DTS_PROP_BYTES);
}

static void test_print(void)
{
	void *fdt = build_tree();
	int ret;
	char *got = print(fdt, fdt_totalsize(fdt), &ret);

	ASSERT_OK(ret);
	ASSERT_STREQ(got, want_dts);
	free(got);
}

/* dts_print(dtc(dts_print(tree))) must equal dts_print(tree). */
static void test_dtc_round_trip(void)
{
	const char *dtc = getenv("DTC");
	char dir[] = "/tmp/mhcl-test-dts-XXXXXX", cmd[1024], src[64], bin[64];
	static char blob[8192];
	void *fdt = build_tree();
	size_t n;
	FILE *f;
	int ret;
	char *again;

	if (!dtc || !*dtc) {
		fprintf(stderr, "DTC not set: round trip skipped\n");
		return;
	}
	ASSERT_TRUE(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/t.dts", dir);
	snprintf(bin, sizeof(bin), "%s/t.dtb", dir);
	f = fopen(src, "w");
	ASSERT_TRUE(f);
	ASSERT_OK(dts_print(f, fdt, fdt_totalsize(fdt)));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' -q -I dts -O dtb -o '%s' '%s'", dtc, bin, src);
	ASSERT_OK(system(cmd));
	f = fopen(bin, "rb");
	ASSERT_TRUE(f);
	n = fread(blob, 1, sizeof(blob), f);
	fclose(f);
	again = print(blob, n, &ret);
	ASSERT_OK(ret);
	ASSERT_STREQ(again, want_dts);
	free(again);
	unlink(src);
	unlink(bin);
	rmdir(dir);
}

static void test_malformed(void)
{
	void *fdt = build_tree();
	size_t len = fdt_totalsize(fdt);
	static char copy[8192];
	int ret;
	char *got;

	/* Truncated: every prefix is refused and prints nothing. */
	for (size_t cut = 0; cut < len; cut += 7) {
		got = print(fdt, cut, &ret);
		ASSERT_EQ(ret, -EBADMSG);
		ASSERT_STREQ(got, "");
		free(got);
	}
	/* Garbage. */
	memset(copy, 0xa5, sizeof(copy));
	got = print(copy, sizeof(copy), &ret);
	ASSERT_EQ(ret, -EBADMSG);
	free(got);
	/* A property name offset pointing past the strings block. */
	memcpy(copy, fdt, len);
	{
		int off = fdt_path_offset(copy, "/servers/diagd");
		int prop = fdt_first_property_offset(copy, off);
		struct fdt_property *p = (struct fdt_property *)((char *)copy +
				fdt_off_dt_struct(copy) + prop);
		p->nameoff = cpu_to_fdt32(0x7fffff00);
	}
	got = print(copy, len, &ret);
	ASSERT_EQ(ret, -EBADMSG);
	ASSERT_STREQ(got, "");
	free(got);
}

static void test_too_deep(void)
{
	int ret;
	char *got;

	FDT_OK(fdt_create(fdt_buf, sizeof(fdt_buf)));
	FDT_OK(fdt_finish_reservemap(fdt_buf));
	for (int i = 0; i <= DTS_DEPTH_MAX; i++)
		FDT_OK(fdt_begin_node(fdt_buf, i ? "n" : ""));
	for (int i = 0; i <= DTS_DEPTH_MAX; i++)
		FDT_OK(fdt_end_node(fdt_buf));
	FDT_OK(fdt_finish(fdt_buf));
	got = print(fdt_buf, fdt_totalsize(fdt_buf), &ret);
	ASSERT_EQ(ret, -E2BIG);
	ASSERT_STREQ(got, "");
	free(got);
}

static void test_json(void)
{
	void *fdt = build_tree();
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct json_writer w;

	ASSERT_TRUE(f);
	json_init(&w, f, false);
	ASSERT_OK(dts_print_json(&w, fdt, fdt_totalsize(fdt)));
	json_finish(&w);
	fclose(f);
	ASSERT_STREQ(buf,
		     "{\"memreserve\":[[4096,8192]],\"root\":{\"name\":\"/\",\"properties\":{"
		     "\"compatible\":\"mhcl,manifest\",\"#address-cells\":[1]},\"children\":[{"
		     "\"name\":\"servers\",\"properties\":{},\"children\":[{\"name\":\"diagd\","
		     "\"properties\":{\"binary\":\"mhcl-diagd\",\"args\":[\"--unix\","
		     "\"/run/mhcl/diag.sock\"],\"control\":true,\"raw\":\"010203\",\"quote\":"
		     "\"a\\\"b\\\\c\",\"big\":[1,2]}},{\"name\":\"testd@1\",\"properties\":{}}]}]}}\n");
	free(buf);
}

int main(void)
{
	test_classify();
	test_print();
	test_dtc_round_trip();
	test_malformed();
	test_too_deep();
	test_json();
	return 0;
}
