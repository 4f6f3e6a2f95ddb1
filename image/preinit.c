/* SPDX-License-Identifier: MIT */
/*
 * mhcl-preinit: /init of the mhcl image. The Debian cloud kernel has virtio-net and
 * virtio-pci as modules and no CONFIG_IP_PNP (no ip= on the command line), so before
 * mhcl-init starts the servers something must load the NIC driver and give the interface
 * an address. This program does exactly that, then execs mhcl-init, which so runs as
 * PID 1 with init's own code untouched.
 *
 *   /etc/mhcl/modules   kernel modules to load, one absolute path per line, in order
 *                       (dependencies first); a missing file means none. Each file is
 *                       removed once loaded: the initrd's files stay in RAM otherwise
 *   /etc/mhcl/net       "iface NAME", "address A.B.C.D", "prefix N", "gateway A.B.C.D"
 *                       (one per line; a missing file means loopback only)
 *   /etc/mhcl/tap       "name BASE", "owner UID", "address A.B.C.D", "prefix N": the TAP
 *                       interfaces the network servers serve the guest's NICs from, one
 *                       per NIC the host named in its host tree (the shim's boot tree,
 *                       /chosen mhcl,guest-nic-mac; one when it named none): BASE0,
 *                       BASE1, ..., made persistent (multi-queue, virtio-net header),
 *                       owned by that NIC's server's uid (UID + N) so it attaches its
 *                       queues without privilege, with noqueue as root qdisc and netd's
 *                       queue length (what netd would need net_admin for), and with the
 *                       image's address on each guest link (NIC N: the address plus N
 *                       in its third byte)
 *   /etc/mhcl/guest     "label NAME", "mount DIR": the host's guest disk (an ext2 file
 *                       system of that label on any block device: the VTL0 guest's
 *                       kernel, initrd and command line for mhcl-vp --guest-dir) is
 *                       mounted read-only there; none found means no guest
 *   /etc/mhcl/init      mhcl-init's argv, one argument per line (first: the binary path);
 *                       without --dtb init, as PID 1, reads the manifest the boot shim's
 *                       device tree names (init/bootdt.c: /sys and /dev, mounted here,
 *                       are where it looks)
 *
 * It also mounts /proc, /sys and /dev (init keeps mounts it finds; sanitizer builds of
 * init need /proc from their first instruction) and turns Ctrl-Alt-Del into SIGINT for
 * PID 1 (reboot(RB_DISABLE_CAD)), so a host's "sendkey ctrl-alt-delete" reaches init's
 * orderly stop path instead of resetting the machine.
 *
 * The guest disk is how the test topology's host hands the guest over; in production
 * (Hyper-V VTL2) the host loads VTL0 itself. It is mounted read-only, nosuid, nodev and
 * noexec, and only the worker reads it.
 *
 * Every failure is reported on the console and skipped: init still starts (without the
 * network, diag is only reachable over its other listeners). Refuses to run unless PID 1.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <libfdt.h>

#include "defs/exit_codes.h"
#include "defs/host_guest_defs.h"
#include "net_tap.h"
#include "setup_dtb.h"

#define PREINIT_BOOTDT_MAX (256u * 1024u) /* as init's BOOTDT_MAX */

#define MAX_LINES 64
#define MAX_LINE 256

static void say(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "mhcl-preinit: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
}

/* Reads up to MAX_LINES non-empty lines of PATH into lines[]; returns the count or -errno. */
static int read_lines(const char *path, char lines[][MAX_LINE])
{
	FILE *f = fopen(path, "re");
	int n = 0;
	if (!f)
		return -errno;
	while (n < MAX_LINES && fgets(lines[n], MAX_LINE, f)) {
		lines[n][strcspn(lines[n], "\r\n")] = '\0';
		if (lines[n][0] && lines[n][0] != '#')
			n++;
	}
	fclose(f);
	return n;
}

static bool dev_mounted;

