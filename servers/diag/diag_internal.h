/* SPDX-License-Identifier: MIT */
/* mhcl-diagd's private declarations: its resource limits and the server core. */
#ifndef MHCL_DIAG_INTERNAL_H
#define MHCL_DIAG_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Defaults and bounds for mhcl-diagd's own resources. */
#define DIAG_CONNS_DEFAULT 16u
#define DIAG_CONNS_MAX 256u
#define DIAG_PENDING_DEFAULT 4u
#define DIAG_PENDING_MAX 32u

/* How long a network client has to prove it knows the secret. */
#define DIAG_AUTH_TIMEOUT_MS 5000u

struct srv;
struct inspect_tree;
struct diagd;
struct diag_secret;

struct diagd_config {
	uint32_t max_conns; /* connections (and ones being authenticated) beyond this are closed at
			       once */
	uint32_t max_pending;		  /* requests in flight per connection */
	uint32_t request_timeout_ms;	  /* how long init may take to answer */
	const struct diag_secret *secret; /* borrowed, outlives diagd; NULL: no authentication */
};

/* Creates the core. srv is borrowed (its bus is where requests go). */
int diagd_new(uv_loop_t *loop, struct srv *srv, const struct diagd_config *cfg,
	      struct diagd **ret_d);

/* Starts accepting on a listening socket. Takes ownership of fd (also on
 * failure). kind ("unix", "tcp", "vsock") and addr are copied for inspect.
 * gated: every client must first pass the challenge-response (gate.c) with
 * cfg->secret (-EINVAL without one). */
int diagd_listen(struct diagd *d, int fd, const char *kind, const char *addr, bool gated);

/* Fills diagd's part of its inspect tree. */
void diagd_inspect(struct diagd *d, struct inspect_tree *t, void *root);

/* Closes listeners and client connections; pending relays complete quietly. */
void diagd_stop(struct diagd *d);

/* Frees the core after the loop has run the close callbacks; accepts NULL. */
struct diagd *diagd_free(struct diagd *d);

/* ---- gate.c: the challenge-response in front of a network connection ---- */

enum diag_gate_result {
	DIAG_GATE_ACCEPTED,  /* the proof was right: the connection is the caller's */
	DIAG_GATE_REFUSED,   /* a wrong proof */
	DIAG_GATE_TIMEOUT,   /* no proof within the deadline */
	DIAG_GATE_ERROR,     /* the client closed, or a socket error */
	DIAG_GATE_CANCELLED, /* diag_gate_cancel_all */
};

struct diag_gate;
/* fd is the connection (now the callee's) on DIAG_GATE_ACCEPTED, else -1 (closed). */
typedef void (*diag_gate_fn)(int fd, enum diag_gate_result result, void *opaque);

/*
 * Sends a challenge on a freshly accepted connection fd (taken, also on
 * failure) and waits up to timeout_ms for the proof. On 0, done runs exactly
 * once, from a close callback, after the gate left *list. secret is borrowed.
 * Returns -errno (fd closed, done never called) when it cannot even start.
 */
int diag_gate_start(uv_loop_t *loop, int fd, const struct diag_secret *secret, uint32_t timeout_ms,
		    struct diag_gate **list, diag_gate_fn done, void *opaque);
/* Ends every gate on list (each reports DIAG_GATE_CANCELLED once the loop runs). */
void diag_gate_cancel_all(struct diag_gate *list);
/* Frees gates whose close callbacks will never run (the loop is done); no callbacks. */
struct diag_gate *diag_gate_free_all(struct diag_gate *list);

#endif
