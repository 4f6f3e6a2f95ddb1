/* SPDX-License-Identifier: MIT */
/*
 * mhcl-gdma-emu: the GDMA/MANA test device model (gdma_model.h) in a process of its own,
 * reached through vfio-user, with its vPort wired to a TAP. A TEST DEVICE, never installed:
 * it lets mhcl's MANA driver (lib/mana over lib/devaccess) run against "hardware" across a
 * process boundary.
 *
 *   mhcl-gdma-emu --socket PATH --tap IFNAME [--mac MAC] [--queues N] [--tx-delay-ms N]
 *
 * One thread, one poll loop over the listening socket, the client, the TAP and a signalfd:
 * the model is not thread-safe. One client at a time; when it leaves, the model keeps its
 * state (vfio-user "Client Disconnection") and the next client may attach and adopt it.
 *
 * Regions: config space and BAR0 from the model; BAR4 holds the MSI-X table and PBA the
 * config space names. Interrupts go by vector to the client's eventfds (SET_IRQS): masking
 * belongs to the client, as with VFIO and QEMU's vfio-user client, so the table is only
 * stored and read back and the PBA reads as zeros. An interrupt raised while no client (or
 * no eventfd) is there is lost: a driver that attaches polls its queues once.
 *
 * Frames: the model's TX goes to the TAP; frames read from the TAP go to the model only
 * while a client holds DMA maps (otherwise the model would find its RX queue unreachable
 * and break it) and while its RX queue has a buffer posted; in between they wait in the
 * TAP's queue (8192 frames, as netd's TAP). So the test wire is lossless, as a TAP is:
 * the frames that wait out a driver's restart come in as it posts buffers again (a real
 * NIC would drop what finds no buffer).
 *
 * --tx-delay-ms N makes the wire slow: a send-queue doorbell takes effect N ms after it was
 * rung (later ones for the same queue within that time ride along), so the driver sees
 * its TX queue fill up and must wait for completions, as with hardware under load. The
 * doorbells wait while no client has memory mapped (a driver restarting).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "defs/gdma_defs.h"
#include "gdma_model.h"
#include "log.h"
#include "vfio_user_server.h"

#define MSIX_BAR_SIZE 0x1000u
#define TAP_FRAMES_PER_WAKE 64u /* the client's messages are not starved by a busy wire */
#define TAP_QUEUE_FRAMES 8192
#define LOG_FIRST_DROPS 10u /* then one line per LOG_DROP_EVERY */
#define LOG_DROP_EVERY 1000u
#define MAX_DELAYED_DOORBELLS 64u

struct emu {
	struct gdma_model *model;
	struct vfio_user_server *srv;
	int listen_fd;
	int conn;
	int tap;
	int sigfd;
	uint8_t msix[MSIX_BAR_SIZE]; /* the table from 0, the PBA (zeros) at 0x800 */
	/* The low half of a doorbell written as two dwords (see db_write). */
	bool db_low_valid;
	uint64_t db_low_off;
	uint32_t db_low;
	uint64_t tap_in_refused;
	uint64_t tap_out_dropped;
	/* --tx-delay-ms: send-queue doorbells not yet rung into the model. */
	unsigned tx_delay_ms;
	struct {
		uint64_t off, val;
	} delayed[MAX_DELAYED_DOORBELLS];
	unsigned ndelayed;
	uint64_t delayed_due_ms;		 /* CLOCK_MONOTONIC */
	uint8_t frame[GDMA_MODEL_MAX_FRAME + 1]; /* one more: a longer frame shows as such */
};

static bool log_this_drop(uint64_t n)
{
	return n <= LOG_FIRST_DROPS || n % LOG_DROP_EVERY == 0;
}

/* ---- the model's host interface ---- */

static void *emu_dma_ptr(void *ctx, uint64_t iova, size_t len)
{
	struct emu *e = ctx;

	return vfio_user_server_dma_ptr(e->srv, iova, len);
}

