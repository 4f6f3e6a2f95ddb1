/* SPDX-License-Identifier: MIT */
/*
 * mhcl-init: PID 1 (or a hosted supervisor) for mhcl servers. One thread,
 * one libuv loop; signals arrive as loop events; init never waits on a
 * server.
 *
 *   mhcl-init --dtb FILE [--libexec DIR[:DIR...]] [--run-dir DIR] [--pidns] [-v]
 *   mhcl-init --boot-dt [--libexec ...]   the manifest the boot shim's device
 *                                         tree names (init/bootdt.c); the
 *                                         default as PID 1 without --dtb
 *   mhcl-init --check --dtb FILE | --boot-dt   validate the manifest and print it
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "defs/exit_codes.h"
#include "jail.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: mhcl-init --dtb FILE|--boot-dt [--libexec DIR[:DIR...]] "
		   "[--run-dir DIR] [--pidns] [-v]\n"
		   "       mhcl-init --check --dtb FILE|--boot-dt\n"
		   "As PID 1 without --dtb, init reads the manifest the boot device tree names.\n");
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void on_sigchld(uv_signal_t *h, int sig)
{
	struct init *in = h->data;
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		supervise_child_exit(in, pid, st);
}

static void on_stop_signal(uv_signal_t *h, int sig)
{
	struct init *in = h->data;

	log_info("signal %d: stopping all servers", sig);
	supervise_shutdown(in);
}

static void print_manifest(const struct manifest *m)
{
	if (m->have_run_group)
		printf("run-group=%u\n", m->run_group);
	for (size_t i = 0; i < m->nservers; i++) {
		const struct srv_conf *c = &m->servers[i];
		printf("%s: binary=%s policy=%s restart=%s start-order=%u%s%s%s%s args=[", c->name,
		       c->binary, c->policy, restart_policy_name(c->restart), c->start_order,
		       c->control ? " control" : "", c->stop_all_on_exit ? " stop-all-on-exit" : "",
		       c->prestart ? " prestart" : "", c->per_nic ? " per-nic" : "");
		for (size_t j = 0; j < c->nargs; j++)
			printf("%s\"%s\"", j ? ", " : "", c->args[j]);
		printf("]");
		if (c->have_user) {
			printf(" user=%u group=%u groups=[", c->uid, c->gid);
			for (size_t j = 0; j < c->ngroups; j++)
				printf("%s%u", j ? " " : "", c->groups[j]);
			printf("] device-files=[");
			for (size_t j = 0; j < c->ndevice_files; j++)
				printf("%s\"%s\"", j ? ", " : "", c->device_files[j]);
			printf("]");
		} else {
			printf(" user=root");
		}
		printf(" capabilities=[");
		for (unsigned cap = 0, n = 0; cap < 64; cap++)
			if (c->caps & (1ull << cap))
				printf("%s%s", n++ ? " " : "", config_cap_name(cap));
		printf("]\n");
	}
}

/*
 * A second open file description of stderr, set non-blocking, so echoing
 * server output never stalls the loop and the shell's stderr keeps its
 * flags. Falls back to stderr itself (files, sockets).
 */
