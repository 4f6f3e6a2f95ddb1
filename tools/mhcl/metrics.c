/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition of ps and inspect (rules in metrics.h). The
 * inspect tree comes from the servers through init: names may hold any
 * byte, so every name is rebuilt from an allow-list and every length is
 * bounded before it is copied.
 */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag_limits.h"
#include "json.h"

/* A sample under construction: fixed buffers, copied into one allocation. */
struct draft {
	char name[METRICS_NAME_MAX + 1];
	size_t len;
	bool too_long;
	unsigned nlabels;
	char lname[METRICS_LABELS_MAX][METRICS_LABEL_MAX + 1];
	char lvalue[METRICS_LABELS_MAX][DIAG_NAME_MAX + 1];
};

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Appends "_" and the sanitized component; an empty component is "_". */
static void draft_append(struct draft *d, const char *comp)
{
	size_t n = strlen(comp);

	if (d->len + 1 + (n ? n : 1) > METRICS_NAME_MAX) {
		d->too_long = true;
		return;
	}
	d->name[d->len++] = '_';
	for (size_t i = 0; i < n; i++)
		d->name[d->len++] = name_char(comp[i]) ? comp[i] : '_';
	if (!n)
		d->name[d->len++] = '_';
	d->name[d->len] = '\0';
}

static void draft_init(struct draft *d, const char *prefix, const char *server)
{
	*d = (struct draft){.nlabels = 1};
	d->len = strlen(prefix);
	memcpy(d->name, prefix, d->len + 1);
	snprintf(d->lname[0], sizeof(d->lname[0]), "server");
	snprintf(d->lvalue[0], sizeof(d->lvalue[0]), "%s", server);
}

