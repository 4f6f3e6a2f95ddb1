/* SPDX-License-Identifier: MIT */
/*
 * The backends behind disk.h (memory; file through io_uring, on a disk-backed temp file and
 * on tmpfs), driven on a libuv loop as the SCSI layer drives them: scattered iovs, several
 * requests in flight, flush, discard, refusals, a full queue, done callbacks that submit
 * again or close the queue, and queues closed with requests in flight. Every done is
 * checked to run on the loop, never inside submit, and exactly once. The file backend's
 * rings are checked to refuse what the backend does not do (other opcodes, other files,
 * io_uring_register), to run out with -EBUSY, and to come back clean to the next queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"
#include "disk_file_rings.h"
#include "test.h"

#define BS 512u
#define NBLOCKS 2048u /* 1 MiB */
#define MEM_DEPTH 1024u
#define FILE_DEPTH 256u
#define MAX_IOS (MEM_DEPTH + 1)
#define BIG_IOVCNT 1030u /* more than IOV_MAX segments in one request */

struct env;

struct io {
	struct disk_req r;
	struct iovec iov[4];
	int calls, err;
	struct env *e;
	void (*then)(struct io *io); /* run from done */
};

struct env {
	const char *name;
	uv_loop_t loop;
	struct disk *d;
	struct disk_queue *q;
	uint32_t depth;
	uint64_t dones, errors;
};

static bool in_submit;

static void on_done(struct disk_req *r, int err)
{
	struct io *io = container_of(r, struct io, r);

	ASSERT_FALSE(in_submit);
	io->calls++;
	io->err = err;
	io->e->dones++;
	io->e->errors += err != 0;
	if (io->then)
		io->then(io);
}

static int submit(struct env *e, struct io *io)
{
	int r;

	io->e = e;
	io->r.done = on_done;
	in_submit = true;
	r = disk_submit(e->q, &io->r);
	in_submit = false;
	return r;
}

/* A READ or WRITE of buf, cut into the lens given (none: one segment). */
static void io_rw(struct io *io, enum disk_op op, uint64_t lba, uint32_t nblocks, uint8_t *buf,
		  const size_t *lens, unsigned nlens)
{
	*io = (struct io){.r = {.op = op, .lba = lba, .nblocks = nblocks, .iov = io->iov}};
	if (!nlens) {
		io->iov[0] = (struct iovec){buf, (size_t)nblocks * BS};
		io->r.iovcnt = 1;
		return;
	}
	ASSERT_LE(nlens, ARRAY_SIZE(io->iov));
	for (unsigned i = 0; i < nlens; i++) {
		io->iov[i] = (struct iovec){buf, lens[i]};
		buf += lens[i];
	}
	io->r.iovcnt = nlens;
}

static void wait_for(struct env *e, struct io *ios, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		while (!ios[i].calls)
			uv_run(&e->loop, UV_RUN_ONCE);
}

/* Submits, waits, and checks the request went through. */
static void do_io(struct env *e, struct io *io)
{
	ASSERT_OK(submit(e, io));
	ASSERT_EQ(io->calls, 0);
	wait_for(e, io, 1);
	ASSERT_EQ(io->calls, 1);
	ASSERT_OK(io->err);
}

static void fill(uint8_t *buf, uint64_t lba, uint32_t nblocks, uint8_t seed)
{
	for (size_t i = 0; i < (size_t)nblocks * BS; i++)
		buf[i] = (uint8_t)((lba + i / BS) * 31 + i % BS + seed);
}

static uint8_t *buf_new(size_t nblocks)
{
	uint8_t *b = aligned_alloc(4096, (nblocks * BS + 4095) & ~(size_t)4095);

	ASSERT_TRUE(b);
	memset(b, 0x5a, nblocks * BS);
	return b;
}

static void queue_open(struct env *e)
{
	ASSERT_OK(disk_queue_open(e->d, &e->loop, &e->q));
	ASSERT_TRUE(e->q->disk == e->d && e->q->loop == &e->loop);
}

/* Closes the queue and runs the loop until the queue's handles are gone. */
static void queue_close(struct env *e)
{
	disk_queue_close(e->q);
	e->q = NULL;
	while (uv_run(&e->loop, UV_RUN_DEFAULT))
		;
}

/* ---- cases for every backend ---- */

