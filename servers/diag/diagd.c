/* SPDX-License-Identifier: MIT */
/*
 * mhcl-diagd's core: accepts diag clients on its listeners, validates each
 * request (lib/diagproto) and relays it to init over the server's bus channel
 * as the same message type, then relays init's reply (or error) back under
 * the client's request id.
 *
 * Trust boundary: everything read from a client is hostile. A client can
 * only ever affect its own connection: bad frames close it (ipc), bad
 * requests get an error reply, and each connection has a fixed pool of
 * relay slots so it cannot queue unbounded work on init. On a gated (network)
 * listener a client first passes the challenge-response (gate.c); until then
 * it counts against max_conns and nothing it sends reaches the ipc decoder.
 */
#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "diag_internal.h"
#include "diag_limits.h"
#include "diag_validate.h"
#include "inspect.h"
#include "ipc.h"
#include "server.h"

/* Connections accepted per wakeup of one listener, so one cannot starve the rest. */
#define ACCEPT_BATCH 16
#define LISTENERS_MAX 4

struct diag_conn;

/* A request relayed to init, waiting for its answer. */
struct diag_relay {
	struct diag_conn *conn;
	uint32_t client_id; /* the client's request id, answered with */
	uint16_t type;
	bool busy;
};

struct diag_conn {
	struct diagd *d;
	struct ipc_chan *ch; /* NULL once closed */
	struct diag_conn *next, *prev;
	uint64_t id;
	const char *kind; /* the listener's transport, static */
	uint32_t pending;
	uint64_t requests;
	/* Fixed at accept time: no allocation per request (STYLE 23). */
	struct diag_relay relays[DIAG_PENDING_MAX];
};

struct diag_listener {
	uv_poll_t poll; /* embedded: freed with diagd after the close callback */
	struct diagd *d;
	int fd;
	bool active;
	bool gated; /* clients pass the challenge-response first */
	char kind[8];
	char addr[128];
	uint64_t accepted;
};

struct diagd {
	uv_loop_t *loop;
	struct srv *srv;
	struct diagd_config cfg;
	struct diag_listener listeners[LISTENERS_MAX];
	size_t nlisteners;
	struct diag_conn *conns; /* open connections */
	uint32_t nconns;
	struct diag_gate *gates; /* connections proving they know the secret */
	uint32_t ngates;
	uint32_t nclosed_pending; /* closed connections still waiting for relays */
	uint64_t next_conn_id;
	bool stopping;
	struct {
		uint64_t conns_total, conns_refused;
		uint64_t auth_passed, auth_refused, auth_timeouts, auth_dropped;
		uint64_t requests, served, rejected, busy, remote_errors, relay_failures;
	} stats;
};

static void conn_free(struct diag_conn *c)
{
	free(c);
}

/* A closed connection lives on until its last relay completes. */
static void conn_put(struct diag_conn *c)
{
	if (!c->ch && c->pending == 0) {
		c->d->nclosed_pending--;
		conn_free(c);
	}
}

static void relay_error(struct diag_conn *c, struct diag_relay *r, int err, const char *fmt,
			const char *detail)
{
	(void)ipc_chan_reply_error(c->ch, r->client_id, r->type, err, fmt, detail);
}

/* init answered (or did not): pass it on to the client under its own id. */
static void relay_done(struct ipc_chan *bus, int status, struct ipc_msg *reply, void *opaque)
{
	struct diag_relay *r = opaque;
	struct diag_conn *c = r->conn;
	struct diagd *d = c->d;
	char text[256];

	r->busy = false;
	c->pending--;
	if (!c->ch) {
		conn_put(c);
		return;
	}
	if (status == 0 && reply) {
		const ProtobufCMessageDescriptor *desc = diag_reply_descriptor(r->type);
		ProtobufCMessage *m;
		int err =
		    ipc_body_unpack(desc, reply->body, reply->body_len, IPC_DECODE_DEPTH_MAX, &m);

		if (err < 0) {
			d->stats.relay_failures++;
			relay_error(c, r, -EBADMSG, "init's reply refused: %s",
				    ipc_body_strerror(err));
			return;
		}
		int ret = ipc_chan_reply(c->ch, r->client_id, r->type, m, NULL, 0);
		protobuf_c_message_free_unpacked(m, NULL);
		if (ret < 0) {
			d->stats.relay_failures++;
			relay_error(c, r, ret, "unable to send the reply: %s", strerror(-ret));
			return;
		}
		d->stats.served++;
		return;
	}
	if (status == -EREMOTEIO && reply) {
		int err = ipc_msg_error(reply, text, sizeof(text));
		d->stats.remote_errors++;
		if (err == -EBADMSG && !text[0])
			snprintf(text, sizeof(text), "init sent an undecodable error");
		relay_error(c, r, err, "%s", text);
		return;
	}
	d->stats.relay_failures++;
	if (status == -ETIMEDOUT)
		relay_error(c, r, -ETIMEDOUT, "%s", "init did not answer in time");
	else
		relay_error(c, r, status ? status : -EIO, "init unreachable: %s",
			    strerror(status ? -status : EIO));
}

