/* SPDX-License-Identifier: MIT */
/*
 * mhcl-vp: the VP worker. Creates the VTL0 partition on a backend, owns guest RAM (a
 * memfd), loads the guest (Linux bzImage + initrd + ACPI tables, or an IGVM file with
 * --igvm: igvm_load.h) and runs one thread per VP until the guest resets or a VP fails.
 *
 * Two ways to run:
 *   - under mhcl-init with --vmbusd PATH (vp_bus.h): the VMBus control plane lives in
 *     mhcl-vmbusd and the devices in their own servers; this process keeps guest RAM, the
 *     VPs and the SynIC and relays only control-plane messages;
 *   - standalone without --vmbusd: no VMBus; a guest's HvPostMessage is answered
 *     HV_STATUS_INVALID_CONNECTION_ID (and logged with --trace-guest-messages).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acpi.h"
#include "boot_x86.h"
#include "defs/exit_codes.h"
#include "igvm_load.h"
#include "log.h"
#include "macros.h"
#include "vp.h"
#include "vp_bus.h"

#define MAX_MEM_MIB 3072u /* RAM sits below the 32-bit MMIO hole */
#define MAX_FILE_SIZE (1ull << 30)

struct options {
	const char *kernel, *initrd, *cmdline, *vmbusd, *igvm, *guest_dir;
	uint64_t mem_mib;
	uint32_t cpus;
	bool trace_guest_messages, cmdline_given;
	char *cmdline_buf; /* --guest-dir's cmdline file */
	char kernel_path[PATH_MAX], initrd_path[PATH_MAX];
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mhcl-vp --kernel BZIMAGE [--initrd FILE] [--cmdline STR] [--mem MIB] [--cpus "
	    "N]\n"
	    "               [--vmbusd SOCKET] [--trace-guest-messages] [--debug]\n"
	    "       mhcl-vp --igvm FILE [--cmdline STR] [--mem MIB] [--cpus N] [...]\n"
	    "       mhcl-vp --guest-dir DIR [--mem MIB] [--cpus N] [...]\n"
	    "Runs a guest on the kvm partition backend; guest console on stdout, log on stderr.\n"
	    "  --igvm FILE      load an IGVM file (VSM isolation or native platform) instead of\n"
	    "                   a kernel; --cmdline fills its command-line parameter\n"
	    "  --guest-dir DIR  the guest the host handed over: DIR/vmlinuz, DIR/initrd and\n"
	    "                   DIR/cmdline (the last two optional); no DIR/vmlinuz: exit %d,\n"
	    "                   not restarted (an image booted without a guest)\n"
	    "  --vmbusd SOCKET  under mhcl-init: relay the VMBus control plane to mhcl-vmbusd\n"
	    "  --trace-guest-messages  log every HvPostMessage the guest makes (rate limited)\n",
	    MHCL_EXIT_NO_RESTART);
}

static int read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	uint8_t *buf;
	size_t off = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE_SIZE)
		return -EINVAL;
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		return -ENOMEM;
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -EIO;
		}
		off += (size_t)n;
	}
	*ret = buf;
	*ret_len = off;
	return 0;
}

/* The host's command line for the guest: one line of printable ASCII (what Linux's
 * boot protocol carries), trailing whitespace dropped. */
#define GUEST_CMDLINE_MAX 2048

static int guest_cmdline_check(char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	s[len] = '\0';
	if (len >= GUEST_CMDLINE_MAX)
		return -E2BIG;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return -EINVAL;
	return 0;
}

/*
 * --guest-dir: the guest the host handed to the image (image/preinit.c mounts it).
 * Returns 1 when DIR holds no vmlinuz (no guest: nothing to run), 0 with the paths and
 * command line set, or a negative errno.
 */
