/* SPDX-License-Identifier: MIT */
/*
 * mhcl-netd's efficiency, hosted, in a private network namespace: a load generator playing
 * hv_netvsc (tests/sim/sim_netvsc.h) against mhcl-netd (under mhcl-init, with mhcl-vmbusd
 * and the sim worker) and its TAP, beside one process writing and reading another TAP
 * directly (writev/read on the tun fd with a virtio net header), in the same run:
 *   guest -> TAP: UDP frames of 64 and 1514 bytes sent as fast as the path takes them for
 *                 SECONDS, counted by a UDP socket in the namespace;
 *   TAP -> guest: a namespace socket sends as fast as it can, the guest (or the raw fd)
 *                 counts what reaches it.
 * Then the restart blackout: a datagram every millisecond from the namespace to the guest
 * across `mhcl restart net` and `mhcl kill net`: the longest gap between arrivals and the
 * datagrams lost. Nothing here asserts on time; the figures are printed as markdown.
 *
 * Usage: net-bench INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC NETD_DIR DIAGD_DIR MHCL [SECONDS]
 */
#include "sim_netenv.h"
#include "sim_netvsc.h"

#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#define TAP "mhclbench0"
#define RAW "mhclraw0"
#define HOST_IP 0x0a000901u  /* 10.0.9.1, netd's TAP */
#define GUEST_IP 0x0a000902u /* 10.0.9.2, the sim guest */
#define RAW_IP 0x0a000801u   /* 10.0.8.1, the raw TAP */
#define PEER_IP 0x0a000802u  /* 10.0.8.2, behind the raw TAP */
#define SINK_PORT 7000
#define GUEST_PORT 5000
#define RING_PFN 0x40u
#define RING_PAGES 256u
#define RECV_PFN 0x200u /* 1024 pages: 4 MiB */
#define SEND_PFN 0x600u /* 256 pages: 1 MiB */

static const char *mhcl_cli;
static double seconds = 2.0;
static pid_t netd;	       /* its CPU time is measured per row */
static double netd_cores;      /* netd's CPU over the last mhcl row's wall time */
static double frames_per_read; /* netd's, over the last TAP -> guest row; 0: not measured */
static double raw_cpu;	       /* the raw process's CPU seconds over its last row */

static double thread_cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static const uint8_t guest_mac[6] = {2, 0, 0, 0, 0, 1}, peer_mac[6] = {2, 0, 0, 0, 0, 2};
static uint8_t tap_mac[6], raw_mac[6];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sh(const char *cmd)
{
	if (system(cmd) != 0)
		TEST_FAIL_("`%s` failed", cmd);
}

static void mac_of(const char *ifname, uint8_t *mac)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(fd, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ASSERT_OK(ioctl(fd, SIOCGIFHWADDR, &ifr));
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

/* ---- the namespace side: a counting sink and a flooding source ---- */

struct sink {
	pthread_t th;
	int fd;
	atomic_bool stop;
	atomic_uint_fast64_t count;
};

static int udp_socket(uint32_t ip, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int big = 32 << 20;
	struct timeval tv = {.tv_usec = 100000};
	ASSERT_GE(fd, 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	ASSERT_OK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip)};
	ASSERT_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	return fd;
}

