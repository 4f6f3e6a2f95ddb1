/* SPDX-License-Identifier: MIT */
/* Parts of the vfio-user transport shared with its test server and fuzz target. */
#ifndef MHCL_LIB_DEVACCESS_VFIO_USER_INTERNAL_H
#define MHCL_LIB_DEVACCESS_VFIO_USER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct msghdr;

/* The capabilities of the VERSION message this code understands; the rest is skipped. */
struct vfio_user_caps {
	uint32_t max_msg_fds;
	uint32_t max_data_xfer_size;
};

/* Parses the JSON of a VERSION message (len bytes, up to the first NUL; need not be
 * terminated) into ret, starting from the spec's defaults: an empty text gives them.
 * Untrusted input: depth, lengths and numbers are bounded. -EBADMSG on malformed JSON or
 * a capability that is not an integer in [0, UINT32_MAX]; ret is then untouched. */
int vfio_user__parse_caps(const char *json, size_t len, struct vfio_user_caps *ret);

/* Writes caps as NUL-terminated JSON into buf; returns its length with the NUL, or
 * -ENOBUFS. */
int vfio_user__format_caps(const struct vfio_user_caps *caps, char *buf, size_t size);

/* Puts n fds (borrowed) as one SCM_RIGHTS message into ctl (ctl_size bytes, aligned for a
 * struct cmsghdr) and points m at it; nothing when n is 0 or ctl is too small. */
void vfio_user__attach_fds(struct msghdr *m, void *ctl, size_t ctl_size, const int *fds,
			   unsigned n);

/* Moves the fds a received message carries into fds[*nfds..max) (the caller owns them)
 * and closes those past max; returns how many it closed. */
unsigned vfio_user__take_fds(struct msghdr *m, int *fds, unsigned max, unsigned *nfds);

#endif
