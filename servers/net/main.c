/* SPDX-License-Identifier: MIT */
/*
 * mhcl-netd: the guest's synthetic NIC (VMBus netvsp: NVSP and RNDIS), served from a TAP
 * interface or from a MANA function through mhcl's own driver.
 *
 *   mhcl-netd --vmbus-socket PATH --tap IFNAME|--mana SPEC [--queues N] [--mac MAC] [--mtu N]
 *             [--link-speed MBPS] [--index N]
 *
 *   --tap IFNAME     the TAP interface (created if missing; multi-queue, vnet header)
 *   --mana SPEC      a MANA function through mhcl's own driver (net_mana.h): vfio-user:PATH
 *                    or a PCI address; its MAC unless --mac; no segmentation offload
 *   --queues N       TAP queues = vRSS channels offered (default 4, 1..6)
 *   --mac MAC        the NIC's address (default: derived from IFNAME, locally
 *                    administered, so the guest sees the same NIC on every boot)
 *   --mtu N          the IP MTU (default 1500, 576..9000)
 *   --link-speed M   what the guest is told, in Mbit/s (default 10000)
 *   --index N        the NIC's number among the guest's NICs (default 0, 0..255): its VMBus
 *                    instance GUID derives from it, so each NIC's server offers its own
 *
 * Restart without the guest noticing: the protocol state (versions, buffers, RNDIS, the
 * receive sub-allocations the guest holds and a journal per channel) lives in a
 * crash-consistent memfd that init keeps ("net-state", net_state.h), and the TAP queues
 * in init's fd store ("tap0".."tapN"), so frames that arrive meanwhile wait in the
 * kernel's queues. With MANA the driver's memfd is kept instead ("mana-mem", and a VFIO
 * function's fds): the next instance adopts the running function, and frames wait in the
 * device's receive buffers (net_mana.h). vmbusd keeps the channels open while netd
 * restarts and hands them back; the new instance adopts the rings and buffers as they
 * stand. The guest's link never goes down.
 * Jail: the "netd" profile (reads and writes on its TAP queues, eventfds, its held
 * sockets; no open: the TAP queues are attached before, or adopted from the store). MANA
 * over vfio-user connects before the jail and adopts inside it with messages on that
 * socket, eventfds and a mapping of the kept memfd; adopting a VFIO function takes VFIO
 * ioctls and config-space reads (pread), which the profile allows (a profile without
 * them would have each instance bring the function up again).
 */
#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defs/exit_codes.h"
#include "ipc.h"
#include "jail.h"
#include "net_nic.h"
#include "net_state.h"
#include "net_mana.h"
#include "net_tap.h"
#include "net_tap_ring.h"
#include "server.h"
#include "srv_state.h"
#include "vmbusdev.h"

#define NETD_STATE_NAME "net-state"
/* init keeps 8 fds per server: the state and up to 6 TAP queues (one spare); with MANA
 * the state, the driver's memfd and a VFIO function's three fds. */
#define NETD_MAX_QUEUES 6u
#define NETD_DEFAULT_QUEUES 4u
/* As storaged: a busy channel is polled, not signalled, until idle this long. */
#define NETD_DEFAULT_POLL_US 200u
#define NETD_MAX_POLL_US 100000u
#define NETD_MAX_INDEX 255u /* the instance GUID has room for 65535; init names 4 NICs at most */
/* Frames read from a TAP queue per system call at most (net_tap_ring.h). */
#define NETD_DEFAULT_RX_BATCH NET_RX_BATCH_MAX

struct netd {
	uv_loop_t *loop;
	struct srv *srv;
	struct vmbusdev *vmbus;
	bool stopping;
	const char *ifname;
	const char *mana_spec;
	struct net_mana *mana;
	unsigned nqueues;
	struct net_nic_config cfg;
	struct net_tap *tap;
	struct net_tap_ring *tap_ring; /* made before the jail; the TAP's once armed */
	bool tap_adopted;
	bool have_mac;
	struct srv_state st;
	struct net_nic *nic;
	struct net_capture *capture;
	unsigned poll_us;
	struct busy_poll poll; /* the channels polled while busy */
};

static struct netd netd_state;