static void test_rw(struct env *e)
{
	static const size_t w1[] = {512, 1536, 1024, 1024}, w2[] = {1024, 0, 1024};
	static const size_t r2[] = {100, 1948}; /* segments O_DIRECT cannot take */
	uint8_t *a = buf_new(8), *b = buf_new(4), *ra = buf_new(8), *rb = buf_new(5);
	uint8_t *rz = buf_new(5), zero[5 * BS] = {0};
	struct io io[3];

	fill(a, 5, 8, 1);
	fill(b, 20, 4, 2);
	io_rw(&io[0], DISK_OP_WRITE, 5, 8, a, w1, ARRAY_SIZE(w1));
	io_rw(&io[1], DISK_OP_WRITE, 20, 4, b, w2, ARRAY_SIZE(w2));
	ASSERT_OK(submit(e, &io[0]));
	ASSERT_OK(submit(e, &io[1]));
	ASSERT_EQ(io[0].calls + io[1].calls, 0);
	wait_for(e, io, 2);
	ASSERT_OK(io[0].err);
	ASSERT_OK(io[1].err);

	io_rw(&io[0], DISK_OP_READ, 5, 8, ra, NULL, 0);
	io_rw(&io[1], DISK_OP_READ, 20, 4, rb + 1, r2, ARRAY_SIZE(r2)); /* odd address too */
	io_rw(&io[2], DISK_OP_READ, 0, 5, rz, NULL, 0);			/* never written */
	for (int i = 0; i < 3; i++)
		ASSERT_OK(submit(e, &io[i]));
	wait_for(e, io, 3);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(io[i].calls, 1);
		ASSERT_OK(io[i].err);
	}
	ASSERT_OK(memcmp(ra, a, 8 * BS));
	ASSERT_OK(memcmp(rb + 1, b, 4 * BS));
	ASSERT_OK(memcmp(rz, zero, sizeof(zero)));

	/* Nothing to move: still completes, from the loop. */
	io_rw(&io[0], DISK_OP_READ, 7, 0, ra, NULL, 0);
	io[0].r.iovcnt = 0;
	do_io(e, &io[0]);
	free(a);
	free(b);
	free(ra);
	free(rb);
	free(rz);
}

/* More segments than one readv takes: the backend goes on where the kernel stopped. */
static void test_many_segments(struct env *e)
{
	uint8_t *w = buf_new(BIG_IOVCNT), *r = buf_new(BIG_IOVCNT);
	struct iovec *iov = calloc(BIG_IOVCNT, sizeof(*iov));
	struct io io;

	ASSERT_TRUE(iov);
	fill(w, 1000, BIG_IOVCNT, 3);
	/* Block i of the disk comes from block BIG_IOVCNT - 1 - i of the buffer. */
	for (unsigned i = 0; i < BIG_IOVCNT; i++)
		iov[i] = (struct iovec){w + (size_t)(BIG_IOVCNT - 1 - i) * BS, BS};
	io = (struct io){.r = {.op = DISK_OP_WRITE,
			       .lba = 1000,
			       .nblocks = BIG_IOVCNT,
			       .iov = iov,
			       .iovcnt = BIG_IOVCNT}};
	do_io(e, &io);
	io_rw(&io, DISK_OP_READ, 1000, BIG_IOVCNT, r, NULL, 0);
	do_io(e, &io);
	for (unsigned i = 0; i < BIG_IOVCNT; i++)
		ASSERT_OK(memcmp(r + (size_t)i * BS, w + (size_t)(BIG_IOVCNT - 1 - i) * BS, BS));
	free(iov);
	free(w);
	free(r);
}

static void test_flush_fua(struct env *e)
{
	uint8_t *a = buf_new(2);
	struct io io;

	io_rw(&io, DISK_OP_WRITE, 40, 2, a, NULL, 0);
	io.r.fua = true;
	do_io(e, &io);
	io = (struct io){.r = {.op = DISK_OP_FLUSH}};
	do_io(e, &io);
	free(a);
}

