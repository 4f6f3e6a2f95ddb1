/* SPDX-License-Identifier: MIT */
/*
 * mhcl logs [-f] [-n LINES] [SERVER]: init's per-server log ring. With -f it
 * polls with since_seq = the previous reply's next_seq until Ctrl-C.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "defs/ipc_frame.h"
#include "diag.pb-c.h"
#include "json.h"
#include "mhcl.h"
#include "util.h"

static void on_sigint(int sig)
{
	mhcl_interrupted = 1;
}

static const char *stream_tag(uint32_t stream)
{
	switch (stream) {
	case 1:
		return "";
	case 2:
		return "[err]";
	case 3:
		return "[init]";
	default:
		return "[?]";
	}
}

static void print_line(const Mhcl__LogLine *l)
{
	time_t secs = (time_t)(l->time_ns / 1000000000u);
	unsigned ms = (unsigned)((l->time_ns / 1000000u) % 1000u);
	struct tm tm;
	char ts[32] = "?";

	if (gmtime_r(&secs, &tm))
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%s.%03uZ ", ts, ms);
	mhcl_put_safe(stdout, l->server);
	printf("%s: ", stream_tag(l->stream));
	mhcl_put_safe(stdout, l->text);
	putchar('\n');
}

static void json_line(struct json_writer *w, const Mhcl__LogLine *l)
{
	json_obj_begin(w);
	json_key(w, "seq");
	json_u64(w, l->seq);
	json_key(w, "time_ns");
	json_u64(w, l->time_ns);
	json_key(w, "server");
	json_str(w, l->server);
	json_key(w, "stream");
	json_u64(w, l->stream);
	json_key(w, "text");
	json_str(w, l->text);
	json_obj_end(w);
}

static int fetch(struct mhcl_ctx *c, const char *server, uint64_t since, Mhcl__LogsReply **ret)
{
	Mhcl__LogsRequest req = MHCL__LOGS_REQUEST__INIT;
	ProtobufCMessage *m;
	int r;

	req.server = (char *)server;
	req.since_seq = since;
	req.max_lines = c->args->lines;
	r = mhcl_call(c, IPC_MSG_LOGS, &req.base, &mhcl__logs_reply__descriptor, &m);
	if (r == MHCL_CLI_OK)
		*ret = (Mhcl__LogsReply *)m;
	return r;
}

static int follow(struct mhcl_ctx *c, const char *server)
{
	struct sigaction sa = {.sa_handler = on_sigint};
	uint64_t since = 0;
	int r;

	/* No SA_RESTART: Ctrl-C must interrupt a wait for the reply too. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!mhcl_interrupted) {
		Mhcl__LogsReply *reply;
		size_t n;

		r = fetch(c, server, since, &reply);
		if (r != MHCL_CLI_OK)
			return mhcl_interrupted ? MHCL_CLI_OK : r;
		n = reply->n_lines;
		if (n && since && reply->lines[0]->seq > since)
			fprintf(stderr, "mhcl: logs: %" PRIu64 " lines were dropped from the ring\n",
				reply->lines[0]->seq - since);
		for (size_t i = 0; i < n; i++) {
			if (c->args->json) {
				struct json_writer w;
				json_init(&w, stdout, false);
				json_line(&w, reply->lines[i]);
				json_finish(&w);
			} else {
				print_line(reply->lines[i]);
			}
		}
		fflush(stdout);
		/* A reply that does not advance is "nothing new": wait before asking again. */
		if (reply->next_seq <= since || !n)
			(void)poll(NULL, 0, (int)c->args->interval_ms);
		if (reply->next_seq > since)
			since = reply->next_seq;
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	}
	return MHCL_CLI_OK;
}

int cmd_logs(struct mhcl_ctx *c)
{
	const char *server = c->args->npos ? c->args->pos[0] : "";
	Mhcl__LogsReply *reply;
	int r;

	if (*server && !diag_name_valid(server, strlen(server)))
		return mhcl_fail(c, MHCL_CLI_USAGE, "invalid server name '%s'", server);
	if (c->args->follow)
		return follow(c, server);

	r = fetch(c, server, 0, &reply);
	if (r != MHCL_CLI_OK)
		return r;
	if (c->args->json) {
		struct json_writer w;
		json_init(&w, stdout, false);
		json_obj_begin(&w);
		json_key(&w, "next_seq");
		json_u64(&w, reply->next_seq);
		json_key(&w, "lines");
		json_arr_begin(&w);
		for (size_t i = 0; i < reply->n_lines; i++)
			json_line(&w, reply->lines[i]);
		json_arr_end(&w);
		json_obj_end(&w);
		json_finish(&w);
	} else {
		for (size_t i = 0; i < reply->n_lines; i++)
			print_line(reply->lines[i]);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return MHCL_CLI_OK;
}
