/* SPDX-License-Identifier: MIT */
/* lib/server/inspect.c: typed values, growing child arrays, path lookup,
 * bounds on names and strings, packing through protobuf-c, splicing. */
#include <string.h>

#include "inspect.h"
#include "test.h"

int main(void)
{
	struct inspect_tree *t = inspect_tree_new("root");
	ASSERT_TRUE(t);
	Mhcl__Node *root = inspect_tree_root(t);
	ASSERT_STREQ(root->name, "root");

	Mhcl__Node *d = inspect_dir(t, root, "dir");
	ASSERT_TRUE(inspect_u64(t, d, "u", 42));
	ASSERT_TRUE(inspect_i64(t, d, "i", -7));
	ASSERT_TRUE(inspect_f64(t, d, "f", 1.5));
	ASSERT_TRUE(inspect_bool(t, d, "b", true));
	ASSERT_TRUE(inspect_str(t, d, "s", "hello"));
	ASSERT_TRUE(inspect_strf(t, d, "sf", "%d-%s", 3, "x"));
	/* Many children: the array grows past several doublings. */
	Mhcl__Node *many = inspect_dir(t, root, "many");
	char name[16];
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		ASSERT_TRUE(inspect_u64(t, many, name, (uint64_t)i));
	}
	ASSERT_EQ(many->n_children, 1000);
	for (int i = 0; i < 1000; i++)
		ASSERT_UEQ(many->children[i]->u64, (uint64_t)i);

	ASSERT_TRUE(inspect_find(root, "") == root);
	ASSERT_TRUE(inspect_find(root, NULL) == root);
	ASSERT_UEQ(inspect_find(root, "dir/u")->u64, 42);
	ASSERT_UEQ(inspect_find(root, "/dir//u/")->u64, 42);
	ASSERT_EQ(inspect_find(root, "dir/i")->i64, -7);
	ASSERT_STREQ(inspect_find(root, "dir/sf")->str, "3-x");
	ASSERT_UEQ(inspect_find(root, "many/n999")->u64, 999);
	ASSERT_TRUE(inspect_find(root, "dir/nope") == NULL);
	ASSERT_TRUE(inspect_find(root, "dir/u/deeper") == NULL);
	ASSERT_TRUE(inspect_find(root, "di") == NULL);

	/* Adding to a NULL parent is a no-op. */
	ASSERT_TRUE(inspect_u64(t, NULL, "x", 1) == NULL);
	ASSERT_TRUE(inspect_dir(NULL, root, "x") == NULL);

	/* Long names and strings are cut, never overrun. */
	char long_s[10000];
	memset(long_s, 'q', sizeof(long_s) - 1);
	long_s[sizeof(long_s) - 1] = '\0';
	Mhcl__Node *ls = inspect_str(t, root, long_s, long_s);
	ASSERT_TRUE(ls);
	ASSERT_LT(strlen(ls->name), 200);
	ASSERT_LT(strlen(ls->str), 5000);

	/* Splice another tree's node, then pack and unpack the whole. */
	struct inspect_tree *other = inspect_tree_new("other");
	inspect_u64(other, inspect_tree_root(other), "v", 9);
	ASSERT_OK(inspect_attach(t, root, inspect_tree_root(other)));
	size_t len = mhcl__node__get_packed_size(root);
	uint8_t *buf = malloc(len);
	ASSERT_EQ(mhcl__node__pack(root, buf), len);
	Mhcl__Node *back = mhcl__node__unpack(NULL, len, buf);
	ASSERT_TRUE(back);
	ASSERT_UEQ(inspect_find(back, "other/v")->u64, 9);
	ASSERT_UEQ(inspect_find(back, "many/n500")->u64, 500);
	ASSERT_TRUE(inspect_find(back, "dir/b")->boolean);
	mhcl__node__free_unpacked(back, NULL);
	free(buf);
	inspect_tree_free(other);

	ASSERT_TRUE(inspect_tree_free(t) == NULL);
	ASSERT_TRUE(inspect_tree_free(NULL) == NULL);
	return 0;
}
