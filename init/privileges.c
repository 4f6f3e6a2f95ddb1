/* SPDX-License-Identifier: MIT */
/*
 * Least privilege for a server instance: its device files are handed to its uid
 * before the fork (privileges_grant_devices, in init), and between fork and exec the
 * child takes on its identity and keeps only the capabilities the manifest names
 * (privileges_drop). The child side uses raw system calls only: the libc wrappers of
 * setresuid and friends synchronise every thread of the process, and a child forked
 * from a threaded parent must not rely on that machinery.
 *
 * Capabilities survive the change of uid as ambient capabilities: they are dropped
 * from the bounding set first (so no exec can regain them), kept in the permitted set
 * across setresuid by PR_SET_KEEPCAPS, made inheritable, then raised as ambient, which
 * execve turns into the new program's permitted and effective sets.
 */
#include "init.h"

#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* pci:BDF -> /dev/vfio/<its IOMMU group>. */
static int vfio_group_node(const char *bdf, char *out, size_t out_len)
{
	char link[96], target[256];
	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	snprintf(out, out_len, "/dev/vfio/%s", basename(target));
	return 0;
}

static void grant_one(struct child *s, const char *path)
{
	const struct srv_conf *c = s->conf;
	struct stat st;

	if (lstat(path, &st) < 0) {
		init_log(s, "device file %s: %s", path, strerror(errno));
		return;
	}
	/* Never through a symlink: the manifest names the file itself. */
	if (S_ISLNK(st.st_mode)) {
		init_log(s, "device file %s is a symlink: not handed over", path);
		return;
	}
	if (st.st_uid == c->uid)
		return;
	if (lchown(path, c->uid, (gid_t)-1) < 0)
		init_log(s, "unable to hand %s to uid %u: %s", path, c->uid, strerror(errno));
	else
		init_log(s, "handed %s to uid %u", path, c->uid);
}

void privileges_grant_devices(struct child *s)
{
	const struct srv_conf *c = s->conf;

	if (!c->have_user || geteuid() != 0)
		return;
	for (size_t i = 0; i < c->ndevice_files; i++) {
		const char *f = c->device_files[i];
		char node[64];
		if (strncmp(f, "pci:", 4) == 0) {
			int r = vfio_group_node(f + 4, node, sizeof(node));
			if (r < 0) {
				init_log(s, "device file %s: no IOMMU group: %s", f, strerror(-r));
				continue;
			}
			f = node;
		} else if (s->init->isolated && strncmp(f, "/dev/", 5) != 0 &&
			   strncmp(f, "/sys/", 5) != 0) {
			/* The manifest may come from the host: isolated, it hands over devices
			 * only, never the image's own files. */
			init_log(s, "device file %s: isolated mode hands over /dev and /sys only",
				 f);
			continue;
		}
		glob_t g;
		int r = glob(f, GLOB_NOSORT, NULL, &g);
		if (r != 0) {
			init_log(s, "device file %s: %s", f,
				 r == GLOB_NOMATCH ? "no such file" : "unreadable pattern");
			continue;
		}
		for (size_t k = 0; k < g.gl_pathc; k++)
			grant_one(s, g.gl_pathv[k]);
		globfree(&g);
	}
}

int privileges_prepare_run_dir(const struct init *in)
{
	const struct manifest *m = in->manifest;

	if (!m->have_run_group || geteuid() != 0)
		return 0;
	/* setgid: sockets made here belong to the run group; sticky: no server removes
	 * another's; others may pass through but list nothing. */
	if (chown(in->run_dir, 0, m->run_group) < 0 || chmod(in->run_dir, 03771) < 0)
		return -errno;
	return 0;
}

static int sys_err(long r)
{
	return r < 0 ? errno : 0;
}

int privileges_drop(const struct srv_conf *c)
{
	int e;

	if (geteuid() != 0) {
		static const char msg[] =
		    "mhcl-init: not root: the server keeps init's identity and capabilities\n";
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		return 0;
	}
	/* Bounding set: everything not named goes, for good. EINVAL: past the kernel's
	 * last capability. */
	for (unsigned cap = 0; cap < 64; cap++) {
		if (c->caps & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			return errno;
		}
	}
	if (c->have_user) {
		gid_t groups[MANIFEST_GROUPS_MAX];
		for (size_t i = 0; i < c->ngroups; i++)
			groups[i] = c->groups[i];
		if ((e = sys_err(syscall(SYS_setgroups, c->ngroups, groups))) ||
		    (e = sys_err(syscall(SYS_setresgid, c->gid, c->gid, c->gid))) ||
		    (e = sys_err(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))) ||
		    (e = sys_err(syscall(SYS_setresuid, c->uid, c->uid, c->uid))))
			return e;
	}
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};
	for (int i = 0; i < 2; i++)
		data[i].permitted = data[i].effective = data[i].inheritable =
		    (uint32_t)(c->caps >> (32 * i));
	if ((e = sys_err(syscall(SYS_capset, &hdr, data))))
		return e;
	for (unsigned cap = 0; cap < 64; cap++)
		if ((c->caps & (1ull << cap)) &&
		    (e = sys_err(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0))))
			return e;
	return sys_err(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0));
}