/* Decimal, or "0x" and hex digits, short enough to be an id. */
static bool is_index(const char *s)
{
	size_t n = strlen(s), i = 0;
	bool hex = n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');

	if (!n || n > 20)
		return false;
	for (i = hex ? 2 : 0; i < n; i++) {
		char c = s[i];
		bool digit = c >= '0' && c <= '9';
		bool xdigit = (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		if (!digit && !(hex && xdigit))
			return false;
	}
	return true;
}

/* Makes component `index` a label named after `parent`; false if it cannot be. */
static bool draft_label(struct draft *d, const char *parent, const char *index)
{
	char ln[METRICS_LABEL_MAX + 1];
	size_t n = strlen(parent);

	if (d->nlabels == METRICS_LABELS_MAX || !n || n > METRICS_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		ln[i] = name_char(parent[i]) ? parent[i] : '_';
	ln[n] = '\0';
	/* [a-zA-Z_][a-zA-Z0-9_]*, and "__" is reserved for Prometheus itself. */
	if ((ln[0] >= '0' && ln[0] <= '9') || !strncmp(ln, "__", 2))
		return false;
	for (unsigned i = 0; i < d->nlabels; i++)
		if (!strcmp(d->lname[i], ln))
			return false;
	memcpy(d->lname[d->nlabels], ln, n + 1);
	snprintf(d->lvalue[d->nlabels], sizeof(d->lvalue[0]), "%s", index);
	d->nlabels++;
	return true;
}

static int add_draft(struct metrics *m, const struct draft *d, enum metrics_kind kind, uint64_t u,
		     int64_t i, double f)
{
	struct metrics_sample *s;
	size_t size = d->len + 1, off;

	if (d->too_long) {
		m->dropped++;
		return 0;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct metrics_sample *ns = realloc(m->s, cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		m->s = ns;
		m->cap = cap;
	}
	for (unsigned k = 0; k < d->nlabels; k++)
		size += strlen(d->lname[k]) + 1 + strlen(d->lvalue[k]) + 1;
	s = &m->s[m->n];
	*s = (struct metrics_sample){.nlabels = d->nlabels, .kind = kind, .seq = m->n};
	s->text = malloc(size);
	if (!s->text)
		return -ENOMEM;
	memcpy(s->text, d->name, d->len + 1);
	s->name = s->text;
	off = d->len + 1;
	for (unsigned k = 0; k < d->nlabels; k++) {
		size_t ln = strlen(d->lname[k]) + 1, lv = strlen(d->lvalue[k]) + 1;
		memcpy(s->text + off, d->lname[k], ln);
		s->lname[k] = s->text + off;
		off += ln;
		memcpy(s->text + off, d->lvalue[k], lv);
		s->lvalue[k] = s->text + off;
		off += lv;
	}
	if (kind == METRICS_U64)
		s->v.u64 = u;
	else if (kind == METRICS_I64)
		s->v.i64 = i;
	else
		s->v.f64 = f;
	m->n++;
	return 0;
}

static int add_u64(struct metrics *m, const char *name, const char *server, uint64_t v)
{
	struct draft d;

	draft_init(&d, name, server);
	return add_draft(m, &d, METRICS_U64, v, 0, 0);
}

int metrics_add_ps(struct metrics *m, const Mhcl__PsReply *ps)
{
	int r = 0;

	for (size_t i = 0; i < ps->n_servers && r == 0; i++) {
		const Mhcl__ServerInfo *s = ps->servers[i];
		bool up = s->pid > 0 && s->state && !strcmp(s->state, "running");
		if (!s->name || !diag_name_valid(s->name, strlen(s->name))) {
			m->dropped++;
			continue;
		}
		r = add_u64(m, "mhcl_server_up", s->name, up);
		if (r == 0)
			r = add_u64(m, "mhcl_server_restarts_total", s->name, s->restarts);
		if (r == 0 && s->pid > 0)
			r = add_u64(m, "mhcl_server_pss_bytes", s->name, s->pss_bytes);
		if (r == 0 && s->pid > 0)
			r = add_u64(m, "mhcl_server_uss_bytes", s->name, s->uss_bytes);
	}
	if (r == 0 && ps->init)
		r = add_u64(m, "mhcl_server_pss_bytes", "init", ps->init->pss_bytes);
	if (r == 0 && ps->init)
		r = add_u64(m, "mhcl_server_uss_bytes", "init", ps->init->uss_bytes);
	return r;
}

struct walk {
	struct metrics *m;
	const char *server, *prefix;
	const char *skip; /* a child of the walk's root not to visit, or NULL */
	const Mhcl__Node *path[METRICS_DEPTH_MAX];
};

static const char *node_name(const Mhcl__Node *n)
{
	return n->name ? n->name : "";
}

/* One sample for path[0..depth], leaf path[depth]. */
static int emit(struct walk *w, int depth)
{
	const Mhcl__Node *leaf = w->path[depth];
	struct draft d;

	switch (leaf->value_case) {
	case MHCL__NODE__VALUE_U64:
	case MHCL__NODE__VALUE_I64:
	case MHCL__NODE__VALUE_F64:
	case MHCL__NODE__VALUE_BOOLEAN:
		break;
	default:
		return 0; /* strings, bytes, bare directories */
	}
	draft_init(&d, w->prefix, w->server);
	for (int i = 0; i <= depth; i++) {
		const char *comp = node_name(w->path[i]);
		/* Only directories become labels: a leaf's name is what it measures. */
		if (i > 0 && i < depth && is_index(comp) &&
		    draft_label(&d, node_name(w->path[i - 1]), comp))
			continue;
		draft_append(&d, comp);
	}
	switch (leaf->value_case) {
	case MHCL__NODE__VALUE_U64:
		return add_draft(w->m, &d, METRICS_U64, leaf->u64, 0, 0);
	case MHCL__NODE__VALUE_I64:
		return add_draft(w->m, &d, METRICS_I64, 0, leaf->i64, 0);
	case MHCL__NODE__VALUE_F64:
		return add_draft(w->m, &d, METRICS_F64, 0, 0, leaf->f64);
	default:
		return add_draft(w->m, &d, METRICS_U64, leaf->boolean ? 1 : 0, 0, 0);
	}
}

static int walk(struct walk *w, const Mhcl__Node *n, int depth)
{
	for (size_t i = 0; i < n->n_children; i++) {
		const Mhcl__Node *c = n->children[i];
		int r;
		if (depth == 0 && w->skip && !strcmp(node_name(c), w->skip))
			continue;
		w->path[depth] = c;
		r = emit(w, depth);
		if (r == 0 && c->n_children && depth + 1 < METRICS_DEPTH_MAX)
			r = walk(w, c, depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool server_name_ok(const Mhcl__Node *n)
{
	const char *s = node_name(n);

	return diag_name_valid(s, strlen(s));
}

static int add_init(struct metrics *m, const Mhcl__Node *init)
{
	struct walk w = {.m = m, .server = "init", .prefix = "mhcl", .skip = "servers"};
	int r = walk(&w, init, 0);

	/* init/servers/NAME/X is init's view of server NAME. */
	for (size_t i = 0; i < init->n_children && r == 0; i++) {
		const Mhcl__Node *ss = init->children[i];
		if (strcmp(node_name(ss), "servers") != 0)
			continue;
		for (size_t k = 0; k < ss->n_children && r == 0; k++) {
			if (!server_name_ok(ss->children[k])) {
				m->dropped++;
				continue;
			}
			w = (struct walk){.m = m,
					  .server = node_name(ss->children[k]),
					  .prefix = "mhcl_init_server"};
			r = walk(&w, ss->children[k], 0);
		}
	}
	return r;
}

int metrics_add_inspect(struct metrics *m, const Mhcl__Node *root)
{
	int r = 0;

	for (size_t i = 0; root && i < root->n_children && r == 0; i++) {
		const Mhcl__Node *s = root->children[i];
		if (!s->n_children)
			continue; /* a server that did not answer: "error: ..." */
		if (!server_name_ok(s)) {
			m->dropped++;
			continue;
		}
		if (!strcmp(node_name(s), "init")) {
			r = add_init(m, s);
		} else {
			struct walk w = {.m = m, .server = node_name(s), .prefix = "mhcl"};
			r = walk(&w, s, 0);
		}
	}
	return r;
}

/* Order by name, then labels; equal keys keep their order of addition. */
static int key_cmp(const struct metrics_sample *a, const struct metrics_sample *b)
{
	int c = strcmp(a->name, b->name);

	if (c)
		return c;
	if (a->nlabels != b->nlabels)
		return a->nlabels < b->nlabels ? -1 : 1;
	for (unsigned k = 0; k < a->nlabels; k++) {
		c = strcmp(a->lname[k], b->lname[k]);
		if (!c)
			c = strcmp(a->lvalue[k], b->lvalue[k]);
		if (c)
			return c;
	}
	return 0;
}

static int sample_cmp(const void *pa, const void *pb)
{
	const struct metrics_sample *a = pa, *b = pb;
	int c = key_cmp(a, b);

	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void metrics_finish(struct metrics *m)
{
	size_t out = 0;

	if (!m->n)
		return;
	qsort(m->s, m->n, sizeof(*m->s), sample_cmp);
	for (size_t i = 0; i < m->n; i++) {
		if (out && !key_cmp(&m->s[out - 1], &m->s[i])) {
			free(m->s[i].text);
			m->dropped++;
			continue;
		}
		m->s[out++] = m->s[i];
	}
	m->n = out;
}

const char *metrics_type(const char *name)
{
	size_t n = strlen(name);

	return n >= 6 && !strcmp(name + n - 6, "_total") ? "counter" : "gauge";
}

void metrics_put_label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '"')
			fputs("\\\"", f);
		else if (c == '\n')
			fputs("\\n", f);
		else
			fputc(c < 0x20 || c > 0x7e ? '?' : c, f);
	}
}

static const struct {
	const char *name, *help;
} family_help[] = {
    {"mhcl_server_up", "1 if init reports the server running, else 0"},
    {"mhcl_server_restarts_total", "times init has restarted the server"},
    {"mhcl_server_pss_bytes", "proportional set size, guest RAM left out (smaps)"},
    {"mhcl_server_uss_bytes", "unique set size, guest RAM left out (smaps)"},
};

static void put_value(FILE *f, const struct metrics_sample *s)
{
	switch (s->kind) {
	case METRICS_U64:
		fprintf(f, "%" PRIu64, s->v.u64);
		break;
	case METRICS_I64:
		fprintf(f, "%" PRId64, s->v.i64);
		break;
	case METRICS_F64:
		if (isnan(s->v.f64))
			fputs("NaN", f);
		else if (isinf(s->v.f64))
			fputs(s->v.f64 > 0 ? "+Inf" : "-Inf", f);
		else
			fprintf(f, "%.17g", s->v.f64);
		break;
	}
}

void metrics_print_text(const struct metrics *m, FILE *f)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct metrics_sample *s = &m->s[i];
		if (i == 0 || strcmp(s->name, m->s[i - 1].name) != 0) {
			for (size_t h = 0; h < sizeof(family_help) / sizeof(family_help[0]); h++)
				if (!strcmp(family_help[h].name, s->name))
					fprintf(f, "# HELP %s %s\n", s->name, family_help[h].help);
			fprintf(f, "# TYPE %s %s\n", s->name, metrics_type(s->name));
		}
		fputs(s->name, f);
		fputc('{', f);
		for (unsigned k = 0; k < s->nlabels; k++) {
			fprintf(f, "%s%s=\"", k ? "," : "", s->lname[k]);
			metrics_put_label_value(f, s->lvalue[k]);
			fputc('"', f);
		}
		fputs("} ", f);
		put_value(f, s);
		fputc('\n', f);
	}
}

void metrics_print_json(const struct metrics *m, FILE *f)
{
	struct json_writer w;

	json_init(&w, f, false);
	json_obj_begin(&w);
	json_key(&w, "metrics");
	json_arr_begin(&w);
	for (size_t i = 0; i < m->n; i++) {
		const struct metrics_sample *s = &m->s[i];
		json_obj_begin(&w);
		json_key(&w, "name");
		json_str(&w, s->name);
		json_key(&w, "type");
		json_str(&w, metrics_type(s->name));
		json_key(&w, "labels");
		json_obj_begin(&w);
		for (unsigned k = 0; k < s->nlabels; k++) {
			json_key(&w, s->lname[k]);
			json_str(&w, s->lvalue[k]);
		}
		json_obj_end(&w);
		json_key(&w, "value");
		if (s->kind == METRICS_U64)
			json_u64(&w, s->v.u64);
		else if (s->kind == METRICS_I64)
			json_i64(&w, s->v.i64);
		else
			json_f64(&w, s->v.f64);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_obj_end(&w);
	json_finish(&w);
}

void metrics_free(struct metrics *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->s[i].text);
	free(m->s);
	*m = (struct metrics){0};
}
