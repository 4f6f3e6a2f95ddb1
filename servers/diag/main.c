/* SPDX-License-Identifier: MIT */
/*
 * mhcl-diagd: the diagnostics server. Started by init (its manifest entry
 * has the `control` property, so init accepts diag requests on its bus
 * channel). Opens its listeners, enters the "diagd" jail, then relays client
 * requests to init (diagd.c).
 *
 *   mhcl-diagd [--unix PATH] [--tcp [HOST:]PORT] [--vsock PORT|any]
 *              [--secret-file PATH] [--unix-mode OCTAL] [--max-conns N]
 *              [--max-pending N] [--request-timeout MS]
 *
 * The unix socket is created mode 0600 unless --unix-mode says otherwise;
 * TCP listens on loopback unless a host is given (the manifest naming an
 * address is the manifest saying otherwise).
 *
 * --secret-file: TCP and vsock clients must prove they know the secret
 * (HMAC-SHA256 challenge-response, defs/diag_auth.h, gate.c) before any
 * request is read; unix clients are not asked (the socket's mode guards
 * them). The file is read once, before the jail. When init runs isolated
 * (MHCL_ISOLATED in the environment only init gives), a TCP or vsock
 * listener without a secret is refused: diagd exits 125 (not restarted).
 * The check sits here, not in init, because this is the parser that opens
 * the listeners: init re-parsing the manifest's args (getopt abbreviations,
 * "--tcp=...") could disagree with it; the environment is init's alone.
 *
 * Jail: the "diagd" profile (lib/jail) must allow, after entry, what libuv
 * and the bus need plus accept4 on the held listeners (network-server
 * group) and getsockopt (SO_PEERCRED on unix clients). Nothing is opened
 * or bound after entry.
 */
#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "defs/exit_codes.h"
#include "diag_auth.h"
#include "diag_internal.h"
#include "ipc.h"
#include "server.h"

#define DIAGD_REQUEST_TIMEOUT_MS 10000u

struct options {
	const char *unix_path;
	mode_t unix_mode;
	char tcp[128];
	bool have_tcp, have_vsock;
	uint32_t vsock_port;
	const char *secret_file;
	struct diagd_config cfg;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: mhcl-diagd [--unix PATH] [--tcp [HOST:]PORT] [--vsock PORT|any]\n"
		   "                  [--secret-file PATH] [--unix-mode OCTAL] [--max-conns N]\n"
		   "                  [--max-pending N] [--request-timeout MS]\n"
		   "Started by mhcl-init; HOST defaults to 127.0.0.1. With --secret-file, TCP\n"
		   "and vsock clients must prove they know the secret.\n");
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"unix", required_argument, NULL, 'u'},
	    {"unix-mode", required_argument, NULL, 'm'},
	    {"tcp", required_argument, NULL, 't'},
	    {"vsock", required_argument, NULL, 'v'},
	    {"secret-file", required_argument, NULL, 's'},
	    {"max-conns", required_argument, NULL, 'c'},
	    {"max-pending", required_argument, NULL, 'p'},
	    {"request-timeout", required_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int opt;

	*o = (struct options){
	    .unix_mode = 0600,
	    .cfg = {DIAG_CONNS_DEFAULT, DIAG_PENDING_DEFAULT, DIAGD_REQUEST_TIMEOUT_MS, NULL},
	};
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			if (ipc_unix_path_check(optarg) < 0)
				return log_error_errno(-ENAMETOOLONG, "--unix: path too long");
			o->unix_path = optarg;
			break;
		case 'm': {
			char *end;
			unsigned long v;
			errno = 0;
			v = strtoul(optarg, &end, 8);
			if (errno || *end || !*optarg || v > 0777)
				return log_error_errno(-EINVAL, "--unix-mode wants octal 0..0777");
			o->unix_mode = (mode_t)v;
			break;
		}
		case 't':
			/* A bare port listens on loopback only. */
			if (strchr(optarg, ':'))
				snprintf(o->tcp, sizeof(o->tcp), "%s", optarg);
			else
				snprintf(o->tcp, sizeof(o->tcp), "127.0.0.1:%s", optarg);
			o->have_tcp = true;
			break;
		case 'v':
			/* "any": the kernel picks a port (inspect shows which). */
			if (strcmp(optarg, "any") == 0)
				o->vsock_port = VMADDR_PORT_ANY;
			else if (parse_u32(optarg, 0, UINT32_MAX, &o->vsock_port) < 0)
				return log_error_errno(-EINVAL, "--vsock: invalid port '%s'",
						       optarg);
			o->have_vsock = true;
			break;
		case 's':
			o->secret_file = optarg;
			break;
		case 'c':
			if (parse_u32(optarg, 1, DIAG_CONNS_MAX, &o->cfg.max_conns) < 0)
				return log_error_errno(-EINVAL, "--max-conns wants 1..%u",
						       DIAG_CONNS_MAX);
			break;
		case 'p':
			if (parse_u32(optarg, 1, DIAG_PENDING_MAX, &o->cfg.max_pending) < 0)
				return log_error_errno(-EINVAL, "--max-pending wants 1..%u",
						       DIAG_PENDING_MAX);
			break;
		case 'T':
			if (parse_u32(optarg, 1, 600000, &o->cfg.request_timeout_ms) < 0)
				return log_error_errno(-EINVAL,
						       "--request-timeout wants 1..600000 ms");
			break;
		case 'h':
			usage(stdout);
			exit(MHCL_EXIT_OK);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(-EINVAL, "unexpected argument '%s'", argv[optind]);
	if (!o->unix_path && !o->have_tcp && !o->have_vsock)
		return log_error_errno(-EINVAL, "no listener: give --unix, --tcp or --vsock");
	return 0;
}

