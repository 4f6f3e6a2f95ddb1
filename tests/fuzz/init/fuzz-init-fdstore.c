/* SPDX-License-Identifier: MIT */
/*
 * init's fd store (init/fdstore.c) against a server that sends anything: FdStoreRequest
 * and FdStoreRemove requests with arbitrary bodies and any number of fds, over a bus
 * channel as init has with each server (a fresh one after the server hangs up or is cut
 * off; the store outlives it, as it does a restart). Every request gets exactly one
 * answer; a refused one changes nothing; an accepted one does what it says (each stored
 * name holds the very fd sent with it, removed names are gone, the rest untouched); the
 * store always holds at most FDSTORE_MAX valid, distinct names on open, distinct fds; and
 * after fdstore_clear() not one fd is left over.
 *
 * Input: records of op u8, nfds u8, len u16 (little-endian), then len body bytes.
 *   op bit 0:  0 FdStoreRequest (IPC_MSG_FD_STORE), 1 FdStoreRemove
 *   op bit 1:  the body is a list of names separated by '/', packed here; else it is
 *              sent as it is
 *   op bit 2:  send it as a notification instead of a request
 *   nfds % 11: memfds attached (over IPC_FDS_MAX too)
 * Seeds: tests/fuzz/init/gen-corpus.py.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "fdstore.h"
#include "fuzz-peer.h"
#include "ipc.h"
#include "log.h"

#define MAX_NAMES 32

struct server {
	struct fdstore st;
	struct ipc_chan *ch;
	int raw; /* the server's end */
};

static void on_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct server *s = opaque;

	/* As supervise.c routes them. */
	if (msg->type == IPC_MSG_FD_STORE || msg->type == IPC_MSG_FD_STORE_REMOVE)
		fdstore_request(&s->st, ch, msg);
	else
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP, "no");
}

static void on_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct server *s = opaque;

	(void)reason;
	if (s->ch == ch)
		s->ch = NULL;
}

static const struct ipc_chan_ops ops = {.on_request = on_request, .on_close = on_close};

static void connect_server(uv_loop_t *loop, struct server *s)
{
	int fds[2];

	CHECK(ipc_socketpair(fds) == 0);
	s->raw = fds[0];
	CHECK(ipc_chan_open(loop, fds[1], IPC_TRANSPORT_SEQPACKET, &ops, s, &s->ch) == 0);
}

static bool name_ok(const char *n)
{
	size_t len = strnlen(n, FDSTORE_NAME_MAX);

	if (len == 0 || len >= FDSTORE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (n[i] <= ' ' || n[i] > '~')
			return false;
	return true;
}

static ino_t ino_of(int fd)
{
	struct stat sb;

	CHECK(fstat(fd, &sb) == 0);
	return sb.st_ino;
}

static ssize_t find(const struct fdstore *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->names[i], name))
			return (ssize_t)i;
	return -1;
}

/* What must hold whatever the server sent. */
static void check_store(const struct fdstore *st)
{
	CHECK(st->n <= FDSTORE_MAX);
	for (size_t i = 0; i < FDSTORE_MAX; i++) {
		if (i >= st->n) {
			CHECK(st->fds[i] == -1);
			continue;
		}
		CHECK(name_ok(st->names[i]));
		CHECK(fcntl(st->fds[i], F_GETFD) >= 0);
		for (size_t j = 0; j < i; j++) {
			CHECK(strcmp(st->names[i], st->names[j]));
			CHECK(st->fds[i] != st->fds[j]);
		}
	}
}

/* The names of a request body as init decodes them (n_names -1: undecodable). */
static ProtobufCMessage *decode(uint16_t type, const uint8_t *body, size_t len, size_t *n,
				char ***names)
{
	if (type == IPC_MSG_FD_STORE) {
		Mhcl__FdStoreRequest *m = mhcl__fd_store_request__unpack(NULL, len, body);
		if (m) {
			*n = m->n_names;
			*names = m->names;
		}
		return m ? &m->base : NULL;
	}
	Mhcl__FdStoreRemove *m = mhcl__fd_store_remove__unpack(NULL, len, body);
	if (m) {
		*n = m->n_names;
		*names = m->names;
	}
	return m ? &m->base : NULL;
}

/* Packs '/'-separated names as the body of the request type. */
static size_t pack_names(uint16_t type, const uint8_t *in, size_t len, uint8_t *out)
{
	static char buf[65536];
	char *names[MAX_NAMES];
	size_t n = 0;

	memcpy(buf, in, len);
	buf[len] = 0;
	for (char *p = buf, *e; n < MAX_NAMES; p = e + 1) {
		names[n++] = p;
		e = strchr(p, '/');
		if (!e)
			break;
		*e = 0;
	}
	if (type == IPC_MSG_FD_STORE) {
		Mhcl__FdStoreRequest m = MHCL__FD_STORE_REQUEST__INIT;
		m.n_names = n;
		m.names = names;
		return mhcl__fd_store_request__pack(&m, out);
	}
	Mhcl__FdStoreRemove m = MHCL__FD_STORE_REMOVE__INIT;
	m.n_names = n;
	m.names = names;
	return mhcl__fd_store_remove__pack(&m, out);
}

