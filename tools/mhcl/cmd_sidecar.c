/* SPDX-License-Identifier: MIT */
/*
 * mhcl sidecar [list]                 every CPU: owner, sidecar state, commands served
 * mhcl sidecar online CPU             hand CPU from the sidecar to Linux (one way)
 * mhcl sidecar checksum CPU [ADDR LEN] run a checksum work item on a sidecar CPU
 *
 * The listing is the inspect tree of the server named "sidecar"; online and
 * checksum are IPC_MSG_SIDECAR_* requests that diagd validates and init
 * forwards to that server.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.pb-c.h"
#include "defs/ipc_frame.h"
#include "diag.pb-c.h"
#include "json.h"
#include "mhcl.h"
#include "sidecar.pb-c.h"
#include "util.h"

static const Mhcl__Node *child(const Mhcl__Node *n, const char *name)
{
	for (size_t i = 0; n && i < n->n_children; i++)
		if (n->children[i]->name && strcmp(n->children[i]->name, name) == 0)
			return n->children[i];
	return NULL;
}

static const char *str_of(const Mhcl__Node *n, const char *name)
{
	const Mhcl__Node *v = child(n, name);
	return v && v->value_case == MHCL__NODE__VALUE_STR && v->str ? v->str : "-";
}

static bool u64_of(const Mhcl__Node *n, const char *name, uint64_t *ret)
{
	const Mhcl__Node *v = child(n, name);
	if (!v || v->value_case != MHCL__NODE__VALUE_U64)
		return false;
	*ret = v->u64;
	return true;
}

static void cell(const char *s, int width)
{
	size_t l = strlen(s);
	mhcl_put_safe(stdout, s);
	for (int i = (int)l; i < width; i++)
		putchar(' ');
}

static void cell_u64(const Mhcl__Node *n, const char *name, int width)
{
	char b[24] = "-";
	uint64_t v;
	if (u64_of(n, name, &v))
		snprintf(b, sizeof(b), "%" PRIu64, v);
	cell(b, width);
}

static int list(struct mhcl_ctx *c)
{
	Mhcl__DiagInspectRequest req = MHCL__DIAG_INSPECT_REQUEST__INIT;
	ProtobufCMessage *m;
	uint64_t n_sidecar = 0, n_idle = 0, n_linux = 0, n_cpus = 0;
	int r;

	req.server = "sidecar";
	req.path = "";
	r = mhcl_call(c, IPC_MSG_DIAG_INSPECT, &req.base, &mhcl__inspect_reply__descriptor, &m);
	if (r != MHCL_CLI_OK)
		return r;
	const Mhcl__Node *root = ((Mhcl__InspectReply *)m)->root;
	const Mhcl__Node *cpus = child(root, "cpus");
	if (!cpus) {
		protobuf_c_message_free_unpacked(m, NULL);
		return mhcl_fail(c, MHCL_CLI_REMOTE, "the sidecar server sent no CPU list");
	}
	(void)u64_of(root, "cpu_count", &n_cpus);
	(void)u64_of(root, "sidecar_cpus", &n_sidecar);
	(void)u64_of(root, "sidecar_idle", &n_idle);
	(void)u64_of(root, "linux_cpus", &n_linux);
	if (c->args->json) {
		struct json_writer w;
		json_init(&w, stdout, false);
		json_obj_begin(&w);
		json_key(&w, "cpus");
		json_arr_begin(&w);
		for (size_t i = 0; i < cpus->n_children; i++) {
			const Mhcl__Node *n = cpus->children[i];
			uint64_t v;
			json_obj_begin(&w);
			json_key(&w, "cpu");
			json_str(&w, n->name ? n->name : "");
			if (u64_of(n, "apic_id", &v)) {
				json_key(&w, "apic_id");
				json_u64(&w, v);
			}
			json_key(&w, "owner");
			json_str(&w, str_of(n, "owner"));
			json_key(&w, "state");
			json_str(&w, str_of(n, "state"));
			json_key(&w, "last_command");
			json_str(&w, str_of(n, "last_command"));
			if (u64_of(n, "served", &v)) {
				json_key(&w, "served");
				json_u64(&w, v);
			}
			json_obj_end(&w);
		}
		json_arr_end(&w);
		json_key(&w, "sidecar_cpus");
		json_u64(&w, n_sidecar);
		json_key(&w, "sidecar_idle");
		json_u64(&w, n_idle);
		json_key(&w, "linux_cpus");
		json_u64(&w, n_linux);
		json_obj_end(&w);
		json_finish(&w);
	} else {
		printf("CPU  APIC NODE OWNER    STATE    SERVED LAST       LINUX\n");
		for (size_t i = 0; i < cpus->n_children; i++) {
			const Mhcl__Node *n = cpus->children[i];
			const Mhcl__Node *lo = child(n, "linux_online");
			cell(n->name ? n->name : "?", 5);
			cell_u64(n, "apic_id", 5);
			cell_u64(n, "numa_node", 5);
			cell(str_of(n, "owner"), 9);
			cell(str_of(n, "state"), 9);
			cell_u64(n, "served", 7);
			cell(str_of(n, "last_command"), 11);
			if (lo && lo->value_case == MHCL__NODE__VALUE_BOOLEAN)
				printf("%s", lo->boolean ? "online" : "offline");
			else
				printf("-");
			putchar('\n');
		}
		printf("sidecar: %" PRIu64 " cpus, %" PRIu64 " in the sidecar (%" PRIu64
		       " idle), %" PRIu64 " owned by Linux\n",
		       n_cpus, n_sidecar, n_idle, n_linux);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return MHCL_CLI_OK;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int online(struct mhcl_ctx *c, uint32_t cpu)
{
	Mhcl__SidecarOnlineRequest req = MHCL__SIDECAR_ONLINE_REQUEST__INIT;
	ProtobufCMessage *m;
	int r;

	req.cpu = cpu;
	r = mhcl_call(c, IPC_MSG_SIDECAR_ONLINE, &req.base, &mhcl__sidecar_online_reply__descriptor,
		      &m);
	if (r != MHCL_CLI_OK)
		return r;
	const Mhcl__SidecarOnlineReply *rep = (const Mhcl__SidecarOnlineReply *)m;
	if (c->args->json) {
		struct json_writer w;
		json_init(&w, stdout, false);
		json_obj_begin(&w);
		json_key(&w, "cpu");
		json_u64(&w, rep->cpu);
		json_key(&w, "apic_id");
		json_u64(&w, rep->apic_id);
		json_key(&w, "owner");
		json_str(&w, rep->owner);
		json_key(&w, "handoff_us");
		json_u64(&w, rep->handoff_us);
		json_key(&w, "online_us");
		json_u64(&w, rep->online_us);
		json_obj_end(&w);
		json_finish(&w);
	} else {
		printf("cpu %u (APIC ID %u) is now owned by ", rep->cpu, rep->apic_id);
		mhcl_put_safe(stdout, rep->owner ? rep->owner : "?");
		printf(": sidecar released it in %" PRIu64 " us, Linux onlined it in %" PRIu64
		       " us\n",
		       rep->handoff_us, rep->online_us);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return MHCL_CLI_OK;
}

static int checksum(struct mhcl_ctx *c, uint32_t cpu, uint64_t addr, uint64_t len)
{
	Mhcl__SidecarChecksumRequest req = MHCL__SIDECAR_CHECKSUM_REQUEST__INIT;
	ProtobufCMessage *m;
	int r;

	req.cpu = cpu;
	req.addr = addr;
	req.len = len;
	r = mhcl_call(c, IPC_MSG_SIDECAR_CHECKSUM, &req.base,
		      &mhcl__sidecar_checksum_reply__descriptor, &m);
	if (r != MHCL_CLI_OK)
		return r;
	const Mhcl__SidecarChecksumReply *rep = (const Mhcl__SidecarChecksumReply *)m;
	if (c->args->json) {
		struct json_writer w;
		json_init(&w, stdout, false);
		json_obj_begin(&w);
		json_key(&w, "cpu");
		json_u64(&w, rep->cpu);
		json_key(&w, "addr");
		json_u64(&w, rep->addr);
		json_key(&w, "len");
		json_u64(&w, rep->len);
		json_key(&w, "checksum");
		json_u64(&w, rep->checksum);
		json_key(&w, "verified");
		json_bool(&w, rep->verified);
		json_key(&w, "served");
		json_u64(&w, rep->served);
		json_obj_end(&w);
		json_finish(&w);
	} else {
		printf("cpu %u: fnv1a64 [0x%" PRIx64 ", +%" PRIu64 ") = 0x%016" PRIx64
		       " (%s), %" PRIu64 " commands served, %" PRIu64 " us\n",
		       rep->cpu, rep->addr, rep->len, rep->checksum,
		       rep->verified ? "verified" : "MISMATCH", rep->served, rep->elapsed_us);
	}
	r = rep->verified ? MHCL_CLI_OK : MHCL_CLI_REMOTE;
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

int cmd_sidecar(struct mhcl_ctx *c)
{
	const struct mhcl_args *a = c->args;
	const char *sub = a->npos ? a->pos[0] : "list";
	uint64_t cpu = 0, addr = 0, len = 0;

	if (strcmp(sub, "list") == 0) {
		if (a->npos > 1)
			return mhcl_fail(c, MHCL_CLI_USAGE, "list takes no argument");
		return list(c);
	}
	if (strcmp(sub, "online") != 0 && strcmp(sub, "checksum") != 0)
		return mhcl_fail(c, MHCL_CLI_USAGE, "unknown subcommand '%s' (list, online, checksum)",
				 sub);
	if (a->npos < 2 || parse_u64(a->pos[1], 255, &cpu) < 0 || cpu == 0)
		return mhcl_fail(c, MHCL_CLI_USAGE, "%s wants a CPU number 1..255", sub);
	if (strcmp(sub, "online") == 0) {
		if (a->npos > 2)
			return mhcl_fail(c, MHCL_CLI_USAGE, "online takes one CPU");
		return online(c, (uint32_t)cpu);
	}
	if (a->npos == 4) {
		if (parse_u64(a->pos[2], UINT64_MAX, &addr) < 0 ||
		    parse_u64(a->pos[3], 1024 * 1024, &len) < 0 || !len)
			return mhcl_fail(c, MHCL_CLI_USAGE, "checksum wants ADDR and LEN 1..1048576");
		/* diagd refuses anything else (a checksum of a byte is that byte). */
		if (addr % 4096 || len % 4096)
			return mhcl_fail(c, MHCL_CLI_USAGE,
					 "checksum wants whole pages: ADDR and LEN multiples of 4096");
	} else if (a->npos != 2) {
		return mhcl_fail(c, MHCL_CLI_USAGE, "checksum CPU [ADDR LEN]");
	}
	return checksum(c, (uint32_t)cpu, addr, len);
}