static void *sink_main(void *arg)
{
	struct sink *s = arg;
	static __thread uint8_t bufs[32][2048];
	(void)sim_env_pin(1); /* the far end: CPU 1, beside the guest */
	struct mmsghdr mm[32];
	struct iovec iov[32];
	for (int i = 0; i < 32; i++) {
		iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
		mm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	while (!atomic_load(&s->stop)) {
		int n = recvmmsg(s->fd, mm, 32, 0, NULL);
		if (n > 0)
			atomic_fetch_add(&s->count, (uint64_t)n);
	}
	return NULL;
}

static void sink_start(struct sink *s, uint32_t ip)
{
	s->fd = udp_socket(ip, SINK_PORT);
	atomic_store(&s->stop, false);
	atomic_store(&s->count, 0);
	ASSERT_OK(pthread_create(&s->th, NULL, sink_main, s));
}

static uint64_t sink_stop(struct sink *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	close(s->fd);
	return atomic_load(&s->count);
}

/*
 * Sends payload-byte datagrams to ip:GUEST_PORT until told to stop (interval_us 0: as fast
 * as the socket takes them), each starting with its sequence number. A flood backs off for
 * SOURCE_BACKOFF_US whenever the TAP it goes through dropped frames since it last looked
 * (its queue was full), as a flow-controlled sender would: frames nobody can take would
 * otherwise cost the CPU it shares with the guest (the raw row's source backs off alike).
 */
#define SOURCE_BACKOFF_US 20
struct source {
	pthread_t th;
	uint32_t ip;
	uint32_t payload;
	long interval_us;
	const char *ifname; /* the TAP the datagrams leave by */
	atomic_bool stop;
	atomic_uint_fast64_t sent;
};

static void *source_main(void *arg)
{
	struct source *s = arg;
	(void)sim_env_pin(1);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint8_t buf[32][1500] = {{0}};
	struct mmsghdr mm[32];
	struct iovec iov[32];
	struct sockaddr_in to = {
	    .sin_family = AF_INET, .sin_port = htons(GUEST_PORT), .sin_addr.s_addr = htonl(s->ip)};
	uint32_t seq = 0;
	int batch = s->interval_us ? 1 : 32;
	char path[96];
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_dropped", s->ifname);
	int dropped_fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned long long dropped = 0, d;
	unsigned turn = 0;

	for (int i = 0; i < 32; i++) {
		iov[i] = (struct iovec){buf[i], s->payload};
		mm[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &to,
						     .msg_namelen = sizeof(to),
						     .msg_iov = &iov[i],
						     .msg_iovlen = 1}};
	}
	while (!atomic_load(&s->stop)) {
		for (int i = 0; i < batch; i++) {
			uint32_t v = seq + (uint32_t)i;
			memcpy(buf[i], &v, sizeof(v));
		}
		int n = sendmmsg(fd, mm, (unsigned)batch, 0);
		if (n > 0) {
			seq += (uint32_t)n;
			atomic_fetch_add(&s->sent, (uint64_t)n);
		}
		if (s->interval_us)
			nanosleep(&(struct timespec){.tv_nsec = s->interval_us * 1000}, NULL);
		else if (n <= 0)
			sched_yield();
		else if (dropped_fd >= 0 && ++turn % 8 == 0) {
			char b[32] = {0};
			if (pread(dropped_fd, b, sizeof(b) - 1, 0) > 0 &&
			    sscanf(b, "%llu", &d) == 1 && d != dropped) {
				dropped = d;
				nanosleep(&(struct timespec){.tv_nsec = SOURCE_BACKOFF_US * 1000},
					  NULL);
			}
		}
	}
	if (dropped_fd >= 0)
		close(dropped_fd);
	close(fd);
	return NULL;
}

static void source_start(struct source *s, const char *ifname, uint32_t ip, uint32_t payload,
			 long interval_us)
{
	s->ifname = ifname;
	s->ip = ip;
	s->payload = payload;
	s->interval_us = interval_us;
	atomic_store(&s->stop, false);
	atomic_store(&s->sent, 0);
	ASSERT_OK(pthread_create(&s->th, NULL, source_main, s));
}

static uint64_t source_stop(struct source *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	return atomic_load(&s->sent);
}

/* ---- the guest ---- */

/* Every packet the primary holds, as hv_netvsc's NAPI poll takes them (the ring's
 * interrupts masked while it reads); waits for an interrupt only when there was none. */
static void reap(struct sim_net *n)
{
	int r, got = 0;

	vmbus_ring_mask_interrupts(&n->ch[0].in);
	while ((r = sim_net_poll(n, 0, false, &n->scratch)) == 0)
		got++;
	ASSERT_EQ(r, -EAGAIN);
	if (!got)
		ASSERT_OK(sim_net_wait(n));
}

/* Frames the guest sent and the sink counted in `seconds`. */
static uint64_t guest_tx(struct sim_net *n, uint32_t frame_len, uint64_t *sent)
{
	static uint8_t frame[1600], payload[1600];
	struct sim_net_udp u = {tap_mac, guest_mac, GUEST_IP, HOST_IP, 4000, SINK_PORT};
	uint32_t len = sim_net_udp_frame(frame, &u, payload, frame_len - 42, false);
	struct sink s;

	ASSERT_UEQ(len, frame_len);
	sink_start(&s, HOST_IP);
	*sent = 0;
	double c0 = sim_env_cpu_seconds(netd), t0 = now();
	for (double end = t0 + seconds; now() < end;) {
		for (int i = 0; i < 64; i++) {
			int r = sim_net_send_frame(n, 0, frame, len, NULL);
			if (r >= 0) {
				(*sent)++;
				continue;
			}
			ASSERT_EQ(r, -EAGAIN);
			if (n->sections_busy == n->sections)
				reap(n); /* every section waits for its completion */
			else		 /* the ring is full: netd drains it on its own */
				nanosleep(&(struct timespec){.tv_nsec = 20000}, NULL);
		}
	}
	ASSERT_GE(sim_net_flush(n), 0);
	netd_cores = (sim_env_cpu_seconds(netd) - c0) / (now() - t0);
	nanosleep(&(struct timespec){.tv_nsec = 200000000}, NULL);
	return sink_stop(&s);
}

