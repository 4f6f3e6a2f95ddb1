/* SPDX-License-Identifier: MIT */
/*
 * mhcl-storaged: the guest's synthetic SCSI controllers (VMBus storvsp), served from
 * files, block devices and memory (and NVMe namespaces through lib/nvme).
 *
 *   mhcl-storaged --vmbus-socket PATH [--subchannels N] --disk SPEC [--disk SPEC ...]
 *
 * SPEC is a comma-separated list (the manifest's args name every disk):
 *   file=PATH | memory=SIZE[K|M|G] | nvme=PCI_ADDRESS
 *                                      the backend (one of them): a file or block device,
 *                                      memory, or an NVMe function bound to vfio-pci
 *   nsid=N                             the NVMe namespace (default 1)
 *   controller=N                       the SCSI controller (default 0; one VMBus device each)
 *   lun=N                              its LUN (default: the next free one)
 *   ro                                 read only
 *   absent                             declared detached: `mhcl storage attach` adds it
 *   optional                           a file that does not exist is left out (the host
 *                                      gave no such disk); with every disk left out,
 *                                      exit 125: nothing to serve, not restarted
 *   vendor=S, product=S, serial=S      what INQUIRY says (defaults: "MHCL", "Virtual Disk",
 *                                      and a serial derived from the backend)
 *   wwn=0xHHHHHHHHHHHHHHHH             the NAA identifier in VPD page 0x83 (default:
 *                                      derived from the backend, NAA 3 "locally assigned")
 * Defaults are derived, never random: the guest sees the same disks on every boot.
 *
 * Restart without the guest noticing: every request taken from a ring lives in a
 * crash-consistent memfd that init keeps ("storage-state", stor_state.h) until the guest
 * has its completion. vmbusd keeps the channels open while storaged restarts and hands
 * them back (VmbusdChannelOpen{resume}); the new instance adopts the rings as they stand,
 * settles the one uncertain request per channel and runs again what the last one took
 * and did not answer. A planned stop first stops taking requests and waits (bounded) for
 * those in flight, so a planned restart replays nothing.
 * Jail: the "storaged" profile (io_uring and positional I/O on its disks, eventfds, its
 * held sockets; no open, no connect, no new io_uring: each file disk makes its rings before,
 * restricted to its own files).
 */
#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "defs/exit_codes.h"
#include "disk.h"
#include "ipc.h"
#include "server.h"
#include "srv_state.h"
#include "stor_ctrl.h"
#include "stor_nvme.h"
#include "storage.pb-c.h"
#include "stor_state.h"
#include "vmbusdev.h"

#define STORD_STATE_NAME "storage-state"
#define STORD_MAX_DISKS 64u
#define STORD_MAX_NVME 1u /* init keeps 8 fds per server: 4 per controller, 1 for the state */
/* How long a stop waits for the requests in flight (a guest that stopped reading its ring
 * holds their completions back): well inside init's stop-timeout-ms (5 s by default),
 * which would otherwise kill storaged just as it gives up and hands over. */
#define STORD_STOP_WAIT_MS 2000u
#define STORD_DEFAULT_SUBCHANNELS 4u
/* Long enough to bridge the gaps in a busy guest's stream of requests (a few us, and its
 * vCPU being descheduled now and then: at 50 us the hosted benchmark's server fell back to
 * doorbells often enough to idle a quarter of its CPU at QD 128), short enough that a
 * guest doing a hundred requests a second costs 2% of a CPU. */
#define STORD_DEFAULT_POLL_US 200u
#define STORD_MAX_POLL_US 100000u
/* io_uring rings per file disk beyond one per channel: a guest that reopens a channel
 * gets a fresh one while the old queue still drains. */
#define STORD_SPARE_RINGS 2u

struct disk_spec {
	unsigned controller;
	int lun; /* -1: next free */
	const char *file;
	uint64_t memory;
	int mem_fd;	  /* memory: a fresh memfd, stored once READY; -1 once stored or if kept */
	const char *nvme; /* PCI address */
	unsigned nsid;
	struct stor_nvme *ctrl; /* nvme: its controller */
	bool ro;
	bool absent;
	bool optional;
	const char *vendor, *product, *serial;
	uint64_t wwn;
	bool has_wwn;
	char *copy; /* the spec string, which the fields point into */
};

