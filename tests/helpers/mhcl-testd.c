/* SPDX-License-Identifier: MIT */
/*
 * mhcl-testd: a small real server on lib/server for tests. It counts its
 * generations across planned restarts (saved state), answers inspect with
 * its counters, and can misbehave on request:
 *   --exit-after-ms N   exit N ms after READY (with --exit-code, default 1)
 *   --exit-code N
 *   --no-ready          never send READY (ready-timeout tests)
 *   --ignore-stop       answer STOP but keep running (stop-timeout tests)
 *   --spawn-orphan      before the jail, leave a grandchild that exits later
 *                       as an orphan for init to reap
 *   --fd-store          count its lives in a memfd kept in init's fd store (survives
 *                       crashes); also checks init's refusals (too many fds, bad names)
 *                       and forgetting: the first instance also keeps "spare", which the
 *                       next takes and asks init to forget (srv_fd_remove)
 *   --relay PATH        listen on a unix SOCK_SEQPACKET socket and relay
 *                       control requests (ps, inspect, restart, kill, logs,
 *                       config) to init; needs `control` in the manifest
 *   --fail-once-file PATH
 *                       if PATH exists, remove it and exit 3 before READY (a next
 *                       instance that fails while prestarted)
 *   --slow-once-file PATH
 *                       if PATH exists, remove it and take 1.5 s before READY (a next
 *                       instance slow to start while prestarted)
 *   --inspect-bomb deep|flat
 *                       answer inspect with a tree 20,000 Nodes deep, or with
 *                       as many empty Nodes side by side as a body holds
 */
#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "diag.pb-c.h"
#include "server.h"
#include "test_wire.h"

struct testd {
	uv_loop_t *loop;
	struct srv *srv;
	uv_timer_t exit_timer, tick;
	uv_poll_t listen_poll;
	int listen_fd;
	int exit_after_ms, exit_code;
	bool no_ready, ignore_stop;
	uint64_t generation, ticks, relayed;
	bool crash_restart;
	bool fd_store;
	int fresh_fd;	  /* a memfd made before the jail, used if init kept none */
	uint64_t *lives;  /* in the stored memfd */
	uint64_t refused; /* fd store requests init refused, as expected */
	bool spare_back;  /* "spare" came back with the READY reply */
};

/* ---- relay ---- */

struct relay_client {
	struct testd *t;
	struct ipc_chan *ch;
	int refs;
};

struct relay_call {
	struct relay_client *c;
	uint32_t request_id;
	uint16_t type;
	const ProtobufCMessageDescriptor *reply_desc;
};

static const struct {
	uint16_t type;
	const ProtobufCMessageDescriptor *req, *rep;
} relay_types[] = {
    {IPC_MSG_PS, &mhcl__ps_request__descriptor, &mhcl__ps_reply__descriptor},
    {IPC_MSG_DIAG_INSPECT, &mhcl__diag_inspect_request__descriptor,
     &mhcl__inspect_reply__descriptor},
    {IPC_MSG_RESTART, &mhcl__restart_request__descriptor, &mhcl__restart_reply__descriptor},
    {IPC_MSG_KILL, &mhcl__kill_request__descriptor, &mhcl__empty__descriptor},
    {IPC_MSG_LOGS, &mhcl__logs_request__descriptor, &mhcl__logs_reply__descriptor},
    {IPC_MSG_CONFIG, &mhcl__config_request__descriptor, &mhcl__config_reply__descriptor},
};

static void client_put(struct relay_client *c)
{
	if (--c->refs == 0)
		free(c);
}

static void relay_reply(struct ipc_chan *bus, int status, struct ipc_msg *reply, void *opaque)
{
	struct relay_call *call = opaque;
	struct relay_client *c = call->c;
	char err[256];

	if (c->ch) {
		if (status == 0 && reply) {
			ProtobufCMessage *m;
			if (ipc_body_unpack(call->reply_desc, reply->body, reply->body_len,
					    IPC_DECODE_DEPTH_MAX, &m) == 0) {
				(void)ipc_chan_reply(c->ch, call->request_id, call->type, m, NULL,
						     0);
				protobuf_c_message_free_unpacked(m, NULL);
			} else {
				(void)ipc_chan_reply_error(c->ch, call->request_id, call->type,
							   -EBADMSG, "undecodable reply from init");
			}
		} else if (status == -EREMOTEIO && reply) {
			int e = ipc_msg_error(reply, err, sizeof(err));
			(void)ipc_chan_reply_error(c->ch, call->request_id, call->type, e, "%s",
						   err);
		} else {
			(void)ipc_chan_reply_error(c->ch, call->request_id, call->type,
						   status < 0 ? status : -EIO, "relay failed");
		}
	}
	client_put(c);
	free(call);
}

