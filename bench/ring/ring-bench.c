/* SPDX-License-Identifier: MIT */
/*
 * ring-bench: packets per second and round-trip latency through lib/ring
 * between two processes, next to a unix SOCK_SEQPACKET socket pair measured
 * in the same run with the same sizes.
 *
 * Ring transport: one memfd holds a ring pair (client->server and
 * server->client, each a control page plus RING_PAGES data pages), mapped
 * shared by both processes; two eventfds carry the signals, and each side
 * signals only when the library says so (empty -> non-empty with the mask
 * clear, or pending_send_sz crossed). Both transports block in read() when
 * idle; nothing spins. The ring runs twice: with each ring's pages in order
 * (one flat copy per wrap) and with them scattered (page-by-page copies, as
 * for a GPADL whose pages are not adjacent in the server's mapping).
 *
 * Modes:
 *   req/resp  the client sends one request (inband, completion requested) of
 *             SIZE bytes and waits for the SIZE-byte completion; one
 *             outstanding; per-round-trip latency is recorded.
 *   stream    the client sends packets back to back; the server drains and
 *             counts; the clock stops when the server acknowledges the last.
 *
 * Prints one markdown table; each figure is the median of -k runs (default 3).
 * Times are wall-clock on whatever machine runs it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmbus_ring.h"

#define RING_PAGES 64u /* 256 KiB of data per direction */
#define RING_BYTES ((RING_PAGES + 1u) * VMBUS_RING_PAGE_SIZE)
#define MAX_SIZE 4096u
#define END_ID UINT64_MAX
#define MAX_REPEATS 15

static const uint32_t sizes[] = {64, 256, 1024, 4096};

enum mode { MODE_RR, MODE_STREAM };

struct result {
	double pps;
	double p50_us, p99_us;
};