/* The store after an answer, against the one before the request. */
static void check_answer(const struct fdstore *before, const struct fdstore *after,
			 const struct fuzz_frame *f, uint16_t type, const uint8_t *body, size_t len,
			 const ino_t *inos, size_t nfds)
{
	size_t n = 0;
	char **names = NULL;
	ProtobufCMessage *m;

	if (f->h.flags & IPC_F_ERROR) {
		/* All or nothing: a refusal leaves the store as it was. */
		CHECK(after->n == before->n);
		CHECK(!memcmp(after->fds, before->fds, sizeof(after->fds)));
		CHECK(!memcmp(after->names, before->names, sizeof(after->names)));
		return;
	}
	m = decode(type, body, len, &n, &names);
	CHECK(m); /* init could decode it */
	if (type == IPC_MSG_FD_STORE) {
		CHECK(n == nfds && n > 0);
		for (size_t i = 0; i < n; i++) {
			ssize_t k = find(after, names[i]);
			CHECK(k >= 0);
			CHECK(ino_of(after->fds[k]) == inos[i]);
		}
	} else {
		CHECK(nfds == 0);
		for (size_t i = 0; i < n; i++)
			CHECK(find(after, names[i]) < 0);
	}
	/* Names the request did not name keep their fds. */
	for (size_t k = 0; k < before->n; k++) {
		bool named = false;
		for (size_t i = 0; i < n && !named; i++)
			named = !strcmp(before->names[k], names[i]);
		if (named)
			continue;
		ssize_t j = find(after, before->names[k]);
		CHECK(j >= 0 && after->fds[j] == before->fds[k]);
	}
	protobuf_c_message_free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t packed[2 * 65536];
	static struct server s;
	static struct fdstore before;
	uint32_t next_id = 1;
	int fds_before;
	uv_loop_t loop;
	size_t pos = 0;

	log_set_level(getenv("FUZZ_VERBOSE") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERR);
	CHECK(uv_loop_init(&loop) == 0);
	fds_before = fuzz_open_fds(); /* the loop's own (and libuv's first-use) fds are in */
	fdstore_init(&s.st);
	connect_server(&loop, &s);

	while (pos + 4 <= size) {
		uint8_t op = data[pos], nfds = data[pos + 1] % 11;
		size_t len = (size_t)data[pos + 2] | (size_t)data[pos + 3] << 8;
		uint16_t type = op & 1 ? IPC_MSG_FD_STORE_REMOVE : IPC_MSG_FD_STORE;
		uint16_t flags = op & 4 ? IPC_F_NOTIFY : IPC_F_REQUEST;
		uint32_t id = flags == IPC_F_REQUEST ? next_id++ : 0;
		const uint8_t *body;
		int fds[FUZZ_PEER_FDS_MAX];
		ino_t inos[FUZZ_PEER_FDS_MAX];
		bool answered = false, gone = false;
		struct fuzz_frame f;
		int r;

		pos += 4;
		if (len > size - pos)
			len = size - pos;
		body = data + pos;
		pos += len;
		if (op & 2) {
			len = pack_names(type, body, len, packed);
			body = packed;
		}
		for (unsigned i = 0; i < nfds; i++) {
			fds[i] = memfd_create("fuzz-stored", MFD_CLOEXEC);
			CHECK(fds[i] >= 0);
			inos[i] = ino_of(fds[i]);
		}
		before = s.st;
		r = fuzz_peer_send(s.raw, type, flags, id, body, len, fds, nfds);
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		for (int round = 0; round < 4 && r == 0; round++) {
			uv_run(&loop, UV_RUN_NOWAIT);
			while (!gone && (r = fuzz_peer_recv(s.raw, &f)) != 0) {
				if (r < 0) {
					gone = true;
					break;
				}
				/* init sends nothing but the answer, once, with no fds. */
				CHECK(f.h.flags & IPC_F_RESPONSE);
				CHECK(f.h.request_id == id && id && !answered);
				CHECK(f.nfds == 0);
				answered = true;
				check_answer(&before, &s.st, &f, type, body, len, inos, nfds);
			}
			r = 0;
		}
		if (flags == IPC_F_REQUEST && !answered) {
			/* Unanswered only when the channel was cut off for bad input. */
			CHECK(gone || !s.ch);
		}
		if (flags == IPC_F_NOTIFY)
			CHECK(!memcmp(&before, &s.st, sizeof(before)));
		check_store(&s.st);
		if (gone || !s.ch) {
			/* A new instance of the server connects; the store outlives the old. */
			close(s.raw);
			if (s.ch)
				ipc_chan_close(s.ch);
			uv_run(&loop, UV_RUN_NOWAIT);
			CHECK(!s.ch);
			connect_server(&loop, &s);
		}
	}

	fdstore_clear(&s.st);
	check_store(&s.st);
	close(s.raw);
	ipc_chan_close(s.ch);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(!s.ch);
	CHECK(fuzz_open_fds() == fds_before);
	CHECK(uv_loop_close(&loop) == 0);
	return 0;
}