static void console(void)
{
	if (fcntl(1, F_GETFD) >= 0)
		return;
	/* The archive had no /dev/console: the kernel gave us no stdio. */
	(void)mkdir("/dev", 0755);
	dev_mounted = mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") == 0;
	int fd = open("/dev/console", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		(void)dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static void load_modules(void)
{
	static char lines[MAX_LINES][MAX_LINE];
	int n = read_lines("/etc/mhcl/modules", lines);
	for (int i = 0; i < n; i++) {
		int fd = open(lines[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			say("unable to open module %s: %s", lines[i], strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
			say("unable to load module %s: %s", lines[i], strerror(errno));
		close(fd);
		/* The initrd's files live in RAM for good: a module file is needed once. */
		if (unlink(lines[i]) < 0)
			say("unable to remove %s: %s", lines[i], strerror(errno));
	}
}

static int set_addr(int s, unsigned long req, const char *ifname, in_addr_t a)
{
	struct ifreq ifr = {0};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = a};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	return ioctl(s, req, &ifr);
}

static int link_up(int s, const char *ifname)
{
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static void configure_net(void)
{
	static char lines[MAX_LINES][MAX_LINE];
	char ifname[IFNAMSIZ] = "";
	in_addr_t addr = INADDR_NONE, gw = INADDR_NONE;
	int prefix = 24;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		say("unable to open a socket: %s%s", strerror(errno), "");
		return;
	}
	if (link_up(s, "lo") < 0)
		say("unable to bring up %s: %s", "lo", strerror(errno));

	int n = read_lines("/etc/mhcl/net", lines);
	for (int i = 0; i < n; i++) {
		char key[32], val[64];
		if (sscanf(lines[i], "%31s %63s", key, val) != 2) {
			say("ignoring /etc/mhcl/net line \"%s\"%s", lines[i], "");
			continue;
		}
		if (!strcmp(key, "iface")) {
			if (strlen(val) >= sizeof(ifname)) {
				say("interface name %s too long%s", val, "");
				continue;
			}
			memcpy(ifname, val, strlen(val) + 1);
		} else if (!strcmp(key, "address"))
			addr = inet_addr(val);
		else if (!strcmp(key, "gateway"))
			gw = inet_addr(val);
		else if (!strcmp(key, "prefix"))
			prefix = atoi(val);
		else
			say("ignoring unknown key %s in /etc/mhcl/net%s", key, "");
	}
	if (!ifname[0] || addr == INADDR_NONE || prefix < 1 || prefix > 32)
		goto out;

	/* The driver probes as its module loads; give the device a moment to register. */
	for (int tries = 0; !if_nametoindex(ifname) && tries < 100; tries++)
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	in_addr_t mask = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
	if (set_addr(s, SIOCSIFADDR, ifname, addr) < 0 ||
	    set_addr(s, SIOCSIFNETMASK, ifname, mask) < 0 || link_up(s, ifname) < 0) {
		say("unable to configure %s: %s", ifname, strerror(errno));
		goto out;
	}
	if (gw != INADDR_NONE) {
		struct rtentry rt = {0};
		struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst;
		struct sockaddr_in *gwa = (struct sockaddr_in *)&rt.rt_gateway;
		struct sockaddr_in *msk = (struct sockaddr_in *)&rt.rt_genmask;
		dst->sin_family = gwa->sin_family = msk->sin_family = AF_INET;
		gwa->sin_addr.s_addr = gw;
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = ifname;
		if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
			say("unable to add the default route via %s: %s", inet_ntoa(gwa->sin_addr),
			    strerror(errno));
	}
	struct in_addr a = {addr};
	say("%s up with address %s", ifname, inet_ntoa(a));
out:
	close(s);
}

/* How many NICs the host named for the guest (/chosen mhcl,guest-nic-mac in the shim's
 * boot tree, as init reads it too); 1 when it named none: the manifest's default NIC. */
static unsigned nics_named(void)
{
	uint8_t *tree = NULL;
	size_t len = 0;
	char entry[256], err[256];
	unsigned n = 1;

	if (setup_dtb_read(SETUP_DATA_DIR, PREINIT_BOOTDT_MAX, &tree, &len, entry, sizeof(entry),
			   err, sizeof(err)) < 0)
		return 1; /* init says why, and refuses what it must */
	int chosen = fdt_check_full(tree, len) == 0 ? fdt_path_offset(tree, "/chosen") : -1;
	int plen = 0;
	const uint8_t *macs =
	    chosen >= 0 ? fdt_getprop(tree, chosen, HOST_GUEST_CHOSEN_NIC_MAC, &plen) : NULL;
	if (macs && plen > 0 && !host_guest_nic_macs_ok(macs, (size_t)plen, &n))
		n = 1;
	free(tree);
	return n;
}

/* TAP nic (NAME followed by nic), owned by owner + nic (that NIC's server: init runs a
 * per-nic server's instance N as its user + N), with address addr + nic in the third byte
 * (10.0.3.1, 10.0.4.1, ...). */
static void make_one_tap(const char *base, unsigned nic, long owner, in_addr_t addr, int prefix)
{
	char name[IFNAMSIZ];
	if (snprintf(name, sizeof(name), "%s%u", base, nic) >= (int)sizeof(name))
		return;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	/* The flags the network server attaches with (servers/net/net_tap.c). */
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE};
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 ||
	    (owner > 0 && ioctl(fd, TUNSETOWNER, (unsigned long)owner + nic) < 0) ||
	    ioctl(fd, TUNSETPERSIST, 1ul) < 0) {
		say("unable to make the TAP %s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	/* What netd would otherwise need net_admin for, done here so that it runs without:
	 * noqueue as the root qdisc (net_tap_qdisc.c: no rings), then the queue length that
	 * holds the guest's frames across a restart. netd finds both done. */
	char kept[IFNAMSIZ];
	int q = net_tap_use_noqueue(name, kept);
	if (q < 0)
		say("unable to make noqueue the root qdisc of %s: %s", name, strerror(-q));
	q = net_tap_raise_txqueuelen(name);
	if (q < 0)
		say("unable to set the queue length of %s: %s", name, strerror(-q));
	if (addr != INADDR_NONE)
		addr = htonl(ntohl(addr) + (nic << 8));
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	in_addr_t mask = htonl(prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
	if (s < 0 || addr == INADDR_NONE || prefix < 1 || prefix > 32 ||
	    set_addr(s, SIOCSIFADDR, name, addr) < 0 ||
	    set_addr(s, SIOCSIFNETMASK, name, mask) < 0 || link_up(s, name) < 0)
		say("unable to configure the TAP %s: %s", name, strerror(errno));
	else
		say("TAP %s up, persistent, for the network server's uid%s", name, "");
	if (s >= 0)
		close(s);
}

static void make_taps(void)
{
	static char lines[MAX_LINES][MAX_LINE];
	char base[IFNAMSIZ - 1] = "";
	in_addr_t addr = INADDR_NONE;
	long owner = -1;
	int prefix = 24;
	int n = read_lines("/etc/mhcl/tap", lines);
	for (int i = 0; i < n; i++) {
		char key[16], val[64];
		if (sscanf(lines[i], "%15s %63s", key, val) != 2)
			continue;
		if (!strcmp(key, "name") && strlen(val) < sizeof(base))
			memcpy(base, val, strlen(val) + 1);
		else if (!strcmp(key, "owner"))
			owner = strtol(val, NULL, 10);
		else if (!strcmp(key, "address"))
			addr = inet_addr(val);
		else if (!strcmp(key, "prefix"))
			prefix = atoi(val);
	}
	if (!base[0])
		return;
	unsigned nics = nics_named();
	for (unsigned nic = 0; nic < nics; nic++)
		make_one_tap(base, nic, owner, addr, prefix);
}

/* Writes text to the sysfs file at path; 0 or -errno. */
static int sysfs_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int r = n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
	return r;
}

/*
 * Every NVMe function (PCI class 01:08:02) goes to vfio-pci: in the paravisor the NVMe
 * controllers are the storage server's (lib/nvme over VFIO), never the kernel's (Debian's
 * has its nvme driver built in, which takes them first at boot). The host names the ones the guest
 * gets in its host tree; init hands each function's VFIO group node to storaged.
 */
static void bind_nvme(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char path[320], class[16];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		bool nvme = fgets(class, sizeof(class), f) && strncmp(class, "0x010802", 8) == 0;
		fclose(f);
		if (!nvme)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", e->d_name);
		int r = sysfs_write(path, "vfio-pci");
		/* The kernel's own nvme driver (built into Debian's) may have it already. */
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", e->d_name);
		if (r == 0 && access(path, F_OK) == 0)
			r = sysfs_write(path, e->d_name);
		if (r == 0)
			r = sysfs_write("/sys/bus/pci/drivers_probe", e->d_name);
		char link[320] = "";
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", e->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		const char *drv = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
		if (r < 0 || strcmp(drv, "vfio-pci") != 0)
			say("NVMe %s: not bound to vfio-pci (%s; is there an IOMMU?)", e->d_name,
			    r < 0    ? strerror(-r)
			    : drv[0] ? drv
				     : "no driver");
		else
			say("NVMe %s bound to vfio-pci%s", e->d_name, "");
	}
	closedir(d);
}

/* ext2/3/4 superblock: 1024 bytes in; magic at 56, volume name at 120. */
#define EXT2_SB_OFFSET 1024
#define EXT2_MAGIC_OFFSET 56
#define EXT2_LABEL_OFFSET 120
#define EXT2_LABEL_LEN 16
#define EXT2_MAGIC 0xef53

static bool has_ext2_label(const char *dev, const char *label)
{
	uint8_t sb[EXT2_LABEL_OFFSET + EXT2_LABEL_LEN];
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = pread(fd, sb, sizeof(sb), EXT2_SB_OFFSET);
	close(fd);
	if (n != (ssize_t)sizeof(sb) ||
	    (sb[EXT2_MAGIC_OFFSET] | sb[EXT2_MAGIC_OFFSET + 1] << 8) != EXT2_MAGIC)
		return false;
	size_t len = strlen(label);
	return len <= EXT2_LABEL_LEN && memcmp(sb + EXT2_LABEL_OFFSET, label, len) == 0 &&
	       (len == EXT2_LABEL_LEN || sb[EXT2_LABEL_OFFSET + len] == 0);
}

static void mount_guest(void)
{
	static char lines[MAX_LINES][MAX_LINE];
	char label[EXT2_LABEL_LEN + 1] = "", dir[MAX_LINE] = "", dev[300];
	int n = read_lines("/etc/mhcl/guest", lines);
	for (int i = 0; i < n; i++) {
		char key[16], val[MAX_LINE];
		if (sscanf(lines[i], "%15s %255s", key, val) != 2)
			continue;
		if (!strcmp(key, "label") && strlen(val) < sizeof(label))
			memcpy(label, val, strlen(val) + 1);
		else if (!strcmp(key, "mount"))
			memcpy(dir, val, strlen(val) + 1);
	}
	if (!label[0] || !dir[0])
		return;
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !strncmp(e->d_name, "loop", 4) ||
		    !strncmp(e->d_name, "ram", 3))
			continue;
		snprintf(dev, sizeof(dev), "/dev/%s", e->d_name);
		if (!has_ext2_label(dev, label))
			continue;
		(void)mkdir(dir, 0755);
		if (mount(dev, dir, "ext4", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			say("unable to mount the guest disk: %s", strerror(errno), "");
		else
			say("guest disk %s mounted on %s", dev, dir);
		closedir(d);
		return;
	}
	if (d)
		closedir(d);
	say("no guest disk (label %s)%s", label, "");
}

int main(int argc, char **argv)
{
	static char lines[MAX_LINES][MAX_LINE];
	char *args[MAX_LINES + 1];

	if (getpid() != 1) {
		fprintf(stderr, "mhcl-preinit: runs only as PID 1 (the image's /init)\n");
		return MHCL_EXIT_USAGE;
	}
	console();
	(void)mkdir("/proc", 0555);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		say("unable to mount %s: %s", "/proc", strerror(errno));
	(void)mkdir("/sys", 0555);
	if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		say("unable to mount %s: %s", "/sys", strerror(errno));
	(void)mkdir("/dev", 0755);
	if (!dev_mounted && mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") < 0)
		say("unable to mount %s: %s", "/dev", strerror(errno));
	if (reboot(RB_DISABLE_CAD) < 0)
		say("unable to route Ctrl-Alt-Del to init: %s%s", strerror(errno), "");
	load_modules();
	bind_nvme();
	configure_net();
	make_taps();
	mount_guest();

	int n = read_lines("/etc/mhcl/init", lines);
	if (n <= 0) {
		say("no mhcl-init command in /etc/mhcl/init (%s)%s", n < 0 ? strerror(-n) : "empty",
		    "");
	} else {
		for (int i = 0; i < n; i++)
			args[i] = lines[i];
		args[n] = NULL;
		execv(args[0], args);
		say("unable to exec %s: %s", args[0], strerror(errno));
	}
	sync();
	(void)reboot(RB_POWER_OFF);
	return MHCL_EXIT_EXEC;
}
