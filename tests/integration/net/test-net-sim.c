/* SPDX-License-Identifier: MIT */
/*
 * mhcl-netd against a guest playing hv_netvsc through the sim backend (sim_env.h:
 * mhcl-init, mhcl-vmbusd, mhcl-icd, mhcl-netd, mhcl-diagd, mhcl-vp-sim; sim_netvsc.h), in
 * a private network namespace where netd's TAP is 10.0.9.1/24 and the guest 10.0.9.2:
 *   - Linux's init sequence; ARP, UDP both ways through the kernel's stack; a sub-channel;
 *   - hostile NVSP and RNDIS input: each refused with a reason in the log, the server
 *     keeps its pid and the channel still carries frames;
 *   - `mhcl restart net` and `mhcl kill net` under a guest that does not re-initialize:
 *     the state and TAP queues are adopted, and no frame the kernel sent during the
 *     planned restart is lost.
 * With the GDMA emulator's path (net-mana-sim) netd drives a MANA function (lib/mana over
 * vfio-user, the device's vPort being the TAP): the Linux path, then the same restart and
 * kill with the function adopted live each time (no HWC command reaches the device) and
 * the device refusing nothing it was handed (no DMA, doorbell or WQE error).
 *
 * Usage: test-net-sim INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC NETD_DIR DIAGD_DIR MHCL
 * Exits 77 (skipped) without network namespaces or /dev/net/tun.
 */
#include "sim_netenv.h"
#include "sim_netvsc.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#define TAP "mhcltest0"
#define GUEST_MAC                                                                                  \
	{                                                                                          \
		0x02, 0, 0, 0, 0, 1                                                                \
	}
#define HOST_IP 0x0a000901u  /* 10.0.9.1 */
#define GUEST_IP 0x0a000902u /* 10.0.9.2 */
#define NS_PORT 7000
#define GUEST_PORT 5000
/* Guest pages: rings, then the buffers, then scratch for GPA-direct sends. */
#define RING_PFN 0x40u	   /* 64 pages: 32 each way */
#define SUB_RING_PFN 0x80u /* 64 pages */
#define RECV_PFN 0x100u	   /* 256 pages */
#define SEND_PFN 0x200u	   /* 64 pages */
#define GPA_PFN 0x300u
#define RING_PAGES 64u

static const char *mhcl_cli;
/* What netd logs once the next instance serves the guest again after a restart. */
static const char *serving_adopted = "serving " TAP " (2 queues, adopted)";
static const uint8_t guest_mac[6] = GUEST_MAC;
static uint8_t tap_mac[6];

/* ---- the namespace ---- */

static void sh(const char *cmd)
{
	int st = system(cmd);
	if (st != 0)
		TEST_FAIL_("`%s` failed (%d)", cmd, st);
}

/* The TAP's MAC (sysfs shows the namespace it was mounted in, not ours: ask the kernel). */
static void read_tap_mac(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(fd, 0);
	strcpy(ifr.ifr_name, TAP);
	ASSERT_OK(ioctl(fd, SIOCGIFHWADDR, &ifr));
	memcpy(tap_mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

/* netd created the TAP; give it its address once (it lives as long as init holds the
 * queues, so once per environment). */
static void tap_up(void)
{
	for (int i = 0; i < 20000 && !if_nametoindex(TAP); i++)
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	ASSERT_TRUE(if_nametoindex(TAP) != 0);
	sh("ip addr add 10.0.9.1/24 dev " TAP " && ip link set " TAP " up && "
	   "ip neigh replace 10.0.9.2 lladdr 02:00:00:00:00:01 dev " TAP " nud permanent");
	read_tap_mac();
}

static int udp_socket(uint32_t ip, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(fd, 0);
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip)};
	ASSERT_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	struct timeval tv = {.tv_sec = SIM_GUEST_WAIT_MS / 1000};
	ASSERT_OK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	return fd;
}

static void udp_to_guest(int fd, const void *data, size_t len)
{
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(GUEST_PORT),
				 .sin_addr.s_addr = htonl(GUEST_IP)};
	ASSERT_EQ(sendto(fd, data, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

/* ---- frames ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, type);
	return 14;
}

/* The guest's ARP request for 10.0.9.1 (60 bytes, padded). */
static uint32_t arp_request(uint8_t *f)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	memset(f, 0, 60);
	uint8_t *a = f + eth(f, bcast, 0x0806);
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, guest_mac, 6);
	put32(a + 14, GUEST_IP);
	put32(a + 24, HOST_IP);
	return 60;
}

