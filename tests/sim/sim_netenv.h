/* SPDX-License-Identifier: MIT */
/*
 * The environment of the network tests and benchmark (on top of sim_env.h): this process
 * in a private network namespace (IPv6 off, lo up), mhcl-netd on TAP `tap` with `queues`
 * queues and the guest MAC 02:00:00:00:00:01 (restart always), and mhcl-diagd for the CLI.
 * With sim_netenv_mana set (a vfio-user socket path), netd drives a MANA function there
 * instead (the test starts the GDMA/MANA test device, whose vPort is the TAP).
 */
#ifndef MHCL_TEST_SIM_NETENV_H
#define MHCL_TEST_SIM_NETENV_H

#include <sched.h>

#include "sim_env.h"

static const char *sim_netenv_mana;
/* More netd arguments, already quoted for the manifest (e.g. "--rx-batch", "1"), or NULL. */
static const char *sim_netenv_netd_args;

/* argv: INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC NETD_DIR DIAGD_DIR. Returns false (nothing
 * set up) when the namespace or /dev/net/tun is not available. */
static inline bool sim_netenv_init(char **argv, const char *tap, unsigned queues)
{
	static char servers[1024], libexec[1024];
	char backend[256];

	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "no network namespace: %s\n", strerror(errno));
		return false;
	}
	int tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (tun < 0) {
		fprintf(stderr, "no /dev/net/tun: %s\n", strerror(errno));
		return false;
	}
	close(tun);
	/* No IPv6: the kernel's router and neighbour solicitations would be noise. */
	(void)!system("echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null");
	if (system("ip link set lo up") != 0)
		TEST_FAIL_("unable to bring %s up", "lo");
	snprintf(libexec, sizeof(libexec), "%s:%s", argv[5], argv[6]);
	sim_env_init(argv);
	if (sim_netenv_mana)
		snprintf(backend, sizeof(backend), "\"--mana\", \"vfio-user:%s\"", sim_netenv_mana);
	else
		snprintf(backend, sizeof(backend), "\"--tap\", \"%s\"", tap);
	snprintf(servers, sizeof(servers),
		 "net { binary = \"mhcl-netd\"; args = \"--vmbus-socket\", \"${RUN}/dev.sock\","
		 " %s, \"--queues\", \"%u\", \"--mac\", \"02:00:00:00:00:01\"%s%s;"
		 " policy = \"netd\"; capabilities = \"net_admin\"; restart = \"always\";"
		 " restart-delay-ms = <10>;%s"
		 " crash-loop-limit = <32>; start-order = <25>; };\n"
		 "diag { binary = \"mhcl-diagd\"; args = \"--unix\", \"${RUN}/diag.sock\";"
		 " policy = \"diagd\"; restart = \"never\"; start-order = <5>; control; };\n",
		 backend, queues, sim_netenv_netd_args ? ", " : "",
		 sim_netenv_netd_args ? sim_netenv_netd_args : "",
		 /* A TAP's next netd opens nothing before READY; MANA over vfio-user connects
		  * to its device, which takes one driver at a time. */
		 sim_netenv_mana ? "" : " prestart;");
	sim_env_extra_servers = servers;
	sim_env_extra_libexec = libexec;
	return true;
}

#endif