static struct diag_relay *relay_get(struct diag_conn *c)
{
	for (uint32_t i = 0; i < c->d->cfg.max_pending; i++)
		if (!c->relays[i].busy)
			return &c->relays[i];
	return NULL;
}

static void conn_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct diag_conn *c = opaque;
	struct diagd *d = c->d;
	struct ipc_chan *bus = srv_bus(d->srv);
	ProtobufCMessage *m = NULL;
	struct diag_relay *r;
	char why[192];
	int ret;

	d->stats.requests++;
	c->requests++;
	ret = diag_request_parse(msg->type, msg->body, msg->body_len, why, sizeof(why), &m);
	if (ret < 0) {
		d->stats.rejected++;
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, ret, "%s", why);
		return;
	}
	r = c->pending < d->cfg.max_pending ? relay_get(c) : NULL;
	if (!r) {
		d->stats.busy++;
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EBUSY,
					   "too many requests in flight (at most %u)",
					   d->cfg.max_pending);
		goto out;
	}
	if (!bus) {
		d->stats.relay_failures++;
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -ENOTCONN,
					   "diagd has no bus to init");
		goto out;
	}
	*r = (struct diag_relay){.conn = c, .client_id = msg->request_id, .type = msg->type};
	/* What init receives is re-packed from the validated message. */
	ret =
	    ipc_chan_request(bus, msg->type, m, NULL, 0, d->cfg.request_timeout_ms, relay_done, r);
	if (ret < 0) {
		d->stats.relay_failures++;
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, ret,
					   "unable to forward to init: %s", strerror(-ret));
		goto out;
	}
	r->busy = true;
	c->pending++;
out:
	protobuf_c_message_free_unpacked(m, NULL);
}

static void conn_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct diag_conn *c = opaque;
	struct diagd *d = c->d;

	if (reason < 0 && reason != -EPIPE && reason != -ECONNRESET)
		log_debug("client %llu dropped: %s", (unsigned long long)c->id, strerror(-reason));
	c->ch = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->nconns--;
	d->nclosed_pending++;
	conn_put(c);
}

static const struct ipc_chan_ops conn_ops = {
    .on_request = conn_request,
    .on_close = conn_close,
};

static void accept_one(struct diag_listener *l, int fd)
{
	struct diagd *d = l->d;
	struct diag_conn *c;
	int ret;

	if (d->nconns + d->ngates >= d->cfg.max_conns || d->stopping) {
		/* Over the limit: the client sees the connection close. */
		d->stats.conns_refused++;
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		d->stats.conns_refused++;
		close(fd);
		return;
	}
	c->d = d;
	c->id = ++d->next_conn_id;
	c->kind = l->kind;
	ret = ipc_chan_open(d->loop, fd, IPC_TRANSPORT_STREAM, &conn_ops, c, &c->ch);
	if (ret < 0) {
		log_warn_errno(ret, "unable to open a client channel: %m, ignoring");
		d->stats.conns_refused++;
		free(c);
		return;
	}
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->nconns++;
	d->stats.conns_total++;
	l->accepted++;
}

static void gate_done(int fd, enum diag_gate_result result, void *opaque)
{
	struct diag_listener *l = opaque;
	struct diagd *d = l->d;

	d->ngates--;
	switch (result) {
	case DIAG_GATE_ACCEPTED:
		d->stats.auth_passed++;
		accept_one(l, fd);
		break;
	case DIAG_GATE_REFUSED:
		d->stats.auth_refused++;
		log_warn("%s client refused: wrong secret", l->kind);
		break;
	case DIAG_GATE_TIMEOUT:
		d->stats.auth_timeouts++;
		break;
	case DIAG_GATE_ERROR:
		d->stats.auth_dropped++;
		break;
	case DIAG_GATE_CANCELLED:
		break;
	}
}

/* A network client: challenge first (gate.c), a diag connection only once it answered. */
static void gate_one(struct diag_listener *l, int fd)
{
	struct diagd *d = l->d;
	int ret;

	if (d->nconns + d->ngates >= d->cfg.max_conns || d->stopping) {
		d->stats.conns_refused++;
		close(fd);
		return;
	}
	ret = diag_gate_start(d->loop, fd, d->cfg.secret, DIAG_AUTH_TIMEOUT_MS, &d->gates,
			      gate_done, l);
	if (ret < 0) {
		log_warn_errno(ret, "unable to challenge a %s client: %m, ignoring", l->kind);
		d->stats.conns_refused++;
		return;
	}
	d->ngates++;
}

static void on_listener(uv_poll_t *p, int status, int events)
{
	struct diag_listener *l = container_of(p, struct diag_listener, poll);

	if (status < 0) {
		log_warn("%s listener error: %s, ignoring", l->kind, uv_strerror(status));
		return;
	}
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = ipc_accept(l->fd);
		if (fd == -EAGAIN)
			return;
		if (fd < 0) {
			/* EMFILE and friends: the connection waits; log and retry later. */
			if (fd != -ECONNABORTED)
				log_warn_errno(fd, "unable to accept on %s: %m, ignoring", l->kind);
			return;
		}
		if (l->gated)
			gate_one(l, fd);
		else
			accept_one(l, fd);
	}
}