/* "127.0.0.1:43521": the address the TCP listener really got (port 0 = any). */
static void tcp_bound_addr(int fd, const char *fallback, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s", fallback);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)))
			snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)))
			snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}

/* Opens every listener asked for; all before the jail. Returns how many are up. */
static int open_listeners(struct diagd *d, const struct options *o)
{
	char addr[160];
	int n = 0, fd, r;

	if (o->unix_path) {
		/* The socket is born with the mode asked for (default owner only):
		 * whoever can connect can restart and kill servers. */
		mode_t old = umask(0777 & ~o->unix_mode);
		fd = ipc_listen_unix(o->unix_path, SOCK_STREAM);
		umask(old);
		if (fd < 0)
			return log_error_errno(fd, "unable to listen on %s: %m", o->unix_path);
		r = diagd_listen(d, fd, "unix", o->unix_path, false);
		if (r < 0)
			return log_error_errno(r, "unable to watch %s: %m", o->unix_path);
		log_info("listening on unix:%s", o->unix_path);
		n++;
	}
	if (o->have_tcp) {
		fd = ipc_listen_tcp(o->tcp);
		if (fd < 0)
			return log_error_errno(fd, "unable to listen on tcp:%s: %m", o->tcp);
		tcp_bound_addr(fd, o->tcp, addr, sizeof(addr));
		if (!o->cfg.secret && strncmp(addr, "127.", 4) != 0 &&
		    strncmp(addr, "[::1]", 5) != 0)
			log_warn("tcp:%s takes unauthenticated clients from the network "
				 "(give --secret-file)",
				 addr);
		r = diagd_listen(d, fd, "tcp", addr, o->cfg.secret != NULL);
		if (r < 0)
			return log_error_errno(r, "unable to watch tcp:%s: %m", addr);
		log_info("listening on tcp:%s%s", addr, o->cfg.secret ? " (secret required)" : "");
		n++;
	}
	if (o->have_vsock) {
		/* Hosts without AF_VSOCK (or no vsock transport) are normal in development. */
		fd = ipc_listen_vsock(o->vsock_port);
		if (fd < 0) {
			log_warn_errno(fd,
				       "unable to listen on vsock port %u: %m, continuing without",
				       o->vsock_port);
		} else {
			struct sockaddr_vm vm;
			socklen_t vl = sizeof(vm);
			uint32_t port = o->vsock_port;
			if (getsockname(fd, (struct sockaddr *)&vm, &vl) == 0 &&
			    vm.svm_family == AF_VSOCK)
				port = vm.svm_port;
			snprintf(addr, sizeof(addr), "%u", port);
			r = diagd_listen(d, fd, "vsock", addr, o->cfg.secret != NULL);
			if (r < 0)
				return log_error_errno(r, "unable to watch vsock: %m");
			log_info("listening on vsock port %s%s", addr,
				 o->cfg.secret ? " (secret required)" : "");
			n++;
		}
	}
	return n;
}