/* ---- configuration ---- */

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned b[6];
	char tail;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	if (mac[0] & 1u) /* a multicast address cannot be a NIC's */
		return -EINVAL;
	return 0;
}

/* Locally administered (02:...), derived from the interface name: stable, never random. */
static void derive_mac(const char *ifname, uint8_t *mac)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = ifname; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	mac[0] = 0x02;
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

/* ---- TAP queues ---- */

static void tap_name(char *buf, size_t len, unsigned q)
{
	snprintf(buf, len, "tap%u", q);
}

/* The TAP goes without batched reads (net_tap_ring.h): said, never fatal. */
static void no_tap_ring(struct netd *d, const char *why, int err)
{
	log_warn("TAP %s: one frame per read towards the guest (%s: %s)", d->ifname, why,
		 strerror(-err));
	d->tap_ring = net_tap_ring_free(d->tap_ring);
}

/* Hands the TAP the ring made before the jail, armed on its queues now. */
static void use_tap_ring(struct netd *d)
{
	const char *why = "";
	if (!d->tap_ring)
		return;
	int r = net_tap_use_ring(d->tap, d->tap_ring, &why);
	if (r < 0)
		no_tap_ring(d, why, r);
	else
		d->tap_ring = NULL; /* the TAP's now */
}

/* From ops->restore: the queues the last instance left in init's fd store, or the fresh
 * ones this instance attached before the jail (handed to the store now). */
static int take_tap(struct netd *d)
{
	int fds[NETD_MAX_QUEUES];
	char name[16];
	int r;

	if (d->tap) {
		for (unsigned q = 0; q < d->nqueues; q++) {
			tap_name(name, sizeof(name), q);
			r = srv_fd_store(d->srv, name, net_tap_fd(d->tap, q));
			if (r < 0)
				return log_error_errno(r, "unable to keep TAP queue %u: %m", q);
		}
		use_tap_ring(d);
		return 0;
	}
	for (unsigned q = 0; q < d->nqueues; q++) {
		tap_name(name, sizeof(name), q);
		fds[q] = srv_stored_fd(d->srv, name);
		if (fds[q] < 0) {
			for (unsigned k = 0; k < q; k++)
				close(fds[k]);
			return log_error_errno(-ENOENT, "init holds no TAP queue %u", q);
		}
	}
	/* Inside the jail by now: the checks use the read-only TUN ioctls its profile allows. */
	r = net_tap_adopt(fds, d->nqueues, &d->tap);
	if (r == 0 && strcmp(net_tap_ifname(d->tap), d->ifname) != 0) {
		d->tap = net_tap_free(d->tap);
		return log_error_errno(-EINVAL,
				       "the stored TAP queues belong to another interface");
	}
	if (r < 0) {
		for (unsigned q = 0; q < d->nqueues; q++)
			close(fds[q]);
		return log_error_errno(r, "the stored TAP queues are not usable: %m");
	}
	d->tap_adopted = true;
	use_tap_ring(d);
	return 0;
}

/* The TAP's root qdisc is a memory matter only (net_tap_qdisc.c): said, never fatal. */
static void log_tap_qdisc(const struct net_tap *t)
{
	const char *kept;
	int r = net_tap_qdisc_result(t, &kept);
	if (r == 1)
		log_info("TAP %s keeps its qdisc %s (not the kernel's default)", net_tap_ifname(t),
			 kept);
	else if (r < 0)
		log_warn_errno(r,
			       "TAP %s: unable to make noqueue its root qdisc (the "
			       "default's per-queue rings stay): %m",
			       net_tap_ifname(t));
}

/* ---- MANA ---- */

/* Adopting a VFIO function happens inside the jail: it takes VFIO ioctls and config-space
 * reads, which not every profile grants. */
static bool jail_can_adopt_vfio(struct srv *s)
{
	const uint32_t need = 1u << JAIL_GROUP_VFIO_IOCTL | 1u << JAIL_GROUP_POSITIONAL_IO;
	int idx = jail_profile_find(srv_policy(s));

	return idx >= 0 && (jail_profile_groups(idx) & need) == need;
}