static void test_discard(struct env *e)
{
	static const struct disk_range ranges[] = {{108, 8}, {120, 0}, {132, 16}, {150, 3}};
	uint8_t *w = buf_new(64), *r = buf_new(64);
	struct io io;

	memset(w, 0xaa, 64 * BS);
	io_rw(&io, DISK_OP_WRITE, 100, 64, w, NULL, 0);
	do_io(e, &io);
	io = (struct io){
	    .r = {.op = DISK_OP_DISCARD, .ranges = ranges, .nranges = ARRAY_SIZE(ranges)}};
	do_io(e, &io);
	io = (struct io){.r = {.op = DISK_OP_DISCARD}}; /* no ranges: nothing to do */
	do_io(e, &io);
	io_rw(&io, DISK_OP_READ, 100, 64, r, NULL, 0);
	do_io(e, &io);
	for (uint32_t b = 0; b < 64; b++) {
		uint64_t lba = 100 + b;
		bool hole = false;

		for (size_t i = 0; i < ARRAY_SIZE(ranges); i++)
			hole |= lba >= ranges[i].lba && lba < ranges[i].lba + ranges[i].nblocks;
		for (uint32_t i = 0; i < BS; i++)
			if (r[b * BS + i] != (hole ? 0 : 0xaa))
				TEST_FAIL_("%s: lba %" PRIu64 " byte %u is %#x", e->name, lba, i,
					   r[b * BS + i]);
	}
	free(w);
	free(r);
}

/* Refused at submit: done is never called, not even later from the loop. */
static void test_refusals(struct env *e)
{
	static const struct disk_range outside[] = {{1, 1}, {NBLOCKS, 1}};
	static struct disk_range many[DISK_MAX_DISCARD_RANGES + 1];
	uint8_t *a = buf_new(2);
	struct io io[8];
	unsigned n = 0;

	io_rw(&io[n++], DISK_OP_READ, NBLOCKS - 1, 2, a, NULL, 0);
	io_rw(&io[n++], DISK_OP_WRITE, UINT64_MAX, 1, a, NULL, 0);
	io_rw(&io[n], DISK_OP_WRITE, 0, 1, a, NULL, 0);
	io[n++].iov[0].iov_len = BS / 2; /* fewer bytes than blocks */
	io_rw(&io[n], DISK_OP_READ, 0, 1, a, NULL, 0);
	io[n++].iov[0].iov_len = 2 * BS; /* more bytes than blocks */
	io_rw(&io[n], DISK_OP_READ, 0, 1, a, NULL, 0);
	io[n++].r.iov = NULL;
	io[n++] = (struct io){.r = {.op = DISK_OP_DISCARD, .ranges = outside, .nranges = 2}};
	io[n++] = (struct io){
	    .r = {.op = DISK_OP_DISCARD, .ranges = many, .nranges = DISK_MAX_DISCARD_RANGES + 1}};
	io[n++] = (struct io){.r = {.op = (enum disk_op)99}};
	ASSERT_EQ(n, ARRAY_SIZE(io));
	for (unsigned i = 0; i < n; i++)
		if (submit(e, &io[i]) != -EINVAL)
			TEST_FAIL_("%s: request %u was not refused", e->name, i);
	for (int i = 0; i < 3; i++)
		uv_run(&e->loop, UV_RUN_NOWAIT);
	for (unsigned i = 0; i < n; i++)
		ASSERT_EQ(io[i].calls, 0);
	free(a);
}

/* A full queue says -EAGAIN and takes requests again once they complete. */
static void test_queue_full(struct env *e)
{
	static struct io ios[MAX_IOS];
	uint8_t *buf = buf_new(MAX_IOS);
	unsigned n = 0;
	int r;

	for (;;) {
		ASSERT_LT(n, MAX_IOS);
		io_rw(&ios[n], DISK_OP_READ, n % NBLOCKS, 1, buf + (size_t)n * BS, NULL, 0);
		r = submit(e, &ios[n]);
		if (r)
			break;
		n++;
	}
	ASSERT_EQ(r, -EAGAIN);
	ASSERT_EQ(n, e->depth);
	wait_for(e, ios, n);
	for (unsigned i = 0; i < n; i++) {
		ASSERT_EQ(ios[i].calls, 1);
		ASSERT_OK(ios[i].err);
	}
	do_io(e, &ios[n]);
	free(buf);
}

static void resubmit(struct io *io)
{
	if (io->calls < 50)
		ASSERT_OK(submit(io->e, io));
}