/* Frames of frame_len bytes the guest received while the namespace flooded it. */
static uint64_t guest_rx(struct sim_net *n, uint32_t frame_len, uint64_t *sent)
{
	struct source src;
	uint64_t got = 0;

	source_start(&src, TAP, GUEST_IP, frame_len - 42, 0);
	double c0 = sim_env_cpu_seconds(netd), t0 = now();
	/* As hv_netvsc's NAPI poll: every packet there is, the ring's interrupts masked;
	 * a wait for an interrupt only when there was none. */
	for (double end = t0 + seconds; now() < end;) {
		int r, polled = 0;
		vmbus_ring_mask_interrupts(&n->ch[0].in);
		while ((r = sim_net_poll(n, 0, false, &n->scratch)) == 0) {
			polled++;
			if (n->scratch.kind == SIM_NET_RNDIS && n->scratch.len >= 4 &&
			    n->scratch.data[0] == RNDIS_MSG_PACKET)
				got++;
		}
		ASSERT_EQ(r, -EAGAIN);
		if (!polled)
			ASSERT_OK(sim_net_wait(n));
	}
	*sent = source_stop(&src);
	netd_cores = (sim_env_cpu_seconds(netd) - c0) / (now() - t0);
	/* Drain what is still on its way, uncounted. */
	while (sim_net_poll(n, 0, false, &n->scratch) == 0)
		;
	return got;
}

/* ---- the raw TAP baseline ---- */

static int raw_open(void)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), RAW);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	ASSERT_OK(ioctl(fd, TUNSETIFF, &ifr));
	sh("ip addr add 10.0.8.1/24 dev " RAW " && ip link set " RAW " up && "
	   "ip neigh replace 10.0.8.2 lladdr 02:00:00:00:00:02 dev " RAW " nud permanent");
	mac_of(RAW, raw_mac);
	return fd;
}

static uint64_t raw_tx(int fd, uint32_t frame_len, uint64_t *sent)
{
	static uint8_t frame[1600], payload[1600], vnet[10];
	struct sim_net_udp u = {raw_mac, peer_mac, PEER_IP, RAW_IP, 4000, SINK_PORT};
	uint32_t len = sim_net_udp_frame(frame, &u, payload, frame_len - 42, false);
	struct iovec iov[2] = {{vnet, sizeof(vnet)}, {frame, len}};
	struct sink s;

	sink_start(&s, RAW_IP);
	*sent = 0;
	double c0 = thread_cpu();
	for (double end = now() + seconds; now() < end;)
		for (int i = 0; i < 64; i++)
			if (writev(fd, iov, 2) == (ssize_t)(sizeof(vnet) + len))
				(*sent)++;
	raw_cpu = thread_cpu() - c0;
	nanosleep(&(struct timespec){.tv_nsec = 200000000}, NULL);
	return sink_stop(&s);
}

static uint64_t raw_rx(int fd, uint32_t frame_len, uint64_t *sent)
{
	static uint8_t buf[2048];
	struct source src;
	uint64_t got = 0;

	/* Non-blocking reads until the queue is empty, poll only then: what netd does. */
	int fl = fcntl(fd, F_GETFL);
	(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	source_start(&src, RAW, PEER_IP, frame_len - 42, 0);
	double c0 = thread_cpu();
	for (double end = now() + seconds; now() < end;) {
		for (int i = 0; i < 64; i++) {
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r == (ssize_t)(10 + frame_len)) {
				got++;
				continue;
			}
			if (r < 0 && errno == EAGAIN) {
				struct pollfd p = {fd, POLLIN, 0};
				(void)poll(&p, 1, 100);
			}
			break;
		}
	}
	raw_cpu = thread_cpu() - c0;
	*sent = source_stop(&src);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	(void)fcntl(fd, F_SETFL, fl);
	return got;
}

/* ---- restart blackout ---- */

static void cli_later(struct sim_env *e, const char *verb, long delay_ms)
{
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid)
		return;
	char env[160];
	snprintf(env, sizeof(env), "MHCL_DIAG=unix:%s/diag.sock", e->dir);
	putenv(env);
	int null = open("/dev/null", O_WRONLY);
	if (null >= 0)
		dup2(null, STDOUT_FILENO);
	nanosleep(
	    &(struct timespec){.tv_sec = delay_ms / 1000, .tv_nsec = delay_ms % 1000 * 1000000},
	    NULL);
	execl(mhcl_cli, "mhcl", verb, "net", (char *)NULL);
	_exit(127);
}