static void emu_irq(void *ctx, uint32_t vector)
{
	struct emu *e = ctx;
	int r = vfio_user_server_signal(e->srv, vector);

	if (r < 0)
		log_debug("vector %u not delivered: %s", vector, strerror(-r));
}

static void emu_frame_out(void *ctx, const void *data, size_t len)
{
	struct emu *e = ctx;

	ssize_t n = write(e->tap, data, len);

	if (n == (ssize_t)len)
		return;
	/* A full TAP queue drops, as a wire would. */
	if (log_this_drop(++e->tap_out_dropped))
		log_warn("frame of %zu bytes to the tap dropped: %s (%" PRIu64 " so far)", len,
			 n < 0 ? strerror(errno) : "short write", e->tap_out_dropped);
}

/* ---- vfio-user regions ---- */

/* The model takes BAR accesses of 1..8 bytes; a bigger transfer goes in pieces. */
static int bar0_access(struct emu *e, uint64_t off, void *buf, uint32_t len, bool write)
{
	for (uint32_t done = 0; done < len;) {
		uint32_t n = len - done < 8 ? len - done : 8;
		int r = write ? gdma_model_bar_write(e->model, off + done, (uint8_t *)buf + done, n)
			      : gdma_model_bar_read(e->model, off + done, (uint8_t *)buf + done, n);

		if (r < 0)
			return r;
		done += n;
	}
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Rings the delayed doorbells, in the order they were first rung. */
static void ring_delayed(struct emu *e)
{
	for (unsigned i = 0; i < e->ndelayed; i++)
		(void)gdma_model_bar_write(e->model, e->delayed[i].off, &e->delayed[i].val, 8);
	e->ndelayed = 0;
}

/* One 64-bit doorbell: into the model, or held back (--tx-delay-ms) if a send queue's. */
static int ring(struct emu *e, uint64_t off, uint64_t val)
{
	bool sq = (off - GDMA_MODEL_DB_PAGE_OFFSET) % GDMA_MODEL_DB_PAGE_SIZE == GDMA_DB_OFF_SQ;
	unsigned i;

	if (!e->tx_delay_ms || !sq)
		return gdma_model_bar_write(e->model, off, &val, sizeof(val));
	for (i = 0; i < e->ndelayed; i++)
		if (e->delayed[i].off == off && GDMA_DB_ID(e->delayed[i].val) == GDMA_DB_ID(val))
			break;
	if (i == MAX_DELAYED_DOORBELLS) {
		ring_delayed(e); /* more queues than we hold: the wire catches up */
		i = 0;
	}
	if (i == e->ndelayed) {
		if (e->ndelayed == 0)
			e->delayed_due_ms = now_ms() + e->tx_delay_ms;
		e->ndelayed++;
	}
	e->delayed[i].off = off;
	e->delayed[i].val = val;
	return 0;
}

/*
 * Doorbells are 64-bit, and the model takes only 8-byte writes there; devaccess (like
 * many hosts) writes 64 bits as two dwords, low half first. So a dword at an 8-aligned
 * doorbell offset is held until the dword above it arrives, then both ring as one.
 * Anything else in between drops the held half, as a torn write would be lost.
 */
static int db_write(struct emu *e, uint64_t off, const void *buf, uint32_t len)
{
	bool had_low = e->db_low_valid && e->db_low_off + 4 == off;
	uint32_t high;
	uint64_t val;

	e->db_low_valid = false;
	if (len == 8 && off % 8 == 0) {
		memcpy(&val, buf, sizeof(val));
		return ring(e, off, val);
	}
	if (len != 4)
		return bar0_access(e, off, (void *)buf, len, true);
	if (off % 8 == 0) {
		memcpy(&e->db_low, buf, 4);
		e->db_low_off = off;
		e->db_low_valid = true;
		return 0;
	}
	if (!had_low)
		return bar0_access(e, off, (void *)buf, len, true); /* the model counts it */
	memcpy(&high, buf, 4);
	val = (uint64_t)high << 32 | e->db_low;
	return ring(e, off - 4, val);
}

static int emu_region_read(void *opaque, unsigned region, uint64_t off, void *buf, uint32_t len)
{
	struct emu *e = opaque;

	switch (region) {
	case VFIO_USER_PCI_CONFIG_REGION:
		return gdma_model_config_read(e->model, off, buf, len);
	case VFIO_USER_PCI_BAR0_REGION:
		return bar0_access(e, off, buf, len, false);
	case GDMA_MODEL_MSIX_BAR:
		memcpy(buf, e->msix + off, len); /* the server checked the range */
		return 0;
	}
	return -EINVAL;
}

static int emu_region_write(void *opaque, unsigned region, uint64_t off, const void *buf,
			    uint32_t len)
{
	struct emu *e = opaque;

	switch (region) {
	case VFIO_USER_PCI_CONFIG_REGION:
		/* The model's config space is read-only (bus mastering is always on). */
		return 0;
	case VFIO_USER_PCI_BAR0_REGION:
		if (off >= GDMA_MODEL_DB_PAGE_OFFSET)
			return db_write(e, off, buf, len);
		e->db_low_valid = false;
		return bar0_access(e, off, (void *)buf, len, true);
	case GDMA_MODEL_MSIX_BAR:
		for (uint32_t i = 0; i < len; i++)
			if (off + i < GDMA_MODEL_MSIX_PBA_OFFSET) /* the PBA is read-only */
				e->msix[off + i] = ((const uint8_t *)buf)[i];
		return 0;
	}
	return -EINVAL;
}

static int emu_reset(void *opaque)
{
	struct emu *e = opaque;

	log_info("device reset by the client");
	gdma_model_reset(e->model);
	e->db_low_valid = false;
	e->ndelayed = 0;
	memset(e->msix, 0, sizeof(e->msix));
	return 0;
}

/* ---- the TAP ---- */

static int tap_open(const char *name)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	int fd, r;

	if (strlen(name) >= sizeof(ifr.ifr_name))
		return -ENAMETOOLONG;
	strcpy(ifr.ifr_name, name);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/*
 * Frames for the vPort wait in the TAP's queue while no client is attached (its driver
 * restarting): as netd does with its own TAP, the kernel's 500 frames become
 * TAP_QUEUE_FRAMES, so they outlast a restart. A failure only shortens the wait.
 */
static void tap_queue_len(const char *name)
{
	struct ifreq ifr = {.ifr_qlen = TAP_QUEUE_FRAMES};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	strcpy(ifr.ifr_name, name); /* tap_open checked its length */
	if (s < 0 || ioctl(s, SIOCSIFTXQLEN, &ifr) < 0)
		log_warn("tap %s keeps the kernel's queue length: %s", name, strerror(errno));
	if (s >= 0)
		close(s);
}

/* Frames the kernel sent on the TAP go to the model's vPort, a bounded batch per wake,
 * while it has buffers posted. */
static int tap_drain(struct emu *e)
{
	for (unsigned i = 0; i < TAP_FRAMES_PER_WAKE && !gdma_model_rx_full(e->model); i++) {
		ssize_t n = read(e->tap, e->frame, sizeof(e->frame));
		int r;

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		r = gdma_model_frame_in(e->model, e->frame, (size_t)n);
		/* Refusals are normal (no RX queue yet, no posted buffer); the model counts them.
		 */
		if (r < 0 && log_this_drop(++e->tap_in_refused))
			log_info("frame of %zd bytes from the tap refused by the device: %s "
				 "(%" PRIu64 " so far)",
				 n, strerror(-r), e->tap_in_refused);
	}
	return 0;
}

/* ---- the loop ---- */

static void log_stats(struct emu *e)
{
	struct gdma_model_stats st;

	gdma_model_get_stats(e->model, &st);
	log_info("stats: tx %" PRIu64 " (errors %" PRIu64 "), rx %" PRIu64 " (no wqe %" PRIu64
		 ", no rq %" PRIu64 ", truncated %" PRIu64 "), dma errors %" PRIu64
		 ", bad doorbells %" PRIu64 ", bad wqes %" PRIu64 ", hwc requests %" PRIu64
		 " (errors %" PRIu64 ", dropped %" PRIu64 "), irqs %" PRIu64,
		 st.tx_frames, st.tx_errors, st.rx_frames, st.rx_dropped_no_wqe,
		 st.rx_dropped_no_rq, st.rx_truncated, st.dma_errors, st.bad_doorbells, st.bad_wqes,
		 st.hwc_requests, st.hwc_errors, st.hwc_dropped, st.irqs);
}

static void client_accept(struct emu *e)
{
	int conn = accept4(e->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (conn < 0) {
		log_warn_errno(-errno, "accept: %m");
		return;
	}
	e->conn = conn;
	vfio_user_server_attach(e->srv, conn);
	log_info("client attached");
}

static void client_serve(struct emu *e)
{
	int r = vfio_user_server_serve_message(e->srv);

	if (r == 0)
		return;
	if (r == -EPIPE)
		log_info("client left; the device keeps its state");
	else
		log_warn("client dropped: %s; the device keeps its state", strerror(-r));
	close(e->conn);
	e->conn = -1;
	e->db_low_valid = false;
	log_stats(e);
}

/* 0 on SIGTERM or SIGINT, -errno when the loop cannot go on. */
static int run(struct emu *e)
{
	for (;;) {
		/* Wire frames wait while nobody has mapped memory for them, or while every
		 * RX buffer is taken (see the top). */
		bool mapped = e->conn >= 0 && vfio_user_server_dma_count(e->srv) > 0;
		bool rx = mapped && !gdma_model_rx_full(e->model);
		int timeout = -1;
		struct pollfd p[3] = {
		    {e->sigfd, POLLIN, 0},
		    {e->conn >= 0 ? e->conn : e->listen_fd, POLLIN, 0},
		    {rx ? e->tap : -1, POLLIN, 0},
		};
		int r;

		if (mapped && e->ndelayed) {
			uint64_t now = now_ms();
			if (now >= e->delayed_due_ms) {
				ring_delayed(e);
				continue;
			}
			timeout = (int)(e->delayed_due_ms - now);
		}
		if (poll(p, 3, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(-errno, "poll: %m");
		}
		if (p[0].revents)
			return 0;
		if (p[1].revents && e->conn >= 0)
			client_serve(e);
		else if (p[1].revents)
			client_accept(e);
		/* Only while memory is still mapped: the client may have left just now, and a
		 * frame then would find the RX queue unreachable and break it for good. */
		if (p[2].revents && e->conn >= 0 && vfio_user_server_dma_count(e->srv) > 0) {
			r = tap_drain(e);
			if (r < 0)
				return log_error_errno(r, "reading the tap: %m");
		}
	}
}

/* ---- set-up ---- */

static void usage(void)
{
	fprintf(stderr, "usage: mhcl-gdma-emu --socket PATH --tap IFNAME [--mac MAC] "
			"[--queues N] [--tx-delay-ms N]\n");
	exit(2);
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6)
		return false;
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return !(mac[0] & 1); /* a unicast address */
}

static void parse_args(int argc, char **argv, const char **socket_path, const char **tap,
		       struct gdma_model_config *cfg, unsigned *tx_delay_ms)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},	   {"tap", required_argument, NULL, 't'},
	    {"mac", required_argument, NULL, 'm'},	   {"queues", required_argument, NULL, 'q'},
	    {"tx-delay-ms", required_argument, NULL, 'd'}, {0},
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			*socket_path = optarg;
			break;
		case 't':
			*tap = optarg;
			break;
		case 'm':
			if (!parse_mac(optarg, cfg->mac))
				usage();
			break;
		case 'q':
			errno = 0;
			cfg->max_queues = (uint32_t)strtoul(optarg, &end, 10);
			if (errno || *end || !cfg->max_queues ||
			    cfg->max_queues > GDMA_MODEL_MAX_QUEUES)
				usage();
			break;
		case 'd':
			errno = 0;
			*tx_delay_ms = (unsigned)strtoul(optarg, &end, 10);
			if (errno || *end || *tx_delay_ms > 1000)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !*socket_path || !*tap)
		usage();
	/* A vector per queue and one for the HWC, as Linux asks for. */
	cfg->msix_count = cfg->max_queues + 1 > 8 ? cfg->max_queues + 1 : 8;
}