int diagd_new(uv_loop_t *loop, struct srv *srv, const struct diagd_config *cfg,
	      struct diagd **ret_d)
{
	struct diagd *d;

	if (!cfg->max_conns || cfg->max_conns > DIAG_CONNS_MAX || !cfg->max_pending ||
	    cfg->max_pending > DIAG_PENDING_MAX)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->loop = loop;
	d->srv = srv;
	d->cfg = *cfg;
	*ret_d = d;
	return 0;
}

int diagd_listen(struct diagd *d, int fd, const char *kind, const char *addr, bool gated)
{
	struct diag_listener *l;
	int ret;

	if (gated && !d->cfg.secret) {
		close(fd);
		return -EINVAL;
	}
	if (d->nlisteners >= LISTENERS_MAX) {
		close(fd);
		return -ENOSPC;
	}
	l = &d->listeners[d->nlisteners];
	*l = (struct diag_listener){.d = d, .fd = fd, .gated = gated};
	snprintf(l->kind, sizeof(l->kind), "%s", kind);
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	ret = uv_poll_init(d->loop, &l->poll, fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	ret = uv_poll_start(&l->poll, UV_READABLE, on_listener);
	if (ret < 0) {
		uv_close((uv_handle_t *)&l->poll, NULL);
		close(fd);
		return ret;
	}
	l->active = true;
	d->nlisteners++;
	return 0;
}

void diagd_inspect(struct diagd *d, struct inspect_tree *t, void *root_node)
{
	Mhcl__Node *root = root_node, *n, *cl;
	char name[32];

	n = inspect_dir(t, root, "limits");
	inspect_u64(t, n, "max_conns", d->cfg.max_conns);
	inspect_u64(t, n, "max_pending", d->cfg.max_pending);
	inspect_u64(t, n, "request_timeout_ms", d->cfg.request_timeout_ms);
	inspect_u64(t, n, "request_body_max", DIAG_REQUEST_BODY_MAX);

	n = inspect_dir(t, root, "listeners");
	for (size_t i = 0; i < d->nlisteners; i++) {
		Mhcl__Node *l = inspect_dir(t, n, d->listeners[i].kind);
		inspect_str(t, l, "address", d->listeners[i].addr);
		inspect_bool(t, l, "authenticated", d->listeners[i].gated);
		inspect_u64(t, l, "accepted", d->listeners[i].accepted);
	}

	inspect_u64(t, root, "connections", d->nconns);
	inspect_u64(t, root, "connections_total", d->stats.conns_total);
	inspect_u64(t, root, "connections_refused", d->stats.conns_refused);
	n = inspect_dir(t, root, "auth");
	inspect_u64(t, n, "authenticating", d->ngates);
	inspect_u64(t, n, "passed", d->stats.auth_passed);
	inspect_u64(t, n, "refused", d->stats.auth_refused);
	inspect_u64(t, n, "timeouts", d->stats.auth_timeouts);
	inspect_u64(t, n, "dropped", d->stats.auth_dropped);
	n = inspect_dir(t, root, "requests");
	inspect_u64(t, n, "received", d->stats.requests);
	inspect_u64(t, n, "served", d->stats.served);
	inspect_u64(t, n, "rejected", d->stats.rejected);
	inspect_u64(t, n, "busy", d->stats.busy);
	inspect_u64(t, n, "remote_errors", d->stats.remote_errors);
	inspect_u64(t, n, "relay_failures", d->stats.relay_failures);
	inspect_u64(t, root, "errors",
		    d->stats.rejected + d->stats.busy + d->stats.remote_errors +
			d->stats.relay_failures);

	cl = inspect_dir(t, root, "clients");
	for (struct diag_conn *c = d->conns; c; c = c->next) {
		snprintf(name, sizeof(name), "%llu", (unsigned long long)c->id);
		n = inspect_dir(t, cl, name);
		inspect_str(t, n, "transport", c->kind);
		inspect_u64(t, n, "requests", c->requests);
		inspect_u64(t, n, "pending", c->pending);
	}
}

static void listener_closed(uv_handle_t *h)
{
	struct diag_listener *l = container_of((uv_poll_t *)h, struct diag_listener, poll);

	close(l->fd);
	l->fd = -1;
}

void diagd_stop(struct diagd *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	for (size_t i = 0; i < d->nlisteners; i++) {
		if (d->listeners[i].active) {
			d->listeners[i].active = false;
			uv_close((uv_handle_t *)&d->listeners[i].poll, listener_closed);
		}
	}
	for (struct diag_conn *c = d->conns, *next; c; c = next) {
		next = c->next; /* in case on_close runs before this returns */
		ipc_chan_close(c->ch);
	}
	diag_gate_cancel_all(d->gates);
}

struct diagd *diagd_free(struct diagd *d)
{
	if (!d)
		return NULL;
	/* Connections whose close has not run yet (loop never ran again). */
	while (d->conns) {
		struct diag_conn *c = d->conns;
		d->conns = c->next;
		free(c);
	}
	d->gates = diag_gate_free_all(d->gates);
	free(d);
	return NULL;
}