static int guest_dir_resolve(struct options *o)
{
	char path[PATH_MAX];
	uint8_t *buf;
	size_t len;
	int r;

	snprintf(o->kernel_path, sizeof(o->kernel_path), "%s/vmlinuz", o->guest_dir);
	if (access(o->kernel_path, F_OK) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 1 : -errno;
	o->kernel = o->kernel_path;
	snprintf(o->initrd_path, sizeof(o->initrd_path), "%s/initrd", o->guest_dir);
	if (access(o->initrd_path, F_OK) == 0)
		o->initrd = o->initrd_path;
	snprintf(path, sizeof(path), "%s/cmdline", o->guest_dir);
	if (access(path, F_OK) < 0)
		return 0;
	r = read_file(path, &buf, &len);
	if (r < 0)
		return log_error_errno(r, "unable to read %s: %m", path);
	if (len >= GUEST_CMDLINE_MAX) {
		free(buf);
		return log_error_errno(-E2BIG, "%s: longer than %u bytes", path,
				       GUEST_CMDLINE_MAX - 1);
	}
	o->cmdline_buf = malloc(len + 1);
	if (!o->cmdline_buf) {
		free(buf);
		return -ENOMEM;
	}
	memcpy(o->cmdline_buf, buf, len);
	free(buf);
	r = guest_cmdline_check(o->cmdline_buf, len);
	if (r < 0)
		return log_error_errno(r, "%s: not one line of printable ASCII", path);
	o->cmdline = o->cmdline_buf;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"kernel", required_argument, NULL, 'k'},
	    {"initrd", required_argument, NULL, 'i'},
	    {"igvm", required_argument, NULL, 'g'},
	    {"cmdline", required_argument, NULL, 'c'},
	    {"mem", required_argument, NULL, 'm'},
	    {"cpus", required_argument, NULL, 'n'},
	    {"debug", no_argument, NULL, 'd'},
	    {"vmbusd", required_argument, NULL, 'V'},
	    {"trace-guest-messages", no_argument, NULL, 'T'},
	    {"guest-dir", required_argument, NULL, 'G'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;
	char *end;

	*o = (struct options){.cmdline = "console=ttyS0", .mem_mib = 256, .cpus = 1};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->kernel = optarg;
			break;
		case 'i':
			o->initrd = optarg;
			break;
		case 'g':
			o->igvm = optarg;
			break;
		case 'c':
			o->cmdline = optarg;
			o->cmdline_given = true;
			break;
		case 'G':
			o->guest_dir = optarg;
			break;
		case 'm':
			errno = 0;
			o->mem_mib = strtoull(optarg, &end, 10);
			if (errno || *end || o->mem_mib < 64 || o->mem_mib > MAX_MEM_MIB)
				return log_error_errno(-EINVAL, "--mem must be 64..%u MiB",
						       MAX_MEM_MIB);
			break;
		case 'n':
			errno = 0;
			o->cpus = (uint32_t)strtoul(optarg, &end, 10);
			if (errno || *end || o->cpus < 1 || o->cpus > WORKER_MAX_VPS)
				return log_error_errno(-EINVAL, "--cpus must be 1..%u",
						       WORKER_MAX_VPS);
			break;
		case 'd':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'V':
			o->vmbusd = optarg;
			break;
		case 'T':
			o->trace_guest_messages = true;
			break;
		case 'h':
			usage(stdout);
			exit(MHCL_EXIT_OK);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (o->igvm && (o->kernel || o->initrd))
		return log_error_errno(-EINVAL, "--igvm excludes --kernel and --initrd");
	if (o->guest_dir && (o->kernel || o->initrd || o->igvm || o->cmdline_given))
		return log_error_errno(
		    -EINVAL, "--guest-dir excludes --kernel, --initrd, --igvm and --cmdline");
	if ((!o->kernel && !o->igvm && !o->guest_dir) || optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static void irq_line(void *opaque, uint32_t gsi, bool level)
{
	struct worker *w = opaque;
	int r = w->ops->irq_line(w->p, gsi, level);
	if (r < 0)
		log_warn_errno(r, "unable to drive IRQ %u: %m, ignoring", gsi);
}

int main(int argc, char **argv)
{
	static struct worker w;
	struct options o;
	struct boot_image img = {0};
	struct x86_boot_state boot;
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_len = 0, initrd_len = 0;
	int r, rc = MHCL_EXIT_SYSCALL;

	log_set_ident("mhcl-vp");
	if (parse_args(argc, argv, &o) < 0)
		return MHCL_EXIT_USAGE;
	if (o.guest_dir) {
		r = guest_dir_resolve(&o);
		if (r > 0) {
			log_info("no guest in %s (no vmlinuz): nothing to run", o.guest_dir);
			return MHCL_EXIT_NO_RESTART;
		}
		if (r < 0) {
			free(o.cmdline_buf);
			return MHCL_EXIT_USAGE;
		}
		log_info("guest from %s: %s%s, command line \"%s\"", o.guest_dir, o.kernel,
			 o.initrd ? " with initrd" : "", o.cmdline);
	}

	r = read_file(o.igvm ? o.igvm : o.kernel, &kernel, &kernel_len);
	if (r < 0) {
		log_error_errno(r, "unable to read %s: %m", o.igvm ? o.igvm : o.kernel);
		free(o.cmdline_buf);
		return MHCL_EXIT_USAGE;
	}
	if (o.initrd) {
		r = read_file(o.initrd, &initrd, &initrd_len);
		if (r < 0) {
			log_error_errno(r, "unable to read %s: %m", o.initrd);
			free(kernel);
			free(o.cmdline_buf);
			return MHCL_EXIT_USAGE;
		}
	}

	if (worker_partition_create(&w, &backend_kvm_ops, o.mem_mib << 20, o.cpus) < 0)
		goto out;

	r = acpi_build(guestmem_ptr(&w.ram, BOOT_ACPI_GPA, BOOT_ACPI_SIZE), BOOT_ACPI_SIZE,
		       BOOT_ACPI_GPA, o.cpus);
	if (r < 0) {
		log_error_errno(r, "unable to build the ACPI tables: %m");
		goto out;
	}
	if (o.igvm) {
		struct igvm_load_params lp = {.cmdline = o.cmdline, .vp_count = o.cpus};
		struct igvm_load_result lr;
		char err[256];
		r = igvm_load(&w.ram, kernel, kernel_len, &lp, &lr, err, sizeof(err));
		if (r < 0) {
			log_error("unable to load IGVM file %s: %s", o.igvm, err);
			rc = r == -E2BIG ? MHCL_EXIT_USAGE : MHCL_EXIT_FAILURE;
			goto out;
		}
		boot = lr.boot;
		log_info("IGVM %s: %u pages (%u zero), %u parameter areas with %u parameters, VP 0 "
			 "at %#llx (CR0 %#llx, RBX %#llx)",
			 o.igvm, lr.pages, lr.zero_pages, lr.inserts, lr.params,
			 (unsigned long long)boot.rip, (unsigned long long)boot.cr0,
			 (unsigned long long)boot.rbx);
	} else {
		img = (struct boot_image){
		    .kernel = kernel,
		    .kernel_len = kernel_len,
		    .initrd = initrd,
		    .initrd_len = initrd_len,
		    .cmdline = o.cmdline,
		    .rsdp_gpa = BOOT_ACPI_GPA,
		};
		r = boot_x86_load_linux(&w.ram, &img, &boot);
	}
	if (r < 0) {
		log_error_errno(r, "unable to load %s: %m", o.kernel);
		rc = MHCL_EXIT_USAGE;
		goto out;
	}
	/* The guest's copy is in its RAM now: the file buffers (a 14 MiB kernel) would
	 * otherwise stay in this process for the guest's whole life. */
	free(kernel);
	free(initrd);
	kernel = initrd = NULL;
	img = (struct boot_image){0};

	pio_init(&w.pio, STDOUT_FILENO, irq_line, &w);
	if (worker_vps_create(&w, &boot) < 0)
		goto out;
	hv_synic_set_trace(w.synic, o.trace_guest_messages);
	log_info("starting %u VP(s), %llu MiB, backend %s", w.vp_count,
		 (unsigned long long)o.mem_mib, w.ops->name);
	if (o.vmbusd) {
		if (!vp_bus_under_init()) {
			log_error("--vmbusd needs mhcl-init (no bus)");
			rc = MHCL_EXIT_USAGE;
			goto out;
		}
		rc = vp_bus_run(&w, o.vmbusd);
		pio_flush(&w.pio);
		goto out;
	}
	r = vp_start_all(&w);
	if (r < 0)
		log_error_errno(r, "unable to start the VP threads: %m");
	vp_join_all(&w);
	pio_flush(&w.pio);
	rc = __atomic_load_n(&w.stop_reason, __ATOMIC_ACQUIRE) == WORKER_STOP_RESET
		 ? MHCL_EXIT_OK
		 : MHCL_EXIT_FAILURE;
	log_info("partition stopped: %s",
		 rc != MHCL_EXIT_OK						? "VP failure"
		 : __atomic_load_n(&w.pio.poweroff_requested, __ATOMIC_ACQUIRE) ? "guest power off"
										: "guest reset");
out:
	worker_teardown(&w);
	free(kernel);
	free(initrd);
	free(o.cmdline_buf);
	return rc;
}
