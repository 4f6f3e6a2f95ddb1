/* SPDX-License-Identifier: MIT */
/*
 * mhcl-vmbusd: the guest-facing VMBus control plane as its own server under mhcl-init.
 *
 *   mhcl-vmbusd --vp-socket PATH --device-socket PATH [--device-grace-ms MS]
 *               [--device-allow UID=GUID[,GUID...]]... [--device-offer-quota N]
 *               [--trace-guest-messages]
 *
 * The split with mhcl-vp (the worker), chosen so that each side keeps only what it must:
 *
 *   mhcl-vp owns the partition: guest RAM (a memfd), the VPs, the SynIC (SIMP delivery
 *   queues, hypercall exits) and the partition's routing tables. It connects to PATH
 *   (SOCK_SEQPACKET; mhcl-vp --vmbusd PATH) and sends WorkerPartition with the memfd.
 *   vmbusd answers with the message connection ids it claims (1 and 4). The worker then
 *   relays, as bus notifications, every guest HvPostMessage to those ids (WorkerGuestMessage,
 *   answered HV_STATUS_SUCCESS in the guest at once) and where each VP keeps its SynIC
 *   pages (WorkerSynicPages); it posts every VmbusdHostMessage from vmbusd into the VP's SIMP slot.
 *   That is all the worker does for VMBus: a few messages per channel setup.
 *
 *   vmbusd owns the protocol: the connection state machine, offers, GPADLs, opens and
 *   closes (lib/vmbus). When the guest opens a channel, vmbusd gives the
 *   owning device the channel's data path, none of which passes through the worker:
 *     - the ring GPADL (PFNs) and the guest RAM memfd the device maps them from;
 *     - a doorbell eventfd, which the worker registers for the channel's event
 *       connection id (VmbusdEventPortAssign -> KVM_HYPERV_EVENTFD: the guest's
 *       HvSignalEvent signals it inside KVM, no exit to the worker);
 *     - the interrupt path: the target VP's SINT irqfd (WorkerSintIrqfd, fetched once per VP)
 *       and the VP's SIEFP page, where the device sets the relid's flag before writing
 *       the irqfd.
 *   The devices are separate servers (mhcl-icd: heartbeat and shutdown). Each connects to
 *   the --device-socket path before its jail and registers its offers (DeviceOffer);
 *   vmbusd offers them to every partition. On the guest's OPENCHANNEL vmbusd routes a
 *   fresh doorbell eventfd through the worker and sends the device VmbusdChannelOpen with the
 *   ring PFNs, the memfd (first open per partition), the doorbell and the target VP's
 *   irqfd and SIEFP GPA; the guest's OPENCHANNEL_RESULT waits for the device's answer.
 *   A close (guest CLOSECHANNEL, rescind, unload) sends VmbusdChannelClose and completes to the
 *   guest only once the device answered, so the ring GPADL is never torn down under it.
 *   A device that leaves has its channels rescinded (the guest sees RESCIND_CHANNELOFFER;
 *   open ones are closed first) while the other devices go on; a restarted device
 *   registers again and the guest gets fresh offers.
 *
 *   A device server can only touch its own devices. Its identity is the peer uid the
 *   kernel gives for its connection (SO_PEERCRED; init runs each server as its own uid).
 *   --device-allow UID=GUID,... lists the instance GUIDs each uid may offer; once one is
 *   given, a uid without an entry is refused at connect. A sub-channel needs its primary
 *   on the same connection, and --device-offer-quota bounds the offers of one connection
 *   (default 64), so no device can take another's channel while that one restarts, nor
 *   fill the shared offer table. Only the same uid adopts an offer in its grace period.
 *
 * One worker at a time; when it leaves, the partition, the channel table and the
 * irqfds are dropped and the next worker starts a fresh guest connection.
 *
 * Jail: the "vmbusd" profile: after entry vmbusd accepts on its held listeners, creates
 * eventfds and passes fds on (it does not map guest RAM: devices do).
 */
#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defs/exit_codes.h"
#include "ipc.h"
#include "server.h"
#include "vmbusd.h"
#include "vmbusd_policy.h"
#include "vmbusd_store.h"

