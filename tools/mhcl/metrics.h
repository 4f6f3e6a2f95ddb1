/* SPDX-License-Identifier: MIT */
/*
 * `mhcl metrics`: ps figures and every numeric inspect leaf as Prometheus
 * text exposition (format 0.0.4). No I/O besides the FILE it prints to.
 *
 * Naming: each leaf is one family, "mhcl" plus its path below the server with
 * every byte outside [a-zA-Z0-9_] made '_' and components joined by '_'. A
 * directory whose name is an index (decimal, or 0x and hex digits: channel,
 * LUN, client ids) becomes a label named after its parent directory instead,
 * when that parent makes a valid label name not yet used on the sample;
 * otherwise it is flattened into the name like any component. Every sample
 * has server="NAME". init's own tree comes as server="init", except its
 * servers/NAME/X, which become mhcl_init_server_X{server="NAME"}.
 * Values: u64, i64 and f64 as they are, booleans 0/1; strings and bytes are
 * left out. Type: counter if the family name ends in "_total", else gauge
 * (inspect says nothing about monotonicity, so nothing else is claimed).
 * Samples that come out with the same name and labels as an earlier one are
 * dropped (ps figures are added first and win).
 */
#ifndef MHCL_METRICS_H
#define MHCL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diag.pb-c.h"

#define METRICS_NAME_MAX 200 /* longer family names are dropped */
#define METRICS_LABEL_MAX 64 /* longer label names are flattened into the name */
#define METRICS_LABELS_MAX 4 /* server and three index labels; deeper indices flatten */
#define METRICS_DEPTH_MAX 32 /* deeper inspect nodes are not visited */

enum metrics_kind {
	METRICS_U64,
	METRICS_I64,
	METRICS_F64,
};

struct metrics_sample {
	char *text; /* owned: the name, label names and values below point into it */
	const char *name;
	unsigned nlabels;
	const char *lname[METRICS_LABELS_MAX];
	const char *lvalue[METRICS_LABELS_MAX];
	enum metrics_kind kind;
	union {
		uint64_t u64;
		int64_t i64;
		double f64;
	} v;
	size_t seq; /* order of addition: the first of duplicates wins */
};

/* Zero-initialise, then add, then metrics_finish() before printing. */
struct metrics {
	struct metrics_sample *s;
	size_t n, cap;
	size_t dropped; /* leaves left out: name too long, duplicate, invalid server */
};

/* Per-server figures from a ps reply (borrowed): mhcl_server_up,
 * mhcl_server_restarts_total, and for running ones and init
 * mhcl_server_pss_bytes and mhcl_server_uss_bytes. 0 or -ENOMEM. */
int metrics_add_ps(struct metrics *m, const Mhcl__PsReply *ps);

/* Every numeric leaf of a whole-tree inspect reply (root "mhcl", one child
 * per server and "init"; borrowed). Children with an invalid server name or
 * without children (a server's error string) are skipped. 0 or -ENOMEM. */
int metrics_add_inspect(struct metrics *m, const Mhcl__Node *root);

/* Sorts by family, then labels, and drops duplicates. */
void metrics_finish(struct metrics *m);

/* The exposition: per family "# HELP" (ps figures only), "# TYPE", samples. */
void metrics_print_text(const struct metrics *m, FILE *f);
/* {"metrics":[{"name","type","labels":{...},"value"}...]} */
void metrics_print_json(const struct metrics *m, FILE *f);

void metrics_free(struct metrics *m);

/* "counter" or "gauge", by the rule above. */
const char *metrics_type(const char *name);

/* A label value with '\\', '"' and newline escaped as the format wants; any
 * other byte outside printable ASCII becomes '?' so the output stays UTF-8. */
void metrics_put_label_value(FILE *f, const char *v);

#endif
