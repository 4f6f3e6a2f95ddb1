/* SPDX-License-Identifier: MIT */
/*
 * mhcl-sidecard: drives the sidecar (sidecar/, include/defs/sidecar_defs.h)
 * from Linux user space. Started by init as the server named "sidecar".
 *
 *   mhcl-sidecard [--setup-data DIR] [--mem PATH] [--cpu-sysfs DIR]
 *
 * Before its jail it reads the boot device tree the shim handed Linux
 * (SETUP_DTB in /sys/kernel/boot_params/setup_data), maps every node's control
 * and command pages through /dev/mem (they are e820-reserved, outside System
 * RAM, so STRICT_DEVMEM lets them through), and opens cpuN/online for each
 * sidecar CPU. Then it serves, on its bus channel:
 *   INSPECT                   every node and CPU: owner, state, commands served
 *   IPC_MSG_SIDECAR_CHECKSUM  a work item on one sidecar CPU, checked against
 *                             its own reading of the same memory
 *   IPC_MSG_SIDECAR_ONLINE    IDLE -> REMOVE, wait for REMOVED, then write 1
 *                             to cpuN/online: Linux starts the CPU with its own
 *                             INIT-SIPI-SIPI. One way.
 *
 * Requests reach it from diag through init: the listing is an ordinary
 * inspect of server "sidecar", the two commands are diag message types that
 * init forwards to the server of that name (init/control.c).
 *
 * User space cannot send the request IPI, so the sidecar's poll tick
 * (sidecar/dispatch.c) picks a request up; this server polls the status byte
 * from a timer for the answer (response_vector stays 0). Without a sidecar in
 * the boot tree (a hosted run, mhcl.sidecar=off) it exits 125: nothing to do.
 */
#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "defs/exit_codes.h"
#include "ipc.h"
#include "server.h"
#include "sidecar.pb-c.h"
#include "setup_dtb.h"
#include "sidecar_internal.h"

struct pending {
	bool active;
	uint16_t type;
	uint32_t request_id;
	uint64_t start_us;
	uint64_t handoff_us;
	uint64_t addr, len, expect;
};