#define VMBUSD_STATE_NAME "vmbus-state"

static struct vmbusd *vmbusd;
static int fresh_store_fd = -1;
static const char *vp_path, *dev_path_g;

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mhcl-vmbusd --vp-socket PATH --device-socket PATH [--device-grace-ms MS]\n"
	    "                   [--device-allow UID=GUID[,GUID...]]... [--device-offer-quota N]\n"
	    "                   [--trace-guest-messages]\n"
	    "Started by mhcl-init; mhcl-vp --vmbusd PATH and device servers\n"
	    "(mhcl-icd --vmbus-socket PATH) connect to it.\n"
	    "--device-allow: the VMBus instance GUIDs the device server running as UID may\n"
	    "  offer (repeatable); without any, every device may offer anything.\n"
	    "--device-offer-quota: offers per device connection, sub-channels included\n"
	    "  (1..128, default 64).\n"
	    "--trace-guest-messages: log every VMBus message the guest posts and every one\n"
	    "  it is sent (rate limited).\n");
}

static void srv_inspect(struct srv *s, struct inspect_tree *t, Mhcl__Node *root, void *opaque)
{
	(void)opaque;
	if (vmbusd)
		vmbusd_inspect(s, t, root, vmbusd);
}

static void srv_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	(void)opaque;
	if (vmbusd)
		vmbusd_request(ch, msg, vmbusd);
	else
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EAGAIN, "not ready");
}

/* The state an earlier vmbusd recorded, from init's fd store; else the fresh store made
 * at start goes there. */
static int srv_restore(struct srv *s, const uint8_t *buf, size_t len, bool crash, void *opaque)
{
	int fd = srv_stored_fd(s, VMBUSD_STATE_NAME);
	int r = -ENOENT;

	(void)buf;
	(void)len;
	(void)opaque;
	if (fd >= 0) {
		r = vmbusd_adopt_store(vmbusd, fd);
		if (r == 0)
			log_info("took the state the previous vmbusd recorded (%s)",
				 crash ? "it died" : "planned restart");
		else
			log_warn_errno(r, "the recorded state is not usable; starting afresh: %m");
	}
	if (r < 0) {
		r = srv_fd_store(s, VMBUSD_STATE_NAME, fresh_store_fd);
		if (r < 0)
			return log_error_errno(r, "unable to keep the VMBus state: %m");
	}
	r = vmbusd_listen(vmbusd);
	if (r == 0)
		log_info("listening for the worker on %s and for devices on %s", vp_path,
			 dev_path_g);
	return r;
}