/* A UDP datagram from the guest (10.0.9.2:sport) to 10.0.9.1:NS_PORT. */
static uint32_t udp_frame(uint8_t *f, uint16_t sport, const void *data, uint32_t len,
			  bool csum_partial)
{
	struct sim_net_udp u = {tap_mac, guest_mac, GUEST_IP, HOST_IP, sport, NS_PORT};
	return sim_net_udp_frame(f, &u, data, len, csum_partial);
}

/* ---- the environment ---- */

struct net_env {
	struct sim_env e;
	struct sim_net n;
	int ns_sock; /* bound to 10.0.9.1:NS_PORT */
	pid_t netd;
};

static const struct vmbus_msg_offer_channel *net_offer(struct sim_env *e)
{
	static const struct hv_guid type = NETVSP_CLASS;
	const struct vmbus_msg_offer_channel *o = sim_guest_find_offer(e->g, &type);
	ASSERT_TRUE(o != NULL);
	return o;
}

static void start(struct net_env *t)
{
	sim_env_start(&t->e);
	tap_up();
	t->ns_sock = udp_socket(HOST_IP, NS_PORT);
	t->netd = sim_env_child(t->e.init, "mhcl-netd");
	ASSERT_GT(t->netd, 0);
	ASSERT_OK(
	    sim_net_open(t->e.g, net_offer(&t->e), RING_PFN, RING_PAGES, RING_PAGES / 2, &t->n));
}

static void init_all(struct net_env *t)
{
	ASSERT_EQ(sim_net_init_nvsp(&t->n, RECV_PFN, 256, SEND_PFN, 64), (int)NETVSP_VERSION_61);
	ASSERT_OK(sim_net_init_rndis(&t->n));
}

static void stop(struct net_env *t)
{
	sim_net_close(&t->n);
	close(t->ns_sock);
	sim_env_stop(&t->e);
}

/* Runs `mhcl VERB net` against diagd; returns its exit status. */
static int cli(struct sim_env *e, const char *verb)
{
	return sim_env_mhcl(e, mhcl_cli, NULL, 0, verb, "net", (char *)NULL);
}

/* The guest sends a datagram on channel c (in a section, or GPA-direct); the namespace's
 * socket gets exactly that. */
static void guest_to_ns(struct net_env *t, unsigned c, bool gpa, bool csum_offload,
			const char *text)
{
	uint8_t f[256], got[256];
	uint32_t len = udp_frame(f, 4000, text, (uint32_t)strlen(text), csum_offload);
	struct sim_net_tx tx = {.csum = csum_offload,
				.csum_v = RNDIS_CSUM_TX_IPV4 | RNDIS_CSUM_TX_UDP |
					  34u << RNDIS_CSUM_TX_TCP_OFFSET_SHIFT};

	if (gpa) {
		ASSERT_OK(sim_net_send_frame_gpa(&t->n, c, 77, GPA_PFN, f, len, &tx));
		struct sim_net_msg *m = &t->n.scratch;
		for (;;) {
			ASSERT_OK(sim_net_poll(&t->n, c, true, m));
			if (m->kind == SIM_NET_COMPLETION && m->trans_id == 77)
				break;
		}
		ASSERT_UEQ(m->nvsp.type, NETVSP_MSG_SEND_RNDIS_PKT_COMPLETE);
		ASSERT_UEQ(m->nvsp.rndis_pkt_complete.status, NETVSP_STATUS_SUCCESS);
	} else {
		ASSERT_GE(sim_net_send_frame(&t->n, c, f, len, &tx), 0);
		ASSERT_EQ(sim_net_flush(&t->n), 0);
	}
	ssize_t r = recv(t->ns_sock, got, sizeof(got), 0);
	ASSERT_EQ(r, (ssize_t)strlen(text));
	ASSERT_EQ(memcmp(got, text, (size_t)r), 0);
}

/* The next UDP datagram to GUEST_PORT the guest receives (other frames skipped); its
 * payload into buf. Without wait: -1 when none is there now. */