static void relay_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct relay_client *c = opaque;
	struct testd *t = c->t;

	for (size_t i = 0; i < ARRAY_SIZE(relay_types); i++) {
		if (relay_types[i].type != msg->type)
			continue;
		ProtobufCMessage *m = ipc_msg_unpack(ch, msg, relay_types[i].req);
		if (!m)
			return;
		struct relay_call *call = calloc(1, sizeof(*call));
		int r = -ENOMEM;
		if (call && srv_bus(t->srv)) {
			call->c = c;
			call->request_id = msg->request_id;
			call->type = msg->type;
			call->reply_desc = relay_types[i].rep;
			c->refs++;
			r = ipc_chan_request(srv_bus(t->srv), msg->type, m, NULL, 0, 10000,
					     relay_reply, call);
			if (r < 0) {
				c->refs--;
				free(call);
			}
		} else {
			free(call);
		}
		protobuf_c_message_free_unpacked(m, NULL);
		if (r < 0)
			(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, r,
						   "unable to relay");
		else
			t->relayed++;
		return;
	}
	(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
				   "testd relays control requests only");
}

static void relay_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct relay_client *c = opaque;
	c->ch = NULL;
	client_put(c);
}

static const struct ipc_chan_ops relay_ops = {
    .on_request = relay_request,
    .on_close = relay_close,
};

static void on_accept(uv_poll_t *h, int status, int events)
{
	struct testd *t = h->data;
	int fd = accept4(t->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	struct relay_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->t = t;
	c->refs = 1;
	if (ipc_chan_open(t->loop, fd, IPC_TRANSPORT_SEQPACKET, &relay_ops, c, &c->ch) < 0)
		free(c);
}

/* A child that exits at once, leaving its own child to be reparented to
 * init (PID 1 or the subreaper) and to die there 200 ms later. */
static void spawn_orphan(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (fork() == 0) {
			usleep(200 * 1000);
			_exit(0);
		}
		_exit(0);
	}
	if (pid > 0)
		(void)waitpid(pid, NULL, 0);
}

/* ---- the inspect bomb ---- */

/* The deep tree of the hardening issue, which fits one body (some 74 KiB). */
#define BOMB_DEEP_LEVELS 20000
/* Room left in the body for the rest of testd's tree. */
#define BOMB_BYTES_MAX (IPC_BODY_MAX - 1024)

/* protobuf-c would recurse per level to pack such a tree, so its bytes are
 * written by hand and ride on the root as an unknown field numbered like
 * Node.children: on the wire they are the root's children. */
static uint8_t bomb[BOMB_BYTES_MAX];
static ProtobufCMessageUnknownField bomb_field;

static int bomb_build(const char *kind)
{
	size_t n = 0;

	if (strcmp(kind, "deep") == 0)
		n = test_wire_deep_children(bomb, sizeof(bomb), BOMB_DEEP_LEVELS);
	else if (strcmp(kind, "flat") == 0)
		n = test_wire_flat_children(bomb, sizeof(bomb), sizeof(bomb) / 2);
	if (n < 2)
		return -EINVAL;
	/* An unknown field's data is what follows its key: drop the first child's. */
	bomb_field = (ProtobufCMessageUnknownField){
	    .tag = 8,
	    .wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
	    .len = n - 1,
	    .data = bomb + 1,
	};
	return 0;
}

/* ---- server ops ---- */

static void inspect(struct srv *s, struct inspect_tree *tr, Mhcl__Node *root, void *opaque)
{
	struct testd *t = opaque;
	Mhcl__Node *d = inspect_dir(tr, root, "testd");
	inspect_u64(tr, d, "generation", t->generation);
	inspect_u64(tr, d, "ticks", t->ticks);
	inspect_u64(tr, d, "relayed", t->relayed);
	inspect_bool(tr, d, "crash_restart", t->crash_restart);
	if (t->lives) {
		inspect_u64(tr, d, "lives", *t->lives);
		inspect_u64(tr, d, "fdstore_refused", t->refused);
		inspect_u64(tr, d, "spare_back", t->spare_back);
	}
	if (bomb_field.len) {
		root->base.n_unknown_fields = 1;
		root->base.unknown_fields = &bomb_field;
	}
}