/* The NIC as the MANA function (up by now) serves it. */
static void configure_mana(struct netd *d)
{
	d->nqueues = net_mana_backend(d->mana)->nqueues;
	if (!d->have_mac)
		net_mana_mac(d->mana, d->cfg.rndis.mac);
	/* The driver copies frames through bounce buffers of one MTU-sized frame. */
	d->cfg.rndis.offload_caps = NET_OFFLOAD_CAP_TX_CSUM | NET_OFFLOAD_CAP_RX_CSUM;
}

/* ---- lifecycle ---- */

static int srv_restore(struct srv *s, const uint8_t *buf, size_t len, bool crash, void *opaque)
{
	struct netd *d = opaque;
	int r;

	(void)s;
	(void)buf;
	(void)len;
	r = srv_state_adopt(d->srv, &d->st, NETD_STATE_NAME, NULL, NULL);
	if (r < 0)
		return log_error_errno(r, "unable to keep the network state: %m");
	if (d->st.adopted)
		log_info("adopted the network state of the previous instance (%s)",
			 crash ? "it crashed" : "planned restart");
	struct net_backend *be;
	if (d->mana) {
		r = net_mana_attach(d->mana, d->srv);
		if (r < 0)
			return r;
		configure_mana(d);
		be = net_mana_backend(d->mana);
	} else {
		r = take_tap(d);
		if (r < 0)
			return r;
		be = net_tap_backend(d->tap);
	}
	d->cfg.rndis.max_queues = d->nqueues;
	d->cfg.max_subchannels = d->nqueues - 1u;
	r = net_nic_new(d->vmbus, d->loop, &d->poll, &d->cfg, d->st.map, be, &d->nic);
	if (r < 0)
		return log_error_errno(r, "unable to set up the NIC: %m");
	net_nic_set_capture(d->nic, d->capture);
	r = net_nic_offer(d->nic);
	if (r < 0)
		return log_error_errno(r, "unable to offer the NIC: %m");
	log_info("serving %s (%u queues%s) to the guest", be->name, be->nqueues,
		 d->tap_adopted || (d->mana && net_mana_adopted(d->mana)) ? ", adopted" : "");
	return vmbusdev_register(d->vmbus);
}

static void vmbus_lost(struct vmbusdev *v, int reason, void *opaque)
{
	struct netd *d = opaque;

	(void)v;
	d->vmbus = NULL;
	if (d->stopping)
		return;
	log_info("vmbusd went away (%s): exiting so that the next netd joins the next vmbusd",
		 strerror(-(reason ? reason : -EPIPE)));
	srv_set_exit_code(d->srv, MHCL_EXIT_OK);
	uv_stop(d->loop);
}

static void srv_stop(struct srv *s, void *opaque)
{
	struct netd *d = opaque;

	(void)s;
	d->stopping = true;
	/* Nothing is in flight between the rings and the TAP queues: frames and guest
	 * packets wait where they are for the next instance. */
	if (d->nic)
		net_nic_quiesce(d->nic);
	uv_stop(d->loop);
}

/* IPC_MSG_NET_CAPTURE (mhcl net capture, through diagd and init). */
static void srv_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct netd *d = opaque;

	if (msg->type != IPC_MSG_NET_CAPTURE) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
					   "netd does not handle message type %u", msg->type);
		return;
	}
	net_capture_request(d->capture, ch, msg);
}

static void srv_inspect(struct srv *s, struct inspect_tree *t, Mhcl__Node *root, void *opaque)
{
	struct netd *d = opaque;

	(void)s;
	inspect_bool(t, root, "adopted_state", d->st.adopted);
	inspect_bool(t, root, "adopted_tap", d->tap_adopted);
	if (d->tap) /* several frames per read towards the guest (net_tap_ring.h) */
		inspect_bool(t, root, "tap_batched", net_tap_batched(d->tap));
	busy_poll_inspect(&d->poll, t, inspect_dir(t, root, "poll"));
	if (d->mana)
		net_mana_inspect(d->mana, t, inspect_dir(t, root, "mana"));
	if (d->vmbus)
		vmbusdev_inspect(d->vmbus, t, inspect_dir(t, root, "vmbus"));
	if (d->nic)
		net_nic_inspect(d->nic, t, inspect_dir(t, root, "nic0"));
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mhcl-netd --vmbus-socket PATH --tap IFNAME|--mana SPEC [--queues N]\n"
		"                 [--mac MAC]\n"
		"                 [--mtu N] [--link-speed MBPS] [--poll-us N] [--rx-batch N]\n"
		"                 [--index N]\n"
		"Started by mhcl-init; PATH is mhcl-vmbusd's --device-socket.\n"
		"--poll-us N: a channel that found work is polled (guest signals masked) until\n"
		"  it finds none for N us (default %u; 0: signals only).\n"
		"--rx-batch N: frames a TAP queue gives per system call at most (default %u;\n"
		"  1: one readv per frame, no io_uring).\n"
		"--index N: the NIC's number, 0..%u (default 0): its VMBus instance GUID.\n",
		NETD_DEFAULT_POLL_US, NETD_DEFAULT_RX_BATCH, NETD_MAX_INDEX);
}

