/* SPDX-License-Identifier: MIT */
#include "stor_nvme.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devaccess.h"
#include "disk_nvme.h"
#include "log.h"
#include "nvme.h"

#define STOR_NVME_DRAIN_MS 5000u

static const char *const kept_names[] = {"ctr", "grp", "dev", "state"};
#define NKEPT (sizeof(kept_names) / sizeof(kept_names[0]))

struct stor_nvme {
	char pci[32];
	unsigned index;
	unsigned nqueues;
	struct devaccess *da;
	struct nvme_ctrl *ctrl;
	bool adopt; /* the group was busy: the last instance's fds are in init's store */
	bool adopted;
	uint64_t stale_seen;
};

static void kept_name(const struct stor_nvme *n, unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "nvme%u-%s", n->index, kept_names[i]);
}

int stor_nvme_open(const char *pci, unsigned index, unsigned nqueues, struct stor_nvme **ret)
{
	struct stor_nvme *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return -ENOMEM;
	snprintf(n->pci, sizeof(n->pci), "%s", pci);
	n->index = index;
	n->nqueues = nqueues > NVME_MAX_IO_QUEUES ? NVME_MAX_IO_QUEUES : nqueues;
	r = devaccess_vfio_open(pci, &n->da);
	if (r == -EBUSY) {
		/* Held by init's fd store (or by another driver: attach finds no fds then). */
		n->adopt = true;
		*ret = n;
		return 0;
	}
	if (r < 0) {
		free(n);
		return log_error_errno(r, "NVMe %s: unable to open it through VFIO: %m", pci);
	}
	struct nvme_opts o = {.nr_io_queues = n->nqueues,
			      .io_queue_depth = STOR_NVME_QUEUE_DEPTH,
			      .state_iova = STOR_NVME_STATE_IOVA};
	r = nvme_ctrl_init(n->da, &o, &n->ctrl);
	if (r < 0) {
		devaccess_close(n->da);
		free(n);
		return log_error_errno(r, "NVMe %s: bring-up failed: %m", pci);
	}
	const struct nvme_ctrl_info *ci = nvme_ctrl_info(n->ctrl);
	log_info("NVMe %s: brought up: %s, serial %s, %u namespaces, %u I/O queues", pci, ci->model,
		 ci->serial, nvme_ctrl_ns_count(n->ctrl), nvme_ctrl_qpair_count(n->ctrl));
	*ret = n;
	return 0;
}

static void on_stale(void *opaque, uint16_t qid, const struct nvme_sqe *sqe, int err)
{
	struct stor_nvme *n = opaque;
	(void)qid, (void)sqe, (void)err;
	n->stale_seen++;
}