static int guest_try_recv_udp(struct net_env *t, uint8_t *buf, uint32_t cap, bool wait)
{
	static struct sim_net_frame f;
	for (;;) {
		int r = sim_net_recv_frame(&t->n, wait, &f);
		if (r == -EAGAIN && !wait)
			return -1;
		ASSERT_OK(r);
		if (f.len < 42 || get16(f.data + 12) != 0x0800 || f.data[23] != 17 ||
		    get16(f.data + 36) != GUEST_PORT)
			continue;
		ASSERT_EQ(memcmp(f.data, guest_mac, 6), 0);
		uint32_t len = get16(f.data + 38) - 8u;
		ASSERT_LE(42 + len, f.len);
		ASSERT_LE(len, cap);
		memcpy(buf, f.data + 42, len);
		return (int)len;
	}
}

static uint32_t guest_recv_udp(struct net_env *t, uint8_t *buf, uint32_t cap)
{
	return (uint32_t)guest_try_recv_udp(t, buf, cap, true);
}

static void ns_to_guest(struct net_env *t, const char *text)
{
	uint8_t buf[256];
	udp_to_guest(t->ns_sock, text, strlen(text));
	uint32_t len = guest_recv_udp(t, buf, sizeof(buf));
	ASSERT_UEQ(len, strlen(text));
	ASSERT_EQ(memcmp(buf, text, len), 0);
}

/* count datagrams sent to the guest before it reads any: more than its receive buffer
 * holds, so the rest wait in the backend; the guest gets every one, in order. */
static void burst_to_guest(struct net_env *t, unsigned count)
{
	char text[32];
	uint8_t buf[64];

	for (unsigned i = 0; i < count; i++) {
		int n = snprintf(text, sizeof(text), "to the guest %u", i);
		udp_to_guest(t->ns_sock, text, (size_t)n);
	}
	for (unsigned i = 0; i < count; i++) {
		uint32_t len = guest_recv_udp(t, buf, sizeof(buf) - 1);
		buf[len] = 0;
		unsigned k;
		ASSERT_EQ(sscanf((char *)buf, "to the guest %u", &k), 1);
		ASSERT_UEQ(k, i); /* none lost, none swapped */
	}
}

/* A burst of count datagrams, more than any backend queue holds, sent as fast as the
 * guest's sections free up: the backend pushes back (the packets wait in the guest's
 * ring) instead of dropping, so the namespace's socket gets every one. */
