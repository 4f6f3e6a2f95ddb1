/* SPDX-License-Identifier: MIT */
/*
 * Inspect trees live in a chunked arena: every node, name, string and child
 * array of one tree comes from the tree's chunks, so building a tree is a
 * handful of mallocs and freeing it is one walk over the chunk list.
 */
#include "inspect.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 8192u
/* Bounds on what one tree may hold; a server asking for more is a bug, but
 * the tree stays valid (further adds return NULL). */
#define INSPECT_MAX_BYTES (8u * 1024u * 1024u)
#define INSPECT_NAME_MAX 128u
#define INSPECT_STR_MAX 4096u

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

struct inspect_tree {
	struct arena_chunk *chunks;
	size_t total;
	Mhcl__Node *root;
};

static void *arena_alloc(struct inspect_tree *t, size_t len)
{
	len = (len + 15u) & ~(size_t)15u;
	struct arena_chunk *c = t->chunks;
	if (!c || c->size - c->used < len) {
		size_t sz = len > ARENA_CHUNK / 2 ? len : ARENA_CHUNK;
		if (t->total + sz > INSPECT_MAX_BYTES)
			return NULL;
		c = malloc(sizeof(*c) + sz);
		if (!c)
			return NULL;
		c->size = sz;
		c->used = 0;
		t->total += sz;
		if (len > ARENA_CHUNK / 2 && t->chunks) {
			/* Keep the partly used chunk at the head for small allocations. */
			c->next = t->chunks->next;
			t->chunks->next = c;
		} else {
			c->next = t->chunks;
			t->chunks = c;
		}
	}
	void *p = c->data + c->used;
	c->used += len;
	return p;
}

static char *arena_strndup(struct inspect_tree *t, const char *s, size_t max)
{
	size_t n = strnlen(s ? s : "", max);
	char *p = arena_alloc(t, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s ? s : "", n);
	p[n] = '\0';
	return p;
}

static Mhcl__Node *node_new(struct inspect_tree *t, const char *name)
{
	Mhcl__Node *n = arena_alloc(t, sizeof(*n));
	if (!n)
		return NULL;
	*n = (Mhcl__Node)MHCL__NODE__INIT;
	n->name = arena_strndup(t, name, INSPECT_NAME_MAX);
	if (!n->name)
		return NULL;
	return n;
}

struct inspect_tree *inspect_tree_new(const char *root_name)
{
	struct inspect_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->root = node_new(t, root_name);
	if (!t->root)
		return inspect_tree_free(t);
	return t;
}

struct inspect_tree *inspect_tree_free(struct inspect_tree *t)
{
	if (!t)
		return NULL;
	for (struct arena_chunk *c = t->chunks, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(t);
	return NULL;
}

Mhcl__Node *inspect_tree_root(struct inspect_tree *t)
{
	return t ? t->root : NULL;
}

int inspect_attach(struct inspect_tree *t, Mhcl__Node *parent, Mhcl__Node *child)
{
	if (!t || !parent || !child)
		return -EINVAL;
	size_t n = parent->n_children;
	/* Arrays start at 4 and double; the outgrown array stays in the arena. */
	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
		size_t cap = n ? n * 2 : 4;
		Mhcl__Node **arr = arena_alloc(t, cap * sizeof(*arr));
		if (!arr)
			return -ENOMEM;
		if (n)
			memcpy(arr, parent->children, n * sizeof(*arr));
		parent->children = arr;
	}
	parent->children[n] = child;
	parent->n_children = n + 1;
	return 0;
}

static Mhcl__Node *add(struct inspect_tree *t, Mhcl__Node *parent, const char *name)
{
	if (!t || !parent)
		return NULL;
	Mhcl__Node *n = node_new(t, name);
	if (!n || inspect_attach(t, parent, n) < 0)
		return NULL;
	return n;
}

Mhcl__Node *inspect_dir(struct inspect_tree *t, Mhcl__Node *parent, const char *name)
{
	return add(t, parent, name);
}

Mhcl__Node *inspect_u64(struct inspect_tree *t, Mhcl__Node *parent, const char *name, uint64_t v)
{
	Mhcl__Node *n = add(t, parent, name);
	if (n) {
		n->value_case = MHCL__NODE__VALUE_U64;
		n->u64 = v;
	}
	return n;
}

Mhcl__Node *inspect_i64(struct inspect_tree *t, Mhcl__Node *parent, const char *name, int64_t v)
{
	Mhcl__Node *n = add(t, parent, name);
	if (n) {
		n->value_case = MHCL__NODE__VALUE_I64;
		n->i64 = v;
	}
	return n;
}

Mhcl__Node *inspect_f64(struct inspect_tree *t, Mhcl__Node *parent, const char *name, double v)
{
	Mhcl__Node *n = add(t, parent, name);
	if (n) {
		n->value_case = MHCL__NODE__VALUE_F64;
		n->f64 = v;
	}
	return n;
}

Mhcl__Node *inspect_bool(struct inspect_tree *t, Mhcl__Node *parent, const char *name, bool v)
{
	Mhcl__Node *n = add(t, parent, name);
	if (n) {
		n->value_case = MHCL__NODE__VALUE_BOOLEAN;
		n->boolean = v;
	}
	return n;
}

Mhcl__Node *inspect_str(struct inspect_tree *t, Mhcl__Node *parent, const char *name, const char *v)
{
	Mhcl__Node *n = add(t, parent, name);
	if (!n)
		return NULL;
	char *s = arena_strndup(t, v, INSPECT_STR_MAX);
	if (!s)
		return NULL;
	n->value_case = MHCL__NODE__VALUE_STR;
	n->str = s;
	return n;
}

Mhcl__Node *inspect_strf(struct inspect_tree *t, Mhcl__Node *parent, const char *name,
			 const char *fmt, ...)
{
	char buf[INSPECT_STR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return inspect_str(t, parent, name, buf);
}

Mhcl__Node *inspect_find(Mhcl__Node *root, const char *path)
{
	Mhcl__Node *n = root;
	const char *p = path ? path : "";

	while (n && *p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		Mhcl__Node *next = NULL;
		for (size_t i = 0; i < n->n_children; i++) {
			Mhcl__Node *c = n->children[i];
			if (c && c->name && strlen(c->name) == len &&
			    memcmp(c->name, p, len) == 0) {
				next = c;
				break;
			}
		}
		n = next;
		p += len;
	}
	return n;
}
