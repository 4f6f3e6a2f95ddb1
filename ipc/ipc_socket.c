/* SPDX-License-Identifier: MIT */
/*
 * Socket helpers for the bus: the init <-> server socketpair, listening
 * sockets for diag (unix, TCP, vsock) and blocking connect helpers for
 * clients. Every fd is created close-on-exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "ipc.h"
/* <sys/param.h> (through uv.h) defines MIN/MAX too; use macros.h's. */
#undef MIN
#undef MAX
#include "macros.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

int ipc_socketpair(int ret_fds[2])
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	ret_fds[0] = fds[0];
	ret_fds[1] = fds[1];
	return 0;
}

int ipc_unix_path_check(const char *path)
{
	if (!path || !path[0])
		return -EINVAL;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static int unix_addr(const char *path, struct sockaddr_un *ret_sa, socklen_t *ret_len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n;
	int r = ipc_unix_path_check(path);

	if (r < 0)
		return r;
	n = strlen(path);
	memcpy(sa.sun_path, path, n + 1);
	*ret_sa = sa;
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/*
 * A socket file left behind by a dead process makes bind() fail with
 * EADDRINUSE. It is stale when connecting to it is refused; a live listener
 * accepts (or is busy, EAGAIN). Only socket files are ever removed.
 */
static bool unix_path_is_stale(const struct sockaddr_un *sa, socklen_t len, int type)
{
	struct stat st;
	bool stale;
	int fd;

	if (lstat(sa->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	stale = connect(fd, (const struct sockaddr *)sa, len) < 0 && errno == ECONNREFUSED;
	close(fd);
	return stale;
}

int ipc_listen_unix(const char *path, int type)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	socklen_t len;
	int r;

	if (type != SOCK_STREAM && type != SOCK_SEQPACKET)
		return -EINVAL;
	r = unix_addr(path, &sa, &len);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
		r = -errno;
		if (r != -EADDRINUSE || !unix_path_is_stale(&sa, len, type))
			return r;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
		if (bind(fd, (struct sockaddr *)&sa, len) < 0)
			return -errno;
	}
	if (listen(fd, SOMAXCONN) < 0)
		return -errno;
	return take_fd(&fd);
}

/*
 * Splits "host:port", "[v6]:port" or ":port" (any address). Writes the host
 * (empty for any) into host_buf and the port string into *ret_port.
 */
static int split_host_port(const char *host_port, char *host_buf, size_t host_size,
			   const char **ret_port)
{
	const char *colon, *host = host_port, *port;
	size_t host_len;
	char *end;
	unsigned long v;

	if (!host_port)
		return -EINVAL;
	if (host_port[0] == '[') {
		const char *close_br = strchr(host_port, ']');
		if (!close_br || close_br[1] != ':')
			return -EINVAL;
		host = host_port + 1;
		host_len = (size_t)(close_br - host);
		port = close_br + 2;
	} else {
		colon = strrchr(host_port, ':');
		if (!colon)
			return -EINVAL;
		host_len = (size_t)(colon - host_port);
		port = colon + 1;
	}
	if (host_len >= host_size)
		return -EINVAL;
	if (!port[0])
		return -EINVAL;
	errno = 0;
	v = strtoul(port, &end, 10);
	if (errno || *end || v > 65535 || port[0] < '0' || port[0] > '9')
		return -EINVAL;
	memcpy(host_buf, host, host_len);
	host_buf[host_len] = '\0';
	if (strcmp(host_buf, "*") == 0)
		host_buf[0] = '\0';
	*ret_port = port;
	return 0;
}

static int resolve(const char *host_port, bool passive, struct addrinfo **ret_ai)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0),
	};
	char host[256];
	const char *port;
	int r;

	r = split_host_port(host_port, host, sizeof(host), &port);
	if (r < 0)
		return r;
	r = getaddrinfo(host[0] ? host : NULL, port, &hints, ret_ai);
	switch (r) {
	case 0:
		return 0;
	case EAI_SYSTEM:
		return errno ? -errno : -EIO;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_FAMILY:
		return -EAFNOSUPPORT;
	default:
		return -EADDRNOTAVAIL;
	}
}

int ipc_listen_tcp(const char *host_port)
{
	struct addrinfo *ai, *p;
	int r, fd = -1;

	r = resolve(host_port, true, &ai);
	if (r < 0)
		return r;
	r = -EADDRNOTAVAIL;
	for (p = ai; p; p = p->ai_next) {
		int one = 1;

		fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, p->ai_addr, p->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
			break;
		r = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd >= 0 ? fd : r;
}

int ipc_listen_vsock(uint32_t port)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK,
	    .svm_port = port,
	    .svm_cid = VMADDR_CID_ANY,
	};

	/* No vsock transport in this kernel gives EAFNOSUPPORT; callers fall back. */
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (listen(fd, SOMAXCONN) < 0)
		return -errno;
	return take_fd(&fd);
}

int ipc_connect_unix(const char *path, int type)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	socklen_t len;
	int r;

	if (type != SOCK_STREAM && type != SOCK_SEQPACKET)
		return -EINVAL;
	r = unix_addr(path, &sa, &len);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0)
		return -errno;
	return take_fd(&fd);
}

/*
 * Non-blocking connect bounded by timeout_ms (0: IPC_DEFAULT_TIMEOUT_MS),
 * then back to blocking mode. Returns the fd or -errno (-ETIMEDOUT).
 */
static int connect_bounded(int family, const struct sockaddr *sa, socklen_t len,
			   uint32_t timeout_ms)
{
	_cleanup_close_ int fd = -1;
	struct pollfd pfd;
	int err = 0, r;
	socklen_t err_len = sizeof(err);

	if (timeout_ms == 0)
		timeout_ms = IPC_DEFAULT_TIMEOUT_MS;
	if (timeout_ms > INT_MAX)
		timeout_ms = INT_MAX;
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, sa, len) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
		do
			r = poll(&pfd, 1, (int)timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0)
			return -errno;
		if (err)
			return -err;
	}
	r = fcntl(fd, F_GETFL);
	if (r < 0 || fcntl(fd, F_SETFL, r & ~O_NONBLOCK) < 0)
		return -errno;
	return take_fd(&fd);
}

int ipc_connect_tcp(const char *host_port, uint32_t timeout_ms)
{
	struct addrinfo *ai, *p;
	int r, fd = -EADDRNOTAVAIL;

	r = resolve(host_port, false, &ai);
	if (r < 0)
		return r;
	for (p = ai; p; p = p->ai_next) {
		fd = connect_bounded(p->ai_family, p->ai_addr, p->ai_addrlen, timeout_ms);
		if (fd >= 0) {
			int one = 1;
			/* Request/response traffic: do not wait to coalesce. */
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			break;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

int ipc_connect_vsock(uint32_t cid, uint32_t port, uint32_t timeout_ms)
{
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK,
	    .svm_port = port,
	    .svm_cid = cid,
	};

	return connect_bounded(AF_VSOCK, (const struct sockaddr *)&sa, sizeof(sa), timeout_ms);
}

int ipc_accept(int listen_fd)
{
	int fd;

	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}
