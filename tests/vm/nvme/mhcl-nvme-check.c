/* SPDX-License-Identifier: MIT */
/*
 * mhcl-nvme-check: lib/nvme and lib/devaccess against a real controller (QEMU's NVMe
 * behind an emulated IOMMU, bound to vfio-pci in L1; tests/vm/nvme/nvme-vfio.sh).
 *
 *   mhcl-nvme-check run PCI_ADDR
 *     opens the function through VFIO, brings the controller up, prints what Identify
 *     said, then writes and reads back patterns from "guest RAM" (a memfd mapped for DMA
 *     at IOVA = GPA + GUEST_BASE, as mhcl-storaged maps the guest's) with one page, two
 *     pages, PRP lists and an offset into the first page; flush; deallocate. Then it
 *     submits a batch of writes and, without waiting for them, execs itself with the
 *     VFIO fds, the driver's state memfd and the guest memfd left open:
 *   mhcl-nvme-check adopted CONTAINER GROUP DEVICE STATE GUEST BATCH_SEED
 *     adopts the controller (it must still be ready and not reset: no admin command but
 *     Abort after adoption), drains the batch's stale commands, checks the batch landed,
 *     does more I/O; then the crash case: a child adopts, submits writes and is killed
 *     with SIGKILL while this process holds copies of the fds; this process adopts again
 *     and checks those writes too. Last, an orderly shutdown.
 * Every check prints "PASS name" or "FAIL name: why"; the script greps them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devaccess.h"
#include "macros.h"
#include "nvme.h"

#define STATE_IOVA 0x4000000000ull /* 256 GiB, inside a 39-bit IOMMU */
#define GUEST_BASE 0x1000000000ull /* IOVA of guest physical 0 */
#define GUEST_SIZE (8u << 20)
#define PAGE 4096u
#define BATCH 16u
#define BATCH_LBA 8192u
#define CRASH_LBA 16384u
#define DRAIN_MS 20000u

static int failures;
static unsigned irq_wakeups; /* polls an I/O queue's MSI-X eventfd ended */
static uint8_t *guest;
static int guest_fd = -1;

static void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS %s\n", name);
	} else {
		failures++;
		printf("FAIL %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

static void die(const char *what, int err)
{
	printf("FAIL %s: %s\n", what, strerror(-err));
	printf("NVME-CHECK END failures=%d\n", failures + 1);
	fflush(stdout);
	exit(1);
}

/* ---- guest RAM ---- */

static void guest_create(struct devaccess *da)
{
	int r;

	guest_fd = memfd_create("guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (guest_fd < 0 || ftruncate(guest_fd, GUEST_SIZE) < 0)
		die("guest memfd", -errno);
	(void)fcntl(guest_fd, F_ADD_SEALS, F_SEAL_SHRINK);
	guest = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, guest_fd, 0);
	if (guest == MAP_FAILED)
		die("guest mmap", -errno);
	r = devaccess_dma_map(da, guest, GUEST_BASE, GUEST_SIZE);
	if (r < 0)
		die("guest dma map", r);
}

/* After a restart: the container still maps the same pages there. */
static void guest_adopt(struct devaccess *da, int fd)
{
	int r;

	guest_fd = fd;
	guest = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, guest_fd, 0);
	if (guest == MAP_FAILED)
		die("guest mmap", -errno);
	r = devaccess_dma_map(da, guest, GUEST_BASE, GUEST_SIZE);
	result(r == -EEXIST || r == 0, "guest-remap", "dma map: %s", strerror(-r));
}

/* Guest pages [first, first + n) as IOVAs, in reverse order (not physically ordered). */
static void pages_of(uint64_t *pages, uint32_t first, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		pages[i] = GUEST_BASE + (uint64_t)(first + n - 1 - i) * PAGE;
}

static uint8_t *guest_at(const uint64_t *pages, uint64_t pos)
{
	return guest + (pages[pos / PAGE] - GUEST_BASE) + pos % PAGE;
}

static uint8_t pattern(uint64_t lba, uint32_t byte, uint32_t seed)
{
	return (uint8_t)(lba * 31u + byte * 7u + seed * 101u + (byte >> 9));
}

static void fill(const uint64_t *pages, uint32_t off, uint64_t lba, uint32_t nblocks, uint32_t bs,
		 uint32_t seed)
{
	for (uint64_t i = 0; i < (uint64_t)nblocks * bs; i++)
		*guest_at(pages, off + i) = pattern(lba + i / bs, (uint32_t)(i % bs), seed);
}

static bool verify(const uint64_t *pages, uint32_t off, uint64_t lba, uint32_t nblocks, uint32_t bs,
		   uint32_t seed)
{
	for (uint64_t i = 0; i < (uint64_t)nblocks * bs; i++)
		if (*guest_at(pages, off + i) != pattern(lba + i / bs, (uint32_t)(i % bs), seed))
			return false;
	return true;
}

/* ---- I/O ---- */

struct waiter {
	unsigned done;
	int err;
};

static void done_cb(void *opaque, int err, uint16_t status)
{
	struct waiter *w = opaque;

	w->done++;
	if (err && !w->err)
		w->err = err;
}

static int wait_for(struct nvme_ctrl *c, struct nvme_qpair *qp, struct waiter *w, unsigned n)
{
	struct pollfd p = {.fd = nvme_qpair_eventfd(qp), .events = POLLIN};
	uint64_t start = 0;

	for (unsigned spins = 0; w->done < n; spins++) {
		if (poll(&p, p.fd >= 0 ? 1 : 0, 10) > 0)
			irq_wakeups++;
		nvme_qpair_process(qp, 0);
		if (spins % 100 == 0) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
			if (!start)
				start = now;
			if (nvme_ctrl_tick(c, now) < 0)
				return -EIO;
			if (now - start > 60ull * 1000000000u)
				return -ETIMEDOUT;
		}
	}
	return w->err;
}

