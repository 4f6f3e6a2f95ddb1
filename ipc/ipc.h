/* SPDX-License-Identifier: MIT */
/*
 * The mhcl message bus: one channel per connected socket, driven by a libuv
 * loop. Frames are include/defs/ipc_frame.h envelopes with protobuf-c bodies.
 *
 * Transports:
 *   IPC_TRANSPORT_SEQPACKET  unix SOCK_SEQPACKET, one frame per packet, fds with
 *                            SCM_RIGHTS. Used between init and its servers.
 *   IPC_TRANSPORT_STREAM     byte stream (TCP, AF_VSOCK, unix stream), frames back
 *                            to back, no fds. Used by diag clients.
 *
 * Bad input (truncated, oversized, garbage, wrong version, wrong fd count)
 * gets an error response when a request id can be read, then closes that one
 * channel; on_close reports why. Peer death reports -EPIPE (or -ECONNRESET).
 * Pending requests on a closed channel complete with the close reason.
 *
 * Library code: never logs above debug, never aborts on peer input.
 */
#ifndef MHCL_IPC_H
#define MHCL_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "defs/ipc_frame.h"

struct ipc_chan;

enum ipc_transport {
	IPC_TRANSPORT_SEQPACKET,
	IPC_TRANSPORT_STREAM,
};

/*
 * A received frame, valid only during the callback. type is always in
 * 1.._IPC_MSG_MAX-1 (the envelope was validated), so it may index a handler
 * table. body is untrusted peer data. fds[] are close-on-exec;
 * a callback that keeps one sets its slot to -1 (take_fd()), the rest are
 * closed after the callback returns.
 */
struct ipc_msg {
	uint16_t type;
	uint16_t flags;
	uint32_t request_id;
	const uint8_t *body;
	size_t body_len;
	int fds[IPC_FDS_MAX];
	size_t nfds;
};

/* Incoming request or notification. For a request the callback must answer
 * exactly once, now or later, with ipc_chan_reply*() (keep request_id). */
typedef void (*ipc_msg_fn)(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque);

/* Completion of ipc_chan_request(): status 0 and reply set on a normal
 * response; -EREMOTEIO with reply set (IPC_F_ERROR, body an ErrorReply) when
 * the peer answered with an error; -ETIMEDOUT; or the channel's close reason
 * with reply NULL. Called exactly once. */
typedef void (*ipc_reply_fn)(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque);

/* The channel closed: reason 0 after ipc_chan_close(), -EPIPE when the peer
 * hung up (-ECONNRESET when it did so with frames of ours unread; frames it
 * sent before are still delivered), -EPROTO/-EBADMSG/-EMSGSIZE/
 * -EPROTONOSUPPORT for bad input, the ipc_chan_abort() reason, or another
 * socket error. The channel is freed right after this returns. */
typedef void (*ipc_close_fn)(struct ipc_chan *ch, int reason, void *opaque);

struct ipc_chan_ops {
	ipc_msg_fn on_request; /* NULL: requests get an -EOPNOTSUPP error response */
	ipc_msg_fn on_notify;  /* NULL: notifications are dropped */
	ipc_close_fn on_close; /* may be NULL */
};

/*
 * Wraps a connected socket. Takes ownership of fd (also on failure); sets it
 * non-blocking. ops is borrowed and must outlive the channel.
 */
int ipc_chan_open(uv_loop_t *loop, int fd, enum ipc_transport transport,
		  const struct ipc_chan_ops *ops, void *opaque, struct ipc_chan **ret_ch);

/* Closes the channel: pending requests complete with -ECANCELED, then
 * on_close(0) runs from the loop. Safe to call from any callback, and more
 * than once. Frames already queued get one last non-blocking try. After
 * this, sends return -ENOTCONN. */
void ipc_chan_close(struct ipc_chan *ch);

/* Closes the channel because of what the peer sent (reason a negative errno,
 * e.g. -EBADMSG for an undecodable body): like ipc_chan_close(), but pending
 * requests complete with reason and on_close reports it. */
void ipc_chan_abort(struct ipc_chan *ch, int reason);
/* True once the channel is closing (no more sends or callbacks but the final ones). */
bool ipc_chan_is_closing(struct ipc_chan *ch);
/* True if the channel is closing or its peer has shut its end (the loop may not have
 * read the end-of-file yet): a check across connections, whose events the loop takes in
 * no particular order. */