static int signals_open(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int main(int argc, char **argv)
{
	struct gdma_model_config cfg = {.mac = {0x00, 0x15, 0x5d, 0x42, 0x00, 0x01},
					.max_queues = 4};
	const struct gdma_model_ops ops = {emu_dma_ptr, emu_irq, emu_frame_out};
	struct vfio_user_server_model srv_model = {
	    .read = emu_region_read,
	    .write = emu_region_write,
	    .reset = emu_reset,
	};
	const char *socket_path = NULL, *tap_name = NULL;
	struct emu *e = calloc(1, sizeof(*e));
	int r;

	log_set_ident("mhcl-gdma-emu");
	if (!e)
		return 1;
	parse_args(argc, argv, &socket_path, &tap_name, &cfg, &e->tx_delay_ms);
	e->conn = e->listen_fd = e->tap = e->sigfd = -1;

	srv_model.regions[VFIO_USER_PCI_CONFIG_REGION] =
	    (struct vfio_user_server_region){GDMA_MODEL_CONFIG_SIZE, -1, false};
	srv_model.regions[VFIO_USER_PCI_BAR0_REGION] =
	    (struct vfio_user_server_region){GDMA_MODEL_BAR0_SIZE, -1, false};
	srv_model.regions[GDMA_MODEL_MSIX_BAR] =
	    (struct vfio_user_server_region){MSIX_BAR_SIZE, -1, false};
	srv_model.msix_count = cfg.msix_count;
	srv_model.opaque = e;

	e->model = gdma_model_new(&cfg, &ops, e);
	e->srv = vfio_user_server_new(&srv_model);
	if (!e->model || !e->srv) {
		r = log_error_errno(-ENOMEM, "unable to create the device: %m");
		goto out;
	}
	r = e->sigfd = signals_open();
	if (r < 0) {
		log_error_errno(r, "signalfd: %m");
		goto out;
	}
	r = e->tap = tap_open(tap_name);
	if (r < 0) {
		log_error_errno(r, "unable to open tap %s: %m", tap_name);
		goto out;
	}
	tap_queue_len(tap_name);
	r = e->listen_fd = vfio_user_server_listen(socket_path);
	if (r < 0) {
		log_error_errno(r, "unable to listen on %s: %m", socket_path);
		goto out;
	}
	log_info("MANA VF %02x:%02x:%02x:%02x:%02x:%02x, %u queues, %u vectors, tap %s, "
		 "listening on %s",
		 cfg.mac[0], cfg.mac[1], cfg.mac[2], cfg.mac[3], cfg.mac[4], cfg.mac[5],
		 cfg.max_queues, cfg.msix_count, tap_name, socket_path);
	r = run(e);
	if (r == 0) {
		log_info("terminating");
		log_stats(e);
	}
	(void)unlink(socket_path);
out:
	if (e->conn >= 0)
		close(e->conn);
	if (e->listen_fd >= 0)
		close(e->listen_fd);
	if (e->tap >= 0)
		close(e->tap);
	if (e->sigfd >= 0)
		close(e->sigfd);
	vfio_user_server_free(e->srv);
	gdma_model_free(e->model);
	free(e);
	return r < 0 ? 1 : 0;
}