static void die(const char *what)
{
	perror(what);
	exit(111);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void efd_signal(int fd)
{
	uint64_t one = 1;
	if (write(fd, &one, sizeof(one)) != sizeof(one))
		die("eventfd write");
}

static void efd_wait(int fd)
{
	uint64_t v;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		die("eventfd read");
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void percentiles(uint32_t *lat, uint32_t n, struct result *res)
{
	qsort(lat, n, sizeof(*lat), cmp_u32);
	res->p50_us = lat[n / 2] / 1000.0;
	res->p99_us = lat[(uint64_t)n * 99 / 100] / 1000.0;
}

/* ---- ring transport ---- */

struct ring_end {
	struct vmbus_ring in, out;
	int wake_me;   /* eventfd the peer signals */
	int wake_peer; /* eventfd we signal */
};

/*
 * Attaches to the ring pair in `map`. Contiguous: each ring is a control page
 * and its data pages in order. Scattered: the data pages are used in reverse
 * order, as when a GPADL's pages are not adjacent in the mapping, so the
 * library takes its page-by-page path.
 */
static void ring_attach(struct vmbus_ring *r, uint8_t *base, bool scattered)
{
	void *pages[RING_PAGES];
	for (uint32_t i = 0; i < RING_PAGES; i++) {
		uint32_t slot = scattered ? RING_PAGES - i : i + 1;
		pages[i] = base + (size_t)slot * VMBUS_RING_PAGE_SIZE;
	}
	int ret = vmbus_ring_init(r, base, pages, RING_PAGES);
	if (ret < 0) {
		fprintf(stderr, "ring init failed: %s\n", strerror(-ret));
		exit(111);
	}
	if (scattered == (r->flat != NULL)) {
		fprintf(stderr, "ring init: unexpected page layout\n");
		exit(111);
	}
}

static void ring_end_open(struct ring_end *e, uint8_t *map, bool client, bool scattered,
			  int efd_c, int efd_s)
{
	uint8_t *c2s = map, *s2c = map + RING_BYTES;
	ring_attach(&e->in, client ? s2c : c2s, scattered);
	ring_attach(&e->out, client ? c2s : s2c, scattered);
	e->wake_me = client ? efd_c : efd_s;
	e->wake_peer = client ? efd_s : efd_c;
}

static void ring_end_close(struct ring_end *e)
{
	vmbus_ring_fini(&e->in);
	vmbus_ring_fini(&e->out);
}

static void ring_check(int ret, struct vmbus_ring *r, const char *what)
{
	if (ret < 0 && ret != -EAGAIN) {
		fprintf(stderr, "%s: %s (%s)\n", what, strerror(-ret),
			vmbus_ring_broken_reason(r) ? vmbus_ring_broken_reason(r) : "-");
		exit(1);
	}
}

/* Sends, waiting for space with pending_send_sz when the ring is full. */
static void ring_send(struct ring_end *e, bool completion, uint64_t id, const void *buf,
		      uint32_t len)
{
	for (;;) {
		int ret = completion ? vmbus_ring_send_completion(&e->out, id, buf, len)
				     : vmbus_ring_send_inband(&e->out, id, VMBUS_PKT_FLAG_COMPLETION_REQUESTED,
							      buf, len);
		ring_check(ret, &e->out, "send");
		if (ret == 1)
			efd_signal(e->wake_peer);
		if (ret >= 0)
			return;
		ret = vmbus_ring_set_pending_send(&e->out, vmbus_ring_inband_size(len));
		ring_check(ret, &e->out, "pending_send");
		if (ret == 0)
			efd_wait(e->wake_me);
		(void)vmbus_ring_set_pending_send(&e->out, 0);
	}
}

static void ring_commit(struct ring_end *e)
{
	int ret = vmbus_ring_recv_commit(&e->in);
	ring_check(ret, &e->in, "commit");
	if (ret == 1)
		efd_signal(e->wake_peer);
}

/* Server: drain with the mask set, answer, commit once per batch, unmask and re-check. */
static void ring_server(struct ring_end *e, enum mode mode)
{
	static alignas(8) uint8_t buf[MAX_SIZE + 64];
	uint64_t count = 0;

	for (;;) {
		vmbus_ring_mask_interrupts(&e->in);
		for (;;) {
			struct vmbus_pkt pkt;
			int ret = vmbus_ring_recv(&e->in, buf, sizeof(buf), &pkt);
			ring_check(ret, &e->in, "recv");
			if (ret == -EAGAIN)
				break;
			if (pkt.trans_id == END_ID) {
				/* The last answer carries how many packets came before it. */
				ring_send(e, true, END_ID, &count, sizeof(count));
				ring_commit(e);
				return;
			}
			if (pkt.trans_id != count) {
				fprintf(stderr, "ring server: packet %llu out of order\n",
					(unsigned long long)pkt.trans_id);
				exit(1);
			}
			count++;
			/* Answer from the copy: the response echoes the request. */
			if (mode == MODE_RR)
				ring_send(e, true, pkt.trans_id, pkt.payload, pkt.payload_len);
		}
		ring_commit(e);
		int more = vmbus_ring_unmask_interrupts(&e->in);
		ring_check(more, &e->in, "unmask");
		if (!more)
			efd_wait(e->wake_me);
	}
}

/* Client: waits for one packet on the in-ring (mask stays clear, so the
 * server signals on every empty -> non-empty transition). */
static void ring_wait_one(struct ring_end *e, uint8_t *buf, size_t buflen, uint64_t id,
			  uint64_t *ret_word)
{
	for (;;) {
		struct vmbus_pkt pkt;
		int ret = vmbus_ring_recv(&e->in, buf, buflen, &pkt);
		ring_check(ret, &e->in, "recv");
		if (ret == 0) {
			if (pkt.trans_id != id || pkt.type != VMBUS_PKT_COMP) {
				fprintf(stderr, "unexpected response %llu\n", (unsigned long long)pkt.trans_id);
				exit(1);
			}
			if (ret_word)
				memcpy(ret_word, pkt.payload, sizeof(*ret_word));
			ring_commit(e);
			return;
		}
		efd_wait(e->wake_me);
	}
}

static void ring_client(struct ring_end *e, enum mode mode, uint32_t size, uint32_t iters,
			uint32_t *lat, struct result *res)
{
	static alignas(8) uint8_t buf[MAX_SIZE + 64], rx[MAX_SIZE + 64];
	memset(buf, 0x5a, sizeof(buf));

	uint64_t t0 = now_ns();
	if (mode == MODE_RR) {
		for (uint32_t i = 0; i < iters; i++) {
			uint64_t s = now_ns();
			ring_send(e, false, i, buf, size);
			ring_wait_one(e, rx, sizeof(rx), i, NULL);
			lat[i] = (uint32_t)(now_ns() - s);
		}
	} else {
		for (uint32_t i = 0; i < iters; i++)
			ring_send(e, false, i, buf, size);
	}
	uint64_t got;
	ring_send(e, false, END_ID, buf, 8);
	ring_wait_one(e, rx, sizeof(rx), END_ID, &got);
	uint64_t t = now_ns() - t0;
	if (got != iters) {
		fprintf(stderr, "ring server saw %llu of %u packets\n", (unsigned long long)got, iters);
		exit(1);
	}
	res->pps = iters / (t / 1e9);
	if (mode == MODE_RR)
		percentiles(lat, iters, res);
}

static void run_ring(enum mode mode, bool scattered, uint32_t size, uint32_t iters,
		     uint32_t *lat, struct result *res)
{
	int mfd = memfd_create("ring-bench", MFD_CLOEXEC);
	if (mfd < 0)
		die("memfd_create");
	if (ftruncate(mfd, 2 * RING_BYTES) < 0)
		die("ftruncate");
	int efd_c = eventfd(0, EFD_CLOEXEC), efd_s = eventfd(0, EFD_CLOEXEC);
	if (efd_c < 0 || efd_s < 0)
		die("eventfd");
	/* The guest zeroes and sets up the rings before anyone attaches. */
	uint8_t *map = mmap(NULL, 2 * RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	for (int i = 0; i < 2; i++) {
		struct vmbus_ring_control *c = (void *)(map + i * RING_BYTES);
		c->feature_bits = VMBUS_RING_FEAT_PENDING_SEND_SZ;
	}

	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		/* The server maps the memfd itself, as a device server would. */
		uint8_t *smap = mmap(NULL, 2 * RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
		if (smap == MAP_FAILED)
			die("mmap");
		struct ring_end e;
		ring_end_open(&e, smap, false, scattered, efd_c, efd_s);
		ring_server(&e, mode);
		ring_end_close(&e);
		_exit(0);
	}
	struct ring_end e;
	ring_end_open(&e, map, true, scattered, efd_c, efd_s);
	ring_client(&e, mode, size, iters, lat, res);
	ring_end_close(&e);
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "ring server failed\n");
		exit(1);
	}
	munmap(map, 2 * RING_BYTES);
	close(mfd);
	close(efd_c);
	close(efd_s);
}

/* ---- unix socket baseline ---- */

static void sock_send(int fd, const void *buf, size_t len)
{
	if (send(fd, buf, len, 0) != (ssize_t)len)
		die("send");
}

static size_t sock_recv(int fd, void *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, 0);
	if (n <= 0)
		die("recv");
	return (size_t)n;
}