static int io_sync(struct nvme_ctrl *c, struct nvme_qpair *qp, const struct nvme_io *io)
{
	struct waiter w = {0};
	int r = nvme_qpair_submit(qp, io, done_cb, &w);

	if (r < 0)
		return r;
	return wait_for(c, qp, &w, 1);
}

/* A synchronous read or write (FUA) of nblocks at lba, offset off into pages[0]. */
static int xfer(struct nvme_ctrl *c, struct nvme_qpair *qp, enum nvme_io_op op, uint64_t lba,
		uint32_t nblocks, uint32_t off, const uint64_t *pages, uint32_t npages)
{
	struct nvme_io io = {.op = op,
			     .nsid = nvme_ctrl_ns(c, 0)->nsid,
			     .slba = lba,
			     .nblocks = nblocks,
			     .fua = op == NVME_IO_WRITE,
			     .byte_offset = off,
			     .pages = pages,
			     .npages = npages};

	return io_sync(c, qp, &io);
}

static uint32_t pages_spanned(uint32_t off, uint32_t nblocks, uint32_t bs)
{
	return (uint32_t)((off + (uint64_t)nblocks * bs + PAGE - 1) / PAGE);
}

/* Writes nblocks at lba from guest page first (offset off), reads them back into guest
 * page rfirst (offset roff), and compares. */
static void rw_case(struct nvme_ctrl *c, const char *name, uint64_t lba, uint32_t nblocks,
		    uint32_t off, uint32_t first, uint32_t roff, uint32_t rfirst)
{
	struct nvme_qpair *qp = nvme_ctrl_qpair(c, nvme_ctrl_qpair_count(c) - 1);
	uint32_t bs = nvme_ctrl_ns(c, 0)->block_size;
	uint32_t nw = pages_spanned(off, nblocks, bs), nr = pages_spanned(roff, nblocks, bs);
	static uint64_t wp[1024], rp[1024];
	int r;

	pages_of(wp, first, nw);
	pages_of(rp, rfirst, nr);
	fill(wp, off, lba, nblocks, bs, 1);
	for (uint32_t i = 0; i < nr; i++)
		memset(guest + (rp[i] - GUEST_BASE), 0xee, PAGE);
	r = xfer(c, qp, NVME_IO_WRITE, lba, nblocks, off, wp, nw);
	if (r == 0)
		r = xfer(c, qp, NVME_IO_READ, lba, nblocks, roff, rp, nr);
	if (r < 0) {
		result(false, name, "%s", strerror(-r));
		return;
	}
	result(verify(rp, roff, lba, nblocks, bs, 1), name, "data differs after %u pages", nw);
}

