/* SPDX-License-Identifier: MIT */
#include "busy_poll.h"

#include <sched.h>

/* A polling server gives way this often to whatever else wants its CPU (init asking it
 * to stop, vmbusd, its own next instance): polling must not starve the control plane. */
#define BUSY_POLL_YIELD_NS 100000u

static void tick(uv_idle_t *h)
{
	struct busy_poll *bp = h->data;
	struct busy_poll_entry *e;

	bp->turns++;
	uint64_t now = uv_hrtime();
	bp->turn_ns = now;
	if (now - bp->last_yield_ns >= BUSY_POLL_YIELD_NS) {
		bp->last_yield_ns = now;
		(void)sched_yield();
	}
	/* An entry may stop itself or another inside its poll: busy_poll_stop moves the
	 * cursor past the entry it unlinks. */
	for (e = bp->head; e; e = bp->cursor) {
		bp->cursor = e->next;
		e->poll(e);
	}
}

int busy_poll_init(struct busy_poll *bp, uv_loop_t *loop, uint32_t window_us)
{
	*bp = (struct busy_poll){.window_ns = (uint64_t)window_us * 1000u};
	int r = uv_idle_init(loop, &bp->idle);
	if (r < 0)
		return r;
	bp->idle.data = bp;
	return 0;
}

void busy_poll_stop(struct busy_poll *bp, struct busy_poll_entry *e)
{
	if (!e->polled)
		return;
	if (bp->cursor == e)
		bp->cursor = e->next;
	for (struct busy_poll_entry **p = &bp->head; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			break;
		}
	}
	e->polled = false;
	e->next = NULL;
	if (!bp->head)
		uv_idle_stop(&bp->idle);
}

uint64_t busy_poll_clock(const struct busy_poll *bp)
{
	return bp->head ? bp->turn_ns : uv_hrtime();
}

bool busy_poll_keep(struct busy_poll *bp, struct busy_poll_entry *e, bool worked)
{
	if (!bp->window_ns)
		return false;
	uint64_t now = busy_poll_clock(bp);
	if (worked) {
		e->last_work_ns = now;
		if (!e->polled) {
			e->polled = true;
			e->next = bp->head;
			bp->head = e;
			bp->windows++;
			uv_idle_start(&bp->idle, tick);
		}
		return true;
	}
	if (e->polled && now - e->last_work_ns < bp->window_ns)
		return true;
	busy_poll_stop(bp, e);
	return false;
}

void busy_poll_inspect(const struct busy_poll *bp, struct inspect_tree *t, Mhcl__Node *dir)
{
	inspect_u64(t, dir, "window_us", bp->window_ns / 1000u);
	inspect_u64(t, dir, "windows", bp->windows);
	inspect_u64(t, dir, "turns", bp->turns);
}

void busy_poll_close(struct busy_poll *bp)
{
	while (bp->head)
		busy_poll_stop(bp, bp->head);
	uv_close((uv_handle_t *)&bp->idle, NULL);
}