/* A datagram every ms for 1.5 s, the event at 0.5 s: longest gap from the event on (ms),
 * longest gap before it (the machine's own, with nothing happening to netd), lost, sent. */
static void blackout(struct sim_net *n, struct sim_env *e, const char *verb, double *gap,
		     double *quiet_gap, uint64_t *lost, uint64_t *sent)
{
	enum { MAX = 1 << 16 };
	static bool seen[MAX];
	struct source src;
	double last = 0;
	uint64_t got = 0;

	memset(seen, 0, sizeof(seen));
	*gap = *quiet_gap = 0;
	source_start(&src, TAP, GUEST_IP, 64, 1000);
	cli_later(e, verb, 500);
	double event = now() + 0.5;
	for (double end = event + 1.0; now() < end;) {
		int r = sim_net_poll(n, 0, false, &n->scratch);
		if (r == -EAGAIN) {
			ASSERT_OK(sim_net_wait(n));
			continue;
		}
		ASSERT_OK(r);
		struct sim_net_msg *m = &n->scratch;
		if (m->kind != SIM_NET_RNDIS || m->data[0] != RNDIS_MSG_PACKET)
			continue;
		double t = now();
		double *max = t < event ? quiet_gap : gap;
		if (last && t - last > *max)
			*max = t - last;
		last = t;
		uint32_t seq;
		memcpy(&seq, m->data + m->len - 64, sizeof(seq));
		if (seq < MAX && !seen[seq]) {
			seen[seq] = true;
			got++;
		}
	}
	*sent = source_stop(&src);
	int st;
	(void)wait(&st);
	for (int i = 0; i < 1000; i++) { /* the tail still in flight */
		if (sim_net_poll(n, 0, false, &n->scratch) != 0) {
			nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
			continue;
		}
		struct sim_net_msg *m = &n->scratch;
		uint32_t seq;
		if (m->kind != SIM_NET_RNDIS || m->data[0] != RNDIS_MSG_PACKET)
			continue;
		memcpy(&seq, m->data + m->len - 64, sizeof(seq));
		if (seq < MAX && !seen[seq]) {
			seen[seq] = true;
			got++;
		}
	}
	*gap *= 1000;
	*quiet_gap *= 1000;
	*lost = *sent > got ? *sent - got : 0;
}

/* A counter of netd's TAP queues (mhcl inspect net/nic0/queues), summed. */
static uint64_t netd_rx_counter(struct sim_env *e, const char *key)
{
	static char out[16384];
	if (sim_env_mhcl(e, mhcl_cli, out, sizeof(out), "inspect", "net/nic0/queues",
			 (char *)NULL) != 0)
		return 0;
	return sim_inspect_sum(out, key);
}

static void row(const char *dir, uint32_t len, uint64_t mhcl, uint64_t raw)
{
	double mr = (double)mhcl / seconds, rr = (double)raw / seconds;
	char fpr[16] = "-";
	if (frames_per_read > 0)
		snprintf(fpr, sizeof(fpr), "%.1f", frames_per_read);
	/* CPU per frame: what each side costs, whichever end of the pipeline set the rate. */
	double m_us = mhcl ? netd_cores * seconds / (double)mhcl * 1e6 : 0;
	double r_us = raw ? raw_cpu / (double)raw * 1e6 : 0;
	if (len < 100)
		printf("| %s | %u B | %.0f pkt/s | %.2f | %.2f | %s | %.0f pkt/s | %.2f | %.2f |\n",
		       dir, len, mr, netd_cores, m_us, fpr, rr, r_us, rr ? mr / rr : 0);
	else
		printf(
		    "| %s | %u B | %.2f Gbit/s | %.2f | %.2f | %s | %.2f Gbit/s | %.2f | %.2f |\n",
		    dir, len, mr * len * 8 / 1e9, netd_cores, m_us, fpr, rr * len * 8 / 1e9, r_us,
		    rr ? mr / rr : 0);
}