/* A done callback submits again: the next done still comes from the loop. */
static void test_chain(struct env *e)
{
	uint8_t *a = buf_new(1);
	struct io io;

	io_rw(&io, DISK_OP_READ, 3, 1, a, NULL, 0);
	io.then = resubmit;
	ASSERT_OK(submit(e, &io));
	while (io.calls < 50)
		uv_run(&e->loop, UV_RUN_ONCE);
	for (int i = 0; i < 3; i++)
		uv_run(&e->loop, UV_RUN_NOWAIT);
	ASSERT_EQ(io.calls, 50);
	free(a);
}

/* The queue closes with requests prepared, submitted or done but undelivered: no done
 * after the close, and (under ASan) nothing leaks. The buffers outlive the loop run. */
static void test_close_in_flight(struct env *e)
{
	static struct io ios[32];
	uint8_t *buf = buf_new(32);
	int before = 0, after = 0;

	for (unsigned i = 0; i < 32; i++) {
		io_rw(&ios[i], i % 2 ? DISK_OP_READ : DISK_OP_WRITE, 200 + i, 1,
		      buf + (size_t)i * BS, NULL, 0);
		if (i == 16)
			uv_run(&e->loop, UV_RUN_NOWAIT); /* the first half reaches the kernel */
		ASSERT_OK(submit(e, &ios[i]));
	}
	for (unsigned i = 0; i < 32; i++)
		before += ios[i].calls;
	queue_close(e);
	for (unsigned i = 0; i < 32; i++)
		after += ios[i].calls;
	ASSERT_EQ(after, before);
	free(buf);
	queue_open(e);
}

static void close_queue_from_done(struct io *io)
{
	if (io->e->q) {
		disk_queue_close(io->e->q);
		io->e->q = NULL;
	}
}

/* The first done closes the queue: none of the others is called. */
static void test_close_from_done(struct env *e)
{
	struct io ios[8];
	uint8_t *buf = buf_new(8);
	int calls = 0;

	for (unsigned i = 0; i < 8; i++) {
		io_rw(&ios[i], DISK_OP_READ, i, 1, buf + (size_t)i * BS, NULL, 0);
		ios[i].then = close_queue_from_done;
		ASSERT_OK(submit(e, &ios[i]));
	}
	while (uv_run(&e->loop, UV_RUN_DEFAULT))
		;
	ASSERT_TRUE(e->q == NULL);
	for (unsigned i = 0; i < 8; i++)
		calls += ios[i].calls;
	ASSERT_EQ(calls, 1);
	free(buf);
	queue_open(e);
}

/* The queue and then the disk close right after the submits: no done is called, the
 * queue lingering until the kernel is through touches nothing of the disk (ASan), and the
 * loop still runs out. */
static void test_close_disk_in_flight(struct env *e)
{
	struct io ios[16];
	uint8_t *buf = buf_new(16);
	int before = 0, after = 0;

	queue_open(e);
	for (unsigned i = 0; i < 16; i++) {
		io_rw(&ios[i], i % 2 ? DISK_OP_WRITE : DISK_OP_READ, 300 + i, 1,
		      buf + (size_t)i * BS, NULL, 0);
		if (i == 8)
			uv_run(&e->loop, UV_RUN_NOWAIT);
		ASSERT_OK(submit(e, &ios[i]));
	}
	for (unsigned i = 0; i < 16; i++)
		before += ios[i].calls;
	disk_queue_close(e->q);
	e->q = NULL;
	disk_close(e->d);
	e->d = NULL;
	while (uv_run(&e->loop, UV_RUN_DEFAULT))
		;
	for (unsigned i = 0; i < 16; i++)
		after += ios[i].calls;
	ASSERT_EQ(after, before);
	free(buf);
}

/* The counters inspect shows add up to what the dones saw. */
static void check_inspect(struct env *e, bool rerouted)
{
	struct inspect_tree *t = inspect_tree_new("disk");
	Mhcl__Node *root = inspect_tree_root(t);
	Mhcl__Node *mode;

	e->d->ops->inspect(e->d, t, root);
	ASSERT_UEQ(inspect_find(root, "requests")->u64, e->dones);
	ASSERT_UEQ(inspect_find(root, "errors")->u64, e->errors);
	ASSERT_GT(inspect_find(root, "bytes")->u64, 0);
	mode = inspect_find(root, "mode");
	fprintf(stderr, "%s: %" PRIu64 " requests%s%s\n", e->name, e->dones, mode ? ", " : "",
		mode ? mode->str : "");
	/* test_rw's odd segments cannot go O_DIRECT. */
	if (rerouted && mode && !strcmp(mode->str, "direct"))
		ASSERT_GT(inspect_find(root, "rerouted_buffered")->u64, 0);
	inspect_tree_free(t);
}

