/* SPDX-License-Identifier: MIT */
/* mhcl inspect [SERVER[/PATH]]: the inspect tree, indented or as nested JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "defs/ipc_frame.h"
#include "diag.pb-c.h"
#include "json.h"
#include "mhcl.h"
#include "util.h"

/* Deeper nodes are elided ("..."): the tree comes from the network. */
#define INSPECT_DEPTH_MAX 32

static void print_value(const Mhcl__Node *n)
{
	switch (n->value_case) {
	case MHCL__NODE__VALUE_I64:
		printf("%" PRId64, n->i64);
		break;
	case MHCL__NODE__VALUE_U64:
		printf("%" PRIu64, n->u64);
		break;
	case MHCL__NODE__VALUE_F64:
		printf("%g", n->f64);
		break;
	case MHCL__NODE__VALUE_STR:
		/* Strings are quoted and escaped like JSON, so types stay visible. */
		json_escape(stdout, n->str ? n->str : "", n->str ? strlen(n->str) : 0);
		break;
	case MHCL__NODE__VALUE_BOOLEAN:
		fputs(n->boolean ? "true" : "false", stdout);
		break;
	case MHCL__NODE__VALUE_RAW:
		fputs("0x", stdout);
		for (size_t i = 0; i < n->raw.len; i++)
			printf("%02x", n->raw.data[i]);
		if (!n->raw.len)
			fputs("(empty)", stdout);
		break;
	default:
		break;
	}
}

static void print_tree(const Mhcl__Node *n, int depth)
{
	printf("%*s", depth * 2, "");
	if (depth >= INSPECT_DEPTH_MAX) {
		puts("...");
		return;
	}
	mhcl_put_safe(stdout, n->name && n->name[0] ? n->name : "(root)");
	if (n->value_case != MHCL__NODE__VALUE__NOT_SET) {
		fputs(": ", stdout);
		print_value(n);
	}
	putchar('\n');
	for (size_t i = 0; i < n->n_children; i++)
		print_tree(n->children[i], depth + 1);
}

static void json_value(struct json_writer *w, const Mhcl__Node *n)
{
	switch (n->value_case) {
	case MHCL__NODE__VALUE_I64:
		json_i64(w, n->i64);
		break;
	case MHCL__NODE__VALUE_U64:
		json_u64(w, n->u64);
		break;
	case MHCL__NODE__VALUE_F64:
		json_f64(w, n->f64);
		break;
	case MHCL__NODE__VALUE_STR:
		json_str(w, n->str);
		break;
	case MHCL__NODE__VALUE_BOOLEAN:
		json_bool(w, n->boolean);
		break;
	case MHCL__NODE__VALUE_RAW:
		json_hex(w, n->raw.data, n->raw.len);
		break;
	default:
		json_null(w);
		break;
	}
}

/* A leaf is its value; a directory an object of its children (a directory
 * that also has a value keeps it under "_value"). */
static void print_json_node(struct json_writer *w, const Mhcl__Node *n, int depth)
{
	if (depth >= INSPECT_DEPTH_MAX) {
		json_str(w, "...");
		return;
	}
	if (!n->n_children) {
		if (n->value_case == MHCL__NODE__VALUE__NOT_SET) {
			json_obj_begin(w);
			json_obj_end(w);
		} else {
			json_value(w, n);
		}
		return;
	}
	json_obj_begin(w);
	if (n->value_case != MHCL__NODE__VALUE__NOT_SET) {
		json_key(w, "_value");
		json_value(w, n);
	}
	for (size_t i = 0; i < n->n_children; i++) {
		json_key(w, n->children[i]->name ? n->children[i]->name : "");
		print_json_node(w, n->children[i], depth + 1);
	}
	json_obj_end(w);
}

int cmd_inspect(struct mhcl_ctx *c)
{
	Mhcl__DiagInspectRequest req = MHCL__DIAG_INSPECT_REQUEST__INIT;
	char server[DIAG_NAME_MAX + 1] = "";
	const char *path = "";
	Mhcl__InspectReply *reply;
	ProtobufCMessage *m;
	int r;

	if (c->args->npos == 1 && mhcl_server_path_parse(c->args->pos[0], server, &path) < 0)
		return mhcl_fail(c, MHCL_CLI_USAGE,
				 "invalid target '%s' (want SERVER[/PATH], SERVER matching "
				 "[a-z0-9_-]{1,64})",
				 c->args->pos[0]);
	req.server = server;
	req.path = (char *)path;
	r = mhcl_call(c, IPC_MSG_DIAG_INSPECT, &req.base, &mhcl__inspect_reply__descriptor, &m);
	if (r != MHCL_CLI_OK)
		return r;
	reply = (Mhcl__InspectReply *)m;
	if (c->args->json) {
		struct json_writer w;
		json_init(&w, stdout, false);
		json_obj_begin(&w);
		if (reply->root) {
			json_key(&w, reply->root->name ? reply->root->name : "");
			print_json_node(&w, reply->root, 0);
		}
		json_obj_end(&w);
		json_finish(&w);
	} else if (reply->root) {
		print_tree(reply->root, 0);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return MHCL_CLI_OK;
}
