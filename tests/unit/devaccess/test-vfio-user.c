/* SPDX-License-Identifier: MIT */
/*
 * lib/devaccess/vfio_user.c against tests/helpers/vfio_user_server.c, served on a thread:
 * identity, registers, an mmap'ed BAR, DMA by memfd, MSI-X eventfds, keepalive through the
 * kept socket; then hostile servers (wrong msg_id, oversized reply, error reply, death
 * mid-request, no answer) and a hostile client of the server library.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devaccess.h"
#include "macros.h"
#include "test.h"
#include "vfio_user_internal.h"
#include "vfio_user_server.h"

/*
 * The test device: config space with a fixed identity, BAR0 a 4 KiB register file, BAR2
 * 4 KiB of shared memory the client mmaps. Writing DOORBELL copies LEN bytes from IOVA
 * SRC to IOVA DST inside DMA-mapped memory, sets STATUS and signals MSI-X vector 1.
 * Reading the HOSTILE_* registers makes the device misbehave.
 */
#define TD_VENDOR 0x1414u
#define TD_DEVICE 0x7e57u
#define TD_CLASS 0x020000u
#define TD_MSIX 4u
#define TD_BAR_SIZE 4096u

#define REG_SCRATCH 0x00u
#define REG_SRC 0x40u /* u64 */
#define REG_DST 0x48u /* u64 */
#define REG_LEN 0x50u
#define REG_DOORBELL 0x54u
#define REG_STATUS 0x58u
#define REG_SIGNAL 0x5cu /* write n: signal vector n now */
#define STATUS_DONE 1u
#define STATUS_DMA_FAULT 0xeu
#define HOSTILE_WRONG_ID 0x100u
#define HOSTILE_OVERSIZE 0x104u
#define HOSTILE_ERROR 0x108u
#define HOSTILE_DIE 0x10cu
#define HOSTILE_HANG 0x110u

struct test_device {
	struct vfio_user_server *srv;
	uint8_t cfg[256];
	uint8_t regs[TD_BAR_SIZE];
	int bar2_fd;
	uint8_t *bar2; /* the device's view of BAR2 */
};

static uint32_t reg(struct test_device *td, uint32_t off)
{
	uint32_t v;

	memcpy(&v, td->regs + off, sizeof(v));
	return v;
}

static void set_reg(struct test_device *td, uint32_t off, uint32_t v)
{
	memcpy(td->regs + off, &v, sizeof(v));
}

static uint64_t reg64(struct test_device *td, uint32_t off)
{
	return reg(td, off) | (uint64_t)reg(td, off + 4) << 32;
}

static void doorbell(struct test_device *td)
{
	uint32_t len = reg(td, REG_LEN);
	void *src = vfio_user_server_dma_ptr(td->srv, reg64(td, REG_SRC), len);
	void *dst = vfio_user_server_dma_ptr(td->srv, reg64(td, REG_DST), len);

	if (!src || !dst) {
		set_reg(td, REG_STATUS, STATUS_DMA_FAULT);
		return;
	}
	memmove(dst, src, len);
	set_reg(td, REG_STATUS, STATUS_DONE);
	(void)vfio_user_server_signal(td->srv, 1);
}

static int hostile_read(struct test_device *td, uint64_t off)
{
	struct vfio_user_hdr h = {.msg_id = vfio_user_server_msg_id(td->srv),
				  .command = VFIO_USER_REGION_READ,
				  .size = 16 + 16 + 4,
				  .flags = VFIO_USER_F_TYPE_REPLY};
	struct vfio_user_region_rw rw = {.offset = off, .region = 0, .count = 4};
	uint32_t data = 0x12345678;
	uint8_t reply[16 + 16 + 4];

	switch (off) {
	case HOSTILE_WRONG_ID: /* a well-formed reply to a request that was not made */
		h.msg_id++;
		break;
	case HOSTILE_OVERSIZE: /* announces more than a 4-byte read can bring */
		h.size = 16u + (1u << 20);
		break;
	case HOSTILE_ERROR:
		return -EACCES;
	case HOSTILE_DIE:
		return VFIO_USER_SERVER_HANG_UP;
	case HOSTILE_HANG:
		return VFIO_USER_SERVER_NO_REPLY;
	default:
		return 0;
	}
	memcpy(reply, &h, 16);
	memcpy(reply + 16, &rw, 16);
	memcpy(reply + 32, &data, 4);
	(void)vfio_user_server_send_raw(td->srv, reply, sizeof(reply));
	return VFIO_USER_SERVER_REPLIED;
}