static void run_common(struct env *e)
{
	ASSERT_OK(uv_loop_init(&e->loop));
	queue_open(e);
	test_rw(e);
	test_many_segments(e);
	test_flush_fua(e);
	test_discard(e);
	test_refusals(e);
	test_queue_full(e);
	test_chain(e);
	test_close_in_flight(e);
	test_close_from_done(e);
	test_rw(e); /* the queue opened after the closes works */
	queue_close(e);
	check_inspect(e, true);
	test_close_disk_in_flight(e);
	ASSERT_OK(uv_loop_close(&e->loop));
}

/* ---- memory ---- */

static void test_mem(void)
{
	struct env e = {.name = "memory", .depth = MEM_DEPTH};
	struct disk *d;

	ASSERT_EQ(disk_mem_open(0, BS, &d), -EINVAL);
	ASSERT_EQ(disk_mem_open(1000, BS, &d), -EINVAL);
	ASSERT_EQ(disk_mem_open(4096, 1024, &d), -EINVAL);
	ASSERT_OK(disk_mem_open((uint64_t)NBLOCKS * BS, BS, &e.d));
	ASSERT_STREQ(e.d->ops->kind, "memory");
	ASSERT_UEQ(e.d->info.nblocks, NBLOCKS);
	ASSERT_EQ(e.d->info.block_size, BS);
	ASSERT_TRUE(e.d->info.can_discard && !e.d->info.volatile_cache && !e.d->info.read_only);
	run_common(&e); /* closes the disk */
}

/* ---- files ---- */