static int save(struct srv *s, uint8_t **ret_buf, size_t *ret_len, void *opaque)
{
	struct testd *t = opaque;
	uint8_t *b = malloc(sizeof(t->generation));
	if (!b)
		return -ENOMEM;
	memcpy(b, &t->generation, sizeof(t->generation));
	*ret_buf = b;
	*ret_len = sizeof(t->generation);
	return 0;
}

static void exit_cb(uv_timer_t *h)
{
	struct testd *t = h->data;
	log_info("exiting with %d as asked", t->exit_code);
	exit(t->exit_code);
}

static void tick_cb(uv_timer_t *h)
{
	((struct testd *)h->data)->ticks++;
}

static void refused_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct testd *t = opaque;
	(void)ch;
	(void)reply;
	if (status == -EREMOTEIO)
		t->refused++;
}

/* init must refuse, and keep nothing of: a name that is not printable, and more fds than a
 * server may keep. */
static void fd_store_refusals(struct testd *t)
{
	Mhcl__FdStoreRequest m = MHCL__FD_STORE_REQUEST__INIT;
	char *names[IPC_FDS_MAX] = {0}, buf[IPC_FDS_MAX][8];
	int fds[IPC_FDS_MAX];

	for (int i = 0; i < IPC_FDS_MAX; i++) {
		snprintf(buf[i], sizeof(buf[i]), "x%d", i);
		names[i] = buf[i];
		fds[i] = t->fresh_fd >= 0 ? t->fresh_fd : 0;
	}
	m.names = names;
	m.n_names = IPC_FDS_MAX; /* with "lives" already kept: one too many */
	(void)ipc_chan_request(srv_bus(t->srv), IPC_MSG_FD_STORE, &m.base, fds, IPC_FDS_MAX, 0,
			       refused_reply, t);
	names[0] = (char *)"bad name";
	m.n_names = 1;
	(void)ipc_chan_request(srv_bus(t->srv), IPC_MSG_FD_STORE, &m.base, fds, 1, 0, refused_reply,
			       t);
}

static void fd_store_adopt(struct testd *t)
{
	int fd = srv_stored_fd(t->srv, "lives");
	bool fresh = fd < 0;

	if (fresh)
		fd = t->fresh_fd;
	void *p = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		log_error("unable to map the lives counter: %m");
		return;
	}
	t->lives = p;
	(*t->lives)++;
	if (fresh) {
		(void)srv_fd_store(t->srv, "lives", fd);
		(void)srv_fd_store(t->srv, "spare", fd);
	} else {
		close(fd);
	}
	fd = srv_stored_fd(t->srv, "spare");
	t->spare_back = fd >= 0;
	if (t->spare_back) {
		close(fd);
		(void)srv_fd_remove(t->srv, "spare");
	}
	fd_store_refusals(t);
	if (t->fresh_fd >= 0)
		close(t->fresh_fd);
	t->fresh_fd = -1;
}

static int restore(struct srv *s, const uint8_t *buf, size_t len, bool crash, void *opaque)
{
	struct testd *t = opaque;
	uint64_t g = 0;

	if (len != 0 && len != sizeof(g))
		return -EBADMSG;
	if (len)
		memcpy(&g, buf, sizeof(g));
	t->generation = g + 1;
	t->crash_restart = crash;
	if (t->fd_store)
		fd_store_adopt(t);
	log_info("ready: generation %llu%s", (unsigned long long)t->generation,
		 crash ? " (after a crash)" : "");
	if (t->exit_after_ms >= 0)
		(void)uv_timer_start(&t->exit_timer, exit_cb, (uint64_t)t->exit_after_ms, 0);
	return 0;
}

static void close_cb(uv_handle_t *h)
{
}

static void stop(struct srv *s, void *opaque)
{
	struct testd *t = opaque;
	if (t->ignore_stop) {
		log_info("ignoring STOP as asked");
		return;
	}
	uv_close((uv_handle_t *)&t->exit_timer, close_cb);
	uv_close((uv_handle_t *)&t->tick, close_cb);
	if (t->listen_fd >= 0)
		uv_close((uv_handle_t *)&t->listen_poll, close_cb);
	uv_stop(t->loop);
}

