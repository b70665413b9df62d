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
		cmocka_unit_test(test_comment_markers_inside_strings),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_canonical_and_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