/* Each message starts with a u64 id, like the ring's trans_id. */
static void sock_server(int fd, enum mode mode)
{
	static alignas(8) uint8_t buf[MAX_SIZE + 64];
	uint64_t count = 0;
	for (;;) {
		size_t n = sock_recv(fd, buf, sizeof(buf));
		uint64_t id;
		memcpy(&id, buf, sizeof(id));
		if (id == END_ID) {
			sock_send(fd, &count, sizeof(count));
			return;
		}
		if (id != count++) {
			fprintf(stderr, "socket server: message %llu out of order\n",
				(unsigned long long)id);
			exit(1);
		}
		if (mode == MODE_RR)
			sock_send(fd, buf, n);
	}
}

static void sock_client(int fd, enum mode mode, uint32_t size, uint32_t iters, uint32_t *lat,
			struct result *res)
{
	static alignas(8) uint8_t buf[MAX_SIZE + 64], rx[MAX_SIZE + 64];
	memset(buf, 0x5a, sizeof(buf));
	uint64_t id;

	uint64_t t0 = now_ns();
	for (uint32_t i = 0; i < iters; i++) {
		uint64_t s = now_ns();
		id = i;
		memcpy(buf, &id, sizeof(id));
		sock_send(fd, buf, size);
		if (mode == MODE_RR) {
			if (sock_recv(fd, rx, sizeof(rx)) != size || memcmp(rx, &id, sizeof(id))) {
				fprintf(stderr, "bad socket response\n");
				exit(1);
			}
			lat[i] = (uint32_t)(now_ns() - s);
		}
	}
	id = END_ID;
	memcpy(buf, &id, sizeof(id));
	sock_send(fd, buf, 8);
	uint64_t got = 0;
	if (sock_recv(fd, rx, sizeof(rx)) != sizeof(got))
		die("recv count");
	memcpy(&got, rx, sizeof(got));
	uint64_t t = now_ns() - t0;
	if (got != iters) {
		fprintf(stderr, "socket server saw %llu of %u messages\n", (unsigned long long)got,
			iters);
		exit(1);
	}
	res->pps = iters / (t / 1e9);
	if (mode == MODE_RR)
		percentiles(lat, iters, res);
}