static int adopt(struct stor_nvme *n, struct srv *s)
{
	int fds[NKEPT];
	char name[32];
	int r;

	for (unsigned i = 0; i < NKEPT; i++) {
		kept_name(n, i, name, sizeof(name));
		fds[i] = srv_stored_fd(s, name);
	}
	r = -ENOENT;
	for (unsigned i = 0; i < NKEPT; i++)
		if (fds[i] < 0)
			goto fail;
	r = devaccess_vfio_adopt(fds[0], fds[1], fds[2], &n->da);
	if (r < 0)
		goto fail;
	fds[0] = fds[1] = fds[2] = -1;
	struct nvme_adopt_opts o = {
	    .stale_fn = on_stale, .opaque = n, .drain_timeout_ms = STOR_NVME_DRAIN_MS};
	r = nvme_ctrl_adopt(n->da, fds[3], &o, &n->ctrl);
	if (r < 0)
		goto fail;
	fds[3] = -1;
	n->adopted = true;
	struct nvme_ctrl_stats st;
	nvme_ctrl_stats(n->ctrl, &st);
	log_info("NVMe %s: adopted live (no reset): %llu commands were in flight, %llu completed "
		 "since",
		 n->pci, (unsigned long long)st.stale_at_adopt,
		 (unsigned long long)st.stale_completed);
	return 0;
fail:
	for (unsigned i = 0; i < NKEPT; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return log_error_errno(r,
			       "NVMe %s: its IOMMU group is busy and the fds kept for it do not "
			       "adopt: %m",
			       n->pci);
}

int stor_nvme_attach(struct stor_nvme *n, struct srv *s)
{
	int fds[NKEPT];
	char name[32];

	if (n->adopt)
		return adopt(n, s);
	unsigned k = devaccess_kept_fds(n->da, fds, DEVACCESS_VFIO_NFDS);
	if (k != DEVACCESS_VFIO_NFDS)
		return -EINVAL;
	fds[3] = nvme_ctrl_state_fd(n->ctrl);
	for (unsigned i = 0; i < NKEPT; i++) {
		kept_name(n, i, name, sizeof(name));
		int r = srv_fd_store(s, name, fds[i]);
		if (r < 0)
			return log_error_errno(r, "NVMe %s: unable to keep its %s fd: %m", n->pci,
					       kept_names[i]);
	}
	return 0;
}

int stor_nvme_disk(struct stor_nvme *n, uint32_t nsid, bool ro, struct disk **ret)
{
	struct disk_nvme_opts o = {.ctrl = n->ctrl,
				   .da = n->da,
				   .nsid = nsid,
				   .guest_iova_base = STOR_NVME_GUEST_IOVA,
				   .read_only = ro,
				   .adopted = n->adopted};
	return disk_nvme_open(&o, ret);
}

const char *stor_nvme_pci(const struct stor_nvme *n)
{
	return n->pci;
}

void stor_nvme_inspect(struct stor_nvme *n, struct inspect_tree *t, Mhcl__Node *dir)
{
	inspect_str(t, dir, "pci", n->pci);
	if (!n->ctrl) {
		inspect_str(t, dir, "state", "absent");
		return;
	}
	const struct nvme_ctrl_info *ci = nvme_ctrl_info(n->ctrl);
	struct nvme_ctrl_stats st;
	nvme_ctrl_stats(n->ctrl, &st);
	inspect_str(t, dir, "state", st.failed ? "failed" : "ready");
	inspect_bool(t, dir, "adopted_live", n->adopted);
	inspect_str(t, dir, "model", ci->model);
	inspect_str(t, dir, "serial", ci->serial);
	inspect_str(t, dir, "firmware", ci->firmware);
	inspect_u64(t, dir, "namespaces", nvme_ctrl_ns_count(n->ctrl));
	inspect_u64(t, dir, "max_transfer", nvme_ctrl_max_transfer(n->ctrl));
	inspect_u64(t, dir, "admin_commands", st.admin_submitted);
	inspect_u64(t, dir, "aborts", st.admin_aborts);
	inspect_u64(t, dir, "stale_at_adopt", st.stale_at_adopt);
	inspect_u64(t, dir, "stale_completed", st.stale_completed);
	inspect_u64(t, dir, "bad_completions", st.bad_completions);
	inspect_u64(t, dir, "timeouts", st.timeouts);
	Mhcl__Node *qs = inspect_dir(t, dir, "queues");
	for (unsigned i = 0; i < nvme_ctrl_qpair_count(n->ctrl); i++) {
		struct nvme_qpair *qp = nvme_ctrl_qpair(n->ctrl, i);
		char name[16];
		snprintf(name, sizeof(name), "%u", nvme_qpair_qid(qp));
		Mhcl__Node *q = inspect_dir(t, qs, name);
		inspect_u64(t, q, "depth", nvme_qpair_depth(qp));
		inspect_u64(t, q, "in_flight", nvme_qpair_inflight(qp));
		inspect_u64(t, q, "stale", nvme_qpair_stale(qp));
	}
}

void stor_nvme_close(struct stor_nvme *n)
{
	if (!n)
		return;
	nvme_ctrl_close(n->ctrl);
	devaccess_close(n->da);
	free(n);
}