struct diagd_main {
	struct diagd *d;
	uv_loop_t *loop;
};

static void ops_inspect(struct srv *s, struct inspect_tree *t, Mhcl__Node *root, void *opaque)
{
	struct diagd_main *m = opaque;

	if (m->d)
		diagd_inspect(m->d, t, root);
}

static void ops_stop(struct srv *s, void *opaque)
{
	struct diagd_main *m = opaque;

	if (m->d)
		diagd_stop(m->d);
	uv_stop(m->loop);
}

static const struct srv_ops diagd_ops = {
    .inspect = ops_inspect,
    .stop = ops_stop,
};

/* Loads the secret (before the jail) and applies isolation. An enum exit code or 0. */
static int setup_auth(struct options *o, struct diag_secret *secret)
{
	char why[320];
	bool network = o->have_tcp || o->have_vsock;

	if (o->secret_file) {
		int r = diag_secret_load(o->secret_file, secret, why, sizeof(why));
		if (r < 0) {
			log_error("--secret-file: %s", why);
			return MHCL_EXIT_USAGE;
		}
		o->cfg.secret = secret;
		if (!network)
			log_warn("--secret-file without --tcp or --vsock: unix clients are not "
				 "asked, ignoring");
	}
	if (srv_isolated() && network && !o->cfg.secret) {
		log_error("isolated: refusing %s%s%s without --secret-file (network diag needs "
			  "authentication)",
			  o->have_tcp ? "--tcp" : "", o->have_tcp && o->have_vsock ? " and " : "",
			  o->have_vsock ? "--vsock" : "");
		return MHCL_EXIT_NO_RESTART;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct diag_secret secret; /* outlives the core, which borrows it */
	struct diagd_main m = {0};
	struct options o;
	uv_loop_t loop;
	struct srv *s;
	int r, code;

	log_set_ident("diagd");
	if (parse_args(argc, argv, &o) < 0)
		return MHCL_EXIT_USAGE;
	r = setup_auth(&o, &secret);
	if (r)
		return r;
	r = uv_loop_init(&loop);
	if (r < 0) {
		log_error("unable to create the event loop: %s", uv_strerror(r));
		return MHCL_EXIT_SYSCALL;
	}
	m.loop = &loop;
	r = srv_start(&loop, &diagd_ops, &m, &s);
	if (r < 0) {
		log_error_errno(r, "unable to adopt the bus: %m");
		return MHCL_EXIT_SYSCALL;
	}
	r = diagd_new(&loop, s, &o.cfg, &m.d);
	if (r < 0) {
		log_error_errno(r, "unable to set up: %m");
		return MHCL_EXIT_SYSCALL;
	}
	r = open_listeners(m.d, &o);
	if (r <= 0) {
		if (r == 0)
			log_error("no listener could be opened");
		return MHCL_EXIT_SYSCALL;
	}
	/* Everything is open: from here on only held fds are used. */
	srv_enter_jail(s, "diagd");
	r = srv_ready(s);
	if (r < 0) {
		log_error_errno(r, "unable to send READY: %m");
		return MHCL_EXIT_SYSCALL;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	if (m.d)
		diagd_stop(m.d);
	code = srv_finish(s);
	m.d = diagd_free(m.d);
	(void)uv_loop_close(&loop);
	diag_secret_wipe(&secret);
	return code;
}