struct sidecard {
	struct sidecar sc;
	struct srv *srv;
	uv_loop_t *loop;
	uv_timer_t poll;
	bool polling;
	struct pending pend[SC_MAX_CPUS]; /* indexed like sc.cpus, allocated once */
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static struct sc_cpu *find_cpu(struct sidecar *sc, uint32_t index)
{
	for (uint32_t i = 0; i < sc->ncpus; i++)
		if (sc->cpus[i].index == index)
			return &sc->cpus[i];
	return NULL;
}

static volatile struct sidecar_command_page *cmd_page(struct sidecar *sc, const struct sc_cpu *c)
{
	return &sc->nodes[c->node].cmd[c->slot];
}

static volatile uint8_t *status_byte(struct sidecar *sc, const struct sc_cpu *c)
{
	return &sc->nodes[c->node].ctrl->cpu_status[c->slot];
}

/* Linux's view of cpuN: 1, 0, or -errno (no online file: the boot CPU). */
static int linux_online(const struct sc_cpu *c)
{
	char b[4];
	if (c->online_fd < 0)
		return c->index == 0 ? 1 : -ENOENT;
	ssize_t n = pread(c->online_fd, b, sizeof(b), 0);
	if (n < 1)
		return n < 0 ? -errno : -EIO;
	return b[0] == '1';
}

/* Why a CPU cannot take a command from us, or NULL. */
static const char *not_usable(struct sidecar *sc, const struct sc_cpu *c, int *ret_err)
{
	*ret_err = -EBUSY;
	if (c->owner == SC_OWNER_LINUX) {
		*ret_err = -EALREADY;
		return "is owned by Linux";
	}
	if (c->node < 0 || c->owner != SC_OWNER_SIDECAR) {
		*ret_err = -ENXIO;
		return "is not in the sidecar";
	}
	if (sc->nodes[c->node].broken) {
		*ret_err = -EPROTO;
		return "has a control page that failed validation";
	}
	if (c->stuck) {
		*ret_err = -EPROTO;
		return "did not finish an earlier command; left alone";
	}
	if (c->busy)
		return "is busy with an earlier request";
	return NULL;
}

static void poll_cb(uv_timer_t *t);

static void poll_arm(struct sidecard *d)
{
	if (!d->polling) {
		d->polling = true;
		(void)uv_timer_start(&d->poll, poll_cb, SC_POLL_MS, SC_POLL_MS);
	}
}

static void finish(struct sidecard *d, struct sc_cpu *c, int err)
{
	c->busy = false;
	c->last_result = err;
	d->pend[c - d->sc.cpus].active = false;
	if (err == 0)
		c->ops++;
}

static void reply_err(struct sidecard *d, struct sc_cpu *c, struct pending *p, int err,
		      const char *what)
{
	(void)ipc_chan_reply_error(srv_bus(d->srv), p->request_id, p->type, err, "cpu %u: %s",
				   c->index, what);
	log_warn("cpu %u: %s", c->index, what);
	finish(d, c, err);
}

static void checksum_done(struct sidecard *d, struct sc_cpu *c, struct pending *p, uint8_t st)
{
	volatile struct sidecar_command_page *cp = cmd_page(&d->sc, c);
	/* Read each answer field once, then judge the copies. */
	int32_t result = cp->result;
	uint32_t done = cp->done_seq;
	uint64_t sum = cp->out[0], covered = cp->out[1], served = cp->served;

	if (st != SIDECAR_CPU_IDLE || done != c->seq) {
		d->sc.stats.bad_pages++;
		reply_err(d, c, p, -EPROTO, "the sidecar left an inconsistent answer");
		return;
	}
	if (result != 0) {
		char m[64];
		snprintf(m, sizeof(m), "the sidecar refused the work item (%d)", result);
		reply_err(d, c, p, result < 0 && result > -4096 ? result : -EPROTO, m);
		return;
	}
	Mhcl__SidecarChecksumReply rep = MHCL__SIDECAR_CHECKSUM_REPLY__INIT;
	rep.cpu = c->index;
	rep.addr = p->addr;
	rep.len = p->len;
	rep.checksum = sum;
	rep.verified = sum == p->expect && covered == p->len;
	rep.served = served;
	rep.elapsed_us = now_us() - p->start_us;
	(void)ipc_chan_reply(srv_bus(d->srv), p->request_id, p->type, &rep.base, NULL, 0);
	d->sc.stats.checksums++;
	finish(d, c, rep.verified ? 0 : -EIO);
}

static void online_linux(struct sidecard *d, struct sc_cpu *c, struct pending *p)
{
	uint64_t t0 = now_us();
	/* One bounded syscall on the loop: Linux brings the CPU up (INIT-SIPI-SIPI)
	 * and returns. */
	ssize_t n = pwrite(c->online_fd, "1\n", 2, 0);
	int err = n < 0 ? -errno : 0;
	if (err < 0 && err != -EBUSY) {
		char m[96];
		snprintf(m, sizeof(m), "handed over, but Linux refused to online it: %s",
			 strerror(-err));
		c->owner = SC_OWNER_OFFLINE;
		reply_err(d, c, p, err, m);
		return;
	}
	if (linux_online(c) != 1) {
		c->owner = SC_OWNER_OFFLINE;
		reply_err(d, c, p, -EIO, "handed over, but Linux does not list it online");
		return;
	}
	c->owner = SC_OWNER_LINUX;
	Mhcl__SidecarOnlineReply rep = MHCL__SIDECAR_ONLINE_REPLY__INIT;
	rep.cpu = c->index;
	rep.apic_id = c->apic_id;
	rep.owner = (char *)sidecar_owner_name(c->owner);
	rep.handoff_us = p->handoff_us;
	rep.online_us = now_us() - t0;
	(void)ipc_chan_reply(srv_bus(d->srv), p->request_id, p->type, &rep.base, NULL, 0);
	d->sc.stats.onlines++;
	log_info("cpu %u (APIC ID %u) handed to Linux: sidecar released it in %llu us, online "
		 "took %llu us",
		 c->index, c->apic_id, (unsigned long long)rep.handoff_us,
		 (unsigned long long)rep.online_us);
	finish(d, c, 0);
}

static void poll_cb(uv_timer_t *t)
{
	struct sidecard *d = container_of(t, struct sidecard, poll);
	uint64_t now = now_us();
	bool any = false;

	for (uint32_t i = 0; i < d->sc.ncpus; i++) {
		struct pending *p = &d->pend[i];
		struct sc_cpu *c = &d->sc.cpus[i];
		if (!p->active)
			continue;
		int st = sidecar_cpu_status(&d->sc, c);
		uint8_t busy = p->type == IPC_MSG_SIDECAR_ONLINE ? SIDECAR_CPU_REMOVE : SIDECAR_CPU_RUN;
		if (st == busy) {
			if (now - p->start_us > SC_COMMAND_TIMEOUT_MS * 1000ull) {
				c->stuck = true;
				d->sc.stats.timeouts++;
				reply_err(d, c, p, -ETIMEDOUT,
					  "the sidecar did not answer in time; CPU left alone");
			} else {
				any = true;
			}
			continue;
		}
		if (p->type == IPC_MSG_SIDECAR_CHECKSUM) {
			checksum_done(d, c, p, (uint8_t)st);
		} else if (st == SIDECAR_CPU_REMOVED) {
			p->handoff_us = now - p->start_us;
			online_linux(d, c, p);
		} else {
			d->sc.stats.bad_pages++;
			c->stuck = true;
			reply_err(d, c, p, -EPROTO, "the sidecar answered REMOVE with a bad state");
		}
	}
	if (!any) {
		(void)uv_timer_stop(&d->poll);
		d->polling = false;
	}
}

/* IDLE -> next, ordered after the command page writes. */
static bool post(struct sidecar *sc, struct sc_cpu *c, uint8_t next)
{
	uint8_t idle = SIDECAR_CPU_IDLE;
	return __atomic_compare_exchange_n(status_byte(sc, c), &idle, next, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static bool in_reserved(const struct sidecar *sc, uint64_t addr, uint64_t len)
{
	for (uint32_t i = 0; i < sc->nreserved; i++) {
		const struct sc_range *r = &sc->reserved[i];
		if (addr >= r->base && addr - r->base <= r->size && len <= r->size - (addr - r->base))
			return true;
	}
	return false;
}

static void on_checksum(struct sidecard *d, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__SidecarChecksumRequest *rq = (Mhcl__SidecarChecksumRequest *)ipc_msg_unpack(
	    ch, msg, &mhcl__sidecar_checksum_request__descriptor);
	if (!rq)
		return;
	uint32_t index = rq->cpu;
	uint64_t addr = rq->addr, len = rq->len;
	protobuf_c_message_free_unpacked(&rq->base, NULL);

	struct sc_cpu *c = find_cpu(&d->sc, index);
	const char *why;
	int err;
	if (!c) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -ENOENT, "no cpu %u",
					   index);
		return;
	}
	why = not_usable(&d->sc, c, &err);
	if (why) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, err, "cpu %u %s", index,
					   why);
		d->sc.stats.refused++;
		return;
	}
	/* Isolated: guest and reserved memory stay unread (init refuses the
	 * request first; this holds whoever asks). */
	if (srv_isolated()) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EPERM,
					   "checksum reads reserved memory: refused in isolated mode");
		d->sc.stats.refused++;
		return;
	}
	/* Whole pages only: a checksum over a byte or two gives those bytes away
	 * (diagd refuses such ranges too; this holds whoever asks). */
	if (addr % SIDECAR_PAGE_SIZE || len % SIDECAR_PAGE_SIZE) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EINVAL,
					   "range [0x%llx, +%llu) is not whole %u-byte pages",
					   (unsigned long long)addr, (unsigned long long)len,
					   SIDECAR_PAGE_SIZE);
		d->sc.stats.refused++;
		return;
	}
	if (addr == 0 && len == 0) {
		/* Default: the sidecar image itself, which starts the reserved range that
		 * holds the first control page and is not written after start-up. (The
		 * shim's own range shares an e820 entry with the BIOS area below 1 MiB,
		 * which Linux marks busy, so /dev/mem refuses it.) */
		uint64_t ctrl = d->sc.nodes[0].ctrl_pa;
		for (uint32_t i = 0; i < d->sc.nreserved; i++) {
			const struct sc_range *rr = &d->sc.reserved[i];
			if (ctrl >= rr->base && ctrl - rr->base < rr->size) {
				addr = rr->base;
				len = MIN((uint64_t)SC_CHECKSUM_DEFAULT, ctrl - rr->base);
			}
		}
	}
	if (len == 0 || len > SC_CHECKSUM_MAX || !in_reserved(&d->sc, addr, len) ||
	    addr + len > SIDECAR_CHECKSUM_LIMIT) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EINVAL,
					   "range [0x%llx, +%llu) is not inside the shim's reserved "
					   "memory or is over %u bytes",
					   (unsigned long long)addr, (unsigned long long)len,
					   SC_CHECKSUM_MAX);
		d->sc.stats.refused++;
		return;
	}
	/* Our own reading of the same bytes (reserved memory nobody writes). */
	ssize_t n = pread(d->sc.mem_fd, d->sc.scratch, (size_t)len, (off_t)addr);
	if (n != (ssize_t)len) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, n < 0 ? -errno : -EIO,
					   "unable to read [0x%llx, +%llu) through /dev/mem",
					   (unsigned long long)addr, (unsigned long long)len);
		return;
	}
	struct pending *p = &d->pend[c - d->sc.cpus];
	*p = (struct pending){.active = true, .type = msg->type, .request_id = msg->request_id,
			      .start_us = now_us(), .addr = addr, .len = len,
			      .expect = sidecar_fnv1a(d->sc.scratch, (size_t)len)};
	volatile struct sidecar_command_page *cp = cmd_page(&d->sc, c);
	cp->command = SIDECAR_CMD_CHECKSUM;
	cp->args[0] = addr;
	cp->args[1] = len;
	cp->seq = ++c->seq;
	if (!post(&d->sc, c, SIDECAR_CPU_RUN)) {
		p->active = false;
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EBUSY,
					   "cpu %u is not idle (%s)", index,
					   sidecar_status_name(sidecar_cpu_status(&d->sc, c)));
		return;
	}
	c->busy = true;
	c->last_op = "checksum";
	poll_arm(d);
}

