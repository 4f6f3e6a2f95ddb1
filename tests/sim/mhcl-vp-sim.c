/* SPDX-License-Identifier: MIT */
/*
 * mhcl-vp-sim: mhcl-vp on the sim partition backend, for tests.
 *
 *   mhcl-vp-sim --vmbusd PATH --guest PATH [--cpus N] [--mem MIB] [--trace-guest-messages]
 *               [--debug]
 *
 * The same worker as mhcl-vp (VP loop, SynIC) and the same relay to mhcl-vmbusd
 * (worker/vp_bus.h), run under mhcl-init with the "vp" jail; only the partition differs:
 * no guest is loaded, the test plays it over the sim protocol (sim_proto.h). Before the
 * jail this process connects to the test at --guest PATH and sends it one message holding
 * every VP's guest socket (SCM_RIGHTS, VP order, the VP count as the 4-byte payload). It
 * keeps that connection open for as long as it lives, so the test sees it end.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "defs/exit_codes.h"
#include "ipc.h"
#include "log.h"
#include "sim_worker.h"
#include "vp.h"
#include "vp_bus.h"

#define MAX_MEM_MIB 1024u

static int hand_over(struct sim_worker *sw, uint32_t nvp, const char *path)
{
	char cbuf[CMSG_SPACE(sizeof(int) * WORKER_MAX_VPS)] = {0};
	int fds[WORKER_MAX_VPS];
	struct iovec iov = {&nvp, sizeof(nvp)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = CMSG_SPACE(sizeof(int) * nvp)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int fd, r = 0;

	for (uint32_t i = 0; i < nvp; i++) {
		fds[i] = sim_worker_guest_socket(sw, i);
		if (fds[i] < 0) {
			r = fds[i];
			nvp = i;
			goto out;
		}
	}
	fd = ipc_connect_unix(path, SOCK_SEQPACKET);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nvp);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nvp);
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(nvp)) {
		r = -errno;
		close(fd);
	}
	/* On success fd stays open until exit: the test's sign that the worker lives. */
out:
	for (uint32_t i = 0; i < nvp; i++)
		close(fds[i]);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"vmbusd", required_argument, NULL, 'V'},
	    {"guest", required_argument, NULL, 'g'},
	    {"cpus", required_argument, NULL, 'n'},
	    {"mem", required_argument, NULL, 'm'},
	    {"debug", no_argument, NULL, 'd'},
	    {"trace-guest-messages", no_argument, NULL, 'T'},
	    {0},
	};
	const char *vmbusd = NULL, *guest = NULL;
	unsigned long cpus = 1, mem = 16;
	struct sim_worker *sw;
	int c, r, rc;
	bool trace = false;

	log_set_ident("mhcl-vp-sim");
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'V':
			vmbusd = optarg;
			break;
		case 'g':
			guest = optarg;
			break;
		case 'n':
			cpus = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			mem = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'T':
			trace = true;
			break;
		default:
			return MHCL_EXIT_USAGE;
		}
	}
	if (!vmbusd || !guest || optind != argc || cpus < 1 || cpus > WORKER_MAX_VPS || mem < 1 ||
	    mem > MAX_MEM_MIB) {
		fprintf(stderr,
			"usage: mhcl-vp-sim --vmbusd PATH --guest PATH [--cpus 1..%u] "
			"[--mem 1..%u] [--trace-guest-messages] [--debug]\n",
			WORKER_MAX_VPS, MAX_MEM_MIB);
		return MHCL_EXIT_USAGE;
	}
	if (!vp_bus_under_init()) {
		log_error("mhcl-vp-sim runs under mhcl-init");
		return MHCL_EXIT_USAGE;
	}
	r = sim_worker_new((uint64_t)mem << 20, (uint32_t)cpus, &sw);
	if (r < 0) {
		log_error_errno(r, "unable to set up the sim partition: %m");
		return MHCL_EXIT_SYSCALL;
	}
	hv_synic_set_trace(sim_worker_partition(sw)->synic, trace);
	r = hand_over(sw, (uint32_t)cpus, guest);
	if (r < 0) {
		log_error_errno(r, "unable to hand the guest sockets to %s: %m", guest);
		sim_worker_stop(sw, NULL);
		return MHCL_EXIT_SYSCALL;
	}
	rc = vp_bus_run(sim_worker_partition(sw), vmbusd);
	sim_worker_stop(sw, NULL);
	return rc;
}