static void burst_to_ns(struct net_env *t, unsigned count)
{
	static bool seen[1024];
	int big = 8 << 20;
	uint8_t f[128];
	char text[32];

	ASSERT_LE(count, 1024);
	memset(seen, 0, sizeof(seen));
	(void)setsockopt(t->ns_sock, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	for (unsigned i = 0; i < count; i++) {
		snprintf(text, sizeof(text), "burst %u", i);
		uint32_t len = udp_frame(f, 4001, text, (uint32_t)strlen(text), false);
		int r;
		while ((r = sim_net_send_frame(&t->n, 0, f, len, NULL)) == -EAGAIN)
			ASSERT_OK(sim_net_poll(&t->n, 0, true, &t->n.scratch));
		ASSERT_GE(r, 0);
	}
	ASSERT_EQ(sim_net_flush(&t->n), 0);
	for (unsigned i = 0; i < count; i++) {
		unsigned k;
		ssize_t r = recv(t->ns_sock, text, sizeof(text) - 1, 0);
		ASSERT_GT(r, 0); /* a timeout here is a frame lost on the way */
		text[r] = 0;
		ASSERT_EQ(sscanf(text, "burst %u", &k), 1);
		ASSERT_LT(k, count);
		ASSERT_FALSE(seen[k]);
		seen[k] = true;
	}
}

/* `mhcl net capture -c COUNT > path` in the background. */
static pid_t capture_start(struct sim_env *e, unsigned count, const char *path)
{
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char env[160], n[16];
		snprintf(env, sizeof(env), "MHCL_DIAG=unix:%s/diag.sock", e->dir);
		putenv(env);
		snprintf(n, sizeof(n), "%u", count);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(126);
		execl(mhcl_cli, "mhcl", "net", "capture", "-c", n, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The pcap file holds a file header and whole-frame records, among them one carrying
 * first and a later one carrying second (the kernel may add frames of its own). */
static void check_pcap(const char *path, const char *first, const char *second)
{
	static uint8_t buf[16384];
	const char *want[2] = {first, second};
	int found = 0;
	int fd = open(path, O_RDONLY);
	ASSERT_GE(fd, 0);
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	ASSERT_GE(n, 24);
	uint32_t magic, linktype;
	memcpy(&magic, buf, 4);
	memcpy(&linktype, buf + 20, 4);
	ASSERT_UEQ(magic, 0xa1b2c3d4u);
	ASSERT_UEQ(linktype, 1);
	size_t at = 24;
	while (at < (size_t)n) {
		uint32_t caplen, len;
		ASSERT_LE(at + 16, (size_t)n);
		memcpy(&caplen, buf + at + 8, 4);
		memcpy(&len, buf + at + 12, 4);
		ASSERT_UEQ(caplen, len);
		at += 16;
		ASSERT_LE(at + caplen, (size_t)n);
		if (found < 2 && memmem(buf + at, caplen, want[found], strlen(want[found])))
			found++;
		at += caplen;
	}
	ASSERT_EQ(found, 2);
}

/* ---- cases ---- */

static void test_linux_path(void)
{
	static struct net_env t;
	static struct sim_net_frame f;
	struct vmbus_msg_offer_channel subs[4];
	uint8_t frame[64];

	start(&t);
	init_all(&t);
	ASSERT_UEQ(t.n.max_frame, 1500);
	ASSERT_EQ(memcmp(t.n.mac, guest_mac, 6), 0);
	ASSERT_EQ(t.n.hwcaps.header.type, NDIS_OBJECT_TYPE_OFFLOAD);
	ASSERT_UEQ(t.n.link_speed, 10000ull * 1000000u / 100u);
	ASSERT_UEQ(t.n.rss_queues, 2);
	ASSERT_GE(t.n.num_sub_allocs, 64);
	ASSERT_UEQ(t.n.section_size, 6144);

	/* ARP: the kernel answers the guest through the receive buffer. */
	ASSERT_GE(sim_net_send_frame(&t.n, 0, frame, arp_request(frame), NULL), 0);
	ASSERT_EQ(sim_net_flush(&t.n), 0);
	for (;;) {
		ASSERT_OK(sim_net_recv_frame(&t.n, true, &f));
		if (f.len >= 42 && get16(f.data + 12) == 0x0806 && get16(f.data + 20) == 2)
			break;
	}
	ASSERT_EQ(memcmp(f.data, guest_mac, 6), 0);
	ASSERT_EQ(memcmp(f.data + 22, tap_mac, 6), 0); /* sender hardware address */
	ASSERT_UEQ(get16(f.data + 28) << 16 | get16(f.data + 30), HOST_IP);
	ASSERT_UEQ(get16(f.data + 38) << 16 | get16(f.data + 40), GUEST_IP);

	/* UDP both ways: section, GPA-direct and checksum offload (by the TAP's kernel, or
	 * by the MANA device). */
	guest_to_ns(&t, 0, false, false, "hello from the guest");
	guest_to_ns(&t, 0, true, false, "hello through page ranges");
	guest_to_ns(&t, 0, false, true, "checksum finished by the host");
	ns_to_guest(&t, "hello from the namespace");
	burst_to_ns(&t, 600);
	/* A busy channel was polled (its guest signals masked), not signalled per packet. */
	static char out[32768];
	unsigned long windows = 0;
	ASSERT_EQ(
	    sim_env_mhcl(&t.e, mhcl_cli, out, sizeof(out), "inspect", "net/poll", (char *)NULL), 0);
	const char *w = strstr(out, "windows: ");
	ASSERT_TRUE(w && sscanf(w, "windows: %lu", &windows) == 1);
	ASSERT_GT(windows, 0);
	/* Frames the guest's buffer could not take yet waited in the backend, and came
	 * after in order; from a TAP, several per read (net_tap_ring.h). */
	burst_to_guest(&t, 400);
	if (!sim_netenv_mana) {
		ASSERT_EQ(
		    sim_env_mhcl(&t.e, mhcl_cli, out, sizeof(out), "inspect", "net", (char *)NULL),
		    0);
		ASSERT_TRUE(strstr(out, "tap_batched: true"));
		unsigned long long frames = sim_inspect_sum(out, "rx_frames"),
				   reads = sim_inspect_sum(out, "rx_reads");
		printf("# TAP to the guest: %llu frames in %llu reads\n", frames, reads);
		ASSERT_GT(frames, reads);
	}

	/* A sub-channel: granted, offered, opened, and it carries frames to the TAP. */
	ASSERT_EQ(sim_net_subchannels(&t.n, 1, subs), 1);
	ASSERT_UEQ(subs[0].sub_channel_index, 1);
	ASSERT_OK(sim_net_open_sub(&t.n, &subs[0], SUB_RING_PFN, RING_PAGES, RING_PAGES / 2));
	guest_to_ns(&t, 1, false, false, "hello on the sub-channel");
	guest_to_ns(&t, 1, true, true, "sub-channel, page ranges, offload");
	ns_to_guest(&t, "to the guest with two channels");

	/* mhcl net capture: one frame each way, in a pcap file with their bytes. */
	char pcap[160];
	snprintf(pcap, sizeof(pcap), "%s/capture.pcap", t.e.dir);
	off_t mark = sim_log_mark();
	pid_t cap = capture_start(&t.e, 3, pcap); /* the third ends after 2 s without one */
	sim_log_wait(mark, "capture armed");
	guest_to_ns(&t, 0, false, false, "captured on the way out");
	ns_to_guest(&t, "captured on the way in");
	int st;
	ASSERT_EQ(waitpid(cap, &st, 0), cap);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	check_pcap(pcap, "captured on the way out", "captured on the way in");
	ASSERT_EQ(sim_env_child(t.e.init, "mhcl-netd"), t.netd);
	stop(&t);
}

/* Sends a section message (RNDIS bytes as given, section_size as given) and returns the
 * completion's status. */
static uint32_t section_status(struct net_env *t, unsigned c, uint32_t type, const void *msg,
			       uint32_t len)
{
	int s = sim_net_send_section(&t->n, c, type, msg, len);
	ASSERT_GE(s, 0);
	ASSERT_GE(sim_net_flush(&t->n), 0);
	return t->n.last_comp_status;
}

/* The completion of trans_id on channel c (other packets set aside). */
static uint32_t completion(struct net_env *t, unsigned c, uint64_t id, uint32_t type)
{
	struct sim_net_msg *m = &t->n.scratch;
	for (;;) {
		ASSERT_OK(sim_net_poll(&t->n, c, true, m));
		if (m->kind == SIM_NET_COMPLETION && m->trans_id == id)
			break;
	}
	ASSERT_UEQ(m->nvsp.type, type);
	return m->nvsp.rndis_pkt_complete.status;
}

/* The server refused it with that reason, kept running, and the channel still works. */
static void still_serving(struct net_env *t, off_t mark, const char *why)
{
	sim_log_wait(mark, why);
	ASSERT_EQ(sim_env_child(t->e.init, "mhcl-netd"), t->netd);
	guest_to_ns(t, 0, false, false, "still serving");
}

static void test_hostile(void)
{
	static struct net_env t;
	struct vmbus_msg_offer_channel subs[4];
	uint8_t buf[2200];
	off_t mark;

	start(&t);
	init_all(&t);
	ASSERT_EQ(sim_net_subchannels(&t.n, 1, subs), 1);
	ASSERT_OK(sim_net_open_sub(&t.n, &subs[0], SUB_RING_PFN, RING_PAGES, RING_PAGES / 2));

	/* NVSP: too short for a type, an unknown type. No completion, a log line. */
	mark = sim_log_mark();
	ASSERT_OK(sim_net_send_raw(&t.n, 0, 1, true, "\x01\x00", 2));
	still_serving(&t, mark, "refused a packet: too short for its NVSP message type");
	mark = sim_log_mark();
	struct netvsp_message m = {.type = 999};
	ASSERT_OK(sim_net_send_raw(&t.n, 0, 2, true, &m, sizeof(m)));
	still_serving(&t, mark, "refused a packet: not an NVSP message a guest sends");

	/* RNDIS control messages whose length or information buffer lie. */
	struct {
		struct rndis_header h;
		struct rndis_oid_req q;
		uint32_t v;
	} __attribute__((packed)) q = {{RNDIS_MSG_SET, 4000},
				       {.req_id = 9,
					.oid = RNDIS_OID_GEN_CURRENT_PACKET_FILTER,
					.info_len = 4,
					.info_offset = 20},
				       0xf};
	mark = sim_log_mark();
	ASSERT_UEQ(section_status(&t, 0, NETVSP_CHANNEL_CONTROL, &q, sizeof(q)),
		   NETVSP_STATUS_FAILURE);
	still_serving(&t, mark, "refused an RNDIS control message");
	q.h.len = sizeof(q);
	q.q.info_offset = 1000;
	mark = sim_log_mark();
	ASSERT_UEQ(section_status(&t, 0, NETVSP_CHANNEL_CONTROL, &q, sizeof(q)),
		   NETVSP_STATUS_FAILURE);
	still_serving(&t, mark, "refused an RNDIS control message");

	/* A data packet whose per-packet info runs past the message. */
	uint8_t frame[64];
	uint32_t flen = udp_frame(frame, 4001, "x", 1, false);
	int len = sim_net_build_packet(buf, sizeof(buf), frame, flen, NULL);
	ASSERT_GT(len, 0);
	struct rndis_packet p;
	memcpy(&p, buf + RNDIS_HEADER_SIZE, sizeof(p));
	p.ppi_offset = sizeof(p);
	p.ppi_len = 4000;
	memcpy(buf + RNDIS_HEADER_SIZE, &p, sizeof(p));
	mark = sim_log_mark();
	ASSERT_UEQ(section_status(&t, 0, NETVSP_CHANNEL_DATA, buf, (uint32_t)len),
		   NETVSP_STATUS_FAILURE);
	still_serving(&t, mark, "refused an RNDIS data packet: per-packet info outside");

	/* A send-buffer section outside the send buffer. */
	mark = sim_log_mark();
	ASSERT_OK(sim_net_send_rndis_pkt(&t.n, 0, 3, NETVSP_CHANNEL_DATA, t.n.sections + 5, 64));
	ASSERT_UEQ(completion(&t, 0, 3, NETVSP_MSG_SEND_RNDIS_PKT_COMPLETE), NETVSP_STATUS_FAILURE);
	still_serving(&t, mark, "a send-buffer section outside the send buffer");

	/* GPA ranges outside guest RAM. */
	uint64_t far = (SIM_TEST_RAM >> 12) + 100;
	struct vmbus_ring_gpa range = {.byte_count = 100, .pfn_count = 1, .pfns = &far};
	struct netvsp_message r = {.type = NETVSP_MSG_SEND_RNDIS_PKT};
	r.rndis_pkt.section_index = NETVSP_NO_SECTION;
	mark = sim_log_mark();
	ASSERT_OK(sim_net_send_gpa(&t.n, 0, 4, &r, sizeof(r), &range, 1));
	ASSERT_UEQ(completion(&t, 0, 4, NETVSP_MSG_SEND_RNDIS_PKT_COMPLETE), NETVSP_STATUS_FAILURE);
	still_serving(&t, mark, "pages are outside guest RAM");

	/* A frame over the MTU, without LSO. */
	static uint8_t big[2000];
	uint32_t blen = udp_frame(big, 4002, buf, 1900, false);
	mark = sim_log_mark();
	ASSERT_GE(sim_net_send_frame(&t.n, 0, big, blen, NULL), 0);
	ASSERT_EQ(sim_net_flush(&t.n), 1);
	still_serving(&t, mark, "frame over the MTU without LSO");

	/* An ack for a receive the guest does not hold. */
	mark = sim_log_mark();
	ASSERT_OK(sim_net_send_ack(&t.n, 0, 4000, NETVSP_STATUS_SUCCESS));
	still_serving(&t, mark, "refused an ack");

	/* SUBCHANNEL on a sub-channel. */
	struct netvsp_message sc = {.type = NETVSP_MSG_SUBCHANNEL}, ans;
	sc.subchannel.op_or_status = NETVSP_SUBCHANNEL_ALLOCATE;
	sc.subchannel.num = 1;
	mark = sim_log_mark();
	ASSERT_OK(sim_net_request(&t.n, 1, &sc, &ans));
	ASSERT_UEQ(ans.type, NETVSP_MSG_SUBCHANNEL);
	ASSERT_UEQ(ans.subchannel.op_or_status, NETVSP_STATUS_FAILURE);
	still_serving(&t, mark, "refused a sub-channel request: sent on a sub-channel");

	/* Receives still work too. */
	ns_to_guest(&t, "after the hostile guest");
	stop(&t);
}

/* Sends n datagrams (sequence numbers from first) to the guest, one per millisecond. */
static pid_t send_stream(unsigned first, unsigned n)
{
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid)
		return pid;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (unsigned i = 0; i < n; i++) {
		char msg[32];
		int len = snprintf(msg, sizeof(msg), "seq %u", first + i);
		struct sockaddr_in to = {.sin_family = AF_INET,
					 .sin_port = htons(GUEST_PORT),
					 .sin_addr.s_addr = htonl(GUEST_IP)};
		if (sendto(fd, msg, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)) != len)
			_exit(1);
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	_exit(0);
}

static void test_restart(void)
{
	enum { N = 300 };
	static struct net_env t;
	struct vmbus_msg_offer_channel subs[4];
	static bool seen[2 * N];
	uint8_t buf[64];
	off_t mark;

	start(&t);
	init_all(&t);
	ASSERT_EQ(sim_net_subchannels(&t.n, 1, subs), 1);
	ASSERT_OK(sim_net_open_sub(&t.n, &subs[0], SUB_RING_PFN, RING_PAGES, RING_PAGES / 2));
	ns_to_guest(&t, "before");

	for (int round = 0; round < 2; round++) {
		bool planned = round == 0;
		mark = sim_log_mark();
		pid_t sender = send_stream((unsigned)round * N, N);
		nanosleep(&(struct timespec){.tv_nsec = 50 * 1000000}, NULL);
		ASSERT_EQ(cli(&t.e, planned ? "restart" : "kill"), 0);
		sim_log_wait(mark, planned ? "adopted the network state of the previous "
					     "instance (planned restart)"
					   : "adopted the network state of the previous "
					     "instance (it crashed)");
		sim_log_wait(mark, serving_adopted);
		if (sim_netenv_mana)
			sim_log_wait(mark, "adopted live (no HWC command, no reset)");
		sim_log_wait(mark, "channel 0 (relid");
		int st;
		ASSERT_EQ(waitpid(sender, &st, 0), sender);
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		pid_t now = sim_env_child(t.e.init, "mhcl-netd");
		ASSERT_GT(now, 0);
		ASSERT_NE(now, t.netd);
		t.netd = now;
		/* A marker after the stream; the TAP spreads flows over its queues, so stragglers
		 * of the stream may still come after it for a while. */
		udp_to_guest(t.ns_sock, "end of stream", 13);
		unsigned got = 0, idle = 0;
		bool marker = false;
		while (!(marker && (planned ? got == N : idle >= 50))) {
			unsigned seq;
			int len = guest_try_recv_udp(&t, buf, sizeof(buf) - 1, !marker || planned);
			if (len < 0) { /* nothing now: 10 ms more, 500 ms in all */
				idle++;
				nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000}, NULL);
				continue;
			}
			buf[len] = 0;
			if (!strcmp((char *)buf, "end of stream")) {
				marker = true;
				continue;
			}
			ASSERT_EQ(sscanf((char *)buf, "seq %u", &seq), 1);
			ASSERT_TRUE(seq >= (unsigned)round * N && seq < (unsigned)(round + 1) * N);
			ASSERT_FALSE(seen[seq]); /* never twice */
			seen[seq] = true;
			got++;
		}
		fprintf(stderr,
			"net sim: %u of %u datagrams sent across the %s reached the guest\n", got,
			N, planned ? "planned restart" : "kill");
		/* Both ways still work, with nothing renegotiated. */
		ASSERT_FALSE(sim_log_has(mark, "NVSP version"));
		ASSERT_FALSE(sim_log_has(mark, "receive buffer: GPADL"));
		guest_to_ns(&t, 0, false, false, "after, primary");
		guest_to_ns(&t, 1, true, false, "after, sub-channel");
		char tag[32];
		snprintf(tag, sizeof(tag), "after round %d", round);
		ns_to_guest(&t, tag);
	}
	ASSERT_TRUE(sim_log_has(0, "adopted"));
	if (sim_netenv_mana) {
		static char out[8192];
		ASSERT_EQ(sim_env_mhcl(&t.e, mhcl_cli, out, sizeof(out), "inspect", "net/mana",
				       (char *)NULL),
			  0);
		ASSERT_TRUE(strstr(out, "adopted_live: true"));
		ASSERT_TRUE(strstr(out, "stale_tx_completions:"));
		ASSERT_TRUE(strstr(out, "bad_cqes: 0"));
	}
	stop(&t);
}

