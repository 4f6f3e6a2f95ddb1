/* SPDX-License-Identifier: MIT */
/*
 * The authentication gate of diagd's network listeners: a connection accepted
 * on a TCP or vsock listener of a diagd with --secret-file waits here until
 * its client proves it knows the secret (defs/diag_auth.h), and only then
 * becomes a diag connection. Nothing the client sends before that is parsed
 * but the 40 proof bytes; a wrong proof, a closed socket or the deadline ends
 * the connection.
 *
 * Each gate is its own allocation holding a poll and a timer; it is freed
 * after both close callbacks ran, and reports exactly once, from there.
 */
#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag_auth.h"
#include "diag_internal.h"
#include "macros.h"

struct diag_gate {
	uv_poll_t poll;	  /* embedded: freed after the close callbacks */
	uv_timer_t timer; /* the deadline for the proof */
	int fd;
	int open_handles;
	bool finishing;
	enum diag_gate_result result;
	struct diag_gate **list, *next, *prev;
	const struct diag_secret *secret; /* borrowed from diagd */
	struct diag_auth_challenge chal;  /* as sent: the proof covers these bytes */
	uint8_t proof[sizeof(struct diag_auth_proof)];
	size_t got;
	diag_gate_fn done;
	void *opaque;
};

static void gate_closed(uv_handle_t *h)
{
	struct diag_gate *g = h->data;
	int fd = -1;

	if (--g->open_handles > 0)
		return;
	if (g->prev)
		g->prev->next = g->next;
	else
		*g->list = g->next;
	if (g->next)
		g->next->prev = g->prev;
	if (g->result == DIAG_GATE_ACCEPTED)
		fd = g->fd;
	else
		close(g->fd);
	g->done(fd, g->result, g->opaque);
	free(g);
}

static void finish(struct diag_gate *g, enum diag_gate_result result)
{
	if (g->finishing)
		return;
	g->finishing = true;
	g->result = result;
	uv_close((uv_handle_t *)&g->poll, gate_closed);
	uv_close((uv_handle_t *)&g->timer, gate_closed);
}

static void send_verdict(struct diag_gate *g, enum diag_auth_status status)
{
	struct diag_auth_verdict v;

	/* 16 bytes on a socket nothing else was written to but 48: a short
	 * write would be the kernel's refusal, and the client then times out. */
	diag_auth_verdict_make(status, &v);
	(void)send(g->fd, &v, sizeof(v), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	struct diag_gate *g = container_of(p, struct diag_gate, poll);
	ssize_t n;

	if (status < 0) {
		finish(g, DIAG_GATE_ERROR);
		return;
	}
	/* Exactly the proof: whatever the client sent after it is ipc frames. */
	n = recv(g->fd, g->proof + g->got, sizeof(g->proof) - g->got, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		finish(g, DIAG_GATE_ERROR);
		return;
	}
	g->got += (size_t)n;
	if (g->got < sizeof(g->proof))
		return;
	if (diag_auth_proof_check(g->secret, &g->chal, g->proof, sizeof(g->proof))) {
		send_verdict(g, DIAG_AUTH_ACCEPTED);
		finish(g, DIAG_GATE_ACCEPTED);
	} else {
		send_verdict(g, DIAG_AUTH_REFUSED);
		finish(g, DIAG_GATE_REFUSED);
	}
}

static void on_deadline(uv_timer_t *t)
{
	finish(container_of(t, struct diag_gate, timer), DIAG_GATE_TIMEOUT);
}

int diag_gate_start(uv_loop_t *loop, int fd, const struct diag_secret *secret, uint32_t timeout_ms,
		    struct diag_gate **list, diag_gate_fn done, void *opaque)
{
	uint8_t nonce[DIAG_AUTH_NONCE_SIZE];
	struct diag_gate *g;
	ssize_t n;
	int r;

	/* A fresh nonce per connection: a proof seen once is worth nothing again. */
	if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
		r = errno ? -errno : -EIO;
		close(fd);
		return r;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		close(fd);
		return -ENOMEM;
	}
	*g = (struct diag_gate){
	    .fd = fd, .list = list, .secret = secret, .done = done, .opaque = opaque};
	diag_auth_challenge_make(nonce, &g->chal);
	n = send(fd, &g->chal, sizeof(g->chal), MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n != (ssize_t)sizeof(g->chal)) {
		r = n < 0 ? -errno : -EIO;
		goto err_free;
	}
	r = uv_poll_init(loop, &g->poll, fd);
	if (r < 0)
		goto err_free;
	g->poll.data = g;
	uv_timer_init(loop, &g->timer);
	g->timer.data = g;
	g->open_handles = 2;
	/* Linked before anything can finish it: gate_closed unlinks. */
	g->next = *list;
	if (*list)
		(*list)->prev = g;
	*list = g;
	r = uv_poll_start(&g->poll, UV_READABLE, on_readable);
	if (r == 0)
		r = uv_timer_start(&g->timer, on_deadline, timeout_ms, 0);
	if (r < 0)
		finish(g, DIAG_GATE_ERROR); /* reported through done, like every end */
	return 0;

err_free:
	close(fd);
	free(g);
	return r;
}

void diag_gate_cancel_all(struct diag_gate *list)
{
	for (struct diag_gate *g = list; g; g = g->next)
		finish(g, DIAG_GATE_CANCELLED);
}

struct diag_gate *diag_gate_free_all(struct diag_gate *list)
{
	while (list) {
		struct diag_gate *next = list->next;
		close(list->fd);
		free(list);
		list = next;
	}
	return NULL;
}
