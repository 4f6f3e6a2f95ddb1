/* SPDX-License-Identifier: MIT */
/*
 * mhcl-gdma-emu (the GDMA/MANA test device in a process of its own) driven through
 * lib/devaccess over vfio-user, in a private network namespace, by a driver written here
 * from the wire definitions:
 *   - a first client (a child process) checks the PCI id and BAR0's registers, maps a memfd
 *     for DMA, routes MSI-X to eventfds, establishes the HWC over the SMC, takes the INIT
 *     EQEs after an interrupt and makes one HWC request; then it dies with SIGKILL;
 *   - a second client attaches, maps the same memfd and, with the queue state the first one
 *     left in it, makes an HWC request on the HWC the first one established: the device
 *     state outlived the client;
 *   - a frame sent on the TAP reaches the model, which refuses it (no RX queue) and counts
 *     it; the emulator's log shows the refusal and the counter;
 *   - SIGTERM ends the emulator cleanly.
 *
 * Usage: test-gdma-emu MHCL_GDMA_EMU. Exits 77 (skipped) without network namespaces or
 * /dev/net/tun.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "defs/gdma_defs.h"
#include "devaccess.h"
#include "test.h"

#define TAP "gdmaemu0"
#define PAGE GDMA_PAGE_SIZE
#define IOVA_BASE 0x100000ull
#define MEM_PAGES 8u
#define CLIENT_LEFT "client left; the device keeps its state"
#define MAX_VECTORS 64u
#define IRQ_WAIT_MS 10000 /* a bound for a stuck emulator, not a performance claim */

enum { PG_EQ, PG_CQ, PG_RQ, PG_SQ, PG_REQ, PG_RESP, PG_STATE };

/* A queue as the driver sees it: EQ/CQ heads count entries, WQ heads count bytes. */
struct dq {
	uint32_t page;
	uint32_t id;
	uint32_t head;
};

/* What a restarting driver keeps in its memory (here: the memfd's last page). */
struct drv_state {
	struct dq eq, cq, rq, sq;
	uint32_t mkey;
	uint16_t msg_id;
	uint32_t activity;
};

static struct {
	const char *emu_path;
	char dir[64];
	char sock[96];
	char log[96];
	pid_t emu;
	int memfd;
	uint8_t *mem;
	struct drv_state *st;
	struct devaccess *d;
	int efd[MAX_VECTORS];
	unsigned nvec;
	uint64_t shm;
	uint64_t db;
} t;

/* ---- the emulator process ---- */

static void dump_log(void)
{
	char buf[4096];
	ssize_t n;
	int fd = open(t.log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	fprintf(stderr, "---- mhcl-gdma-emu log ----\n");
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stderr);
	fprintf(stderr, "----\n");
	close(fd);
}

static void cleanup(void)
{
	if (t.emu > 0 && getpid() != t.emu) {
		kill(t.emu, SIGKILL);
		waitpid(t.emu, NULL, 0);
		t.emu = 0;
	}
	if (t.dir[0]) {
		dump_log();
		unlink(t.log);
		unlink(t.sock);
		rmdir(t.dir);
	}
}