int main(int argc, char **argv)
{
	static struct sim_net n;
	struct sim_env e;
	uint64_t sent;

	if (argc < 9 || argc > 10) {
		fprintf(stderr,
			"usage: %s INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC NETD_DIR DIAGD_DIR "
			"MHCL [SECONDS]\n",
			argv[0]);
		return 2;
	}
	if (argc == 10)
		seconds = atof(argv[9]) > 0 ? atof(argv[9]) : seconds;
	/* MHCL_BENCH_RX_BATCH=N: netd's --rx-batch (1: one readv per frame), for an A/B. */
	static char batch_args[64];
	const char *batch = getenv("MHCL_BENCH_RX_BATCH");
	if (batch && strspn(batch, "0123456789") == strlen(batch) && *batch) {
		snprintf(batch_args, sizeof(batch_args), "\"--rx-batch\", \"%s\"", batch);
		sim_netenv_netd_args = batch_args;
	}
	if (!sim_netenv_init(argv + 1, TAP, 1)) {
		fprintf(stderr, "net bench: skipped\n");
		return 77;
	}
	mhcl_cli = argv[8];
	sim_env_restarts = true;

	/* netd (and init, vmbusd) on CPU 0; the guest, the sim worker and the far end's
	 * socket on CPU 1. The sim worker relays every interrupt between the guest and netd
	 * through a socket: it stands in for the worker's VPs and KVM's irqfd, which run on
	 * the guest's CPUs, not the servers' (on CPU 0 it took 0.17 of it from netd). The raw
	 * process takes CPU 0 for its rows, its socket CPU 1. */
	(void)sim_env_pin(0);
	sim_env_start(&e);
	(void)sim_env_pin(1);
	netd = sim_env_child(e.init, "mhcl-netd");
	ASSERT_GT(netd, 0);
	(void)sim_env_pin_pid(sim_env_child(e.init, "mhcl-vp-sim"), 1);
	for (int i = 0; i < 20000 && !if_nametoindex(TAP); i++)
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	sh("ip addr add 10.0.9.1/24 dev " TAP " && ip link set " TAP " up && "
	   "ip neigh replace 10.0.9.2 lladdr 02:00:00:00:00:01 dev " TAP " nud permanent");
	mac_of(TAP, tap_mac);
	static const struct hv_guid type = NETVSP_CLASS;
	const struct vmbus_msg_offer_channel *o = sim_guest_find_offer(e.g, &type);
	ASSERT_TRUE(o != NULL);
	ASSERT_OK(sim_net_open(e.g, o, RING_PFN, RING_PAGES, RING_PAGES / 2, &n));
	ASSERT_GE(sim_net_init_nvsp(&n, RECV_PFN, 1024, SEND_PFN, 256), 0);
	ASSERT_OK(sim_net_init_rndis(&n));
	int raw = raw_open();

	printf("| direction | frame | mhcl-netd | netd CPU (cores) | netd us/frame | netd frames "
	       "per read | raw TAP (one process) | raw us/frame | ratio |\n"
	       "|---|---|---|---|---|---|---|---|---|\n");
	static const uint32_t sizes[] = {64, 1514};
	for (unsigned i = 0; i < 2; i++) {
		uint64_t m = guest_tx(&n, sizes[i], &sent);
		(void)sim_env_pin(0);
		uint64_t r = raw_tx(raw, sizes[i], &sent);
		(void)sim_env_pin(1);
		row("guest -> TAP", sizes[i], m, r);
	}
	for (unsigned i = 0; i < 2; i++) {
		uint64_t f0 = netd_rx_counter(&e, "rx_frames"),
			 r0 = netd_rx_counter(&e, "rx_reads");
		uint64_t m = guest_rx(&n, sizes[i], &sent);
		uint64_t df = netd_rx_counter(&e, "rx_frames") - f0,
			 dr = netd_rx_counter(&e, "rx_reads") - r0;
		frames_per_read = dr ? (double)df / (double)dr : 0;
		(void)sim_env_pin(0);
		uint64_t r = raw_rx(raw, sizes[i], &sent);
		(void)sim_env_pin(1);
		row("TAP -> guest", sizes[i], m, r);
	}
	printf("\n| event during a 1 ms datagram stream to the guest | longest gap (ms) | longest "
	       "gap before the event (ms) | lost | sent |\n|---|---|---|---|---|\n");
	static const char *const verbs[] = {"restart", "kill"};
	for (unsigned i = 0; i < 2; i++) {
		double gap, quiet_gap;
		uint64_t lost;
		blackout(&n, &e, verbs[i], &gap, &quiet_gap, &lost, &sent);
		printf("| `mhcl %s net` | %.1f | %.1f | %llu | %llu |\n", verbs[i], gap, quiet_gap,
		       (unsigned long long)lost, (unsigned long long)sent);
	}
	close(raw);
	sim_net_close(&n);
	sim_env_stop(&e);
	return 0;
}
