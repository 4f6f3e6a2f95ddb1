/* SPDX-License-Identifier: MIT */
#include "net_capture.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net.pb-c.h"
#include "net_buf.h"

/* The pcap record header (the file header is the client's). */
struct pcap_record {
	uint32_t ts_sec, ts_usec;
	uint32_t caplen, len;
};

struct net_capture {
	uv_timer_t timer;
	bool armed;
	struct ipc_chan *ch; /* the request's channel: the server's bus, which outlives it */
	uint32_t request_id;
	uint32_t want, snaplen;
	uint32_t frames, missed;
	size_t used;
	uint8_t buf[NET_CAPTURE_BYTES_MAX];
};

static void answer(struct net_capture *c)
{
	Mhcl__Net__NetCaptureReply rep = MHCL__NET__NET_CAPTURE_REPLY__INIT;

	rep.records = (ProtobufCBinaryData){c->used, c->buf};
	rep.frames = c->frames;
	rep.missed = c->missed;
	(void)ipc_chan_reply(c->ch, c->request_id, IPC_MSG_NET_CAPTURE, &rep.base, NULL, 0);
	c->ch = NULL;
	c->armed = false;
	uv_timer_stop(&c->timer);
}

static void timer_cb(uv_timer_t *t)
{
	struct net_capture *c = t->data;
	if (c->armed)
		answer(c);
}

int net_capture_new(uv_loop_t *loop, struct net_capture **ret)
{
	struct net_capture *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int r = uv_timer_init(loop, &c->timer);
	if (r < 0) {
		free(c);
		return r;
	}
	c->timer.data = c;
	*ret = c;
	return 0;
}

static void free_cb(uv_handle_t *h)
{
	free(h->data);
}

void net_capture_free(struct net_capture *c)
{
	if (!c)
		return;
	uv_close((uv_handle_t *)&c->timer, free_cb);
}

void net_capture_request(struct net_capture *c, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Net__NetCaptureRequest *m = (Mhcl__Net__NetCaptureRequest *)ipc_msg_unpack(
	    ch, msg, &mhcl__net__net_capture_request__descriptor);
	if (!m)
		return;
	if (c->armed) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EBUSY,
					   "a capture is already running");
	} else if (m->count == 0 || m->timeout_ms == 0 || m->snaplen < 14) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EINVAL,
					   "count, timeout and a snap length of 14 or more");
	} else {
		c->ch = ch;
		c->request_id = msg->request_id;
		c->want = m->count;
		c->snaplen = m->snaplen;
		c->frames = c->missed = 0;
		c->used = 0;
		c->armed = true;
		(void)uv_timer_start(&c->timer, timer_cb, m->timeout_ms, 0);
		log_info("capture armed for %u frames (%u ms at most)", m->count, m->timeout_ms);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

bool net_capture_armed(const struct net_capture *c)
{
	return c && c->armed;
}

void net_capture_frame(struct net_capture *c, const struct iovec *iov, int iovcnt, uint32_t len)
{
	struct pcap_record h;
	struct timespec ts;
	uint32_t cap = len < c->snaplen ? len : c->snaplen;

	if (!c->armed)
		return;
	if (sizeof(h) + cap > sizeof(c->buf) - c->used) {
		c->missed++;
		answer(c); /* full: what fits goes now */
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	h = (struct pcap_record){(uint32_t)ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000), cap, len};
	memcpy(c->buf + c->used, &h, sizeof(h));
	c->used += sizeof(h);
	c->used += net_iov_read(iov, iovcnt, 0, c->buf + c->used, cap);
	if (++c->frames == c->want)
		answer(c);
}