static void io_cases(struct nvme_ctrl *c, const char *tag)
{
	const struct nvme_ns_info *ns = nvme_ctrl_ns(c, 0);
	uint32_t bs = ns->block_size, max_blocks = nvme_ctrl_max_transfer(c) / bs;
	struct nvme_qpair *qp = nvme_ctrl_qpair(c, 0);
	char name[64];
	int r;

	snprintf(name, sizeof(name), "%s-one-page", tag);
	rw_case(c, name, 10, 1, 512, 0, 1024, 4);
	snprintf(name, sizeof(name), "%s-two-pages", tag);
	rw_case(c, name, 20, 8192 / bs, 0, 8, 2048, 12);
	snprintf(name, sizeof(name), "%s-prp-list-offset", tag);
	rw_case(c, name, 100, 8192 / bs, 512, 16, 3072, 20);
	snprintf(name, sizeof(name), "%s-prp-list-256k", tag);
	rw_case(c, name, 1000, (256 * 1024) / bs, 1024, 100, 4, 200);
	snprintf(name, sizeof(name), "%s-max-transfer", tag);
	rw_case(c, name, 3000, max_blocks, 4, 300, 0, 500);

	if (nvme_ctrl_info(c)->vwc) {
		struct nvme_io io = {.op = NVME_IO_FLUSH, .nsid = ns->nsid};
		r = io_sync(c, qp, &io);
		snprintf(name, sizeof(name), "%s-flush", tag);
		result(r == 0, name, "%s", strerror(-r));
	}
	if (nvme_ctrl_info(c)->dsm) {
		struct nvme_io_range range = {1000, 8};
		struct nvme_io io = {
		    .op = NVME_IO_DEALLOCATE, .nsid = ns->nsid, .ranges = &range, .nranges = 1};
		r = io_sync(c, qp, &io);
		snprintf(name, sizeof(name), "%s-deallocate", tag);
		result(r == 0, name, "%s", strerror(-r));
	}
	{
		uint64_t pages[1];
		struct nvme_io io = {.op = NVME_IO_READ,
				     .nsid = ns->nsid,
				     .nblocks = max_blocks + 1,
				     .pages = pages,
				     .npages = 1};
		snprintf(name, sizeof(name), "%s-mdts-refused", tag);
		r = nvme_qpair_submit(qp, &io, done_cb, NULL);
		result(r == -E2BIG, name, "got %d", r);
	}
}

/* A batch of writes left in flight: BATCH commands of 8 KiB with an offset each. */
static void submit_batch(struct nvme_ctrl *c, uint64_t lba0, uint32_t seed, struct waiter *w)
{
	const struct nvme_ns_info *ns = nvme_ctrl_ns(c, 0);
	uint32_t bs = ns->block_size, nb = 8192 / bs;
	static uint64_t pages[BATCH][3];

	for (uint32_t i = 0; i < BATCH; i++) {
		struct nvme_qpair *qp = nvme_ctrl_qpair(c, i % nvme_ctrl_qpair_count(c));
		struct nvme_io io;
		int r;

		pages_of(pages[i], 1024 + i * 3, 3);
		fill(pages[i], 512, lba0 + i * nb, nb, bs, seed);
		io = (struct nvme_io){.op = NVME_IO_WRITE,
				      .nsid = ns->nsid,
				      .slba = lba0 + i * nb,
				      .nblocks = nb,
				      .byte_offset = 512,
				      .pages = pages[i],
				      .npages = 3};
		r = nvme_qpair_submit(qp, &io, done_cb, w);
		if (r < 0)
			die("batch submit", r);
	}
}

static void check_batch(struct nvme_ctrl *c, const char *name, uint64_t lba0, uint32_t seed)
{
	uint32_t bs = nvme_ctrl_ns(c, 0)->block_size, nb = BATCH * 8192 / bs;
	uint32_t npages = BATCH * 8192 / PAGE;
	static uint64_t pages[64];
	int r;

	pages_of(pages, 1200, npages);
	r = xfer(c, nvme_ctrl_qpair(c, 0), NVME_IO_READ, lba0, nb, 0, pages, npages);
	if (r < 0) {
		result(false, name, "read: %s", strerror(-r));
		return;
	}
	result(verify(pages, 0, lba0, nb, bs, seed), name, "the batch's data is not on the disk");
}

static void keep_fd(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
		die("clear close-on-exec", -errno);
}

static uint64_t admin_other_than_abort(struct nvme_ctrl *c)
{
	struct nvme_ctrl_stats s;

	nvme_ctrl_stats(c, &s);
	return s.admin_submitted - s.admin_aborts;
}

/* ---- the first image ---- */