static void on_online(struct sidecard *d, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__SidecarOnlineRequest *rq = (Mhcl__SidecarOnlineRequest *)ipc_msg_unpack(
	    ch, msg, &mhcl__sidecar_online_request__descriptor);
	if (!rq)
		return;
	uint32_t index = rq->cpu;
	protobuf_c_message_free_unpacked(&rq->base, NULL);

	struct sc_cpu *c = find_cpu(&d->sc, index);
	const char *why;
	int err;
	if (!c) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -ENOENT, "no cpu %u",
					   index);
		return;
	}
	why = not_usable(&d->sc, c, &err);
	if (!why && c->online_fd < 0) {
		why = "has no /sys/devices/system/cpu/cpuN/online in Linux";
		err = -ENODEV;
	}
	if (why) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, err, "cpu %u %s", index,
					   why);
		d->sc.stats.refused++;
		return;
	}
	struct pending *p = &d->pend[c - d->sc.cpus];
	*p = (struct pending){.active = true, .type = msg->type, .request_id = msg->request_id,
			      .start_us = now_us()};
	c->busy = true;
	c->last_op = "online";
	if (sidecar_cpu_status(&d->sc, c) == SIDECAR_CPU_REMOVED) {
		/* Released earlier (an online that failed after the hand-off): retry Linux. */
		online_linux(d, c, p);
		return;
	}
	if (!post(&d->sc, c, SIDECAR_CPU_REMOVE)) {
		p->active = false;
		c->busy = false;
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EBUSY,
					   "cpu %u is not idle (%s)", index,
					   sidecar_status_name(sidecar_cpu_status(&d->sc, c)));
		return;
	}
	log_info("cpu %u: asked the sidecar to hand it over", index);
	poll_arm(d);
}

