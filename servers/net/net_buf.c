/* SPDX-License-Identifier: MIT */
#include "net_buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guestmem.h"

int net_buf_map(struct net_buf *b, const struct vmbusdev_chan *c, uint32_t gpadl, const char **why)
{
	const struct vmbusdev_gpadl *g = vmbusdev_chan_gpadl(c, gpadl);
	const struct guestmem *gm = vmbusdev_chan_guestmem(c);
	size_t bad = 0;

	memset(b, 0, sizeof(*b));
	if (!g || !gm) {
		*why = "no such GPADL on the channel";
		return -ENOENT;
	}
	if (g->byte_offset >= GUESTMEM_PAGE_SIZE || g->byte_count == 0 ||
	    (uint64_t)g->byte_offset + g->byte_count > (uint64_t)g->npfns * GUESTMEM_PAGE_SIZE) {
		*why = "the GPADL's range does not fit its pages";
		return -EINVAL;
	}
	b->pages = calloc(g->npfns, sizeof(*b->pages));
	if (!b->pages) {
		*why = "out of memory";
		return -ENOMEM;
	}
	int r = guestmem_pages(gm, g->pfns, g->npfns, b->pages, &bad);
	if (r < 0) {
		free(b->pages);
		b->pages = NULL;
		*why = "a page of the GPADL is outside guest RAM";
		return r;
	}
	b->gpadl = gpadl;
	b->len = g->byte_count;
	b->npages = g->npfns;
	b->first = g->byte_offset;
	return 0;
}

void net_buf_unmap(struct net_buf *b)
{
	free(b->pages);
	memset(b, 0, sizeof(*b));
}

int net_buf_iov(const struct net_buf *b, uint32_t off, uint32_t len, struct iovec *iov, int max)
{
	int n = 0;

	if (!b->pages || off > b->len || len > b->len - off)
		return -ERANGE;
	uint64_t at = (uint64_t)b->first + off;
	while (len) {
		uint32_t page = (uint32_t)(at / GUESTMEM_PAGE_SIZE);
		uint32_t in = (uint32_t)(at % GUESTMEM_PAGE_SIZE);
		uint32_t take = GUESTMEM_PAGE_SIZE - in;
		if (take > len)
			take = len;
		uint8_t *p = b->pages[page] + in;
		if (n && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == p) {
			iov[n - 1].iov_len += take;
		} else {
			if (n == max)
				return -ENOBUFS;
			iov[n++] = (struct iovec){p, take};
		}
		at += take;
		len -= take;
	}
	return n;
}

static int buf_copy(const struct net_buf *b, uint32_t off, void *local, uint32_t len, bool out)
{
	if (!b->pages || off > b->len || len > b->len - off)
		return -ERANGE;
	uint64_t at = (uint64_t)b->first + off;
	uint8_t *l = local;
	while (len) {
		uint32_t in = (uint32_t)(at % GUESTMEM_PAGE_SIZE);
		uint32_t take = GUESTMEM_PAGE_SIZE - in;
		if (take > len)
			take = len;
		uint8_t *p = b->pages[at / GUESTMEM_PAGE_SIZE] + in;
		if (out)
			memcpy(l, p, take);
		else
			memcpy(p, l, take);
		l += take;
		at += take;
		len -= take;
	}
	return 0;
}

int net_buf_read(const struct net_buf *b, uint32_t off, void *dst, uint32_t len)
{
	return buf_copy(b, off, dst, len, true);
}

int net_buf_write(const struct net_buf *b, uint32_t off, const void *src, uint32_t len)
{
	return buf_copy(b, off, (void *)src, len, false);
}

uint32_t net_iov_read(const struct iovec *iov, int iovcnt, uint32_t off, void *dst, uint32_t len)
{
	uint8_t *d = dst;
	uint32_t done = 0;

	for (int i = 0; i < iovcnt && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= (uint32_t)iov[i].iov_len;
			continue;
		}
		uint32_t take = (uint32_t)iov[i].iov_len - off;
		if (take > len - done)
			take = len - done;
		memcpy(d + done, (const uint8_t *)iov[i].iov_base + off, take);
		done += take;
		off = 0;
	}
	return done;
}

int net_iov_slice(const struct iovec *iov, int iovcnt, uint32_t off, uint32_t len,
		  struct iovec *out, int max)
{
	int n = 0;

	for (int i = 0; i < iovcnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= (uint32_t)iov[i].iov_len;
			continue;
		}
		uint32_t take = (uint32_t)iov[i].iov_len - off;
		if (take > len)
			take = len;
		if (n == max)
			return -ENOBUFS;
		out[n++] = (struct iovec){(uint8_t *)iov[i].iov_base + off, take};
		len -= take;
		off = 0;
	}
	return len ? -ERANGE : n;
}