/* MANA mode: the GDMA/MANA test device in its own process, its vPort on the TAP. */
static const char *emu_path;
static char emu_sock[128];

static pid_t start_emulator(const char *emu, const char *sock)
{
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* A failed assertion ends the test at once: the device goes with it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(sim_log_fd, STDERR_FILENO);
		/* A slow wire: the guest's bursts fill the TX queue (burst_to_ns). */
		execl(emu, "mhcl-gdma-emu", "--socket", sock, "--tap", TAP, "--mac",
		      "02:00:00:00:00:01", "--tx-delay-ms", "20", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 20000 && access(sock, F_OK) != 0; i++)
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	ASSERT_OK(access(sock, F_OK));
	return pid;
}

/* The device's counters as it logs them whenever a client leaves, and once more on
 * SIGTERM (mhcl-gdma-emu.c). */
struct emu_stats {
	uint64_t tx, tx_errors, rx, no_wqe, no_rq, truncated, dma_errors, bad_doorbells, bad_wqes,
	    hwc_requests;
};

/* Every stats line the device logged from `from` on: nothing refused, and no HWC request
 * after the first client's bring-up (the later ones adopted the function). Returns how
 * many lines there were. */
static unsigned check_emu_stats(off_t from)
{
	off_t end = lseek(sim_log_fd, 0, SEEK_END);
	char *buf = malloc((size_t)(end - from) + 1);
	struct emu_stats first = {0}, st = {0};
	unsigned n = 0;

	ASSERT_TRUE(buf);
	ssize_t len = pread(sim_log_fd, buf, (size_t)(end - from), from);
	ASSERT_GE(len, 0);
	buf[len] = 0;
	for (const char *p = buf; (p = strstr(p, "mhcl-gdma-emu: info: stats: ")); p++) {
		int k = sscanf(p,
			       "mhcl-gdma-emu: info: stats: tx %" SCNu64 " (errors %" SCNu64
			       "), rx %" SCNu64 " (no wqe %" SCNu64 ", no rq %" SCNu64
			       ", truncated %" SCNu64 "), dma errors %" SCNu64
			       ", bad doorbells %" SCNu64 ", bad wqes %" SCNu64
			       ", hwc requests %" SCNu64,
			       &st.tx, &st.tx_errors, &st.rx, &st.no_wqe, &st.no_rq, &st.truncated,
			       &st.dma_errors, &st.bad_doorbells, &st.bad_wqes, &st.hwc_requests);
		ASSERT_EQ(k, 10);
		ASSERT_UEQ(st.tx_errors, 0);
		ASSERT_UEQ(st.dma_errors, 0);
		ASSERT_UEQ(st.bad_doorbells, 0);
		ASSERT_UEQ(st.bad_wqes, 0);
		if (n++ == 0)
			first = st;
		ASSERT_UEQ(st.hwc_requests, first.hwc_requests);
	}
	free(buf);
	ASSERT_GT(st.tx, 0);
	ASSERT_GT(st.rx, 0);
	fprintf(stderr,
		"net sim (MANA): the device sent %" PRIu64 " and received %" PRIu64
		" frames, %" PRIu64 " HWC requests in all, %" PRIu64
		" frames dropped for want of a posted buffer\n",
		st.tx, st.rx, st.hwc_requests, st.no_wqe);
	return n;
}