struct stord {
	uv_loop_t *loop;
	struct srv *srv;
	struct vmbusdev *vmbus;
	bool stopping;
	uint16_t subchannels;
	struct disk_spec specs[STORD_MAX_DISKS];
	unsigned nspecs;
	struct disk *disks[STORD_MAX_DISKS];
	struct stor_nvme *nvme[STORD_MAX_NVME];
	unsigned nnvme;
	unsigned ncontrollers;
	struct stor_ctrl *ctrls[STOR_MAX_CONTROLLERS];
	struct srv_state st; /* the memfd init keeps (stor_state.h) */
	struct stor_state *state;
	bool adopted_state;
	uv_timer_t stop_timer;
	uint32_t poll_us;
	struct busy_poll poll; /* the channels polled while busy */
};

static struct stord stord_state;

/* ---- configuration ---- */

static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	default:
		break;
	}
	if (*end || v == 0 || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*ret = (uint64_t)v << shift;
	return 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

static int parse_disk(char *arg, struct disk_spec *d)
{
	*d = (struct disk_spec){.lun = -1, .nsid = 1, .mem_fd = -1};
	d->copy = strdup(arg);
	if (!d->copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *kv = strtok_r(d->copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		unsigned u;
		if (v)
			*v++ = '\0';
		if (!strcmp(kv, "ro") && !v) {
			d->ro = true;
		} else if (!strcmp(kv, "absent") && !v) {
			d->absent = true;
		} else if (!strcmp(kv, "optional") && !v) {
			d->optional = true;
		} else if (!v || !*v) {
			return log_error_errno(-EINVAL, "--disk: '%s' needs a value", kv);
		} else if (!strcmp(kv, "file")) {
			d->file = v;
		} else if (!strcmp(kv, "nvme")) {
			d->nvme = v;
		} else if (!strcmp(kv, "nsid")) {
			if (parse_uint(v, UINT32_MAX, &d->nsid) < 0 || !d->nsid)
				return log_error_errno(-EINVAL, "--disk: bad nsid '%s'", v);
		} else if (!strcmp(kv, "memory")) {
			if (parse_size(v, &d->memory) < 0)
				return log_error_errno(-EINVAL, "--disk: bad memory size '%s'", v);
		} else if (!strcmp(kv, "controller")) {
			if (parse_uint(v, STOR_MAX_CONTROLLERS - 1, &d->controller) < 0)
				return log_error_errno(-EINVAL, "--disk: controller 0..%u",
						       STOR_MAX_CONTROLLERS - 1);
		} else if (!strcmp(kv, "lun")) {
			if (parse_uint(v, STOR_MAX_LUNS - 1, &u) < 0)
				return log_error_errno(-EINVAL, "--disk: lun 0..%u",
						       STOR_MAX_LUNS - 1);
			d->lun = (int)u;
		} else if (!strcmp(kv, "vendor")) {
			d->vendor = v;
		} else if (!strcmp(kv, "product")) {
			d->product = v;
		} else if (!strcmp(kv, "serial")) {
			d->serial = v;
		} else if (!strcmp(kv, "wwn")) {
			char *end;
			errno = 0;
			d->wwn = strtoull(v, &end, 16);
			if (errno || *end || !d->wwn)
				return log_error_errno(-EINVAL, "--disk: bad wwn '%s'", v);
			d->has_wwn = true;
		} else {
			return log_error_errno(-EINVAL, "--disk: unknown key '%s'", kv);
		}
	}
	if (!!d->file + !!d->memory + !!d->nvme != 1)
		return log_error_errno(-EINVAL,
				       "--disk: give exactly one of file=, memory= and nvme=");
	return 0;
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

/* What INQUIRY says about a disk: the manifest's words, or stable derived ones. */
static void describe_lun(const struct disk_spec *sp, const struct disk *dk, unsigned lun,
			 struct stor_lun *l)
{
	char backend[128];
	if (sp->nvme)
		snprintf(backend, sizeof(backend), "nvme:%s/%u", sp->nvme, sp->nsid);
	else
		snprintf(backend, sizeof(backend), "%s:%s", sp->file ? "file" : "memory",
			 sp->file ? sp->file : "");
	uint64_t h = fnv1a(backend, 0xcbf29ce484222325ull);
	h = fnv1a(sp->file || sp->nvme ? "" : "mem", h ^ ((uint64_t)sp->controller << 8 | lun));
	/* A medium with an identity of its own (an NVMe namespace's NGUID or EUI-64) keeps
	 * its serial and WWN wherever it is attached. */
	for (unsigned i = 0; i < dk->info.id_len; i++)
		h = (h ^ dk->info.id[i]) * 0x100000001b3ull;

	memset(l, 0, sizeof(*l));
	l->lun = (uint8_t)lun;
	l->disk = (struct disk *)dk;
	l->absent = sp->absent;
	copy_str(l->backend, sizeof(l->backend), backend);
	struct scsi_disk *s = &l->scsi;
	s->nblocks = dk->info.nblocks;
	s->block_size = dk->info.block_size;
	uint32_t max = dk->info.max_transfer && dk->info.max_transfer < STOR_MAX_TRANSFER
			   ? dk->info.max_transfer
			   : STOR_MAX_TRANSFER;
	s->max_transfer_blocks = max / dk->info.block_size;
	s->read_only = sp->ro || dk->info.read_only;
	s->can_unmap = dk->info.can_discard && !s->read_only;
	s->write_cache = dk->info.volatile_cache;
	copy_str(s->vendor, sizeof(s->vendor), sp->vendor ? sp->vendor : "MHCL");
	copy_str(s->product, sizeof(s->product), sp->product ? sp->product : "Virtual Disk");
	copy_str(s->revision, sizeof(s->revision), "1.0");
	if (sp->serial)
		copy_str(s->serial, sizeof(s->serial), sp->serial);
	else
		snprintf(s->serial, sizeof(s->serial), "%016llx", (unsigned long long)h);
	uint64_t wwn = sp->has_wwn ? sp->wwn : (0x3ull << 60) | (h & 0x0FFFFFFFFFFFFFFFull);
	for (unsigned i = 0; i < 8; i++)
		s->naa[i] = (uint8_t)(wwn >> (56 - 8 * i));
	s->naa_len = 8;
}

/* The controller of an NVMe spec, opened once per PCI address. */
static int nvme_of(struct stord *d, struct disk_spec *sp)
{
	for (unsigned k = 0; k < d->nnvme; k++) {
		if (!strcmp(stor_nvme_pci(d->nvme[k]), sp->nvme)) {
			sp->ctrl = d->nvme[k];
			return 0;
		}
	}
	if (d->nnvme == STORD_MAX_NVME)
		return log_error_errno(-E2BIG, "at most %u NVMe controller(s)", STORD_MAX_NVME);
	int r = stor_nvme_open(sp->nvme, d->nnvme, d->subchannels + 1u, &d->nvme[d->nnvme]);
	if (r < 0)
		return r;
	sp->ctrl = d->nvme[d->nnvme++];
	return 0;
}

/* Leaves out the optional file disks that do not exist; returns the disks left. */
static unsigned drop_missing_optional(struct stord *d)
{
	unsigned kept = 0;
	for (unsigned i = 0; i < d->nspecs; i++) {
		struct disk_spec *sp = &d->specs[i];
		if (sp->optional && sp->file && access(sp->file, F_OK) < 0 && errno == ENOENT) {
			log_info("disk %s: not there, left out (optional)", sp->file);
			free(sp->copy);
			continue;
		}
		d->specs[kept++] = *sp;
	}
	d->nspecs = kept;
	return kept;
}

/* A memory disk's name in the fd store: room for any index. */
#define MEMORY_NAME_MAX sizeof("memdisk4294967295")

static void memory_name(unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "memdisk%u", i);
}

/*
 * A memory disk lives in a memfd in init's fd store, so what the guest wrote outlives this
 * instance. A kept one comes back with READY (opened then); a fresh one is made here,
 * before the jail (which has no memfd_create), and stored once READY.
 */
static int new_memory_disk(struct stord *d, unsigned i, const char **why)
{
	struct disk_spec *sp = &d->specs[i];
	char name[MEMORY_NAME_MAX];

	memory_name(i, name, sizeof(name));
	if (srv_stored_pending(name))
		return 0;
	*why = "unable to make its memfd";
	int fd = (int)syscall(SYS_memfd_create, "mhcl-memdisk", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)sp->memory) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	*why = "";
	int r = disk_mem_open_fd(fd, sp->memory, 512, &d->disks[i]);
	if (r < 0) {
		close(fd);
		return r;
	}
	sp->mem_fd = fd;
	return 0;
}

/* After READY: the kept memory disks opened, the fresh ones handed to init's store. */
static int keep_memory_disks(struct stord *d)
{
	for (unsigned i = 0; i < d->nspecs; i++) {
		struct disk_spec *sp = &d->specs[i];
		char name[MEMORY_NAME_MAX];
		int r;
		if (!sp->memory)
			continue;
		memory_name(i, name, sizeof(name));
		if (sp->mem_fd >= 0) {
			r = srv_fd_store(d->srv, name, sp->mem_fd);
			close(sp->mem_fd);
			sp->mem_fd = -1;
			if (r < 0)
				return log_error_errno(r, "memory disk %u: unable to keep it: %m",
						       i);
			continue;
		}
		int fd = srv_stored_fd(d->srv, name);
		if (fd < 0)
			return log_error_errno(fd, "memory disk %u: init did not hand it back: %m",
					       i);
		r = disk_mem_open_fd(fd, sp->memory, 512, &d->disks[i]);
		close(fd);
		if (r < 0)
			return log_error_errno(r, "memory disk %u: the kept memfd does not fit: %m",
					       i);
		log_info("memory disk %u: kept from the previous instance", i);
	}
	return 0;
}

/* Before the jail: files, memory, and the NVMe functions (their namespaces become disks
 * after READY, once a kept controller has been adopted). */
static int open_disks(struct stord *d)
{
	for (unsigned i = 0; i < d->nspecs; i++) {
		struct disk_spec *sp = &d->specs[i];
		const char *why = "";
		int r;
		if (sp->controller + 1 > d->ncontrollers)
			d->ncontrollers = sp->controller + 1;
		if (sp->nvme) {
			r = nvme_of(d, sp);
			if (r < 0)
				return r;
			continue;
		}
		if (sp->file)
			/* A queue per channel of the disk's controller. */
			r = disk_file_open(sp->file, sp->ro,
					   d->subchannels + 1u + STORD_SPARE_RINGS, &d->disks[i],
					   &why);
		else
			r = new_memory_disk(d, i, &why);
		if (r < 0)
			return log_error_errno(r, "disk %s: %s: %m",
					       sp->file ? sp->file : "(memory)", why);
	}
	return 0;
}

/* After READY: every NVMe controller adopted (or kept), then its namespaces as disks. */
static int open_nvme_disks(struct stord *d)
{
	for (unsigned k = 0; k < d->nnvme; k++) {
		int r = stor_nvme_attach(d->nvme[k], d->srv);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < d->nspecs; i++) {
		struct disk_spec *sp = &d->specs[i];
		if (!sp->nvme)
			continue;
		int r = stor_nvme_disk(sp->ctrl, sp->nsid, sp->ro, &d->disks[i]);
		if (r < 0)
			return log_error_errno(r, "NVMe %s namespace %u: %m", sp->nvme, sp->nsid);
	}
	return 0;
}

/* ---- the crash-consistent state ---- */

static bool state_fits(const void *map, void *opaque)
{
	const struct stor_state *s = map;
	const struct stord *d = opaque;
	return s->ncontrollers == d->ncontrollers;
}

static int adopt_or_fresh(struct stord *d)
{
	((struct stor_state *)d->st.fresh)->ncontrollers = d->ncontrollers;
	int r = srv_state_adopt(d->srv, &d->st, STORD_STATE_NAME, state_fits, d);
	d->state = d->st.map;
	d->adopted_state = d->st.adopted;
	return r;
}

/* ---- lifecycle ---- */

static int build_controllers(struct stord *d)
{
	unsigned next_lun[STOR_MAX_CONTROLLERS] = {0};
	int r;

	for (unsigned c = 0; c < d->ncontrollers; c++) {
		r = stor_ctrl_new(d->vmbus, d->loop, &d->poll, c, &d->state->ctrl[c],
				  d->subchannels, &d->ctrls[c]);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < d->nspecs; i++) {
		struct disk_spec *sp = &d->specs[i];
		unsigned lun = sp->lun >= 0 ? (unsigned)sp->lun : next_lun[sp->controller];
		struct stor_lun l;
		describe_lun(sp, d->disks[i], lun, &l);
		r = stor_ctrl_add_lun(d->ctrls[sp->controller], &l);
		if (r < 0)
			return log_error_errno(r, "controller %u LUN %u: taken or out of range",
					       sp->controller, lun);
		next_lun[sp->controller] = lun + 1;
		log_info("controller %u LUN %u: %s, %llu blocks of %u bytes%s, serial %s",
			 sp->controller, lun, l.backend, (unsigned long long)l.scsi.nblocks,
			 l.scsi.block_size, l.scsi.read_only ? ", read only" : "", l.scsi.serial);
	}
	for (unsigned c = 0; c < d->ncontrollers; c++) {
		r = stor_ctrl_offer(d->ctrls[c]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int srv_restore(struct srv *s, const uint8_t *buf, size_t len, bool crash, void *opaque)
{
	struct stord *d = opaque;
	int r;

	(void)s;
	(void)buf;
	(void)len;
	r = adopt_or_fresh(d);
	if (r < 0)
		return log_error_errno(r, "unable to keep the storage state: %m");
	if (d->adopted_state)
		log_info("adopted the storage state of the previous instance (%s)",
			 crash ? "it crashed" : "planned restart");
	r = open_nvme_disks(d);
	if (r < 0)
		return r;
	r = keep_memory_disks(d);
	if (r < 0)
		return r;
	r = build_controllers(d);
	if (r < 0)
		return r;
	return vmbusdev_register(d->vmbus);
}

static void vmbus_lost(struct vmbusdev *v, int reason, void *opaque)
{
	struct stord *d = opaque;

	(void)v;
	d->vmbus = NULL;
	if (d->stopping)
		return;
	/* vmbusd restarts with its state: the next storaged joins the next vmbusd and
	 * adopts the channels (and what was in flight) again. */
	log_info("vmbusd went away (%s): exiting so that the next storaged joins the next vmbusd",
		 strerror(-(reason ? reason : -EPIPE)));
	srv_set_exit_code(d->srv, MHCL_EXIT_OK);
	uv_stop(d->loop);
}

static unsigned inflight(const struct stord *d)
{
	unsigned n = 0;
	for (unsigned c = 0; c < d->ncontrollers; c++)
		if (d->ctrls[c])
			n += stor_ctrl_inflight(d->ctrls[c]);
	return n;
}

/* Nothing in flight: after srv_finish storaged only closes its own fds and unmaps, so
 * the next instance may start while this one exits (unmapping guest RAM is slow). With
 * requests still in flight it may not: a write the kernel has not finished could land
 * after the next instance rewrote the block; the process exit waits for them. */
static void stop_now(struct stord *d)
{
	uv_timer_stop(&d->stop_timer);
	srv_handover_at_bus_close(d->srv);
	uv_stop(d->loop);
}

static void on_idle(void *opaque)
{
	struct stord *d = opaque;
	if (d->stopping && inflight(d) == 0) {
		log_info("stopping: every request in flight completed");
		stop_now(d);
	}
}

static void stop_timer_cb(uv_timer_t *t)
{
	struct stord *d = t->data;
	log_warn("stopping with %u requests in flight: the next instance finishes them",
		 inflight(d));
	uv_stop(d->loop);
}

static void srv_stop(struct srv *s, void *opaque)
{
	struct stord *d = opaque;

	(void)s;
	d->stopping = true;
	for (unsigned c = 0; c < d->ncontrollers; c++) {
		if (!d->ctrls[c])
			continue;
		stor_ctrl_quiesce(d->ctrls[c]);
		stor_ctrl_on_idle(d->ctrls[c], on_idle, d);
	}
	if (inflight(d) == 0) {
		stop_now(d);
		return;
	}
	(void)uv_timer_start(&d->stop_timer, stop_timer_cb, STORD_STOP_WAIT_MS, 0);
}

/* IPC_MSG_STORAGE_LUN (mhcl storage attach|detach, through diagd and init). */
static void srv_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct stord *d = opaque;

	if (msg->type != IPC_MSG_STORAGE_LUN) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
					   "storaged does not handle message type %u", msg->type);
		return;
	}
	Mhcl__Storage__StorageLunRequest *m = (Mhcl__Storage__StorageLunRequest *)ipc_msg_unpack(
	    ch, msg, &mhcl__storage__storage_lun_request__descriptor);
	if (!m)
		return;
	Mhcl__Storage__StorageLunReply rep = MHCL__STORAGE__STORAGE_LUN_REPLY__INIT;
	bool changed = false, rescan = false;
	int r = m->controller < d->ncontrollers && d->ctrls[m->controller]
		    ? stor_ctrl_set_present(d->ctrls[m->controller], m->lun, m->present, &changed,
					    &rescan)
		    : -ENOENT;
	if (r < 0) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, r,
					   "controller %u has no LUN %u in the manifest",
					   m->controller, m->lun);
	} else {
		rep.changed = changed;
		rep.rescan = rescan;
		(void)ipc_chan_reply(ch, msg->request_id, msg->type, &rep.base, NULL, 0);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void srv_inspect(struct srv *s, struct inspect_tree *t, Mhcl__Node *root, void *opaque)
{
	struct stord *d = opaque;

	(void)s;
	inspect_bool(t, root, "adopted_state", d->adopted_state);
	inspect_u64(t, root, "in_flight", inflight(d));
	busy_poll_inspect(&d->poll, t, inspect_dir(t, root, "poll"));
	if (d->vmbus)
		vmbusdev_inspect(d->vmbus, t, inspect_dir(t, root, "vmbus"));
	for (unsigned k = 0; k < d->nnvme; k++) {
		char name[16];
		snprintf(name, sizeof(name), "nvme%u", k);
		stor_nvme_inspect(d->nvme[k], t, inspect_dir(t, root, name));
	}
	Mhcl__Node *cs = inspect_dir(t, root, "controllers");
	for (unsigned c = 0; c < d->ncontrollers; c++) {
		char name[16];
		snprintf(name, sizeof(name), "%u", c);
		if (d->ctrls[c])
			stor_ctrl_inspect(d->ctrls[c], t, inspect_dir(t, cs, name));
	}
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mhcl-storaged --vmbus-socket PATH [--subchannels N] [--poll-us N] --disk "
	    "SPEC...\n"
	    "  SPEC: file=PATH|memory=SIZE|nvme=PCI[,nsid=N][,controller=N][,lun=N][,ro][,absent]"
	    "[,optional]\n"
	    "        [,vendor=S][,product=S][,serial=S][,wwn=0xHEX]\n"
	    "Started by mhcl-init; PATH is mhcl-vmbusd's --device-socket.\n"
	    "--poll-us N: a channel that found work is polled (guest signals masked) until\n"
	    "  it finds none for N us (default %u; 0: signals only).\n",
	    STORD_DEFAULT_POLL_US);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"vmbus-socket", required_argument, NULL, 's'},
	    {"disk", required_argument, NULL, 'd'},
	    {"subchannels", required_argument, NULL, 'c'},
	    {"poll-us", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	static const struct srv_ops ops = {
	    .inspect = srv_inspect,
	    .restore = srv_restore,
	    .on_request = srv_request,
	    .stop = srv_stop,
	};
	struct stord *d = &stord_state;
	const char *path = NULL;
	uv_loop_t loop;
	unsigned u;
	int opt, r;

	log_set_ident("mhcl-storaged");
	d->st.fresh_fd = -1;
	d->subchannels = STORD_DEFAULT_SUBCHANNELS;
	d->poll_us = STORD_DEFAULT_POLL_US;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (ipc_unix_path_check(optarg) < 0) {
				log_error("--vmbus-socket: path too long");
				return MHCL_EXIT_USAGE;
			}
			path = optarg;
			break;
		case 'd':
			if (d->nspecs == STORD_MAX_DISKS ||
			    parse_disk(optarg, &d->specs[d->nspecs]) < 0)
				return MHCL_EXIT_USAGE;
			d->nspecs++;
			break;
		case 'c':
			if (parse_uint(optarg, STOR_MAX_CHANNELS - 1, &u) < 0) {
				log_error("--subchannels: 0..%u", STOR_MAX_CHANNELS - 1);
				return MHCL_EXIT_USAGE;
			}
			d->subchannels = (uint16_t)u;
			break;
		case 'p':
			if (parse_uint(optarg, STORD_MAX_POLL_US, &d->poll_us) < 0) {
				log_error("--poll-us: 0..%u", STORD_MAX_POLL_US);
				return MHCL_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return MHCL_EXIT_OK;
		default:
			usage(stderr);
			return MHCL_EXIT_USAGE;
		}
	}
	if (!path || optind != argc || d->nspecs == 0) {
		usage(stderr);
		return MHCL_EXIT_USAGE;
	}
	if (drop_missing_optional(d) == 0) {
		log_info("no disk to serve (every optional one is missing): nothing to do");
		return MHCL_EXIT_NO_RESTART;
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
	r = uv_timer_init(&loop, &d->stop_timer);
	if (r < 0)
		goto fail;
	d->stop_timer.data = d;
	r = busy_poll_init(&d->poll, &loop, d->poll_us);
	if (r < 0)
		goto fail;
	r = open_disks(d);
	if (r < 0)
		goto fail;
	/* Made before the jail (which has no memfd_create). */
	r = srv_state_prepare(&d->st, "mhcl-storage-state", stor_state_size(d->ncontrollers),
			      STOR_STATE_MAGIC);
	if (r < 0)
		goto fail;
	r = vmbusdev_connect(&loop, path, vmbus_lost, d, &d->vmbus);
	if (r < 0) {
		log_error_errno(r, "unable to connect to vmbusd at %s: %m", path);
		goto fail;
	}
	/* ipc_lock stays where an NVMe controller is served: VFIO pins guest RAM (and
	 * charges RLIMIT_MEMLOCK) at each open. Without one, no capability outlives the jail. */
	if (d->nnvme)
		srv_keep_capabilities(d->srv);
	srv_enter_jail(d->srv, NULL);
	r = srv_ready(d->srv);
	if (r < 0) {
		log_error_errno(r, "readiness handshake failed: %m");
		srv_set_exit_code(d->srv, MHCL_EXIT_FAILURE);
	} else {
		log_info("serving %u disks on %u controllers through vmbusd at %s", d->nspecs,
			 d->ncontrollers, path);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	goto out;
fail:
	log_error_errno(r, "unable to start: %m");
	srv_set_exit_code(d->srv, MHCL_EXIT_SYSCALL);
out:
	/* The channels are closed first; the guest RAM is unmapped only after srv_finish has
	 * handed over, so the next instance does not wait for it. */
	struct guestmem ram;
	vmbusdev_free_keep_ram(d->vmbus, &ram);
	for (unsigned c = 0; c < d->ncontrollers; c++) {
		stor_ctrl_free(d->ctrls[c]);
		d->ctrls[c] = NULL; /* nothing later (inspect, stop) reads a freed one */
	}
	if (d->stop_timer.data)
		uv_close((uv_handle_t *)&d->stop_timer, NULL);
	if (d->poll.idle.data)
		busy_poll_close(&d->poll);
	r = srv_finish(d->srv); /* runs the loop until every handle (the disks' queues) closed */
	guestmem_release(&ram);
	for (unsigned i = 0; i < d->nspecs; i++) {
		disk_close(d->disks[i]);
		if (d->specs[i].mem_fd >= 0)
			close(d->specs[i].mem_fd);
		free(d->specs[i].copy);
	}
	for (unsigned k = 0; k < d->nnvme; k++)
		stor_nvme_close(d->nvme[k]); /* it keeps running: init holds its fds */
	(void)uv_loop_close(&loop);
	srv_state_release(&d->st);
	return r;
}