static int td_read(void *opaque, unsigned region, uint64_t off, void *buf, uint32_t len)
{
	struct test_device *td = opaque;
	int r;

	switch (region) {
	case VFIO_USER_PCI_CONFIG_REGION:
		memcpy(buf, td->cfg + off, len);
		return 0;
	case 0:
		r = hostile_read(td, off);
		if (r)
			return r;
		memcpy(buf, td->regs + off, len);
		return 0;
	case 2:
		memcpy(buf, td->bar2 + off, len);
		return 0;
	}
	return -EINVAL;
}

static int td_write(void *opaque, unsigned region, uint64_t off, const void *buf, uint32_t len)
{
	struct test_device *td = opaque;

	switch (region) {
	case VFIO_USER_PCI_CONFIG_REGION:
		if (off != 4 || len != 2) /* only the command register is writable */
			return 0;
		memcpy(td->cfg + off, buf, len);
		return 0;
	case 0:
		memcpy(td->regs + off, buf, len);
		if (off == REG_DOORBELL)
			doorbell(td);
		if (off == REG_SIGNAL && len == 4)
			return vfio_user_server_signal(td->srv, reg(td, REG_SIGNAL));
		return 0;
	case 2:
		memcpy(td->bar2 + off, buf, len);
		return 0;
	}
	return -EINVAL;
}

static void td_init(struct test_device *td, unsigned max_msg_fds)
{
	struct vfio_user_server_model m = {
	    .msix_count = TD_MSIX,
	    .max_msg_fds = max_msg_fds,
	    .read = td_read,
	    .write = td_write,
	    .opaque = td,
	};
	uint16_t v16;
	uint32_t class_rev = TD_CLASS << 8 | 1u;

	memset(td, 0, sizeof(*td));
	v16 = TD_VENDOR;
	memcpy(td->cfg + 0x00, &v16, 2);
	v16 = TD_DEVICE;
	memcpy(td->cfg + 0x02, &v16, 2);
	memcpy(td->cfg + 0x08, &class_rev, 4);
	memcpy(td->cfg + 0x2e, &v16, 2);
	td->bar2_fd = memfd_create("td-bar2", MFD_CLOEXEC);
	ASSERT_GE(td->bar2_fd, 0);
	ASSERT_OK(ftruncate(td->bar2_fd, TD_BAR_SIZE));
	td->bar2 = mmap(NULL, TD_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, td->bar2_fd, 0);
	ASSERT_TRUE(td->bar2 != MAP_FAILED);
	m.regions[VFIO_USER_PCI_CONFIG_REGION] = (struct vfio_user_server_region){256, -1, false};
	m.regions[0] = (struct vfio_user_server_region){TD_BAR_SIZE, -1, false};
	m.regions[2] = (struct vfio_user_server_region){TD_BAR_SIZE, td->bar2_fd, true};
	td->srv = vfio_user_server_new(&m);
	ASSERT_TRUE(td->srv);
}

static void td_fini(struct test_device *td)
{
	td->srv = vfio_user_server_free(td->srv);
	munmap(td->bar2, TD_BAR_SIZE);
	close(td->bar2_fd);
}

/* The device served on a thread, on a socket in a fresh directory. */
struct harness {
	struct test_device td;
	char dir[64];
	char path[96];
	int listen_fd;
	pthread_t thread;
	int served; /* vfio_user_server_serve_one's result */
};

static void *serve_thread(void *arg)
{
	struct harness *h = arg;

	h->served = vfio_user_server_serve_one(h->td.srv, h->listen_fd);
	return NULL;
}

