/* JSON with comments: values, positions, comments, duplicate keys, the writer. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "util/json.h"

static int parse(struct jdoc *doc, const char *text, struct diags *d)
{
	return jdoc_parse(doc, "t.json", text, strlen(text), d);
}

static void test_values_and_positions(void **state)
{
	(void)state;
	struct diags d;
	diags_init(&d);
	struct jdoc doc;
	const char *text = "{\n  \"a\": \"x\",  // c\n  /* b */ \"n\": [1, true, null],\n  \"é\": \"ü${y}\"\n}";
	assert_int_equal(parse(&doc, text, &d), 0);
	assert_int_equal(doc.root.type, JSON_OBJECT);
	assert_int_equal(doc.root.n, 3);
	const struct jnode *a = jnode_get(&doc.root, "a");
	assert_string_equal(a->str, "x");
	assert_int_equal(a->key_pos.line, 2);
	assert_int_equal(a->key_pos.col, 3);
	assert_int_equal(a->pos.col, 8);
	const struct jnode *n = jnode_get(&doc.root, "n");
	assert_int_equal(n->type, JSON_ARRAY);
	assert_int_equal(n->pos.line, 3);
	assert_int_equal(n->pos.col, 16);
	assert_int_equal(n->child[0].num, 1);
	assert_true(n->child[1].boolean);
	assert_int_equal(n->child[2].type, JSON_NULL);
	assert_int_equal(n->child[2].pos.col, 26);
	/* Columns count characters, not bytes; string positions map decoded indices. */
	const struct jnode *e = jnode_get(&doc.root, "é");
	assert_int_equal(e->pos.col, 8);
	struct pos p = jdoc_string_pos(&doc, e, strlen("ü"));
	assert_int_equal(p.col, 10);
	assert_null(jnode_get(&doc.root, "missing"));
	jdoc_release(&doc);
	diags_release(&d);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	struct row {
		const char *text, *expect;
	} rows[] = {
		{ "{\"a\": 1,}", "t.json:1:8: error: invalid JSON: trailing comma before '}'" },
		{ "[1, 2,\n]", "t.json:1:6: error: invalid JSON: trailing comma before ']'" },
		{ "{\"a\": 1", "t.json:1:9: error: invalid JSON: unexpected end of file" },
		{ "{\"a\": \"x\ny\"}", "t.json:1:9: error: invalid JSON: newline inside a string" },
		{ "{\"a\": 1x}", "t.json:1:8: error: invalid JSON: expected ',' or '}'" },
		{ "{\"a\": 01}", "t.json:1:7: error: invalid JSON: a number must not start with 0" },
		{ "{\"a\" 1}", "t.json:1:6: error: invalid JSON: expected ':' after the member name" },
		{ "{\"a\": 1 \"b\": 2}", "t.json:1:9: error: invalid JSON: missing comma" },
		{ "{\"a\": 1} x", "t.json:1:10: error: invalid JSON: unexpected 'x'" },
		{ "/* open", "t.json:1:1: error: unterminated comment" },
		{ "{\"a\": 1, \"a\": 2}", "t.json:1:10: error: duplicate key \"a\" (first at line 1)" },
		{ "{'a': 1}", "t.json:1:2: error: invalid JSON: strings need double quotes" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct diags d;
		diags_init(&d);
		struct jdoc doc;
		assert_int_equal(parse(&doc, rows[i].text, &d), -1);
		char *t = diags_text(&d);
		assert_contains(t, rows[i].expect);
		free(t);
		jdoc_release(&doc);
		diags_release(&d);
	}
}