/* A new file of nblocks in dir, filled with byte. */
static void make_file(char *path, const char *dir, uint32_t nblocks, int byte)
{
	uint8_t blk[BS];
	int fd;

	snprintf(path, PATH_MAX, "%s/mhcl-test-disk-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	ASSERT_GE(fd, 0);
	memset(blk, byte, sizeof(blk));
	if (byte)
		for (uint32_t i = 0; i < nblocks; i++)
			ASSERT_EQ(pwrite(fd, blk, BS, (off_t)i * BS), BS);
	ASSERT_OK(ftruncate(fd, (off_t)nblocks * BS));
	close(fd);
}

static void test_file_common(const char *dir)
{
	char path[PATH_MAX], name[PATH_MAX + 8];
	struct env e = {.name = name, .depth = FILE_DEPTH};
	const char *why = NULL;

	make_file(path, dir, NBLOCKS, 0);
	snprintf(name, sizeof(name), "file %s", dir);
	/* One ring: every queue opened again runs on the ring the last one gave back. */
	ASSERT_OK(disk_file_open(path, false, 1, &e.d, &why));
	ASSERT_STREQ(e.d->ops->kind, "file");
	ASSERT_UEQ(e.d->info.nblocks, NBLOCKS);
	ASSERT_EQ(e.d->info.block_size, BS);
	ASSERT_TRUE(e.d->info.can_discard && e.d->info.volatile_cache && !e.d->info.read_only);
	run_common(&e); /* closes the disk */
	unlink(path);
}

static void test_file_read_only(const char *dir)
{
	static const struct disk_range range = {0, 1};
	char path[PATH_MAX];
	struct env e = {.name = "read-only"};
	uint8_t *a = buf_new(4), expect[4 * BS];
	struct io io[4];

	make_file(path, dir, 16, 0x77);
	memset(expect, 0x77, sizeof(expect));
	ASSERT_OK(disk_file_open(path, true, 1, &e.d, NULL));
	ASSERT_TRUE(e.d->info.read_only && !e.d->info.can_discard);
	ASSERT_OK(uv_loop_init(&e.loop));
	queue_open(&e);
	io_rw(&io[0], DISK_OP_WRITE, 0, 4, a, NULL, 0);
	io[1] = (struct io){.r = {.op = DISK_OP_DISCARD, .ranges = &range, .nranges = 1}};
	io[2] = (struct io){.r = {.op = DISK_OP_FLUSH}};
	io_rw(&io[3], DISK_OP_READ, 4, 4, a, NULL, 0);
	for (int i = 0; i < 4; i++)
		ASSERT_OK(submit(&e, &io[i]));
	wait_for(&e, io, 4);
	ASSERT_EQ(io[0].err, -EROFS);
	ASSERT_EQ(io[1].err, -EROFS);
	ASSERT_OK(io[2].err);
	ASSERT_OK(io[3].err);
	ASSERT_OK(memcmp(a, expect, sizeof(expect)));
	queue_close(&e);
	check_inspect(&e, false);
	ASSERT_OK(uv_loop_close(&e.loop));
	disk_close(e.d);
	unlink(path);
	free(a);
}

/* The file shrinks under the disk: what lies past its end reads as zeroes. */
static void test_file_short(const char *dir)
{
	char path[PATH_MAX];
	struct env e = {.name = "short file"};
	const uint32_t keep = 2 * BS + 100; /* of the 8 blocks read */
	uint8_t *a = buf_new(8), *b = buf_new(4);
	struct io io[2];

	make_file(path, dir, 64, 0xcd);
	ASSERT_OK(disk_file_open(path, false, 1, &e.d, NULL));
	ASSERT_OK(truncate(path, 8 * BS + keep));
	ASSERT_OK(uv_loop_init(&e.loop));
	queue_open(&e);
	io_rw(&io[0], DISK_OP_READ, 8, 8, a, NULL, 0);
	io_rw(&io[1], DISK_OP_READ, 40, 4, b, NULL, 0);
	ASSERT_OK(submit(&e, &io[0]));
	ASSERT_OK(submit(&e, &io[1]));
	wait_for(&e, io, 2);
	ASSERT_OK(io[0].err);
	ASSERT_OK(io[1].err);
	for (uint32_t i = 0; i < 8 * BS; i++)
		ASSERT_EQ(a[i], i < keep ? 0xcd : 0);
	for (uint32_t i = 0; i < 4 * BS; i++)
		ASSERT_EQ(b[i], 0);
	queue_close(&e);
	ASSERT_OK(uv_loop_close(&e.loop));
	disk_close(e.d);
	unlink(path);
	free(a);
	free(b);
}

static void test_file_open_errors(const char *dir)
{
	char path[PATH_MAX];
	struct disk *d = NULL;
	const char *why = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/mhcl-test-disk-absent", dir);
	ASSERT_EQ(disk_file_open(path, false, 1, &d, &why), -ENOENT);
	ASSERT_TRUE(why != NULL);
	why = NULL;
	ASSERT_EQ(disk_file_open(dir, true, 1, &d, &why), -EINVAL); /* a directory */
	ASSERT_TRUE(why != NULL);
	ASSERT_EQ(disk_file_open("/dev/null", true, 1, &d, &why), -EINVAL); /* a char device */
	make_file(path, dir, 0, 0);
	ASSERT_EQ(disk_file_open(path, false, 1, &d, &why), -EINVAL); /* empty */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, "short", 5), 5); /* less than a block */
	close(fd);
	ASSERT_EQ(disk_file_open(path, false, 1, &d, &why), -EINVAL);
	unlink(path);
	make_file(path, dir, 16, 0); /* fine, but no queue at all or too many */
	why = NULL;
	ASSERT_EQ(disk_file_open(path, false, 0, &d, &why), -EINVAL);
	ASSERT_TRUE(why != NULL);
	ASSERT_EQ(disk_file_open(path, false, FILE_RINGS_MAX + 1, &d, &why), -EINVAL);
	ASSERT_TRUE(d == NULL);
	unlink(path);
}

/* A write then a read back of block 10 + seed, each with exactly one done. */
static void test_rw_one(struct env *e, uint8_t seed)
{
	uint8_t *w = buf_new(1), *r = buf_new(1);
	struct io io;

	fill(w, 10 + seed, 1, seed);
	io_rw(&io, DISK_OP_WRITE, 10 + seed, 1, w, NULL, 0);
	do_io(e, &io);
	io_rw(&io, DISK_OP_READ, 10 + seed, 1, r, NULL, 0);
	do_io(e, &io);
	for (int i = 0; i < 3; i++)
		uv_run(&e->loop, UV_RUN_NOWAIT);
	ASSERT_EQ(io.calls, 1);
	ASSERT_OK(memcmp(r, w, BS));
	free(w);
	free(r);
}

/* ---- the file backend's rings ---- */

/* One SQE straight on ring, bypassing the queue; returns its CQE's res. The queue sees
 * nothing of it: the CQE is reaped here before its loop runs again. */