static void on_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct sidecard *d = opaque;

	switch (msg->type) {
	case IPC_MSG_SIDECAR_CHECKSUM:
		on_checksum(d, ch, msg);
		break;
	case IPC_MSG_SIDECAR_ONLINE:
		on_online(d, ch, msg);
		break;
	default:
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
					   "message type %u not supported by the sidecar server",
					   msg->type);
	}
}

static void ops_inspect(struct srv *s, struct inspect_tree *t, Mhcl__Node *root, void *opaque)
{
	struct sidecard *d = opaque;
	struct sidecar *sc = &d->sc;
	uint32_t in_sidecar = 0, idle = 0, in_linux = 0;

	Mhcl__Node *nodes = inspect_dir(t, root, "nodes");
	for (uint32_t i = 0; i < sc->nnodes; i++) {
		const struct sc_node *sn = &sc->nodes[i];
		char name[16];
		snprintf(name, sizeof(name), "%u", i);
		Mhcl__Node *n = inspect_dir(t, nodes, name);
		inspect_u64(t, n, "numa_node", sn->node);
		inspect_strf(t, n, "control_page", "0x%llx", (unsigned long long)sn->ctrl_pa);
		inspect_strf(t, n, "command_pages", "0x%llx", (unsigned long long)sn->shmem_pa);
		inspect_u64(t, n, "cpu_count", sn->cpu_count);
		inspect_str(t, n, "state", sn->broken ? sn->why : "ok");
	}
	Mhcl__Node *cpus = inspect_dir(t, root, "cpus");
	for (uint32_t i = 0; i < sc->ncpus; i++) {
		struct sc_cpu *c = &sc->cpus[i];
		char name[16];
		snprintf(name, sizeof(name), "%u", c->index);
		Mhcl__Node *n = inspect_dir(t, cpus, name);
		int st = c->node >= 0 && !sc->nodes[c->node].broken ? sidecar_cpu_status(sc, c) : -1;
		int lo = linux_online(c);
		inspect_u64(t, n, "apic_id", c->apic_id);
		inspect_u64(t, n, "numa_node", c->numa);
		inspect_str(t, n, "owner", sidecar_owner_name(c->owner));
		inspect_str(t, n, "state", st < 0 ? "-" : sidecar_status_name(st));
		if (lo >= 0)
			inspect_bool(t, n, "linux_online", lo == 1);
		if (st >= 0 && c->owner == SC_OWNER_SIDECAR) {
			volatile struct sidecar_command_page *cp = cmd_page(sc, c);
			uint32_t cmd = cp->command;
			int32_t res = cp->result;
			uint64_t served = cp->served;
			inspect_str(t, n, "last_command", sidecar_command_name(cmd));
			inspect_i64(t, n, "last_result", res);
			inspect_u64(t, n, "served", served);
		}
		inspect_str(t, n, "last_request", c->last_op[0] ? c->last_op : "-");
		inspect_i64(t, n, "last_request_result", c->last_result);
		inspect_u64(t, n, "requests", c->ops);
		inspect_bool(t, n, "stuck", c->stuck);
		if (c->owner == SC_OWNER_SIDECAR) {
			in_sidecar++;
			if (st == SIDECAR_CPU_IDLE)
				idle++;
		} else if (c->owner == SC_OWNER_LINUX) {
			in_linux++;
		}
	}
	inspect_u64(t, root, "cpu_count", sc->ncpus);
	inspect_u64(t, root, "sidecar_cpus", in_sidecar);
	inspect_u64(t, root, "sidecar_idle", idle);
	inspect_u64(t, root, "linux_cpus", in_linux);
	inspect_u64(t, root, "boot_cpus", sc->boot_cpus);
	Mhcl__Node *st = inspect_dir(t, root, "stats");
	inspect_u64(t, st, "checksums", sc->stats.checksums);
	inspect_u64(t, st, "onlines", sc->stats.onlines);
	inspect_u64(t, st, "refused", sc->stats.refused);
	inspect_u64(t, st, "timeouts", sc->stats.timeouts);
	inspect_u64(t, st, "bad_pages", sc->stats.bad_pages);
}

