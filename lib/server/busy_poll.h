/* SPDX-License-Identifier: MIT */
/*
 * Busy polling of shared-memory queues while they carry work, on a server's libuv loop.
 *
 * Under load a doorbell per request (an eventfd wake-up, a context switch) costs more than
 * the request itself. A queue that found work keeps its peer's signals masked and is
 * polled instead, on every turn of the loop (a uv_idle, so the loop never sleeps while
 * anything polls), until it has found nothing for the window; then its owner unmasks and
 * goes back to doorbells. With nothing polled the loop sleeps as before. While polling the
 * server yields its CPU every 100 us, so a runnable peer on the same CPU waits no longer.
 *
 *   owner's drain, at its end:   if (busy_poll_keep(bp, &q->poll, worked)) return;
 *                                ... unmask the peer's signals, check once more ...
 *   busy_poll_stop()             when the queue closes or stops taking work
 *
 * One busy_poll per loop; the window is the server's --poll-us (0: never poll).
 */
#ifndef MHCL_LIB_BUSY_POLL_H
#define MHCL_LIB_BUSY_POLL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "inspect.h"

struct busy_poll_entry {
	/* Called on each turn while polled: drain the queue (which calls busy_poll_keep). */
	void (*poll)(struct busy_poll_entry *e);
	uint64_t last_work_ns;
	bool polled;
	struct busy_poll_entry *next;
};

struct busy_poll {
	uv_idle_t idle;
	uint64_t window_ns;
	uint64_t last_yield_ns;
	uint64_t turn_ns; /* uv_hrtime at the start of this turn's polls */
	struct busy_poll_entry *head;	/* the entries polled now */
	struct busy_poll_entry *cursor; /* the next one this turn polls */
	uint64_t windows, turns;	/* queues that started polling; loop turns polled */
};

/* window_us 0 disables polling (busy_poll_keep always says no). 0 or a libuv error. */
int busy_poll_init(struct busy_poll *bp, uv_loop_t *loop, uint32_t window_us);
/*
 * Called where a drain of e's queue ends, worked = it took something. True: e is (still)
 * polled, so leave the peer's signals masked. False: e is no longer polled (no work for
 * the window, or polling is off); unmask and look once more, as without polling.
 */
bool busy_poll_keep(struct busy_poll *bp, struct busy_poll_entry *e, bool worked);
/* Now, in ns: while anything polls, the time this turn of the loop began (a loop turn
 * lasts microseconds then; one clock read serves every request of the turn), else
 * uv_hrtime(). */
uint64_t busy_poll_clock(const struct busy_poll *bp);
/* e is no longer polled (its queue closed or stopped taking work). */
void busy_poll_stop(struct busy_poll *bp, struct busy_poll_entry *e);
/* window_us, windows and turns into dir (a server's "poll"). */
void busy_poll_inspect(const struct busy_poll *bp, struct inspect_tree *t, Mhcl__Node *dir);
/* Frees nothing; closes the idle handle (the caller runs the loop to let it go). */
void busy_poll_close(struct busy_poll *bp);

#endif