static int ring_run(struct io_uring *ring, void (*prep)(struct io_uring_sqe *sqe, void *arg),
		    void *arg, uint8_t flags)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int res;

	ASSERT_TRUE(sqe);
	prep(sqe, arg);
	sqe->flags = flags;
	io_uring_sqe_set_data64(sqe, UINT64_MAX);
	ASSERT_EQ(io_uring_submit_and_wait(ring, 1), 1);
	ASSERT_OK(io_uring_peek_cqe(ring, &cqe));
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

struct readv_arg {
	int fd;
	struct iovec iov;
};

static void prep_readv(struct io_uring_sqe *sqe, void *arg)
{
	struct readv_arg *a = arg;

	io_uring_prep_readv(sqe, a->fd, &a->iov, 1, 0);
}

static void prep_openat(struct io_uring_sqe *sqe, void *arg)
{
	io_uring_prep_openat(sqe, AT_FDCWD, arg, O_RDONLY | O_CLOEXEC, 0);
}

static void prep_nop(struct io_uring_sqe *sqe, void *arg)
{
	(void)arg;
	io_uring_prep_nop(sqe);
}

/* A ring a queue runs on does the backend's work on the disk's files, and nothing else. */
static void test_file_ring_restricted(const char *dir)
{
	char path[PATH_MAX];
	struct env e = {.name = "restricted"};
	uint8_t *a = buf_new(1), expect[BS];
	struct readv_arg rd = {.iov = {a, BS}};
	struct io_uring *ring;
	int fd, efd;

	make_file(path, dir, 16, 0x3c);
	memset(expect, 0x3c, sizeof(expect));
	ASSERT_OK(disk_file_open(path, false, 1, &e.d, NULL));
	ASSERT_OK(uv_loop_init(&e.loop));
	queue_open(&e);
	ring = disk_file__queue_ring(e.q);

	/* What the backend does: a read of the buffered fixed file works. */
	rd.fd = FILE_RING_FD_BUFFERED;
	ASSERT_EQ(ring_run(ring, prep_readv, &rd, IOSQE_FIXED_FILE), BS);
	ASSERT_OK(memcmp(a, expect, BS));
	ASSERT_OK(ring_run(ring, prep_nop, NULL, IOSQE_FIXED_FILE));
	/* Another opcode, with or without the fixed-file flag. */
	ASSERT_EQ(ring_run(ring, prep_openat, path, 0), -EACCES);
	ASSERT_EQ(ring_run(ring, prep_openat, path, IOSQE_FIXED_FILE), -EACCES);
	/* A file of ours by its plain fd: the flag is required. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	rd.fd = fd;
	ASSERT_EQ(ring_run(ring, prep_readv, &rd, 0), -EACCES);
	ASSERT_EQ(ring_run(ring, prep_nop, NULL, 0), -EACCES);
	/* Any other flag, and a fixed file that is not there. */
	rd.fd = FILE_RING_FD_BUFFERED;
	ASSERT_EQ(ring_run(ring, prep_readv, &rd, IOSQE_FIXED_FILE | IOSQE_ASYNC), -EACCES);
	rd.fd = 2;
	ASSERT_EQ(ring_run(ring, prep_readv, &rd, IOSQE_FIXED_FILE), -EBADF);
	/* No registering anything: no other files, buffers or eventfd. */
	ASSERT_EQ(io_uring_register_files(ring, &fd, 1), -EACCES);
	ASSERT_EQ(io_uring_register_files_update(ring, 0, &fd, 1), -EACCES);
	ASSERT_EQ(io_uring_register_buffers(ring, &rd.iov, 1), -EACCES);
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_GE(efd, 0);
	ASSERT_EQ(io_uring_register_eventfd(ring, efd), -EACCES);
	ASSERT_EQ(io_uring_unregister_eventfd(ring), -EACCES);
	close(efd);
	close(fd);

	/* The queue did not notice, and gives the ring back for the next one. */
	test_rw_one(&e, 2);
	queue_close(&e);
	queue_open(&e);
	test_rw_one(&e, 3);
	queue_close(&e);
	ASSERT_OK(uv_loop_close(&e.loop));
	disk_close(e.d);
	unlink(path);
	free(a);
}