static const struct srv_ops ops = {
    .inspect = inspect,
    .save = save,
    .restore = restore,
    .stop = stop,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"exit-after-ms", required_argument, NULL, 'a'},
	    {"exit-code", required_argument, NULL, 'c'},
	    {"no-ready", no_argument, NULL, 'n'},
	    {"ignore-stop", no_argument, NULL, 'i'},
	    {"relay", required_argument, NULL, 'r'},
	    {"spawn-orphan", no_argument, NULL, 'o'},
	    {"fd-store", no_argument, NULL, 'f'},
	    {"inspect-bomb", required_argument, NULL, 'b'},
	    {"keep-caps", no_argument, NULL, 'k'},
	    {"handover", no_argument, NULL, 'H'},
	    {"linger-ms", required_argument, NULL, 'l'},
	    {"fail-once-file", required_argument, NULL, 'F'},
	    {"slow-once-file", required_argument, NULL, 'S'},
	    {},
	};
	struct testd t = {.exit_after_ms = -1, .exit_code = 1, .listen_fd = -1, .fresh_fd = -1};
	const char *relay = NULL;
	bool orphan = false, keep_caps = false, handover = false;
	int linger_ms = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			t.exit_after_ms = atoi(optarg);
			break;
		case 'c':
			t.exit_code = atoi(optarg);
			break;
		case 'n':
			t.no_ready = true;
			break;
		case 'i':
			t.ignore_stop = true;
			break;
		case 'r':
			relay = optarg;
			break;
		case 'o':
			orphan = true;
			break;
		case 'f':
			t.fd_store = true;
			break;
		case 'k':
			keep_caps = true;
			break;
		case 'H':
			handover = true;
			break;
		case 'l':
			linger_ms = atoi(optarg);
			break;
		case 'F':
			if (unlink(optarg) == 0)
				return log_error("%s was there: failing this start", optarg), 3;
			break;
		case 'S':
			if (unlink(optarg) == 0) {
				log_info("%s was there: starting slowly", optarg);
				(void)nanosleep(&(struct timespec){1, 500000000}, NULL);
			}
			break;
		case 'b':
			if (bomb_build(optarg) < 0)
				return log_error("--inspect-bomb: deep or flat, not %s", optarg),
				       100;
			break;
		default:
			return 100;
		}
	}
	t.loop = uv_default_loop();
	int r = srv_start(t.loop, &ops, &t, &t.srv);
	if (r < 0)
		return log_error_errno(r, "unable to start: %m"), 111;
	uv_timer_init(t.loop, &t.exit_timer);
	t.exit_timer.data = &t;
	uv_timer_init(t.loop, &t.tick);
	t.tick.data = &t;
	(void)uv_timer_start(&t.tick, tick_cb, 100, 100);
	if (relay) {
		t.listen_fd = ipc_listen_unix(relay, SOCK_SEQPACKET);
		if (t.listen_fd < 0)
			return log_error_errno(t.listen_fd, "unable to listen on %s: %m", relay),
			       111;
		uv_poll_init(t.loop, &t.listen_poll, t.listen_fd);
		t.listen_poll.data = &t;
		uv_poll_start(&t.listen_poll, UV_READABLE, on_accept);
	}
	if (orphan)
		spawn_orphan();
	if (t.fd_store) {
		/* memfd_create and ftruncate are not in the jail. */
		t.fresh_fd = (int)syscall(SYS_memfd_create, "testd-lives", 1u /* MFD_CLOEXEC */);
		if (t.fresh_fd < 0 || ftruncate(t.fresh_fd, sizeof(uint64_t)) < 0)
			return log_error("unable to make the lives memfd: %m"), 111;
	}
	/* Everything is open: from here on only the allow-list. */
	if (keep_caps)
		srv_keep_capabilities(t.srv);
	if (handover)
		srv_handover_at_bus_close(t.srv);
	srv_enter_jail(t.srv, NULL);
	if (!t.no_ready) {
		r = srv_ready(t.srv);
		if (r < 0)
			return log_error_errno(r, "unable to send READY: %m"), 111;
	}
	uv_run(t.loop, UV_RUN_DEFAULT);
	int code = srv_finish(t.srv);
	if (t.listen_fd >= 0)
		close(t.listen_fd);
	/* A slow exit after the bus closed (a server unmapping gigabytes of guest RAM). */
	if (linger_ms > 0) {
		struct timespec ts = {linger_ms / 1000, (linger_ms % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	return code;
}
