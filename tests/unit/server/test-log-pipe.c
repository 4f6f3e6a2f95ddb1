/* SPDX-License-Identifier: MIT */
/*
 * lib/common/log.c with stderr on a pipe nobody reads (a server whose init fell behind):
 * after log_set_nonblocking() logging returns at once, every line is either written whole
 * or counted as dropped, and once the pipe drains the next line is preceded by "N log
 * lines dropped" with the exact count. The logging runs in a child whose stderr is the
 * pipe; if a write blocked, the child would never finish and the test would time out.
 */
#include "log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "test.h"

#define THREADS 4
#define LINES 3000u

struct child {
	pid_t pid;
	int log, ctl; /* the pipe's read end; where the child reports and waits */
};

struct result {
	uint64_t dropped;
};

static void *logger(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	for (unsigned i = 0; i < LINES; i++)
		log_warn("thread %u line %u of a guest flood, padded to look like a real line", t,
			 i);
	return NULL;
}

/* The child: stderr is the pipe; `threads` threads log LINES lines each; it reports how
 * many it dropped, waits for the parent to empty the pipe, logs one more line and exits. */
static void child_run(int log_w, int ctl, unsigned threads)
{
	pthread_t th[THREADS];
	struct result res;
	char go;

	if (dup2(log_w, STDERR_FILENO) < 0 || log_set_nonblocking() < 0)
		_exit(2);
	log_set_ident("pipe-test");
	for (unsigned i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, logger, (void *)(uintptr_t)i))
			_exit(3);
	for (unsigned i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	res.dropped = log_dropped();
	if (write(ctl, &res, sizeof(res)) != sizeof(res) || read(ctl, &go, 1) != 1)
		_exit(4);
	log_info("after the flood");
	_exit(0);
}

static struct child child_start(unsigned threads)
{
	int p[2], s[2];
	struct child c;

	ASSERT_OK(pipe2(p, O_CLOEXEC));
	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
	c.pid = fork();
	ASSERT_GE(c.pid, 0);
	if (c.pid == 0) {
		close(p[0]);
		close(s[0]);
		child_run(p[1], s[1], threads);
	}
	close(p[1]);
	close(s[1]);
	c.log = p[0];
	c.ctl = s[0];
	return c;
}

/* Everything in the pipe now, without waiting for more. */
static char *drain(int fd, size_t *ret_len)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	ASSERT_TRUE(buf);
	ASSERT_OK(fcntl(fd, F_SETFL, O_NONBLOCK));
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	*ret_len = len;
	return buf;
}

/* Checks every line is whole (no two threads' lines mixed) and counts the flood's lines
 * and the drops the "dropped" lines report. */
static void tally(const char *buf, uint64_t *lines, uint64_t *said_dropped)
{
	const char *p = buf;

	while (*p) {
		const char *nl = strchr(p, '\n');
		unsigned t, i;
		unsigned long long n;
		int end = 0;

		ASSERT_TRUE(nl);
		if (sscanf(p,
			   "pipe-test: warning: thread %u line %u of a guest flood, padded to look "
			   "like a real line%n",
			   &t, &i, &end) == 2 &&
		    p + end == nl) {
			ASSERT_LT(t, THREADS);
			ASSERT_LT(i, LINES);
			(*lines)++;
		} else if (sscanf(p, "pipe-test: warning: %llu log lines dropped%n", &n, &end) ==
			       1 &&
			   p + end == nl) {
			*said_dropped += n;
		} else {
			TEST_FAIL_("unexpected line: %.*s", (int)(nl - p), p);
		}
		p = nl + 1;
	}
}

static void run(unsigned threads)
{
	struct child c = child_start(threads);
	struct result res;
	uint64_t lines = 0, said = 0;
	size_t len;
	int st;

	/* Nobody reads the log pipe until the child has logged everything. */
	ASSERT_EQ(read(c.ctl, &res, sizeof(res)), (ssize_t)sizeof(res));
	ASSERT_GT(res.dropped, 0);
	char *buf = drain(c.log, &len);
	tally(buf, &lines, &said);
	ASSERT_UEQ(lines + res.dropped, (uint64_t)threads * LINES);
	free(buf);
	/* The pipe is empty again: the next line says what the log lost first. */
	ASSERT_EQ(write(c.ctl, "g", 1), 1);
	ASSERT_EQ(waitpid(c.pid, &st, 0), c.pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	buf = drain(c.log, &len);
	const char *last = strstr(buf, "pipe-test: info: after the flood\n");
	ASSERT_TRUE(last);
	ASSERT_TRUE(last[strlen("pipe-test: info: after the flood\n")] == 0);
	*(char *)last = 0;
	tally(buf, &lines, &said);
	ASSERT_UEQ(said, res.dropped);
	free(buf);
	close(c.log);
	close(c.ctl);
}

static void test_one_thread(void)
{
	run(1);
}

static void test_threads(void)
{
	run(THREADS);
}

/* stderr that is not a pipe (a terminal or file someone shares with us) is left alone. */
static void test_not_a_pipe(void)
{
	int saved = dup(STDERR_FILENO);
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_GE(dup2(fd, STDERR_FILENO), 0);
	int r = log_set_nonblocking();
	int fl = fcntl(STDERR_FILENO, F_GETFL);
	ASSERT_GE(dup2(saved, STDERR_FILENO), 0);
	ASSERT_EQ(r, -ENOTSUP);
	ASSERT_FALSE(fl & O_NONBLOCK);
	close(fd);
	close(saved);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
	    {"one_thread", test_one_thread},
	    {"threads", test_threads},
	    {"not_a_pipe", test_not_a_pipe},
	};
	return test_run_cases(cases, ARRAY_SIZE(cases), argc, argv);
}