static void harness_start(struct harness *h, unsigned max_msg_fds)
{
	td_init(&h->td, max_msg_fds);
	strcpy(h->dir, "/tmp/mhcl-vfu-XXXXXX");
	ASSERT_TRUE(mkdtemp(h->dir));
	snprintf(h->path, sizeof(h->path), "%s/dev.sock", h->dir);
	h->listen_fd = vfio_user_server_listen(h->path);
	ASSERT_GE(h->listen_fd, 0);
	ASSERT_OK(pthread_create(&h->thread, NULL, serve_thread, h));
}

static int harness_join(struct harness *h)
{
	ASSERT_OK(pthread_join(h->thread, NULL));
	close(h->listen_fd);
	unlink(h->path);
	rmdir(h->dir);
	td_fini(&h->td);
	return h->served;
}

static struct devaccess *harness_open(struct harness *h)
{
	struct devaccess *d = NULL;

	ASSERT_OK(devaccess_vfio_user_open(h->path, &d));
	return d;
}

static uint64_t eventfd_take(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void test_identity_and_registers(void)
{
	struct harness h;
	struct devaccess *d;
	uint16_t cmd;

	harness_start(&h, 0);
	d = harness_open(&h);
	ASSERT_STREQ(d->ops->kind, "vfio-user");
	ASSERT_EQ(d->id.vendor, TD_VENDOR);
	ASSERT_EQ(d->id.device, TD_DEVICE);
	ASSERT_EQ(d->id.class_code, TD_CLASS);
	ASSERT_EQ(d->id.revision, 1);
	ASSERT_EQ(d->id.subsys_device, TD_DEVICE);
	ASSERT_EQ(d->irq_count, TD_MSIX);
	ASSERT_EQ(d->bars[0].size, TD_BAR_SIZE);
	ASSERT_TRUE(d->bars[0].map == NULL);
	ASSERT_EQ(d->bars[1].size, 0);

	devaccess_write32(d, 0, REG_SCRATCH + 8, 0xdeadbeef);
	ASSERT_UEQ(devaccess_read32(d, 0, REG_SCRATCH + 8), 0xdeadbeef);
	devaccess_write64(d, 0, REG_SCRATCH + 16, 0x0123456789abcdefull);
	ASSERT_UEQ(devaccess_read64(d, 0, REG_SCRATCH + 16), 0x0123456789abcdefull);
	ASSERT_UEQ(reg(&h.td, REG_SCRATCH + 16), 0x89abcdefu);
	/* Outside the BAR: refused before anything is sent. */
	ASSERT_UEQ(devaccess_read32(d, 0, TD_BAR_SIZE - 2), UINT32_MAX);
	ASSERT_UEQ(devaccess_read32(d, 1, 0), UINT32_MAX);

	/* BAR2 came with an fd: mapped, so accesses go to the shared pages directly. */
	ASSERT_TRUE(d->bars[2].map != NULL);
	devaccess_write32(d, 2, 0x40, 0xa5a5a5a5);
	ASSERT_UEQ(*(volatile uint32_t *)(h.td.bar2 + 0x40), 0xa5a5a5a5);
	h.td.bar2[0x80] = 0x5a;
	ASSERT_UEQ(devaccess_read32(d, 2, 0x80) & 0xff, 0x5a);

	ASSERT_OK(devaccess_bus_master(d, true));
	memcpy(&cmd, h.td.cfg + 4, 2);
	ASSERT_EQ(cmd & 0x6, 0x6);

	devaccess_close(d);
	ASSERT_OK(harness_join(&h));
}

static void test_dma_copy_and_msix(void)
{
	const size_t mem_size = 64 * 1024;
	const uint64_t iova = 0x100000;
	struct harness h;
	struct devaccess *d;
	int memfd, efd[2];
	uint8_t *mem;

	harness_start(&h, 0);
	d = harness_open(&h);
	memfd = memfd_create("dma", MFD_CLOEXEC);
	ASSERT_GE(memfd, 0);
	ASSERT_OK(ftruncate(memfd, (off_t)mem_size));
	mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_TRUE(mem != MAP_FAILED);

	/* vfio-user shares memory by fd only. */
	ASSERT_EQ(devaccess_dma_map(d, mem, iova, mem_size), -ENOTSUP);
	ASSERT_OK(devaccess_dma_map_fd(d, memfd, 0, mem, iova, mem_size));
	ASSERT_EQ(vfio_user_server_dma_count(h.td.srv), 1);
	ASSERT_EQ(devaccess_dma_map_fd(d, memfd, 0, mem, iova + 4096, 4096), -EEXIST);
	ASSERT_EQ(devaccess_dma_map_fd(d, -1, 0, mem, iova, 4096), -EBADF);

	for (unsigned i = 0; i < 2; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_GE(efd[i], 0);
	}
	ASSERT_OK(devaccess_irq_set(d, efd, 2));
	ASSERT_EQ(devaccess_irq_set(d, efd, TD_MSIX + 1), -EINVAL);

	for (unsigned i = 0; i < 1000; i++)
		mem[i] = (uint8_t)(i * 7 + 3);
	devaccess_write64(d, 0, REG_SRC, iova);
	devaccess_write64(d, 0, REG_DST, iova + 8192);
	devaccess_write32(d, 0, REG_LEN, 1000);
	devaccess_write32(d, 0, REG_DOORBELL, 1);
	/* The write's reply comes after the device acted on it. */
	ASSERT_UEQ(devaccess_read32(d, 0, REG_STATUS), STATUS_DONE);
	ASSERT_OK(memcmp(mem, mem + 8192, 1000));
	ASSERT_UEQ(eventfd_take(efd[1]), 1);
	ASSERT_UEQ(eventfd_take(efd[0]), 0);

	/* A copy that leaves the mapped memory faults instead of touching anything. */
	devaccess_write64(d, 0, REG_DST, iova + mem_size - 100);
	devaccess_write32(d, 0, REG_DOORBELL, 1);
	ASSERT_UEQ(devaccess_read32(d, 0, REG_STATUS), STATUS_DMA_FAULT);
	ASSERT_UEQ(eventfd_take(efd[1]), 0);

	ASSERT_EQ(devaccess_dma_unmap(d, iova, 4096), -EINVAL); /* not a whole mapping */
	ASSERT_OK(devaccess_dma_unmap(d, iova, mem_size));
	ASSERT_EQ(vfio_user_server_dma_count(h.td.srv), 0);
	devaccess_write64(d, 0, REG_DST, iova + 8192);
	devaccess_write32(d, 0, REG_DOORBELL, 1);
	ASSERT_UEQ(devaccess_read32(d, 0, REG_STATUS), STATUS_DMA_FAULT);

	ASSERT_OK(devaccess_irq_set(d, NULL, 0));
	devaccess_write32(d, 0, REG_SIGNAL, 1);
	ASSERT_UEQ(eventfd_take(efd[1]), 0);

	devaccess_close(d);
	ASSERT_OK(harness_join(&h));
	munmap(mem, mem_size);
	close(memfd);
	close(efd[0]);
	close(efd[1]);
}

/* With max_msg_fds 1 the vectors go one message each; -1 vectors and the tail beyond n
 * end up without an eventfd. */
static void test_irq_runs(void)
{
	struct harness h;
	struct devaccess *d;
	int efd[3], fds[3];

	harness_start(&h, 1);
	d = harness_open(&h);
	for (unsigned i = 0; i < 3; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_GE(efd[i], 0);
	}
	ASSERT_OK(devaccess_irq_set(d, (int[]){efd[0], efd[1], efd[2], efd[0]}, 4));
	fds[0] = efd[0], fds[1] = -1, fds[2] = efd[2];
	ASSERT_OK(devaccess_irq_set(d, fds, 3));
	for (uint32_t n = 0; n < TD_MSIX; n++) {
		int r = d->ops->bar_write(d, 0, REG_SIGNAL, &n, sizeof(n));

		ASSERT_EQ(r, n == 0 || n == 2 ? 0 : -ENOENT);
	}
	ASSERT_UEQ(eventfd_take(efd[0]), 1);
	ASSERT_UEQ(eventfd_take(efd[1]), 0);
	ASSERT_UEQ(eventfd_take(efd[2]), 1);
	devaccess_close(d);
	ASSERT_OK(harness_join(&h));
	for (unsigned i = 0; i < 3; i++)
		close(efd[i]);
}

/* The driver restarts: the next instance attaches through the kept socket and finds the
 * device, its DMA map and its eventfds where the previous one left them. */
static void test_keepalive_reattach(void)
{
	struct harness h;
	struct devaccess *d;
	int kept, memfd, efd;
	uint32_t vec = 0;

	harness_start(&h, 0);
	d = harness_open(&h);
	memfd = memfd_create("dma", MFD_CLOEXEC);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_OK(ftruncate(memfd, 4096));
	ASSERT_OK(devaccess_dma_map_fd(d, memfd, 0, NULL, 0x2000, 4096));
	ASSERT_OK(devaccess_irq_set(d, &efd, 1));
	devaccess_write32(d, 0, REG_SCRATCH, 77);
	ASSERT_EQ(devaccess_kept_fds(d, &kept, 1), 1);
	kept = fcntl(kept, F_DUPFD_CLOEXEC, 3); /* the fd store's copy */
	ASSERT_GE(kept, 0);
	devaccess_close(d);

	ASSERT_OK(devaccess_vfio_user_attach(kept, &d));
	ASSERT_UEQ(devaccess_read32(d, 0, REG_SCRATCH), 77);
	ASSERT_EQ(vfio_user_server_dma_count(h.td.srv), 1);
	ASSERT_OK(d->ops->bar_write(d, 0, REG_SIGNAL, &vec, sizeof(vec)));
	ASSERT_UEQ(eventfd_take(efd), 1);
	devaccess_close(d);
	ASSERT_OK(harness_join(&h));
	close(memfd);
	close(efd);
}

/* After a framing violation the connection is broken: reads give all ones and every call
 * -EPIPE, and nothing from that stream is used again. */
static void assert_broken(struct devaccess *d)
{
	uint32_t v;
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_UEQ(devaccess_read32(d, 0, REG_SCRATCH), UINT32_MAX);
	ASSERT_EQ(d->ops->bar_read(d, 0, REG_SCRATCH, &v, sizeof(v)), -EPIPE);
	ASSERT_EQ(devaccess_irq_set(d, &efd, 1), -EPIPE);
	ASSERT_EQ(devaccess_dma_map_fd(d, efd, 0, NULL, 0, 4096), -EPIPE);
	close(efd);
}

static void test_hostile_reply(uint32_t off, int want, int want_served)
{
	struct harness h;
	struct devaccess *d;
	uint32_t v = 0;

	harness_start(&h, 0);
	d = harness_open(&h);
	ASSERT_OK(devaccess_vfio_user_set_timeout(d, 200));
	ASSERT_EQ(d->ops->bar_read(d, 0, off, &v, sizeof(v)), want);
	ASSERT_UEQ(v, 0); /* nothing of a rejected reply reaches the caller */
	assert_broken(d);
	devaccess_close(d);
	ASSERT_EQ(harness_join(&h), want_served);
}

static void test_wrong_msg_id(void)
{
	test_hostile_reply(HOSTILE_WRONG_ID, -EPROTO, 0);
}

static void test_oversized_reply(void)
{
	test_hostile_reply(HOSTILE_OVERSIZE, -EPROTO, 0);
}

static void test_server_dies(void)
{
	test_hostile_reply(HOSTILE_DIE, -EPIPE, -ECONNABORTED);
}

static void test_server_hangs(void)
{
	test_hostile_reply(HOSTILE_HANG, -ETIMEDOUT, 0);
}

/* An error reply fails that call only. */
static void test_error_reply(void)
{
	struct harness h;
	struct devaccess *d;
	uint32_t v;

	harness_start(&h, 0);
	d = harness_open(&h);
	ASSERT_EQ(d->ops->bar_read(d, 0, HOSTILE_ERROR, &v, sizeof(v)), -EACCES);
	ASSERT_UEQ(devaccess_read32(d, 0, HOSTILE_ERROR), UINT32_MAX);
	devaccess_write32(d, 0, REG_SCRATCH, 5);
	ASSERT_UEQ(devaccess_read32(d, 0, REG_SCRATCH), 5);
	devaccess_close(d);
	ASSERT_OK(harness_join(&h));
}

/* A client of the server library that sends what it likes. */
struct raw_client {
	int sock;
	uint16_t id;
};

/* Sends header + payload (+ one fd when fd >= 0); returns the reply's errno (0: success)
 * and copies up to max payload bytes to reply. */
static int raw_call(struct raw_client *c, uint16_t cmd, const void *payload, size_t len, int fd,
		    void *reply, size_t max)
{
	struct vfio_user_hdr h = {.msg_id = ++c->id, .command = cmd, .size = (uint32_t)(16 + len)};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, len}};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl = {0};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
	uint8_t buf[8192];
	size_t got = 0;

	if (fd >= 0)
		vfio_user__attach_fds(&m, ctl.buf, sizeof(ctl.buf), &fd, 1);
	ASSERT_EQ(sendmsg(c->sock, &m, MSG_NOSIGNAL), (ssize_t)(16 + len));
	while (got < sizeof(h)) {
		ssize_t n = recv(c->sock, buf + got, sizeof(h) - got, 0);
		ASSERT_GT(n, 0);
		got += (size_t)n;
	}
	memcpy(&h, buf, sizeof(h));
	ASSERT_EQ(h.msg_id, c->id);
	ASSERT_EQ(h.command, cmd);
	ASSERT_LE(h.size, sizeof(buf));
	while (got < h.size) {
		ssize_t n = recv(c->sock, buf + got, h.size - got, 0);
		ASSERT_GT(n, 0);
		got += (size_t)n;
	}
	if (reply)
		memcpy(reply, buf + 16, MIN(max, (size_t)h.size - 16));
	return h.flags & VFIO_USER_F_ERROR ? (int)h.error : 0;
}