static void run_sock(enum mode mode, uint32_t size, uint32_t iters, uint32_t *lat,
		     struct result *res)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(sv[0]);
		sock_server(sv[1], mode);
		_exit(0);
	}
	close(sv[1]);
	sock_client(sv[0], mode, size, iters, lat, res);
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "socket server failed\n");
		exit(1);
	}
	close(sv[0]);
}

static void fmt_rate(char *b, size_t n, double v)
{
	if (v >= 1e6)
		snprintf(b, n, "%.2f M", v / 1e6);
	else
		snprintf(b, n, "%.0f k", v / 1e3);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, uint32_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void usage(void)
{
	fprintf(stderr, "usage: ring-bench [-r REQ_RESP_ITERS] [-s STREAM_ITERS] [-k REPEATS]\n");
	exit(100);
}

int main(int argc, char **argv)
{
	uint32_t rr_iters = 20000, st_iters = 200000, repeats = 3;
	int opt;

	while ((opt = getopt(argc, argv, "r:s:k:h")) != -1) {
		switch (opt) {
		case 'r': rr_iters = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': st_iters = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'k': repeats = (uint32_t)strtoul(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (rr_iters < 100 || st_iters < 100 || repeats < 1 || repeats > MAX_REPEATS)
		usage();
	uint32_t *lat = calloc(rr_iters, sizeof(*lat));
	if (!lat)
		die("calloc");

	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	printf("ring-bench: %u req/resp round trips and %u streamed packets per run, median of %u "
	       "runs per cell; ring %u KiB per direction; %ld CPUs online; build %s%s\n\n",
	       rr_iters, st_iters, repeats, RING_PAGES * 4, cpus,
#ifdef __OPTIMIZE__
	       "optimized",
#else
	       "unoptimized",
#endif
#if defined(__SANITIZE_ADDRESS__)
	       " + ASan (numbers not representative)"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	       " + ASan (numbers not representative)"
#else
	       ""
#endif
#else
	       ""
#endif
	);
	static const char *const names[] = {
		"vmbus ring, contiguous",
		"vmbus ring, scattered pages",
		"unix SOCK_SEQPACKET",
	};
	printf("| size | transport | req/resp round trips/s | RTT p50 (us) | RTT p99 (us) | stream packets/s | stream MB/s |\n");
	printf("|-----:|-----------|------:|------:|------:|------:|------:|\n");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t sz = sizes[i];
		for (int t = 0; t < 3; t++) {
			struct result rr = {0}, st = {0};
			double v[5][MAX_REPEATS];
			for (uint32_t k = 0; k < repeats; k++) {
				if (t < 2) {
					bool sc = t == 1;
					if (k == 0) /* warm-up */
						run_ring(MODE_RR, sc, sz, rr_iters / 10, lat, &rr);
					run_ring(MODE_RR, sc, sz, rr_iters, lat, &rr);
					run_ring(MODE_STREAM, sc, sz, st_iters, lat, &st);
				} else {
					if (k == 0)
						run_sock(MODE_RR, sz, rr_iters / 10, lat, &rr);
					run_sock(MODE_RR, sz, rr_iters, lat, &rr);
					run_sock(MODE_STREAM, sz, st_iters, lat, &st);
				}
				v[0][k] = rr.pps;
				v[1][k] = rr.p50_us;
				v[2][k] = rr.p99_us;
				v[3][k] = st.pps;
			}
			/* Each figure is the median over the repeats (the machine may be shared). */
			rr.pps = median(v[0], repeats);
			rr.p50_us = median(v[1], repeats);
			rr.p99_us = median(v[2], repeats);
			st.pps = median(v[3], repeats);
			char a[32], b[32];
			fmt_rate(a, sizeof(a), rr.pps);
			fmt_rate(b, sizeof(b), st.pps);
			printf("| %u B | %s | %s | %.1f | %.1f | %s | %.0f |\n", sz,
			       names[t], a, rr.p50_us,
			       rr.p99_us, b, st.pps * sz / 1e6);
			fflush(stdout);
		}
	}
	free(lat);
	return 0;
}