static int run(const char *bdf)
{
	struct nvme_opts o = {.nr_io_queues = 2, .io_queue_depth = 64, .state_iova = STATE_IOVA};
	struct devaccess *da;
	struct nvme_ctrl *c;
	const struct nvme_ns_info *ns;
	struct waiter w = {0};
	int fds[DEVACCESS_VFIO_NFDS];
	char a[6][24];
	int r;

	r = devaccess_vfio_open(bdf, &da);
	if (r < 0)
		die("vfio open", r);
	printf("pci %04x:%04x class %06x, BAR0 %" PRIu64 " bytes %s, %u MSI-X vectors\n",
	       da->id.vendor, da->id.device, da->id.class_code, da->bars[0].size,
	       da->bars[0].map ? "mapped" : "by pread/pwrite", da->irq_count);
	r = nvme_ctrl_init(da, &o, &c);
	if (r < 0)
		die("bring-up", r);
	result(true, "bring-up", "");
	ns = nvme_ctrl_ns(c, 0);
	printf("model '%s' serial '%s' firmware '%s' vwc %d dsm %d max transfer %u, "
	       "%u I/O queue pairs\n",
	       nvme_ctrl_info(c)->model, nvme_ctrl_info(c)->serial, nvme_ctrl_info(c)->firmware,
	       nvme_ctrl_info(c)->vwc, nvme_ctrl_info(c)->dsm, nvme_ctrl_max_transfer(c),
	       nvme_ctrl_qpair_count(c));
	if (!ns)
		die("namespace", -ENXIO);
	printf("namespace %u: %" PRIu64 " blocks of %u bytes (%" PRIu64 " MiB), id %u bytes\n",
	       ns->nsid, ns->nblocks, ns->block_size, ns->nblocks * ns->block_size >> 20,
	       ns->id_len);
	result(nvme_ctrl_qpair_count(c) == 2 && nvme_qpair_eventfd(nvme_ctrl_qpair(c, 1)) >= 0,
	       "identify", "queues %u", nvme_ctrl_qpair_count(c));

	guest_create(da);
	io_cases(c, "io");
	result(irq_wakeups > 0, "msix-interrupts", "no completion signalled its eventfd");

	/* Keepalive: leave a batch in flight and become a new image. */
	submit_batch(c, BATCH_LBA, 7, &w);
	printf("exec with %u writes in flight\n", nvme_qpair_inflight(nvme_ctrl_qpair(c, 0)) +
						      nvme_qpair_inflight(nvme_ctrl_qpair(c, 1)));
	fflush(stdout);
	devaccess_kept_fds(da, fds, DEVACCESS_VFIO_NFDS);
	for (unsigned i = 0; i < DEVACCESS_VFIO_NFDS; i++)
		keep_fd(fds[i]);
	keep_fd(nvme_ctrl_state_fd(c));
	keep_fd(guest_fd);
	snprintf(a[0], sizeof(a[0]), "%d", fds[0]);
	snprintf(a[1], sizeof(a[1]), "%d", fds[1]);
	snprintf(a[2], sizeof(a[2]), "%d", fds[2]);
	snprintf(a[3], sizeof(a[3]), "%d", nvme_ctrl_state_fd(c));
	snprintf(a[4], sizeof(a[4]), "%d", guest_fd);
	snprintf(a[5], sizeof(a[5]), "%d", 7);
	execl("/proc/self/exe", "mhcl-nvme-check", "adopted", a[0], a[1], a[2], a[3], a[4], a[5],
	      (char *)NULL);
	die("exec", -errno);
	return 1;
}

/* ---- adoption ---- */

static int parse_fd(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v < 0 || v > 65535)
		die("fd argument", -EINVAL);
	return (int)v;
}

static struct nvme_ctrl *adopt(struct devaccess *da, int state_fd, const char *tag)
{
	struct nvme_adopt_opts ao = {.drain_timeout_ms = DRAIN_MS};
	struct nvme_ctrl_stats s;
	struct nvme_ctrl *c;
	uint32_t csts = devaccess_read32(da, 0, 0x1c);
	char name[64];
	unsigned stale = 0;
	int r;

	snprintf(name, sizeof(name), "%s-still-ready", tag);
	result(csts != UINT32_MAX && (csts & 1u), name, "CSTS %#x", csts);
	r = nvme_ctrl_adopt(da, state_fd, &ao, &c);
	if (r < 0)
		die("adopt", r);
	snprintf(name, sizeof(name), "%s-adopt", tag);
	result(true, name, "");
	for (unsigned i = 0; i < nvme_ctrl_qpair_count(c); i++)
		stale += nvme_qpair_stale(nvme_ctrl_qpair(c, i));
	nvme_ctrl_stats(c, &s);
	printf("%s: %" PRIu64 " commands in flight at adoption, %" PRIu64
	       " completed since, %u left\n",
	       tag, s.stale_at_adopt, s.stale_completed, stale);
	snprintf(name, sizeof(name), "%s-drained", tag);
	result(stale == 0 && s.stale_completed == s.stale_at_adopt && s.stale_at_adopt > 0, name,
	       "%u stale left, %" PRIu64 " of %" PRIu64 " completed", stale, s.stale_completed,
	       s.stale_at_adopt);
	return c;
}