struct raw_server {
	struct test_device td;
	int sock;
	int served;
};

static void *raw_serve_thread(void *arg)
{
	struct raw_server *s = arg;

	s->served = vfio_user_server_serve(s->td.srv, s->sock);
	return NULL;
}

static int dma_map_msg(struct raw_client *c, int fd, uint64_t off, uint64_t addr, uint64_t size)
{
	struct vfio_user_dma_map m = {sizeof(m), VFIO_USER_DMA_READABLE, off, addr, size};

	return raw_call(c, VFIO_USER_DMA_MAP, &m, sizeof(m), fd, NULL, 0);
}

static int read_msg(struct raw_client *c, uint32_t region, uint64_t off, uint32_t count)
{
	struct vfio_user_region_rw rw = {off, region, count};

	return raw_call(c, VFIO_USER_REGION_READ, &rw, sizeof(rw), -1, NULL, 0);
}

static void test_server_refuses(void)
{
	struct raw_server s;
	struct raw_client c = {0};
	struct vfio_user_server *srv;
	int sp[2], pipefd[2], memfd;
	pthread_t th;
	struct vfio_user_hdr bad = {.msg_id = 1, .command = VFIO_USER_DEVICE_GET_INFO, .size = 8};
	uint8_t byte;

	td_init(&s.td, 2);
	srv = s.td.srv;
	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	s.sock = sp[0];
	c.sock = sp[1];
	ASSERT_OK(pthread_create(&th, NULL, raw_serve_thread, &s));
	ASSERT_OK(pipe2(pipefd, O_CLOEXEC));
	memfd = memfd_create("dma", MFD_CLOEXEC);
	ASSERT_OK(ftruncate(memfd, 8192));

	/* DMA_MAP: an fd that is not memory, none, past the end of the file, unaligned. */
	ASSERT_EQ(dma_map_msg(&c, pipefd[0], 0, 0x10000, 4096), EINVAL);
	ASSERT_EQ(dma_map_msg(&c, -1, 0, 0x10000, 4096), EINVAL);
	ASSERT_EQ(dma_map_msg(&c, memfd, 4096, 0x10000, 8192), EINVAL);
	ASSERT_EQ(dma_map_msg(&c, memfd, 0, 0x10010, 4096), EINVAL);
	ASSERT_EQ(dma_map_msg(&c, memfd, 0, UINT64_MAX - 4095, 8192), EINVAL);
	ASSERT_EQ(vfio_user_server_dma_count(srv), 0);
	ASSERT_OK(dma_map_msg(&c, memfd, 0, 0x10000, 8192));
	ASSERT_EQ(dma_map_msg(&c, memfd, 0, 0x11000, 4096), EEXIST);
	ASSERT_EQ(vfio_user_server_dma_count(srv), 1);
	/* dma_ptr only inside one map. */
	ASSERT_TRUE(vfio_user_server_dma_ptr(srv, 0x10000, 8192) != NULL);
	ASSERT_TRUE(vfio_user_server_dma_ptr(srv, 0x10000 + 8191, 2) == NULL);
	ASSERT_TRUE(vfio_user_server_dma_ptr(srv, 0xf000, 4097) == NULL);
	ASSERT_TRUE(vfio_user_server_dma_ptr(srv, UINT64_MAX, 2) == NULL);
	ASSERT_TRUE(vfio_user_server_dma_ptr(srv, 0x10000, 0) == NULL);
	{
		struct vfio_user_dma_unmap u = {sizeof(u), 0, 0x10000, 4096};
		ASSERT_EQ(raw_call(&c, VFIO_USER_DMA_UNMAP, &u, sizeof(u), -1, NULL, 0), EINVAL);
	}

	/* REGION_READ/WRITE: outside the region, an absent region, nothing, too much. */
	ASSERT_EQ(read_msg(&c, 0, TD_BAR_SIZE - 2, 4), EINVAL);
	ASSERT_EQ(read_msg(&c, 0, UINT64_MAX - 1, 4), EINVAL);
	ASSERT_EQ(read_msg(&c, 1, 0, 4), EINVAL);
	ASSERT_EQ(read_msg(&c, 99, 0, 4), EINVAL);
	ASSERT_EQ(read_msg(&c, 0, 0, 0), EINVAL);
	ASSERT_EQ(read_msg(&c, VFIO_USER_PCI_CONFIG_REGION, 0, 257), EINVAL);
	ASSERT_OK(read_msg(&c, 0, 0, 4));
	{
		struct {
			struct vfio_user_region_rw rw;
			uint32_t data;
		} w = {{0, 0, 16}, 1}; /* 8 bytes of data (padded) */
		ASSERT_EQ(raw_call(&c, VFIO_USER_REGION_WRITE, &w, sizeof(w), -1, NULL, 0), EINVAL);
	}

	/* SET_IRQS: fd count not the vector count, past the vectors, a wrong index. */
	{
		struct vfio_user_irq_set is = {
		    sizeof(is), VFIO_USER_IRQ_SET_DATA_EVENTFD | VFIO_USER_IRQ_SET_ACTION_TRIGGER,
		    VFIO_USER_PCI_MSIX_IRQ, 0, 2};
		ASSERT_EQ(
		    raw_call(&c, VFIO_USER_DEVICE_SET_IRQS, &is, sizeof(is), pipefd[1], NULL, 0),
		    EINVAL);
		is.start = TD_MSIX;
		is.count = 1;
		ASSERT_EQ(
		    raw_call(&c, VFIO_USER_DEVICE_SET_IRQS, &is, sizeof(is), pipefd[1], NULL, 0),
		    EINVAL);
		is.start = 0;
		is.index = VFIO_USER_PCI_INTX_IRQ;
		ASSERT_EQ(
		    raw_call(&c, VFIO_USER_DEVICE_SET_IRQS, &is, sizeof(is), pipefd[1], NULL, 0),
		    EINVAL);
	}
	/* VERSION with a major it does not speak, or broken JSON; an unknown command. */
	{
		struct {
			struct vfio_user_version v;
			char json[8];
		} ver = {{1, 0}, "{}"};
		ASSERT_EQ(raw_call(&c, VFIO_USER_VERSION, &ver, sizeof(ver), -1, NULL, 0), ENOTSUP);
		ver.v.major = 0;
		strcpy(ver.json, "{\"a\":");
		ASSERT_EQ(raw_call(&c, VFIO_USER_VERSION, &ver, sizeof(ver), -1, NULL, 0), EINVAL);
	}
	ASSERT_EQ(raw_call(&c, 99, NULL, 0, -1, NULL, 0), ENOSYS);

	/* A header whose size is smaller than a header: the framing is lost, the server stops
	 * serving and drops the client's maps. */
	ASSERT_EQ(send(c.sock, &bad, sizeof(bad), MSG_NOSIGNAL), (ssize_t)sizeof(bad));
	ASSERT_OK(pthread_join(th, NULL));
	ASSERT_EQ(s.served, -EPROTO);
	ASSERT_EQ(vfio_user_server_dma_count(srv), 0);
	close(sp[0]);
	ASSERT_EQ(recv(c.sock, &byte, 1, 0), 0); /* no reply came before the end */
	close(sp[1]);
	close(pipefd[0]);
	close(pipefd[1]);
	close(memfd);
	td_fini(&s.td);
}

