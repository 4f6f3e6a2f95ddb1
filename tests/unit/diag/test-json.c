/* SPDX-License-Identifier: MIT */
/* Unit tests for tools/mhcl/json.c: escaping and the writer's commas and nesting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "test.h"

/* Runs json_escape on s[0..len) and returns the malloc'd output. */
static char *escape(const char *s, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	size_t ret;

	ASSERT_TRUE(f);
	ret = json_escape(f, s, len);
	fclose(f);
	ASSERT_EQ(ret, n);
	return buf;
}

static void check_escape(const char *in, size_t len, const char *want)
{
	char *got = escape(in, len);
	ASSERT_STREQ(got, want);
	free(got);
}

static void test_escape_plain(void)
{
	check_escape("", 0, "\"\"");
	check_escape("abc", 3, "\"abc\"");
	check_escape("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check_escape("/", 1, "\"/\"");
}

static void test_escape_control(void)
{
	check_escape("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
	check_escape("\x01\x1f", 2, "\"\\u0001\\u001f\"");
	/* An embedded NUL is data, not the end. */
	check_escape("a\0b", 3, "\"a\\u0000b\"");
	/* DEL is valid JSON as is. */
	check_escape("\x7f", 1, "\"\x7f\"");
}

static void test_escape_utf8(void)
{
	/* Well-formed sequences of 2, 3 and 4 bytes pass through. */
	check_escape("\xc3\xa9", 2, "\"\xc3\xa9\"");
	check_escape("\xe2\x82\xac", 3, "\"\xe2\x82\xac\"");
	check_escape("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");
	/* Malformed: lone continuation, truncated, overlong, surrogate, > U+10FFFF. */
	check_escape("\x80", 1, "\"\\ufffd\"");
	check_escape("\xc3", 1, "\"\\ufffd\"");
	check_escape("\xe2\x82", 2, "\"\\ufffd\\ufffd\"");
	check_escape("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");
	check_escape("\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\"");
	check_escape("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");
	check_escape("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	check_escape("\xff", 1, "\"\\ufffd\"");
	/* A bad byte does not swallow the good text after it. */
	check_escape("\xc3x", 2, "\"\\ufffdx\"");
}

static void test_writer(void)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct json_writer w;
	static const uint8_t raw[] = {0x00, 0xab, 0xff};

	ASSERT_TRUE(f);
	json_init(&w, f, false);
	json_obj_begin(&w);
	json_key(&w, "a");
	json_u64(&w, 18446744073709551615ull);
	json_key(&w, "b");
	json_arr_begin(&w);
	json_i64(&w, -5);
	json_bool(&w, true);
	json_null(&w);
	json_str(&w, "x\"y");
	json_obj_begin(&w);
	json_obj_end(&w);
	json_arr_begin(&w);
	json_arr_end(&w);
	json_arr_end(&w);
	json_key_n(&w, "k\nq", 3);
	json_hex(&w, raw, sizeof(raw));
	json_key(&w, "f");
	json_f64(&w, 1.5);
	json_key(&w, "nan");
	json_f64(&w, 0.0 / 0.0);
	json_obj_end(&w);
	json_finish(&w);
	fclose(f);
	ASSERT_STREQ(buf, "{\"a\":18446744073709551615,\"b\":[-5,true,null,\"x\\\"y\",{},[]],"
			  "\"k\\nq\":\"00abff\",\"f\":1.5,\"nan\":null}\n");
	free(buf);
}

static void test_writer_pretty(void)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct json_writer w;

	ASSERT_TRUE(f);
	json_init(&w, f, true);
	json_obj_begin(&w);
	json_key(&w, "a");
	json_arr_begin(&w);
	json_u64(&w, 1);
	json_u64(&w, 2);
	json_arr_end(&w);
	json_obj_end(&w);
	json_finish(&w);
	fclose(f);
	ASSERT_STREQ(buf, "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n");
	free(buf);
}

int main(void)
{
	test_escape_plain();
	test_escape_control();
	test_escape_utf8();
	test_writer();
	test_writer_pretty();
	return 0;
}
