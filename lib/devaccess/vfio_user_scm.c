/* SPDX-License-Identifier: MIT */
/* SCM_RIGHTS packing for vfio-user messages, shared by the client and the test server. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vfio_user_internal.h"

void vfio_user__attach_fds(struct msghdr *m, void *ctl, size_t ctl_size, const int *fds, unsigned n)
{
	struct cmsghdr *c;

	if (!n || CMSG_SPACE(sizeof(int) * n) > ctl_size)
		return;
	memset(ctl, 0, ctl_size);
	m->msg_control = ctl;
	m->msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
}

unsigned vfio_user__take_fds(struct msghdr *m, int *fds, unsigned max, unsigned *nfds)
{
	unsigned dropped = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < max) {
				fds[(*nfds)++] = fd;
			} else {
				close(fd);
				dropped++;
			}
		}
	}
	return dropped;
}
