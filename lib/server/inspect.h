/* SPDX-License-Identifier: MIT */
/*
 * Builds inspect trees (proto/bus.proto Node) cheaply: a server fills a tree
 * on each InspectRequest; nodes are allocated from the tree and freed with it.
 * Values are typed so clients can render and compare them.
 */
#ifndef MHCL_INSPECT_H
#define MHCL_INSPECT_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.pb-c.h"

struct inspect_tree;

struct inspect_tree *inspect_tree_new(const char *root_name);
/* Destroys the tree and every node in it; accepts NULL, returns NULL. */
struct inspect_tree *inspect_tree_free(struct inspect_tree *t);
Mhcl__Node *inspect_tree_root(struct inspect_tree *t);

/* Adds a child; name is copied. Returns the new node, or NULL on ENOMEM
 * (callers may ignore NULL: adding to a NULL parent is a no-op). */
Mhcl__Node *inspect_dir(struct inspect_tree *t, Mhcl__Node *parent, const char *name);
Mhcl__Node *inspect_u64(struct inspect_tree *t, Mhcl__Node *parent, const char *name, uint64_t v);
Mhcl__Node *inspect_i64(struct inspect_tree *t, Mhcl__Node *parent, const char *name, int64_t v);
Mhcl__Node *inspect_f64(struct inspect_tree *t, Mhcl__Node *parent, const char *name, double v);
Mhcl__Node *inspect_bool(struct inspect_tree *t, Mhcl__Node *parent, const char *name, bool v);
Mhcl__Node *inspect_str(struct inspect_tree *t, Mhcl__Node *parent, const char *name,
			const char *v);
Mhcl__Node *inspect_strf(struct inspect_tree *t, Mhcl__Node *parent, const char *name,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Links an existing node (borrowed: it must outlive the tree, and the tree
 * never frees it) as the last child of parent. Used to splice trees that
 * other servers sent. Returns 0, -EINVAL or -ENOMEM. */
int inspect_attach(struct inspect_tree *t, Mhcl__Node *parent, Mhcl__Node *child);

/* Finds the node at "a/b/c" below root ("" = root); NULL if absent. */
Mhcl__Node *inspect_find(Mhcl__Node *root, const char *path);

#endif