static const struct srv_ops sidecard_ops = {
	.inspect = ops_inspect,
	.on_request = on_request,
};

struct options {
	const char *setup_data, *mem, *cpu_sysfs;
};

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"setup-data", required_argument, NULL, 's'},
		{"mem", required_argument, NULL, 'm'},
		{"cpu-sysfs", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int opt;

	*o = (struct options){"/sys/kernel/boot_params/setup_data", "/dev/mem",
			      "/sys/devices/system/cpu"};
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o->setup_data = optarg;
			break;
		case 'm':
			o->mem = optarg;
			break;
		case 'c':
			o->cpu_sysfs = optarg;
			break;
		case 'h':
			printf("usage: mhcl-sidecard [--setup-data DIR] [--mem PATH] [--cpu-sysfs DIR]\n");
			exit(MHCL_EXIT_OK);
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(-EINVAL, "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* Everything opened by path happens here, before the jail. */
static int discover(struct sidecard *d, const struct options *o)
{
	struct sidecar *sc = &d->sc;
	uint8_t *dtb = NULL;
	size_t len = 0;
	char why[256] = "", entry[PATH_MAX];
	int r;

	r = setup_dtb_read(o->setup_data, SC_DTB_MAX, &dtb, &len, entry, sizeof(entry), why,
			   sizeof(why));
	if (r < 0)
		return r == -ENOENT ? log_error_errno(-ENODEV, "no boot device tree in %s: no sidecar",
						      o->setup_data)
				    : log_error_errno(r, "%s", why);
	r = sidecar_parse_tree(sc, dtb, len, why, sizeof(why));
	free(dtb);
	if (r == -ENODEV)
		return log_error_errno(r, "the boot device tree has no sidecar node: no sidecar");
	if (r < 0)
		return log_error_errno(r, "boot device tree rejected: %s", why);
	sc->mem_fd = open(o->mem, O_RDWR | O_CLOEXEC);
	if (sc->mem_fd < 0)
		return log_error_errno(-errno, "unable to open %s: %m", o->mem);
	r = sidecar_map(sc, sc->mem_fd);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < sc->ncpus; i++) {
		struct sc_cpu *c = &sc->cpus[i];
		char path[128];
		if (c->index == 0)
			continue;
		snprintf(path, sizeof(path), "%s/cpu%u/online", o->cpu_sysfs, c->index);
		c->online_fd = open(path, O_RDWR | O_CLOEXEC);
		if (c->online_fd < 0 && c->node >= 0)
			log_warn("cpu %u: unable to open %s: %m, it cannot be onlined", c->index,
				 path);
	}
	sc->scratch = malloc(SC_CHECKSUM_MAX);
	if (!sc->scratch)
		return -ENOMEM;
	uint32_t parked = 0;
	for (uint32_t i = 0; i < sc->ncpus; i++)
		parked += sc->cpus[i].owner == SC_OWNER_SIDECAR;
	log_info("%u cpus, %u sidecar node(s), %u cpus in the sidecar", sc->ncpus, sc->nnodes,
		 parked);
	return 0;
}

int main(int argc, char **argv)
{
	static struct sidecard d; /* large: static, not on the stack */
	struct options o;
	uv_loop_t loop;
	int r;

	log_set_ident("sidecard");
	if (parse_args(argc, argv, &o) < 0)
		return MHCL_EXIT_USAGE;
	d.sc.mem_fd = -1;
	r = uv_loop_init(&loop);
	if (r < 0) {
		log_error("unable to create the event loop: %s", uv_strerror(r));
		return MHCL_EXIT_SYSCALL;
	}
	d.loop = &loop;
	r = srv_start(&loop, &sidecard_ops, &d, &d.srv);
	if (r < 0) {
		log_error_errno(r, "unable to adopt the bus: %m");
		return MHCL_EXIT_SYSCALL;
	}
	r = discover(&d, &o);
	if (r == -ENODEV)
		return MHCL_EXIT_NO_RESTART;
	if (r < 0)
		return MHCL_EXIT_SYSCALL;
	(void)uv_timer_init(&loop, &d.poll);
	srv_enter_jail(d.srv, "sidecard");
	r = srv_ready(d.srv);
	if (r < 0) {
		log_error_errno(r, "unable to send READY: %m");
		return MHCL_EXIT_SYSCALL;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&d.poll, NULL);
	(void)uv_run(&loop, UV_RUN_NOWAIT);
	r = srv_finish(d.srv);
	(void)uv_loop_close(&loop);
	return r;
}