static void emu_start(void)
{
	int fd = open(t.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ASSERT_GE(fd, 0);
	t.emu = fork();
	ASSERT_GE(t.emu, 0);
	if (t.emu == 0) {
		dup2(fd, STDERR_FILENO);
		execl(t.emu_path, t.emu_path, "--socket", t.sock, "--tap", TAP, "--mac",
		      "00:15:5d:42:00:07", "--queues", "2", (char *)NULL);
		_exit(127);
	}
	close(fd);
}

/* The emulator's log so far (it writes whole lines). */
static const char *log_text(void)
{
	static char buf[65536];
	ssize_t n;
	int fd = open(t.log, O_RDONLY | O_CLOEXEC);

	ASSERT_GE(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static unsigned log_count(const char *what)
{
	unsigned n = 0;

	for (const char *p = log_text(); (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static bool log_has(const char *what)
{
	return log_count(what) > 0;
}

/* The number after the last `name` in the log (the emulator's stats lines). */
static unsigned long log_last_counter(const char *name)
{
	const char *p = log_text(), *last = NULL;

	while ((p = strstr(p, name))) {
		last = p;
		p += strlen(name);
	}
	if (!last)
		TEST_FAIL_("no \"%s\" in the emulator's log", name);
	return strtoul(last + strlen(name), NULL, 10);
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000}, NULL);
}

/* Waits until the log holds `what` n times. */
static void wait_log(const char *what, unsigned n)
{
	for (int i = 0; i < 1000 && log_count(what) < n; i++)
		sleep_ms(10);
	if (log_count(what) < n)
		TEST_FAIL_("the emulator never logged \"%s\" (%u times)", what, n);
}

/* ---- the client side ---- */

static uint64_t iova(uint32_t page)
{
	return IOVA_BASE + (uint64_t)page * PAGE;
}

static uint8_t *va(uint32_t page)
{
	return t.mem + (size_t)page * PAGE;
}

/* Connects (the emulator may still be starting), checks identity and registers, maps the
 * memfd and routes every vector to an eventfd of its own. */
static void attach(void)
{
	uint32_t id = 0;
	int r = -ENOENT;

	for (int i = 0; i < 1000; i++) {
		r = devaccess_vfio_user_open(t.sock, &t.d);
		if (r != -ENOENT && r != -ECONNREFUSED)
			break;
		sleep_ms(10);
	}
	ASSERT_OK(r);
	ASSERT_STREQ(t.d->ops->kind, "vfio-user");

	ASSERT_OK(t.d->ops->config_read(t.d, 0, &id, sizeof(id)));
	ASSERT_EQ(id & 0xffff, GDMA_PCI_VENDOR_MICROSOFT);
	ASSERT_EQ(id >> 16, GDMA_PCI_DEVICE_MANA_VF);
	ASSERT_EQ(t.d->id.vendor, 0x1414);
	ASSERT_EQ(t.d->id.device, 0x00BA);
	ASSERT_EQ(t.d->id.class_code >> 16, 0x02); /* network controller */

	ASSERT_EQ(t.d->bars[0].size, 0x2000);
	ASSERT_GT(t.d->bars[4].size, 0); /* MSI-X table and PBA */
	t.db = devaccess_read64(t.d, 0, GDMA_REG_DB_PAGE_OFFSET);
	t.shm = devaccess_read64(t.d, 0, GDMA_REG_SHM_OFFSET);
	ASSERT_EQ(devaccess_read32(t.d, 0, GDMA_REG_DB_PAGE_SIZE) & 0xffff, PAGE);
	ASSERT_EQ(devaccess_read32(t.d, 0, GDMA_REG_SHM_SIZE) & 0xffff, GDMA_SMC_SIZE);
	ASSERT_EQ(t.db % PAGE, 0);
	ASSERT_LE(t.db + PAGE, t.d->bars[0].size);
	ASSERT_GE(t.shm, GDMA_REG_SHM_SIZE + 4); /* after the registers it is read from */
	ASSERT_LE(t.shm + GDMA_SMC_SIZE, t.db);

	ASSERT_OK(devaccess_dma_map_fd(t.d, t.memfd, 0, t.mem, IOVA_BASE, MEM_PAGES * PAGE));

	t.nvec = t.d->irq_count;
	ASSERT_GE(t.nvec, 3); /* the HWC's and one per queue (--queues 2) */
	ASSERT_LE(t.nvec, MAX_VECTORS);
	for (unsigned i = 0; i < t.nvec; i++) {
		t.efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_GE(t.efd[i], 0);
	}
	ASSERT_OK(devaccess_irq_set(t.d, t.efd, t.nvec));
}

static void detach(void)
{
	devaccess_close(t.d);
	t.d = NULL;
	for (unsigned i = 0; i < t.nvec; i++)
		close(t.efd[i]);
}

/* Waits for vector 0 (the HWC's) and returns how many times it fired. */
static uint64_t wait_irq(void)
{
	struct pollfd p = {t.efd[0], POLLIN, 0};
	uint64_t n = 0;

	if (poll(&p, 1, IRQ_WAIT_MS) != 1)
		TEST_FAIL_("%s", "no interrupt on vector 0");
	ASSERT_EQ(read(t.efd[0], &n, sizeof(n)), sizeof(n));
	return n;
}

static void no_irq_pending(void)
{
	uint64_t n;

	ASSERT_EQ(read(t.efd[0], &n, sizeof(n)), -1);
	ASSERT_EQ(errno, EAGAIN);
}

static void ring(uint32_t off, uint64_t val)
{
	devaccess_write64(t.d, 0, t.db + off, val);
}

/* Linux's owner-bit rule: a new entry iff its owner != ((head / n) - 1) & 7. */
static bool poll_entry(struct dq *q, uint32_t size, uint32_t shift, void *ret)
{
	uint32_t n = PAGE / size;
	const uint8_t *p = va(q->page) + (q->head % n) * size;
	uint32_t info;

	memcpy(&info, p + size - 4, sizeof(info));
	if (((info >> shift) & GDMA_OWNER_MASK) == ((q->head / n - 1) & GDMA_OWNER_MASK))
		return false;
	memcpy(ret, p, size);
	q->head++;
	return true;
}

static bool poll_eqe(struct gdma_eqe *e)
{
	return poll_entry(&t.st->eq, GDMA_EQE_SIZE, GDMA_EQE_OWNER_SHIFT, e);
}

static bool poll_cqe(struct gdma_cqe *c)
{
	return poll_entry(&t.st->cq, GDMA_CQE_SIZE, GDMA_CQE_OWNER_SHIFT, c);
}

static void arm_eq(void)
{
	ring(GDMA_DB_OFF_EQ,
	     GDMA_DB_EQ(t.st->eq.id, t.st->eq.head % (PAGE / GDMA_EQE_SIZE << 3), true));
}

static void arm_cq(void)
{
	ring(GDMA_DB_OFF_CQ,
	     GDMA_DB_CQ(t.st->cq.id, t.st->cq.head % (PAGE / GDMA_CQE_SIZE << 3), true));
}

static void pack_pfn(uint8_t dst[6], uint16_t *high, unsigned index, uint64_t addr)
{
	uint64_t pfn = addr >> GDMA_PAGE_SHIFT;

	for (unsigned i = 0; i < 6; i++)
		dst[i] = (uint8_t)(pfn >> (8 * i));
	*high |= (uint16_t)(((pfn >> 48) & 0xf) << (4 * index));
}

static uint32_t smc_hdr(void)
{
	return devaccess_read32(t.d, 0, t.shm + GDMA_SMC_HDR_OFFSET);
}

/* The first bring-up steps: SMC ESTABLISH_HWC, an interrupt, the INIT EQEs. */
static void hwc_establish(void)
{
	struct gdma_smc_establish_hwc msg = {0};
	struct gdma_eqe eqe;
	uint32_t dw[GDMA_SMC_SIZE / 4], hdr, seen = 0;

	memset(t.mem, 0, MEM_PAGES * PAGE);
	*t.st = (struct drv_state){
	    .eq = {PG_EQ, 0, PAGE / GDMA_EQE_SIZE},
	    .cq = {PG_CQ, 0, PAGE / GDMA_CQE_SIZE},
	    .rq = {PG_RQ, 0, 0},
	    .sq = {PG_SQ, 0, 0},
	};
	pack_pfn(msg.eq_pfn, &msg.pfn_high4, 0, iova(PG_EQ));
	pack_pfn(msg.cq_pfn, &msg.pfn_high4, 1, iova(PG_CQ));
	pack_pfn(msg.rq_pfn, &msg.pfn_high4, 2, iova(PG_RQ));
	pack_pfn(msg.sq_pfn, &msg.pfn_high4, 3, iova(PG_SQ));
	msg.msix_index = 0;
	msg.hdr = GDMA_SMC_HDR(GDMA_SMC_MSG_ESTABLISH_HWC, GDMA_SMC_ESTABLISH_HWC_VERSION);
	memcpy(dw, &msg, sizeof(dw));
	for (unsigned i = 0; i < GDMA_SMC_SIZE / 4; i++) /* the header dword last */
		devaccess_write32(t.d, 0, t.shm + 4 * i, dw[i]);

	hdr = smc_hdr();
	ASSERT_TRUE(hdr & GDMA_SMC_HDR_RESPONSE);
	ASSERT_FALSE(hdr & GDMA_SMC_HDR_OWNER_IS_PF);
	ASSERT_EQ(GDMA_SMC_HDR_TYPE(hdr), GDMA_SMC_MSG_ESTABLISH_HWC);
	ASSERT_EQ(GDMA_SMC_HDR_STATUS(hdr), 0);

	/* One interrupt for the batch (the EQ disarms on its first entry), across processes. */
	ASSERT_EQ(wait_irq(), 1);
	ASSERT_TRUE(poll_eqe(&eqe));
	ASSERT_EQ(GDMA_EQE_TYPE(eqe.info), GDMA_EQE_HWC_INIT_EQ_ID_DB);
	t.st->eq.id = eqe.details[0] & 0xffff;
	for (;;) {
		uint32_t type, value;

		ASSERT_TRUE(poll_eqe(&eqe));
		if (GDMA_EQE_TYPE(eqe.info) == GDMA_EQE_HWC_INIT_DONE)
			break;
		ASSERT_EQ(GDMA_EQE_TYPE(eqe.info), GDMA_EQE_HWC_INIT_DATA);
		type = GDMA_HWC_INIT_DATA_TYPE(eqe.details[0]);
		value = GDMA_HWC_INIT_DATA_VALUE(eqe.details[0]);
		ASSERT_EQ(type, ++seen);
		if (type == GDMA_HWC_INIT_DATA_CQID)
			t.st->cq.id = value;
		else if (type == GDMA_HWC_INIT_DATA_RQID)
			t.st->rq.id = value;
		else if (type == GDMA_HWC_INIT_DATA_SQID)
			t.st->sq.id = value;
		else if (type == GDMA_HWC_INIT_DATA_MAX_REQUEST ||
			 type == GDMA_HWC_INIT_DATA_MAX_RESPONSE)
			ASSERT_EQ(value, PAGE);
		else if (type == GDMA_HWC_INIT_DATA_GPA_MKEY)
			t.st->mkey = value;
	}
	ASSERT_EQ(seen, GDMA_HWC_INIT_DATA_GPA_MKEY);
	ASSERT_FALSE(poll_eqe(&eqe));
	arm_eq();
	arm_cq();
	no_irq_pending();
}

/* Writes one WQE (header, inline OOB, one SGE) at the WQ's producer offset. */
static uint32_t wq_post(struct dq *wq, const void *oob, uint32_t oob_size, uint32_t oob_code,
			const struct gdma_sge *sge)
{
	uint8_t buf[64] = {0};
	struct gdma_wqe_hdr hdr = {.params = GDMA_WQE_PARAMS(1, oob_code)};
	uint32_t sgl_off = (8 + oob_size + 15) & ~15u;
	uint32_t size = (sgl_off + 16 + GDMA_WQE_BU_SIZE - 1) & ~(GDMA_WQE_BU_SIZE - 1);
	uint32_t offset = wq->head % PAGE;

	ASSERT_LE(size, sizeof(buf));
	memcpy(buf, &hdr, sizeof(hdr));
	if (oob)
		memcpy(buf + 8, oob, oob_size);
	memcpy(buf + sgl_off, sge, sizeof(*sge));
	for (uint32_t i = 0; i < size; i++)
		va(wq->page)[(wq->head + i) % PAGE] = buf[i];
	wq->head += size;
	return offset;
}

/* One VERIFY_VF_DRIVER_VERSION over the HWC, the way Linux sends HWC requests. */
static void hwc_verify_version(void)
{
	struct gdma_verify_ver_req req = {0};
	struct gdma_verify_ver_resp resp;
	struct gdma_hwc_tx_oob oob = {0};
	struct gdma_sge rsge = {iova(PG_RESP), t.st->mkey, PAGE};
	struct gdma_sge ssge = {iova(PG_REQ), t.st->mkey, sizeof(req)};
	struct gdma_hwc_rx_oob rx;
	struct gdma_cqe cqe;
	struct gdma_eqe eqe;
	uint32_t rq_off;

	req.hdr.req.hdr_type = GDMA_STANDARD_HEADER_TYPE;
	req.hdr.req.msg_type = GDMA_VERIFY_VF_DRIVER_VERSION;
	req.hdr.req.msg_version = GDMA_MESSAGE_V1;
	req.hdr.req.msg_size = sizeof(req);
	req.hdr.req.hwc_msg_id = t.st->msg_id;
	req.hdr.resp.msg_type = GDMA_VERIFY_VF_DRIVER_VERSION;
	req.hdr.resp.msg_version = GDMA_MESSAGE_V1;
	req.hdr.resp.msg_size = sizeof(resp);
	req.hdr.activity_id = ++t.st->activity;
	req.protocol_ver_min = GDMA_PROTOCOL_V1;
	req.protocol_ver_max = GDMA_PROTOCOL_V1;
	req.os_type = GDMA_OS_TYPE_LINUX;

	memset(va(PG_RESP), 0xEE, PAGE);
	rq_off = wq_post(&t.st->rq, NULL, 8, GDMA_WQE_OOB_CODE_8, &rsge);
	ring(GDMA_DB_OFF_RQ, GDMA_DB_WQ(t.st->rq.id, t.st->rq.head));
	memcpy(va(PG_REQ), &req, sizeof(req));
	oob.vscq = t.st->cq.id;
	oob.vsq = t.st->sq.id;
	wq_post(&t.st->sq, &oob, sizeof(oob), GDMA_WQE_OOB_CODE_24, &ssge);
	ring(GDMA_DB_OFF_SQ, GDMA_DB_WQ(t.st->sq.id, t.st->sq.head));

	ASSERT_EQ(wait_irq(), 1);
	ASSERT_TRUE(poll_eqe(&eqe));
	ASSERT_EQ(GDMA_EQE_TYPE(eqe.info), GDMA_EQE_COMPLETION);
	ASSERT_EQ(eqe.details[0] & 0xffffff, t.st->cq.id);
	ASSERT_FALSE(poll_eqe(&eqe));
	ASSERT_TRUE(poll_cqe(&cqe));
	ASSERT_TRUE(cqe.info & GDMA_CQE_IS_SQ);
	ASSERT_TRUE(poll_cqe(&cqe));
	ASSERT_FALSE(cqe.info & GDMA_CQE_IS_SQ);
	ASSERT_EQ(GDMA_CQE_WQ_NUM(cqe.info), t.st->rq.id);
	ASSERT_FALSE(poll_cqe(&cqe));
	arm_cq();
	arm_eq();

	memcpy(&rx, cqe.data, sizeof(rx));
	ASSERT_EQ(rx.wqe_offset, rq_off);
	ASSERT_GE(rx.tx_oob_data_size, sizeof(struct gdma_resp_hdr));
	ASSERT_LE(rx.tx_oob_data_size, sizeof(resp));
	memset(&resp, 0, sizeof(resp));
	memcpy(&resp, va(PG_RESP), rx.tx_oob_data_size);
	ASSERT_EQ(resp.hdr.response.hwc_msg_id, t.st->msg_id);
	ASSERT_EQ(resp.hdr.response.msg_type, GDMA_VERIFY_VF_DRIVER_VERSION);
	ASSERT_EQ(resp.hdr.activity_id, t.st->activity);
	ASSERT_EQ(resp.hdr.status, 0);
	ASSERT_EQ(resp.gdma_protocol_ver, GDMA_PROTOCOL_V1);
	t.st->msg_id = (uint16_t)((t.st->msg_id + 1) % GDMA_HWC_BOOTSTRAP_QUEUE_DEPTH);
	no_irq_pending();
}

/* ---- the wire ---- */

static void tap_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ASSERT_GE(fd, 0);
	strcpy(ifr.ifr_name, TAP);
	ASSERT_OK(ioctl(fd, SIOCGIFFLAGS, &ifr));
	ifr.ifr_flags |= IFF_UP;
	ASSERT_OK(ioctl(fd, SIOCSIFFLAGS, &ifr));
	close(fd);
}

/* An ARP request for 10.0.42.2 from 10.0.42.1, sent on the TAP through a packet socket. */
static void send_arp(void)
{
	static const uint8_t frame[60] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x42, 0x01, /* dst, src */
	    0x08, 0x06,								    /* ARP */
	    0x00, 0x01, 0x08, 0x00, 6,	  4,	0x00, 0x01,	     /* Ethernet/IPv4, request */
	    0x02, 0x00, 0x00, 0x00, 0x42, 0x01, 10,   0,    42,	  1, /* sender */
	    0,	  0,	0,    0,    0,	  0,	10,   0,    42,	  2, /* target */
	};
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET,
	    .sll_protocol = htons(ETH_P_ARP),
	    .sll_ifindex = (int)if_nametoindex(TAP),
	};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	ASSERT_GE(fd, 0);
	ASSERT_GT(sll.sll_ifindex, 0);
	ASSERT_EQ(sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)),
		  sizeof(frame));
	close(fd);
}