/* As many queues as rings; the next one is refused until a closed one has drained. A
 * queue taking the ring of one closed with requests prepared, in the kernel and done but
 * undelivered gets empty rings: nothing of the old requests reaches the new one. */
static void test_file_ring_pool(const char *dir)
{
	static struct io old[32];
	struct io check;
	char path[PATH_MAX];
	struct env e = {.name = "pool", .depth = FILE_DEPTH};
	struct disk_queue *q[3];
	uint8_t *buf = buf_new(32), *back = buf_new(8);
	struct io_uring *ring;
	struct inspect_tree *t;
	int calls = 0;

	make_file(path, dir, NBLOCKS, 0);
	ASSERT_OK(disk_file_open(path, false, 2, &e.d, NULL));
	t = inspect_tree_new("disk");
	e.d->ops->inspect(e.d, t, inspect_tree_root(t));
	ASSERT_UEQ(inspect_find(inspect_tree_root(t), "io_uring_rings")->u64, 2);
	inspect_tree_free(t);
	ASSERT_OK(uv_loop_init(&e.loop));
	ASSERT_OK(disk_queue_open(e.d, &e.loop, &q[0]));
	ASSERT_OK(disk_queue_open(e.d, &e.loop, &q[1]));
	ASSERT_EQ(disk_queue_open(e.d, &e.loop, &q[2]), -EBUSY);

	e.q = q[0];
	ring = disk_file__queue_ring(q[0]);
	for (unsigned i = 0; i < 32; i++) {
		io_rw(&old[i], i % 2 ? DISK_OP_READ : DISK_OP_WRITE, 20 + i, 1,
		      buf + (size_t)i * BS, NULL, 0);
		if (i == 12 || i == 24)
			uv_run(&e.loop, UV_RUN_NOWAIT); /* some reach the kernel, some finish */
		ASSERT_OK(submit(&e, &old[i]));
	}
	for (unsigned i = 0; i < 32; i++)
		calls += old[i].calls;
	disk_queue_close(q[0]);
	/* Closed, but its ring comes back only once the loop has reaped it. */
	ASSERT_EQ(disk_queue_open(e.d, &e.loop, &q[2]), -EBUSY);
	while (uv_run(&e.loop, UV_RUN_DEFAULT))
		;
	ASSERT_OK(disk_queue_open(e.d, &e.loop, &q[2]));
	ASSERT_TRUE(disk_file__queue_ring(q[2]) == ring);
	ASSERT_EQ(io_uring_sq_ready(ring), 0);
	ASSERT_EQ(io_uring_cq_ready(ring), 0);
	e.q = q[2];
	/* The writes that never reached the kernel before the close (from 24 on) never do. */
	io_rw(&check, DISK_OP_READ, 20 + 24, 8, back, NULL, 0);
	do_io(&e, &check);
	for (unsigned i = 0; i < 8 * BS; i += 2 * BS)
		if (back[i])
			TEST_FAIL_("the abandoned write of lba %u landed", 20 + 24 + i / BS);
	test_rw_one(&e, 4);
	test_queue_full(&e); /* every slot of the new queue, each completed once */
	for (unsigned i = 0; i < 32; i++)
		calls -= old[i].calls;
	ASSERT_EQ(calls, 0);

	disk_queue_close(q[1]);
	queue_close(&e);
	ASSERT_OK(uv_loop_close(&e.loop));
	disk_close(e.d);
	unlink(path);
	free(buf);
	free(back);
}

static void test_files_in(const char *dir)
{
	test_file_open_errors(dir);
	test_file_common(dir);
	test_file_read_only(dir);
	test_file_short(dir);
	test_file_ring_restricted(dir);
	test_file_ring_pool(dir);
}

#ifdef TEST_REFUSE_O_DIRECT
/* Linked with -Wl,--wrap=open64 (open with 64-bit offsets): every filesystem refuses O_DIRECT as
 * tmpfs did before Linux 6.6, so the file cases run on a buffered disk. */
int __real_open64(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	if (flags & O_DIRECT) {
		errno = EINVAL;
		return -1;
	}
	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	return __real_open64(path, flags, mode);
}
#endif

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	struct stat st;

	test_mem();
	test_files_in(tmp && *tmp ? tmp : "/tmp");
	/* tmpfs: buffered where the kernel refuses O_DIRECT there (before Linux 6.6). */
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
		test_files_in("/dev/shm");
	return 0;
}
