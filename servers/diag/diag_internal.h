/* SPDX-License-Identifier: MIT */
/* mhcl-diagd's private declarations: its resource limits and the server core. */
#ifndef MHCL_DIAG_INTERNAL_H
#define MHCL_DIAG_INTERNAL_H

#include <stdint.h>
#include <uv.h>

/* Defaults and bounds for mhcl-diagd's own resources. */
#define DIAG_CONNS_DEFAULT 16u
#define DIAG_CONNS_MAX 256u
#define DIAG_PENDING_DEFAULT 4u
#define DIAG_PENDING_MAX 32u

struct srv;
struct inspect_tree;
struct diagd;

struct diagd_config {
	uint32_t max_conns;          /* connections beyond this are closed at once */
	uint32_t max_pending;        /* requests in flight per connection */
	uint32_t request_timeout_ms; /* how long init may take to answer */
};

/* Creates the core. srv is borrowed (its bus is where requests go). */
int diagd_new(uv_loop_t *loop, struct srv *srv, const struct diagd_config *cfg,
	      struct diagd **ret_d);

/* Starts accepting on a listening socket. Takes ownership of fd (also on
 * failure). kind ("unix", "tcp", "vsock") and addr are copied for inspect. */
int diagd_listen(struct diagd *d, int fd, const char *kind, const char *addr);

/* Fills diagd's part of its inspect tree. */
void diagd_inspect(struct diagd *d, struct inspect_tree *t, void *root);

/* Closes listeners and client connections; pending relays complete quietly. */
void diagd_stop(struct diagd *d);

/* Frees the core after the loop has run the close callbacks; accepts NULL. */
struct diagd *diagd_free(struct diagd *d);

#endif
