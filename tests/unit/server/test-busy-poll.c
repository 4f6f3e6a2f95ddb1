/* SPDX-License-Identifier: MIT */
/* lib/server/busy_poll.c: a queue that found work is polled on every turn of the loop
 * (which then never sleeps) until it finds none for the window; window 0 never polls; an
 * entry may stop itself, or another, from inside its poll. */
#include "busy_poll.h"

#include <time.h>

#include "macros.h"
#include "test.h"

struct q {
	struct busy_poll_entry e;
	struct busy_poll *bp;
	unsigned polls, work; /* work: how many more polls find something */
	struct q *stop_other;
	bool stop_self;
};

static void q_poll(struct busy_poll_entry *e)
{
	struct q *q = (struct q *)e;
	q->polls++;
	if (q->stop_other)
		busy_poll_stop(q->bp, &q->stop_other->e);
	if (q->stop_self) {
		busy_poll_stop(q->bp, e);
		return;
	}
	bool worked = q->work > 0;
	if (worked)
		q->work--;
	(void)busy_poll_keep(q->bp, e, worked);
}

static void sleep_us(unsigned us)
{
	struct timespec t = {0, (long)us * 1000};
	nanosleep(&t, NULL);
}

static void test_window_zero_never_polls(void)
{
	uv_loop_t loop;
	struct busy_poll bp;
	struct q q = {.e.poll = q_poll, .bp = &bp};
	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(busy_poll_init(&bp, &loop, 0));
	ASSERT_FALSE(busy_poll_keep(&bp, &q.e, true));
	ASSERT_FALSE(q.e.polled);
	ASSERT_FALSE(uv_is_active((uv_handle_t *)&bp.idle));
	busy_poll_close(&bp);
	ASSERT_OK(uv_run(&loop, UV_RUN_DEFAULT));
	ASSERT_OK(uv_loop_close(&loop));
}

static void test_polls_until_the_window_passes(void)
{
	uv_loop_t loop;
	struct busy_poll bp;
	struct q q = {.e.poll = q_poll, .bp = &bp, .work = 5};
	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(busy_poll_init(&bp, &loop, 2000));
	ASSERT_TRUE(busy_poll_keep(&bp, &q.e, true));
	ASSERT_TRUE(q.e.polled);
	ASSERT_TRUE(uv_is_active((uv_handle_t *)&bp.idle));
	ASSERT_UEQ(bp.windows, 1);
	/* Each turn polls once; found work restarts the window. */
	for (unsigned i = 1; i <= 5; i++) {
		ASSERT_EQ(uv_run(&loop, UV_RUN_NOWAIT), 1);
		ASSERT_UEQ(q.polls, i);
		ASSERT_TRUE(q.e.polled);
	}
	/* Nothing found: still polled inside the window... */
	ASSERT_EQ(uv_run(&loop, UV_RUN_NOWAIT), 1);
	ASSERT_TRUE(q.e.polled);
	/* ...and let go once it has passed, the loop free to sleep again. */
	sleep_us(3000);
	(void)uv_run(&loop, UV_RUN_NOWAIT);
	ASSERT_FALSE(q.e.polled);
	ASSERT_FALSE(uv_is_active((uv_handle_t *)&bp.idle));
	unsigned polls = q.polls;
	ASSERT_OK(uv_run(&loop, UV_RUN_NOWAIT));
	ASSERT_UEQ(q.polls, polls);
	/* Work again opens a new window. */
	ASSERT_TRUE(busy_poll_keep(&bp, &q.e, true));
	ASSERT_UEQ(bp.windows, 2);
	busy_poll_close(&bp);
	ASSERT_FALSE(q.e.polled);
	ASSERT_OK(uv_run(&loop, UV_RUN_DEFAULT));
	ASSERT_OK(uv_loop_close(&loop));
}

static void test_stop_inside_poll(void)
{
	uv_loop_t loop;
	struct busy_poll bp;
	struct q a = {.e.poll = q_poll, .bp = &bp, .work = 100};
	struct q b = {.e.poll = q_poll, .bp = &bp, .work = 100};
	struct q c = {.e.poll = q_poll, .bp = &bp, .work = 100};
	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(busy_poll_init(&bp, &loop, 100000));
	ASSERT_TRUE(busy_poll_keep(&bp, &a.e, true));
	ASSERT_TRUE(busy_poll_keep(&bp, &b.e, true));
	ASSERT_TRUE(busy_poll_keep(&bp, &c.e, true));
	/* Listed c, b, a: c stops itself, b stops a (not yet polled this turn). */
	c.stop_self = true;
	b.stop_other = &a;
	ASSERT_EQ(uv_run(&loop, UV_RUN_NOWAIT), 1);
	ASSERT_UEQ(c.polls, 1);
	ASSERT_UEQ(b.polls, 1);
	ASSERT_UEQ(a.polls, 0);
	ASSERT_FALSE(a.e.polled);
	ASSERT_FALSE(c.e.polled);
	ASSERT_TRUE(b.e.polled);
	b.stop_other = NULL;
	b.stop_self = true;
	ASSERT_OK(uv_run(&loop, UV_RUN_NOWAIT));
	ASSERT_FALSE(b.e.polled);
	ASSERT_FALSE(uv_is_active((uv_handle_t *)&bp.idle));
	busy_poll_close(&bp);
	ASSERT_OK(uv_run(&loop, UV_RUN_DEFAULT));
	ASSERT_OK(uv_loop_close(&loop));
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
	    {"window_zero_never_polls", test_window_zero_never_polls},
	    {"polls_until_the_window_passes", test_polls_until_the_window_passes},
	    {"stop_inside_poll", test_stop_inside_poll},
	};
	return test_run_cases(cases, ARRAY_SIZE(cases), argc, argv);
}