/* One case against a fresh device, whose log must show no refusal; returns how many
 * times a client left it (stats lines). */
static unsigned with_emulator(void (*test)(void))
{
	off_t mark = sim_log_mark();
	pid_t emu = start_emulator(emu_path, emu_sock);
	int st;

	test();
	kill(emu, SIGTERM);
	ASSERT_EQ(waitpid(emu, &st, 0), emu);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink(emu_sock);
	return check_emu_stats(mark);
}

int main(int argc, char **argv)
{
	if (argc != 9 && argc != 10) {
		fprintf(stderr,
			"usage: %s INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC NETD_DIR DIAGD_DIR MHCL "
			"[GDMA_EMU]\n",
			argv[0]);
		return 2;
	}
	if (argc == 10) {
		snprintf(emu_sock, sizeof(emu_sock), "/tmp/mhcl-gdma-%d.sock", (int)getpid());
		sim_netenv_mana = emu_sock;
		emu_path = argv[9];
	}
	if (!sim_netenv_init(argv + 1, TAP, 2)) {
		fprintf(stderr, "net sim: skipped\n");
		return 77;
	}
	mhcl_cli = argv[8];
	if (sim_netenv_mana) {
		/* netd -> lib/mana -> vfio-user -> the test device -> the TAP. A fresh device
		 * per case: the first netd of a case brings it up. The device saw its client
		 * leave at least at each restart and kill, and at the end of the case. */
		serving_adopted = "(2 queues, adopted) to the guest";
		ASSERT_GE(with_emulator(test_linux_path), 2);
		ASSERT_GE(with_emulator(test_restart), 4);
		fprintf(stderr, "net sim (MANA): all passed\n");
		return 0;
	}
	test_linux_path();
	test_hostile();
	test_restart();
	fprintf(stderr, "net sim: all passed\n");
	return 0;
}