/* ---- the steps ---- */

/* A client that brings the HWC up and dies without a word (no close, no DMA unmap). */
static void first_client(void)
{
	pid_t pid = fork();
	int st;

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		t.emu = 0; /* not this process's to clean up */
		t.dir[0] = '\0';
		attach();
		hwc_establish();
		hwc_verify_version();
		raise(SIGKILL);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		TEST_FAIL_("the first client failed (status %#x)", st);
	wait_log(CLIENT_LEFT, 1);
}

/* The device state outlived the client: the SMC still holds the ESTABLISH_HWC answer and
 * the HWC answers on the queues the first client established. */
static void second_client(void)
{
	uint32_t hdr;

	attach();
	hdr = smc_hdr();
	ASSERT_TRUE(hdr & GDMA_SMC_HDR_RESPONSE);
	ASSERT_EQ(GDMA_SMC_HDR_TYPE(hdr), GDMA_SMC_MSG_ESTABLISH_HWC);
	ASSERT_EQ(GDMA_SMC_HDR_STATUS(hdr), 0);
	ASSERT_NE(t.st->mkey, 0);
	hwc_verify_version();
	hwc_verify_version();
}

/* The model has no RX queue yet: it refuses the frame and counts it (rx_dropped_no_rq),
 * which the emulator logs per frame and in its stats when the client leaves. */
