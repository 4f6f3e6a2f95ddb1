/* SPDX-License-Identifier: MIT */
/*
 * A server's crash-consistent state: one memfd that init keeps in its fd store under a
 * name, mapped shared. Every store to it outlives the process (a kill -9 included), so
 * the next instance reads what the last one wrote, up to its last store.
 *
 * The layout is the server's own and starts with struct srv_state_hdr; only the binary
 * that wrote it reads it (the magic names the layout: bump it when the layout changes).
 *
 *   srv_state_prepare()   before the jail (which has no memfd_create): a fresh, zeroed
 *                         state, its header filled, mapped at st->fresh for the server
 *                         to initialise
 *   srv_state_adopt()     from ops->restore: the stored state if its size and magic fit
 *                         (and accept() agrees), else the fresh one, handed to init
 */
#ifndef MHCL_LIB_SRV_STATE_H
#define MHCL_LIB_SRV_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srv;

struct srv_state_hdr {
	uint64_t magic;
	uint64_t size; /* bytes of the whole mapping */
};

struct srv_state {
	void *map; /* the state in use (after srv_state_adopt) */
	size_t len;
	bool adopted; /* map is what an earlier instance left */
	void *fresh;  /* srv_state_prepare's mapping until adopt decides */
	int fresh_fd;
	uint64_t magic;
};

/* A fresh state of len bytes (len >= sizeof(struct srv_state_hdr)). 0 or -errno. */
int srv_state_prepare(struct srv_state *st, const char *memfd_name, size_t len, uint64_t magic);

/*
 * Takes the state stored under name if it fits, else stores the fresh one under name.
 * accept (may be NULL) judges a stored state whose size and magic match. Returns 0 or
 * -errno (the fresh state could not be handed to init).
 */
int srv_state_adopt(struct srv *s, struct srv_state *st, const char *name,
		    bool (*accept)(const void *map, void *opaque), void *opaque);

/* Unmaps and closes what is left (the memfd itself lives on in init). */
void srv_state_release(struct srv_state *st);

/* The store that makes a step visible to the next instance: release order, so every store
 * before it is seen first. */
#define srv_state_publish(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#endif