/* A child adopts, leaves writes in flight and is killed. */
static void crash_child(int kept[3], int state_fd, int ready_fd)
{
	struct devaccess *da;
	struct nvme_ctrl *c;
	struct waiter w = {0};
	int r;

	r = devaccess_vfio_adopt(kept[0], kept[1], kept[2], &da);
	if (r < 0)
		_exit(10);
	r = nvme_ctrl_adopt(da, state_fd, NULL, &c);
	if (r < 0)
		_exit(11);
	submit_batch(c, CRASH_LBA, 9, &w);
	(void)!write(ready_fd, "x", 1);
	for (;;)
		pause();
}

static int adopted(char **argv)
{
	int container = parse_fd(argv[0]), group = parse_fd(argv[1]), device = parse_fd(argv[2]);
	int state_fd = parse_fd(argv[3]), gfd = parse_fd(argv[4]);
	uint32_t seed = (uint32_t)atoi(argv[5]);
	int kept[3], kept_state, pipefd[2];
	struct devaccess *da;
	struct nvme_ctrl *c;
	pid_t pid;
	char byte;
	int r, status;

	printf("new image: adopting container %d group %d device %d state %d\n", container, group,
	       device, state_fd);
	r = devaccess_vfio_adopt(container, group, device, &da);
	if (r < 0)
		die("vfio adopt", r);
	guest_adopt(da, gfd);
	c = adopt(da, state_fd, "exec");
	check_batch(c, "exec-batch-landed", BATCH_LBA, seed);
	irq_wakeups = 0;
	io_cases(c, "exec-io");
	result(irq_wakeups > 0, "exec-msix-interrupts", "the new eventfds were never signalled");
	result(admin_other_than_abort(c) == 0, "exec-no-admin-commands",
	       "%" PRIu64 " admin commands besides Abort", admin_other_than_abort(c));

	/* The crash case: copies of every fd stay here while the child runs and dies. */
	for (unsigned i = 0; i < 3; i++)
		kept[i] = fcntl((int[]){container, group, device}[i], F_DUPFD_CLOEXEC, 3);
	kept_state = fcntl(nvme_ctrl_state_fd(c), F_DUPFD_CLOEXEC, 3);
	if (kept[0] < 0 || kept[1] < 0 || kept[2] < 0 || kept_state < 0 || pipe(pipefd) < 0)
		die("dup", -errno);
	nvme_ctrl_close(c);
	devaccess_close(da); /* the copies keep the function alive */
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork", -errno);
	if (pid == 0) {
		close(pipefd[0]);
		crash_child(kept, kept_state, pipefd[1]);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &byte, 1) != 1)
		die("child did not submit", -EIO);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	result(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "crash-child-killed",
	       "status %#x", status);
	/* The child set its own eventfds and replaced ours; ours are taken back on adopt. */
	r = devaccess_vfio_adopt(kept[0], kept[1], kept[2], &da);
	if (r < 0)
		die("vfio adopt after crash", r);
	c = adopt(da, kept_state, "crash");
	check_batch(c, "crash-batch-landed", CRASH_LBA, 9);
	irq_wakeups = 0;
	io_cases(c, "crash-io");
	result(irq_wakeups > 0, "crash-msix-interrupts", "the new eventfds were never signalled");
	result(admin_other_than_abort(c) == 0, "crash-no-admin-commands",
	       "%" PRIu64 " admin commands besides Abort", admin_other_than_abort(c));

	kept_state = fcntl(nvme_ctrl_state_fd(c), F_DUPFD_CLOEXEC, 3);
	r = nvme_ctrl_shutdown(c);
	result(r == 0, "shutdown", "%s", strerror(-r));
	/* A controller shut down in order is never adopted. */
	r = nvme_ctrl_adopt(da, kept_state, NULL, &c);
	result(r < 0, "no-adopt-after-shutdown", "adopt succeeded");
	close(kept_state);
	devaccess_close(da);
	printf("NVME-CHECK END failures=%d\n", failures);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "run"))
		return run(argv[2]);
	if (argc == 8 && !strcmp(argv[1], "adopted"))
		return adopted(argv + 2);
	fprintf(stderr, "usage: mhcl-nvme-check run PCI_ADDR\n"
			"       mhcl-nvme-check adopted C G D STATE GUEST SEED\n");
	return 100;
}