static void test_caps_parse(void)
{
	static const char *const bad[] = {
	    "{",
	    "{\"capabilities\":{\"max_msg_fds\":-1}}",
	    "{\"capabilities\":{\"max_msg_fds\":4294967296}}",
	    "{\"capabilities\":{\"max_msg_fds\":1.5}}",
	    "{\"capabilities\":{\"max_msg_fds\":\"8\"}}",
	    "{\"other\":[[[[[[[[[[[[]]]]]]]]]]]]}",
	    "{} trailing",
	    "[1]",
	    "{\"a\":tru}",
	    "{\"a\":\"\\",
	};
	const char *unterminated = "{\"capabilities\":{\"max_msg_fds\":7}}XYZ";
	struct vfio_user_caps caps;
	char buf[128];
	const char *ok = "{ \"capabilities\" : { \"migration\": {\"pgsize\": 4096, \"x\": [1, "
			 "true, null, \"s\\\"\"]}, \"max_data_xfer_size\": 65536, "
			 "\"max_msg_fds\": 3 }, \"other\": false }";

	ASSERT_OK(vfio_user__parse_caps("", 0, &caps));
	ASSERT_EQ(caps.max_msg_fds, VFIO_USER_DEFAULT_MAX_MSG_FDS);
	ASSERT_EQ(caps.max_data_xfer_size, VFIO_USER_DEFAULT_MAX_DATA_XFER);
	ASSERT_OK(vfio_user__parse_caps(ok, strlen(ok) + 1, &caps));
	ASSERT_EQ(caps.max_msg_fds, 3);
	ASSERT_EQ(caps.max_data_xfer_size, 65536);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		caps.max_msg_fds = 42;
		ASSERT_EQ(vfio_user__parse_caps(bad[i], strlen(bad[i]), &caps), -EBADMSG);
		ASSERT_EQ(caps.max_msg_fds, 42);
	}
	/* Not NUL-terminated: parsing stops at len. */
	ASSERT_OK(vfio_user__parse_caps(unterminated, strlen(unterminated) - 3, &caps));
	ASSERT_EQ(caps.max_msg_fds, 7);
	ASSERT_EQ(vfio_user__format_caps(&caps, buf, 10), -ENOBUFS);
	ASSERT_GT(vfio_user__format_caps(&caps, buf, sizeof(buf)), 0);
	caps = (struct vfio_user_caps){0};
	ASSERT_OK(vfio_user__parse_caps(buf, sizeof(buf), &caps));
	ASSERT_EQ(caps.max_msg_fds, 7);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
	    {"identity-and-registers", test_identity_and_registers},
	    {"dma-copy-and-msix", test_dma_copy_and_msix},
	    {"irq-runs", test_irq_runs},
	    {"keepalive-reattach", test_keepalive_reattach},
	    {"wrong-msg-id", test_wrong_msg_id},
	    {"oversized-reply", test_oversized_reply},
	    {"error-reply", test_error_reply},
	    {"server-dies", test_server_dies},
	    {"server-hangs", test_server_hangs},
	    {"server-refuses", test_server_refuses},
	    {"caps-parse", test_caps_parse},
	};

	return test_run_cases(cases, ARRAY_SIZE(cases), argc, argv);
}