bool ipc_chan_peer_hung_up(struct ipc_chan *ch);

void *ipc_chan_opaque(struct ipc_chan *ch);
void ipc_chan_set_opaque(struct ipc_chan *ch, void *opaque);
/* Peer credentials for unix sockets (SO_PEERCRED); -ENOTSUP otherwise.
 * Note the kernel records a socketpair's creator on both ends: this is
 * meaningful for sockets that were connect()ed, not for ipc_socketpair(). */
int ipc_chan_peer_pid(struct ipc_chan *ch, int *ret_pid);

/*
 * Sends a request; reply_fn runs exactly once (see ipc_reply_fn). body may
 * be NULL for an empty body. fds are borrowed (duplicated into the kernel by
 * sendmsg). timeout_ms 0 means IPC_DEFAULT_TIMEOUT_MS. Returns 0 or -errno;
 * on a non-zero return reply_fn is not called. -EINVAL: bad type (0 or
 * >= _IPC_MSG_MAX), fds on a STREAM channel or more than IPC_FDS_MAX;
 * -EMSGSIZE: body over IPC_BODY_MAX; -ENOBUFS: 4096 requests already pending
 * or the send queue is full; -ENOTCONN: the channel is closing. A response
 * that arrives after the timeout is dropped quietly.
 */
#define IPC_DEFAULT_TIMEOUT_MS 5000
int ipc_chan_request(struct ipc_chan *ch, uint16_t type, const ProtobufCMessage *body,
		     const int *fds, size_t nfds, uint32_t timeout_ms, ipc_reply_fn reply_fn,
		     void *opaque);

/* Answers a request (request_id from the ipc_msg the callback received). */
int ipc_chan_reply(struct ipc_chan *ch, uint32_t request_id, uint16_t type,
		   const ProtobufCMessage *body, const int *fds, size_t nfds);