static void srv_stop(struct srv *s, void *opaque)
{
	(void)opaque;
	if (vmbusd)
		vmbusd_stop(s, vmbusd);
	else
		uv_stop(srv_loop(s));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"vp-socket", required_argument, NULL, 's'},
	    {"device-socket", required_argument, NULL, 'd'},
	    {"device-grace-ms", required_argument, NULL, 'g'},
	    {"device-allow", required_argument, NULL, 'a'},
	    {"device-offer-quota", required_argument, NULL, 'q'},
	    {"trace-guest-messages", no_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	static const struct srv_ops ops = {
	    .inspect = srv_inspect,
	    .restore = srv_restore,
	    .on_request = srv_request,
	    .stop = srv_stop,
	};
	const char *path = NULL, *dev_path = NULL, *why;
	struct vmbusd_policy policy;
	long grace_ms = -1;
	bool trace = false;
	char *end;
	uv_loop_t loop;
	struct srv *srv;
	int opt, fd, dev_fd, r;

	log_set_ident("mhcl-vmbusd");
	vmbusd_policy_init(&policy);
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (ipc_unix_path_check(optarg) < 0) {
				log_error("--vp-socket: path too long");
				return MHCL_EXIT_USAGE;
			}
			path = optarg;
			break;
		case 'd':
			if (ipc_unix_path_check(optarg) < 0) {
				log_error("--device-socket: path too long");
				return MHCL_EXIT_USAGE;
			}
			dev_path = optarg;
			break;
		case 'g':
			errno = 0;
			grace_ms = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || grace_ms < 0 || grace_ms > 600000) {
				log_error("--device-grace-ms: want 0..600000");
				return MHCL_EXIT_USAGE;
			}
			break;
		case 'a':
			if (vmbusd_policy_add_allow(&policy, optarg, &why) < 0) {
				log_error("--device-allow %s: %s", optarg, why);
				return MHCL_EXIT_USAGE;
			}
			break;
		case 'q':
			if (vmbusd_policy_set_quota(&policy, optarg, &why) < 0) {
				log_error("--device-offer-quota %s: %s", optarg, why);
				return MHCL_EXIT_USAGE;
			}
			break;
		case 'T':
			trace = true;
			break;
		case 'h':
			usage(stdout);
			return MHCL_EXIT_OK;
		default:
			usage(stderr);
			return MHCL_EXIT_USAGE;
		}
	}
	if (!path || !dev_path || optind != argc) {
		usage(stderr);
		return MHCL_EXIT_USAGE;
	}
	r = uv_loop_init(&loop);
	if (r < 0) {
		log_error_errno(r, "unable to create the event loop: %m");
		return MHCL_EXIT_SYSCALL;
	}
	r = srv_start(&loop, &ops, NULL, &srv);
	if (r < 0) {
		log_error_errno(r, "unable to join the bus: %m");
		return MHCL_EXIT_SYSCALL;
	}
	fd = ipc_listen_unix(path, SOCK_SEQPACKET);
	if (fd < 0) {
		log_error_errno(fd, "unable to listen on %s: %m", path);
		srv_set_exit_code(srv, MHCL_EXIT_SYSCALL);
		return srv_finish(srv);
	}
	/* Owner and group: the worker and the device servers run as their own uids in the
	 * run group, which owns init's run dir (setgid, so the socket's group too). */
	if (chmod(path, 0660) < 0)
		log_warn("unable to restrict %s to its owner and group: %m", path);
	dev_fd = ipc_listen_unix(dev_path, SOCK_SEQPACKET);
	if (dev_fd < 0) {
		log_error_errno(dev_fd, "unable to listen on %s: %m", dev_path);
		close(fd);
		srv_set_exit_code(srv, MHCL_EXIT_SYSCALL);
		return srv_finish(srv);
	}
	if (chmod(dev_path, 0660) < 0)
		log_warn("unable to restrict %s to its owner and group: %m", dev_path);
	r = vmbusd_new(&loop, srv, fd, dev_fd, &vmbusd);
	if (r < 0) {
		log_error_errno(r, "unable to start: %m");
		srv_set_exit_code(srv, MHCL_EXIT_SYSCALL);
		return srv_finish(srv);
	}
	if (grace_ms >= 0)
		vmbusd_set_device_grace(vmbusd, (uint32_t)grace_ms);
	vmbusd_set_policy(vmbusd, &policy);
	if (!vmbusd_policy_restricted(&policy))
		log_warn("device offers are not restricted (no --device-allow): any device server "
			 "may offer any channel");
	else
		log_info("device offers restricted to %u uid(s), %u offers per device connection",
			 policy.nentries, policy.quota);
	vmbusd_set_trace(vmbusd, trace);
	struct vmbusd_store *st;
	r = vmbusd_store_create(&st); /* memfd_create and ftruncate are not in the jail */
	if (r < 0) {
		log_error_errno(r, "unable to make the state store: %m");
		srv_set_exit_code(srv, MHCL_EXIT_SYSCALL);
		return srv_finish(srv);
	}
	fresh_store_fd = vmbusd_store_fd(st);
	vmbusd_set_store(vmbusd, st);
	vp_path = path;
	dev_path_g = dev_path;
	srv_enter_jail(srv, NULL);
	r = srv_ready(srv);
	if (r < 0) {
		log_error_errno(r, "readiness handshake failed: %m");
		srv_set_exit_code(srv, MHCL_EXIT_FAILURE);
	} else {
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	r = srv_finish(srv);
	vmbusd_free(vmbusd);
	vmbusd = NULL;
	return r;
}