static void frame_from_the_wire(void)
{
	tap_up();
	send_arp();
	wait_log("frame of 60 bytes from the tap refused by the device", 1);
	detach();
	wait_log(CLIENT_LEFT, 2);
	ASSERT_GE(log_last_counter("no rq "), 1);
	ASSERT_EQ(log_last_counter("rx "), 0);
}

static void emu_stop(void)
{
	int st;

	ASSERT_OK(kill(t.emu, SIGTERM));
	ASSERT_EQ(waitpid(t.emu, &st, 0), t.emu);
	t.emu = 0;
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	ASSERT_TRUE(log_has("terminating"));
	ASSERT_EQ(access(t.sock, F_OK), -1); /* the socket went with it */
}

int main(int argc, char **argv)
{
	int tun;

	if (argc != 2)
		TEST_FAIL_("usage: %s MHCL_GDMA_EMU", argv[0]);
	t.emu_path = argv[1];
	if (unshare(CLONE_NEWNET) < 0)
		TEST_SKIP("no network namespace: %s", strerror(errno));
	tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (tun < 0)
		TEST_SKIP("no /dev/net/tun: %s", strerror(errno));
	close(tun);
	/* No IPv6: the kernel's router and neighbour solicitations would be noise on the TAP. */
	(void)!system("echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null");

	strcpy(t.dir, "/tmp/gdma-emu-XXXXXX");
	ASSERT_TRUE(mkdtemp(t.dir));
	snprintf(t.sock, sizeof(t.sock), "%s/dev.sock", t.dir);
	snprintf(t.log, sizeof(t.log), "%s/emu.log", t.dir);
	atexit(cleanup);

	t.memfd = memfd_create("gdma-dma", MFD_CLOEXEC);
	ASSERT_GE(t.memfd, 0);
	ASSERT_OK(ftruncate(t.memfd, MEM_PAGES * PAGE));
	t.mem = mmap(NULL, MEM_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, t.memfd, 0);
	ASSERT_TRUE(t.mem != MAP_FAILED);
	t.st = (struct drv_state *)va(PG_STATE);

	emu_start();
	first_client();
	second_client();
	frame_from_the_wire();
	emu_stop();
	return 0;
}