/* Answers with an ErrorReply: err is a negative errno. */
int ipc_chan_reply_error(struct ipc_chan *ch, uint32_t request_id, uint16_t type, int err,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* One-way message. */
int ipc_chan_notify(struct ipc_chan *ch, uint16_t type, const ProtobufCMessage *body,
		    const int *fds, size_t nfds);

/* Decodes an ErrorReply body from an IPC_F_ERROR response into a negative
 * errno and a message (copied into buf). Returns -EBADMSG if undecodable. */
int ipc_msg_error(const struct ipc_msg *msg, char *buf, size_t buf_len);

/* Unpacks msg's body as a desc message (free it with
 * protobuf_c_message_free_unpacked(m, NULL)) through ipc_body_unpack() with
 * IPC_DECODE_DEPTH_MAX. A body that is refused or does not unpack is bad
 * peer input: a request gets an error response, the channel closes with
 * -EBADMSG and NULL is returned. */
ProtobufCMessage *ipc_msg_unpack(struct ipc_chan *ch, const struct ipc_msg *msg,
				 const ProtobufCMessageDescriptor *desc);

/* ipc_msg_unpack() with a nesting bound of its own (at most
 * IPC_DECODE_DEPTH_MAX), returning why it refused: 0 and *ret_msg, or the
 * errors of ipc_body_unpack() (the channel closes as above). */
int ipc_msg_decode(struct ipc_chan *ch, const struct ipc_msg *msg,
		   const ProtobufCMessageDescriptor *desc, unsigned depth_max,
		   ProtobufCMessage **ret_msg);

/* Counters for inspect. */
struct ipc_chan_stats {
	uint64_t frames_in, frames_out, bytes_in, bytes_out, bad_frames, requests_pending;
};
void ipc_chan_get_stats(struct ipc_chan *ch, struct ipc_chan_stats *ret_stats);

/* ---- Frame codec: pure functions, no I/O (fuzzed by tests/fuzz/ipc/fuzz-ipc-frame.c). ---- */

/*
 * Validates the envelope at buf[0..len). For SEQPACKET len is the whole
 * packet and must equal 16 + body_len; for STREAM pass partial_ok=true and
 * len may be shorter than the body (returns -EAGAIN when more bytes are
 * needed, having validated the header). nfds_received is checked against
 * hdr.nfds (pass hdr.nfds's expectation for stream: 0).
 * Returns 0, -EAGAIN, -EBADMSG (short/garbage/bad flags), -EPROTONOSUPPORT
 * (version), -EMSGSIZE (body over IPC_BODY_MAX).
 */
int ipc_frame_decode(const uint8_t *buf, size_t len, size_t nfds_received, bool partial_ok,
		     struct ipc_frame_hdr *ret_hdr);

/* Writes the envelope for a body of body_len bytes. */
void ipc_frame_encode(struct ipc_frame_hdr *hdr, uint16_t type, uint16_t flags, uint32_t request_id,
		      uint32_t body_len, uint16_t nfds);

/*
 * ---- Body decoding: pure functions, no I/O (fuzzed by tests/fuzz/ipc/fuzz-ipc-body.c). ----
 *
 * Every protobuf body from a peer is walked on the wire before protobuf-c
 * unpacks it. protobuf-c recurses once per nested message when it unpacks,
 * frees and packs, and Node (bus.proto) nests itself: a 96 KiB body can nest
 * some 20,000 levels, enough to overflow a stack (in init, a kernel panic).
 * The walk is iterative, with an explicit stack of IPC_DECODE_DEPTH_MAX + 1
 * levels, so it never recurses itself.
 */

/* Nested messages below the body's own message. Real bodies nest a few
 * levels (an inspect tree some 6); 32 leaves room for any of them and keeps
 * every recursion over a decoded message (protobuf-c, the inspect renderers)
 * to a few kilobytes of stack. */
#define IPC_DECODE_DEPTH_MAX 32u
/* Fields in one body, counted at every level (a nested message counts once
 * plus its own fields; a packed array counts once). It bounds the nodes of a
 * tree, the elements of repeated fields and the allocations protobuf-c makes:
 * a flood of empty nodes fits some 48,000 in a body, while a real inspect
 * tree of the largest body still has named nodes of >= 8 bytes, so fewer. */
#define IPC_DECODE_FIELDS_MAX 32768u

/*
 * Walks body[0..len) as a desc message without unpacking it. Nested messages
 * are entered through desc's field descriptors; unknown fields are skipped.
 * Returns 0 if it is well formed and within bounds, or
 *   -EBADMSG  malformed: a truncated or over-long varint, a length running
 *             past its message, field number 0, a group or unknown wire
 *             type, a message field not length-delimited;
 *   -ELOOP    messages nested deeper than depth_max (capped at
 *             IPC_DECODE_DEPTH_MAX);
 *   -E2BIG    more than IPC_DECODE_FIELDS_MAX fields.
 * body is borrowed and may be anything; it may be NULL when len is 0.
 */
int ipc_body_check(const ProtobufCMessageDescriptor *desc, const uint8_t *body, size_t len,
		   unsigned depth_max);

/*
 * ipc_body_check(), then protobuf-c's unpack. Returns 0 and *ret_msg (free
 * it with protobuf_c_message_free_unpacked(m, NULL)), -EMSGSIZE for a body
 * over IPC_BODY_MAX, the errors of ipc_body_check(), or -EBADMSG when
 * protobuf-c refuses it (or runs out of memory). Nothing is written to
 * *ret_msg on failure. The single decode step for bytes from a peer.
 */
int ipc_body_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *body, size_t len,
		    unsigned depth_max, ProtobufCMessage **ret_msg);

/* Why ipc_body_unpack() refused a body, for messages ("nested too deep", ...). */
const char *ipc_body_strerror(int err);

/* ---- Socket helpers ---- */

/* socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC). */
int ipc_socketpair(int ret_fds[2]);

/* 0 if path can name a unix socket (non-empty, fits sun_path), else
 * -EINVAL or -ENAMETOOLONG: lets option parsers refuse it up front. */
int ipc_unix_path_check(const char *path);

/* Listening sockets for diag: unix (stream), TCP "host:port" and vsock port.
 * Each returns a CLOEXEC, non-blocking listening fd or -errno. A stale unix
 * socket path (connect refused) is unlinked first. */
int ipc_listen_unix(const char *path, int type);
int ipc_listen_tcp(const char *host_port);
int ipc_listen_vsock(uint32_t port);
/* Blocking connect helpers for clients; timeout_ms bounds the connect. */
int ipc_connect_unix(const char *path, int type);
int ipc_connect_tcp(const char *host_port, uint32_t timeout_ms);
int ipc_connect_vsock(uint32_t cid, uint32_t port, uint32_t timeout_ms);
/* accept4() with CLOEXEC and NONBLOCK, retried on EINTR: the fd or -errno
 * (-EAGAIN when no connection is waiting). */
int ipc_accept(int listen_fd);

#endif