static int parse_args(struct netd *d, int argc, char **argv, const char **path)
{
	static const struct option longopts[] = {
	    {"vmbus-socket", required_argument, NULL, 's'},
	    {"tap", required_argument, NULL, 't'},
	    {"mana", required_argument, NULL, 'M'},
	    {"queues", required_argument, NULL, 'q'},
	    {"mac", required_argument, NULL, 'm'},
	    {"mtu", required_argument, NULL, 'u'},
	    {"link-speed", required_argument, NULL, 'l'},
	    {"poll-us", required_argument, NULL, 'p'},
	    {"rx-batch", required_argument, NULL, 'b'},
	    {"index", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	bool have_mac = false;
	unsigned u;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (ipc_unix_path_check(optarg) < 0) {
				log_error("--vmbus-socket: path too long");
				return -EINVAL;
			}
			*path = optarg;
			break;
		case 't':
			if (!*optarg || strlen(optarg) >= 16) {
				log_error("--tap: an interface name of 1..15 bytes");
				return -EINVAL;
			}
			d->ifname = optarg;
			break;
		case 'q':
			if (parse_uint(optarg, 1, NETD_MAX_QUEUES, &d->nqueues) < 0) {
				log_error("--queues: 1..%u", NETD_MAX_QUEUES);
				return -EINVAL;
			}
			break;
		case 'm':
			if (parse_mac(optarg, d->cfg.rndis.mac) < 0) {
				log_error("--mac: a unicast address like 02:00:00:00:00:01");
				return -EINVAL;
			}
			have_mac = true;
			break;
		case 'u':
			if (parse_uint(optarg, 576, 9000, &d->cfg.rndis.mtu) < 0) {
				log_error("--mtu: 576..9000");
				return -EINVAL;
			}
			break;
		case 'l':
			if (parse_uint(optarg, 1, 400000, &u) < 0) {
				log_error("--link-speed: 1..400000 Mbit/s");
				return -EINVAL;
			}
			d->cfg.rndis.link_speed_bps = (uint64_t)u * 1000000u;
			break;
		case 'p':
			if (parse_uint(optarg, 0, NETD_MAX_POLL_US, &d->poll_us) < 0) {
				log_error("--poll-us: 0..%u", NETD_MAX_POLL_US);
				return -EINVAL;
			}
			break;
		case 'b':
			if (parse_uint(optarg, 1, NET_RX_BATCH_MAX, &d->cfg.rx_batch) < 0) {
				log_error("--rx-batch: 1..%u", NET_RX_BATCH_MAX);
				return -EINVAL;
			}
			break;
		case 'M':
			d->mana_spec = optarg;
			break;
		case 'i':
			if (parse_uint(optarg, 0, NETD_MAX_INDEX, &d->cfg.index) < 0) {
				log_error("--index: 0..%u", NETD_MAX_INDEX);
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			exit(MHCL_EXIT_OK);
		default:
			return -EINVAL;
		}
	}
	if (!*path || !d->ifname == !d->mana_spec || optind != argc)
		return -EINVAL;
	d->have_mac = have_mac;
	if (!have_mac && d->ifname)
		derive_mac(d->ifname, d->cfg.rndis.mac);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct srv_ops ops = {
	    .inspect = srv_inspect,
	    .restore = srv_restore,
	    .on_request = srv_request,
	    .stop = srv_stop,
	};
	struct netd *d = &netd_state;
	const char *path = NULL;
	uv_loop_t loop;
	int r;

	log_set_ident("mhcl-netd");
	d->st.fresh_fd = -1;
	d->nqueues = NETD_DEFAULT_QUEUES;
	d->poll_us = NETD_DEFAULT_POLL_US;
	d->cfg.rx_batch = NETD_DEFAULT_RX_BATCH;
	d->cfg.rndis.mtu = 1500;
	d->cfg.rndis.link_speed_bps = 10000ull * 1000000u;
	d->cfg.rndis.offload_caps =
	    NET_OFFLOAD_CAP_TX_CSUM | NET_OFFLOAD_CAP_TX_LSO | NET_OFFLOAD_CAP_RX_CSUM;
	snprintf(d->cfg.rndis.friendly_name, sizeof(d->cfg.rndis.friendly_name), "mhcl NIC");
	if (parse_args(d, argc, argv, &path) < 0) {
		usage(stderr);
		return MHCL_EXIT_USAGE;
	}
	r = uv_loop_init(&loop);
	if (r < 0) {
		log_error_errno(r, "unable to create the event loop: %m");
		return MHCL_EXIT_SYSCALL;
	}
	d->loop = &loop;
	r = srv_start(&loop, &ops, d, &d->srv);
	if (r < 0) {
		log_error_errno(r, "unable to join the bus: %m");
		return MHCL_EXIT_SYSCALL;
	}
	r = net_capture_new(&loop, &d->capture);
	if (r < 0)
		goto fail;
	r = busy_poll_init(&d->poll, &loop, d->poll_us);
	if (r < 0)
		goto fail;
	/* Made before the jail (which has no memfd_create and no open). */
	r = srv_state_prepare(&d->st, "mhcl-net-state", sizeof(struct net_state), NET_STATE_MAGIC);
	if (r < 0)
		goto fail;
	/* A restarted netd adopts the queues init holds: attaching fresh ones first would
	 * spread the kernel's frames onto queues about to close. */
	if (d->mana_spec) {
		/* Connected now (no connect in the jail); brought up now, or adopted from
		 * init's store in ops->restore. */
		r = net_mana_open(d->mana_spec, d->nqueues, jail_can_adopt_vfio(d->srv), &d->mana);
		if (r < 0) {
			log_error_errno(r, "unable to bring up MANA %s: %m", d->mana_spec);
			goto fail;
		}
	} else {
		/* Made now (no io_uring_setup in the jail), armed once the queues are known. */
		const char *why = "";
		r = d->cfg.rx_batch > 1 ? net_tap_ring_new(&d->tap_ring, &why) : 0;
		if (r < 0)
			no_tap_ring(d, why, r);
		if (!srv_stored_pending("tap0")) {
			r = net_tap_open(d->ifname, d->nqueues, &d->tap);
			if (r < 0) {
				log_error_errno(r, "unable to attach %u queues of TAP %s: %m",
						d->nqueues, d->ifname);
				goto fail;
			}
			log_tap_qdisc(d->tap);
		}
	}
	r = vmbusdev_connect(&loop, path, vmbus_lost, d, &d->vmbus);
	if (r < 0) {
		log_error_errno(r, "unable to connect to vmbusd at %s: %m", path);
		goto fail;
	}
	srv_enter_jail(d->srv, NULL);
	r = srv_ready(d->srv);
	if (r < 0) {
		log_error_errno(r, "readiness handshake failed: %m");
		srv_set_exit_code(d->srv, MHCL_EXIT_FAILURE);
	} else {
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	goto out;
fail:
	log_error_errno(r, "unable to start: %m");
	srv_set_exit_code(d->srv, MHCL_EXIT_SYSCALL);
out:
	if (d->vmbus)
		vmbusdev_free(d->vmbus); /* closes the channels first */
	net_nic_free(d->nic);
	if (d->poll.idle.data)
		busy_poll_close(&d->poll);
	net_capture_free(d->capture);
	r = srv_finish(d->srv);
	net_tap_free(d->tap); /* the queues stay attached: init holds them */
	net_tap_ring_free(d->tap_ring);
	net_mana_free(d->mana);
	(void)uv_loop_close(&loop);
	srv_state_release(&d->st);
	return r;
}