static int open_echo_fd(void)
{
	struct stat st;

	/* Only pipes and terminals can block; a file keeps its one offset. */
	if (fstat(STDERR_FILENO, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
		return STDERR_FILENO;
	int fd = open("/proc/self/fd/2", O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return STDERR_FILENO;
	return fd;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* The n names at base (stride bytes apart) into out, space-separated; "-" for none. */
static void join_names(char *out, size_t size, const char *base, size_t stride, unsigned n)
{
	size_t o = 0;
	snprintf(out, size, "-");
	for (unsigned i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", i ? " " : "", base + i * stride);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dtb", required_argument, NULL, 'd'},
	    {"libexec", required_argument, NULL, 'l'},
	    {"run-dir", required_argument, NULL, 'r'},
	    {"pidns", no_argument, NULL, 'p'},
	    {"check", no_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"boot-dt", no_argument, NULL, 'b'},
	    {},
	};
	const char *dtb = NULL, *libexec = NULL, *run_dir = "/run/mhcl";
	bool pidns = false, check = false, verbose = false, boot_dt = false;
	int c;

	/* As PID 1 the kernel may hand us no stdio at all: never let our own
	 * files land on 0..2. */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			break;
	log_set_ident("mhcl-init");
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dtb = optarg;
			break;
		case 'l':
			libexec = optarg;
			break;
		case 'r':
			run_dir = optarg;
			break;
		case 'b':
			boot_dt = true;
			break;
		case 'p':
			pidns = true;
			break;
		case 'c':
			check = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return MHCL_EXIT_USAGE;
		}
	}
	/* As the machine's PID 1 the manifest comes from the boot shim by default. */
	if (!dtb && getpid() == 1)
		boot_dt = true;
	if (!dtb == !boot_dt || optind != argc || run_dir[0] != '/') {
		usage(stderr);
		return MHCL_EXIT_USAGE;
	}

	char err[512] = "", src[PATH_MAX + 64] = "";
	struct manifest *m = NULL;
	int r;
	if (boot_dt) {
		r = manifest_load_boot(BOOTDT_SETUP_DATA_DIR, BOOTDT_MEM, run_dir, &m, src,
				       sizeof(src), err, sizeof(err));
	} else {
		r = manifest_load(dtb, run_dir, &m, err, sizeof(err));
		snprintf(src, sizeof(src), "manifest from %s", dtb);
	}
	if (r < 0) {
		log_error("%s", err[0] ? err : strerror(-r));
		if (getpid() == 1 && !check) {
			/* PID 1 must not exit (the kernel would panic): power off. */
			static struct init dead;
			dead.pid1 = true;
			(void)pid1_setup(&dead);
			pid1_finish(&dead);
		}
		return MHCL_EXIT_USAGE;
	}
	if (check) {
		if (boot_dt)
			printf("# %s\n", src);
		if (m->isolated)
			printf("# isolated\n");
		print_manifest(m);
		manifest_free(m);
		return 0;
	}
	if (pidns && getpid() != 1) {
		/* Returns only if the kernel refuses the namespaces. */
		r = pidns_reexec(argc, argv);
		log_warn_errno(r, "no PID namespace (%m), running hosted");
	}

	static struct init in;
	in.pid1 = getpid() == 1;
	in.verbose = verbose;
	in.run_dir = run_dir;
	in.manifest = m;
	in.isolated = m->isolated;
	if (verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	if (in.pid1)
		(void)pid1_setup(&in);
	else
		(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	r = mkdir_p(run_dir, 0755);
	if (r < 0)
		log_warn_errno(r, "unable to create %s: %m, ignoring", run_dir);
	r = privileges_prepare_run_dir(&in);
	if (r < 0)
		log_warn_errno(r, "unable to give %s to the run group: %m, ignoring", run_dir);

	char exe[PATH_MAX], dflt[2 * PATH_MAX + 32];
	if (!libexec) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			char *dir = dirname(exe);
			snprintf(dflt, sizeof(dflt), "%s:%s/../libexec/mhcl", dir, dir);
			libexec = dflt;
		} else {
			libexec = "/usr/libexec/mhcl";
		}
	}
	in.libexec = libexec;

	signal(SIGPIPE, SIG_IGN);
	in.echo_fd = open_echo_fd();
	in.loop = uv_default_loop();
	in.start_ms = init_now_ms();
	in.nservers = m->nservers;
	in.servers = calloc(m->nservers ? m->nservers : 1, sizeof(*in.servers));
	if (!in.servers)
		return MHCL_EXIT_SYSCALL;
	for (size_t i = 0; i < m->nservers; i++) {
		struct child *s = &in.servers[i];
		s->init = &in;
		s->conf = &m->servers[i];
		s->index = i;
		s->state = SRV_STOPPED;
		s->jail_nr = -1;
		fdstore_init(&s->fdstore);
		s->delay_ms = s->conf->restart_delay_ms;
		s->log = logring_new(INIT_LOG_LINES, INIT_LOG_BYTES);
		if (!s->log)
			return MHCL_EXIT_SYSCALL;
		uv_timer_init(in.loop, &s->timer);
		uv_timer_init(in.loop, &s->bus_timer);
		uv_timer_init(in.loop, &s->drain_timer);
		uv_timer_init(in.loop, &s->standby.timer);
		s->standby.timer.data = s;
	}

	uv_signal_t *sigs[] = {&in.sig_chld, &in.sig_term, &in.sig_int, &in.sig_pwr, &in.sig_usr2};
	int signums[] = {SIGCHLD, SIGTERM, SIGINT, SIGPWR, SIGUSR2};
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		uv_signal_init(in.loop, sigs[i]);
		sigs[i]->data = &in;
		r = uv_signal_start(sigs[i], i == 0 ? on_sigchld : on_stop_signal, signums[i]);
		if (r < 0)
			return log_error_errno(r, "unable to watch signal %d: %m", signums[i]),
			       MHCL_EXIT_SYSCALL;
	}

	log_info("%s", src);
	if (m->vars.guest_vps || m->vars.guest_memory_mib)
		log_info("the host's guest: %u VPs, %u MiB (0: the manifest's default)",
			 m->vars.guest_vps, m->vars.guest_memory_mib);
	if (m->vars.nguest_data_disks || m->vars.nguest_nvme || m->vars.nguest_nic_macs) {
		char disks[HOST_GUEST_DISK_LIST_MAX + 1], nvme[HOST_GUEST_NVME_LIST_MAX + 1];
		char macs[HOST_GUEST_NICS_MAX * 18 + 1];
		join_names(disks, sizeof(disks), m->vars.guest_data_disks[0],
			   sizeof(m->vars.guest_data_disks[0]), m->vars.nguest_data_disks);
		join_names(nvme, sizeof(nvme), m->vars.guest_nvme[0], sizeof(m->vars.guest_nvme[0]),
			   m->vars.nguest_nvme);
		join_names(macs, sizeof(macs), m->vars.guest_nic_macs[0],
			   sizeof(m->vars.guest_nic_macs[0]), m->vars.nguest_nic_macs);
		log_info("the host's guest devices: data disk%s %s, NVMe %s, NIC MAC%s %s (-: the "
			 "manifest's default)",
			 m->vars.nguest_data_disks > 1 ? "s" : "", disks, nvme,
			 m->vars.nguest_nic_macs > 1 ? "s" : "", macs);
	}
	if (in.isolated)
		log_info("isolated: fault injection, memory reads and unauthenticated network "
			 "diag are refused");
	log_info("%s: %zu servers, run dir %s, libexec %s", in.pid1 ? "PID 1" : "hosted",
		 m->nservers, run_dir, libexec);
	supervise_boot(&in);
	if (m->nservers == 0 && !in.pid1)
		log_info("no servers; waiting for a stop signal");
	uv_run(in.loop, UV_RUN_DEFAULT);
	log_info("all servers stopped");

	/* Orderly teardown so sanitizers see every allocation released. */
	for (size_t i = 0; i < in.nservers; i++) {
		struct child *s = &in.servers[i];
		if (s->chan)
			ipc_chan_close(s->chan);
		logpipe_drain_close(s->out);
		logpipe_drain_close(s->err);
	}
	/* Let the bus library finish its own closing before the rest goes. */
	for (int i = 0; i < 8 && uv_run(in.loop, UV_RUN_NOWAIT); i++)
		;
	uv_walk(in.loop, close_walk, NULL);
	uv_run(in.loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(in.loop);
	for (size_t i = 0; i < in.nservers; i++) {
		logring_free(in.servers[i].log);
		free(in.servers[i].saved_state);
		fdstore_clear(&in.servers[i].fdstore);
	}
	free(in.servers);
	manifest_free(m);
	if (in.echo_fd != STDERR_FILENO)
		close(in.echo_fd);
	pid1_finish(&in);
	if (in.pid1) {
		/*
		 * A namespace's PID 1 leaves without atexit handlers: sanitizer
		 * exit-time checks stop the world with ptrace, which cannot work
		 * from PID 1. Hosted runs keep them.
		 */
		fflush(NULL);
		_exit(in.exit_code);
	}
	return in.exit_code;
}