/* Bytes that are not UTF-8 text: each refused at the first offending byte, with a hint. */
static void test_encoding_errors(void **state)
{
	(void)state;
	struct row {
		const char *text;
		size_t len; /* 0: strlen */
		const char *expect, *hint;
	} rows[] = {
		{ "{\n  \"a\": \"caf\xe9\"}", 0,
		  "t.json:2:12: error: not valid UTF-8: byte 0xe9 does not belong here",
		  "hint: save the file as UTF-8 (from Latin-1: iconv -f LATIN1 -t UTF-8 't.json' > NEW)" },
		/* columns count characters: "é" before the bad byte is one */
		{ "{\"\xc3\xa9\": \"\xff\"}", 0, "t.json:1:8: error: not valid UTF-8: byte 0xff", NULL },
		/* cut short, overlong, a surrogate, past U+10FFFF, a stray continuation byte */
		{ "[\"\xe2\x82\"]", 0, "t.json:1:3: error: not valid UTF-8: byte 0xe2", NULL },
		{ "[\"\xc0\xaf\"]", 0, "t.json:1:3: error: not valid UTF-8: byte 0xc0", NULL },
		{ "[\"\xed\xa0\x80\"]", 0, "t.json:1:3: error: not valid UTF-8: byte 0xed", NULL },
		{ "[\"\xf4\x90\x80\x80\"]", 0, "t.json:1:3: error: not valid UTF-8: byte 0xf4", NULL },
		{ "[1]\n// \x80 in a comment\n", 0, "t.json:2:4: error: not valid UTF-8: byte 0x80", NULL },
		{ "{\"a\":\n \"x\0y\"}", 13,
		  "t.json:2:4: error: a NUL byte (0x00) is not allowed in a JSON file",
		  "hint: this is not a text file, or one in another encoding: save it as UTF-8 text" },
		{ "\xff\xfe{\0}\0", 6,
		  "t.json:1:1: error: the file is UTF-16 (it starts with the byte order mark FF FE), "
		  "not UTF-8", "hint: save it as UTF-8, e.g. iconv -f UTF-16 -t UTF-8 't.json' > NEW" },
		{ "\xfe\xff\0{\0}", 6, "t.json:1:1: error: the file is UTF-16 (it starts with the "
		  "byte order mark FE FF)", NULL },
		{ "{\0\"\0a\0\"\0:\0 \0\"\0b\0\"\0}\0", 20,
		  "t.json:1:1: error: the file looks like UTF-16LE (a NUL byte beside every "
		  "character), not UTF-8", "hint: save it as UTF-8, e.g. iconv -f UTF-16LE -t UTF-8" },
		{ "\0[\0]", 4, "t.json:1:1: error: the file looks like UTF-16BE", NULL },
		/* escapes a C string cannot hold, or that are not one character */
		{ "{\"a\": \"x\\u0000\"}", 0,
		  "t.json:1:9: error: invalid JSON: \\u0000 (a NUL character) is not allowed in a string",
		  "hint: remove it" },
		{ "[\"\\u12\"]", 0, "t.json:1:3: error: invalid JSON: invalid \\u escape: it takes "
		  "four hex digits", NULL },
		{ "[\"\\udc00\"]", 0, "t.json:1:3: error: invalid JSON: invalid \\u escape: a low "
		  "surrogate without a high one before it", NULL },
		{ "[\"ab\\ud800x\"]", 0, "t.json:1:5: error: invalid JSON: invalid \\u escape: a high "
		  "surrogate without a low one after it", NULL },
		{ "[\"\\ud800\\u0041\"]", 0, "t.json:1:3: error: invalid JSON: invalid \\u escape: a "
		  "high surrogate", NULL },
		{ "{\"n\": 1e999}", 0, "t.json:1:7: error: number is too large for a double", NULL },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct diags d;
		diags_init(&d);
		struct jdoc doc;
		size_t len = rows[i].len ? rows[i].len : strlen(rows[i].text);
		assert_int_equal(jdoc_parse(&doc, "t.json", rows[i].text, len, &d), -1);
		char *t = diags_text(&d);
		assert_contains(t, rows[i].expect);
		if (rows[i].hint)
			assert_contains(t, rows[i].hint);
		free(t);
		jdoc_release(&doc);
		diags_release(&d);
	}
}

/* A UTF-8 byte order mark is skipped: positions count from the character after it. Escapes
 * of real characters, surrogate pairs included, decode. */
static void test_utf8_bom_and_escapes(void **state)
{
	(void)state;
	struct diags d;
	diags_init(&d);
	struct jdoc doc;
	assert_int_equal(parse(&doc, "\xEF\xBB\xBF{\"a\": \"\\u00e9\\ud83d\\ude00\"}", &d), 0);
	const struct jnode *a = jnode_get(&doc.root, "a");
	assert_int_equal(doc.root.pos.col, 1);
	assert_int_equal(a->key_pos.col, 2);
	assert_string_equal(a->str, "\xc3\xa9\xf0\x9f\x98\x80");
	jdoc_release(&doc);
	assert_int_equal(parse(&doc, "\xEF\xBB\xBF\n{,}", &d), -1);
	char *t = diags_text(&d);
	assert_contains(t, "t.json:2:2: error: invalid JSON");
	free(t);
	jdoc_release(&doc);
	diags_release(&d);
}

/* The writer never writes bytes a JSON reader refuses: invalid UTF-8 from outside (a path,
 * a git message) becomes U+FFFD, well-formed characters stay, and a number that is not
 * finite or not a long long is still valid JSON. */
static void test_writer_keeps_output_utf8(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	json_quote(&out, "caf\xe9 \xc3\xa9 \xe2\x82 \xed\xa0\x80 \xf0\x9f\x98\x80 \x80");
	assert_string_equal(out.data, "\"caf\xEF\xBF\xBD \xc3\xa9 \xEF\xBF\xBD\xEF\xBF\xBD "
				      "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xf0\x9f\x98\x80 \xEF\xBF\xBD\"");
	struct diags d;
	diags_init(&d);
	struct jdoc doc;
	assert_int_equal(parse(&doc, out.data, &d), 0);
	jdoc_release(&doc);
	assert_int_equal(parse(&doc, "[1e300, -1e19, 3]", &d), 0);
	char *c = jnode_compact(&doc.root);
	assert_string_equal(c, "[1.0000000000000001e+300,-1e+19,3]");
	free(c);
	doc.root.child[0].num = 1e300 * 1e300; /* infinity, as no parsed value holds */
	c = jnode_compact(&doc.root);
	assert_string_equal(c, "[null,-1e+19,3]");
	free(c);
	jdoc_release(&doc);
	diags_release(&d);
	buf_release(&out);
}

static void test_comment_markers_inside_strings(void **state)
{
	(void)state;
	struct diags d;
	diags_init(&d);
	struct jdoc doc;
	assert_int_equal(parse(&doc, "{\"u\": \"https://x/*y*/\", \"q\": \"a\\\"//b\"}", &d), 0);
	assert_string_equal(jnode_get(&doc.root, "u")->str, "https://x/*y*/");
	assert_string_equal(jnode_get(&doc.root, "q")->str, "a\"//b");
	jdoc_release(&doc);
	diags_release(&d);
}

static void test_writer(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	struct jw w;
	jw_init(&w, &out, false);
	jw_object_begin(&w);
	jw_kstring(&w, "s", "a\"b\\c\n\x01");
	jw_key(&w, "a");
	jw_array_begin(&w);
	jw_int(&w, -3);
	jw_bool(&w, true);
	jw_null(&w);
	jw_array_begin(&w);
	jw_array_end(&w);
	jw_array_end(&w);
	jw_kstring(&w, "n", NULL);
	jw_object_end(&w);
	assert_string_equal(out.data, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"a\":[-3,true,null,[]],\"n\":null}");
	/* What the writer writes, the reader reads back. */
	struct diags d;
	diags_init(&d);
	struct jdoc doc;
	assert_int_equal(parse(&doc, out.data, &d), 0);
	assert_string_equal(jnode_get(&doc.root, "s")->str, "a\"b\\c\n\x01");
	jdoc_release(&doc);
	diags_release(&d);
	buf_reset(&out);
	jw_init(&w, &out, true);
	jw_object_begin(&w);
	jw_kint(&w, "x", 1);
	jw_object_end(&w);
	assert_string_equal(out.data, "{\n  \"x\": 1\n}\n");
	buf_release(&out);
}

/* Canonical output sorts members; the diff names each changed leaf with both values. */
static void test_canonical_and_diff(void **state)
{
	(void)state;
	struct diags d;
	diags_init(&d);
	struct jdoc a, b;
	assert_int_equal(parse(&a, "{\"z\": 1, \"a\": {\"y\": [1, 2], \"x\": \"v1\"}, \"gone\": true}", &d), 0);
	assert_int_equal(parse(&b, "{\"a\": {\"x\": \"v2\", \"y\": [1, 2]}, \"z\": 1.5, \"new\": null}", &d), 0);
	char *c = jnode_compact(&a.root);
	assert_string_equal(c, "{\"a\":{\"x\":\"v1\",\"y\":[1,2]},\"gone\":true,\"z\":1}");
	free(c);
	struct buf out = BUF_INIT;
	jnode_diff(&a.root, &b.root, &out);
	assert_string_equal(out.data, "a.x: \"v1\" -> \"v2\"\n"
				      "gone: true -> (absent)\n"
				      "new: (absent) -> null\n"
				      "z: 1 -> 1.5\n");
	buf_reset(&out);
	jnode_diff(&a.root, &a.root, &out);
	assert_int_equal(out.len, 0);
	buf_release(&out);
	jdoc_release(&a);
	jdoc_release(&b);
	diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_and_positions),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_encoding_errors),
		cmocka_unit_test(test_utf8_bom_and_escapes),
		cmocka_unit_test(test_writer_keeps_output_utf8),
		cmocka_unit_test(test_comment_markers_inside_strings),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_canonical_and_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
