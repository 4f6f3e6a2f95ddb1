#!/usr/bin/env python3
# Writes the seed corpora for the ipc-frame, ipc-chan and ipc-body fuzz
# targets: valid frames of every kind (and a few near misses) in the layout of
# include/defs/ipc_frame.h, protobuf bodies encoded by hand.
import os
import struct
import sys

VERSION = 1
F_REQUEST, F_RESPONSE, F_NOTIFY, F_ERROR = 1, 2, 4, 8
PING, INSPECT, STOP, READY, PS = 3, 4, 5, 2, 16

def varint(v):
    out = b''
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])

def ping(cookie):
    return (b'\x08' + varint(cookie)) if cookie else b''

def error_reply(errno_code, msg):
    m = msg.encode()
    return b'\x08' + varint(errno_code) + b'\x12' + varint(len(m)) + m

def frame(typ, flags, rid, body=b'', nfds=0, version=VERSION, body_len=None):
    if body_len is None:
        body_len = len(body)
    return struct.pack('<IHHIHH', body_len, version, typ, rid, flags, nfds) + body

def record(payload, nfds=0, run=False, pad=False):
    ctl = nfds | (0x10 if run else 0) | (0x20 if pad else 0)
    return struct.pack('<BH', ctl, len(payload)) + payload

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'corpus')

frames = {
    'request-ping': frame(PING, F_REQUEST, 1, ping(0x1122334455)),
    'response-ping': frame(PING, F_RESPONSE, 4096, ping(7)),
    'response-error': frame(STOP, F_RESPONSE | F_ERROR, 1, error_reply(95, 'no handler')),
    'notify': frame(PING, F_NOTIFY, 0, ping(3)),
    'request-fds': frame(INSPECT, F_REQUEST, 2, b'', nfds=2),
    'back-to-back': frame(PING, F_REQUEST, 1, ping(1)) + frame(PING, F_NOTIFY, 0, ping(2))
                    + frame(PS, F_REQUEST, 3, b'\x0a\x00'),
    'bad-version': frame(PING, F_REQUEST, 5, ping(1), version=2),
    'body-over-limit': frame(PING, F_REQUEST, 6, body_len=96 * 1024 + 1),
    'truncated': frame(PING, F_REQUEST, 7, ping(99))[:-1],
}

chan = {
    # byte 0: bit0 stream, bit1 channel sends two requests (ids 4096, 1), bit2 leave unread
    'seq-ping': b'\x00' + record(frames['request-ping']),
    'seq-answers': b'\x02' + record(frames['response-ping'])
                   + record(frame(STOP, F_RESPONSE | F_ERROR, 1, error_reply(95, 'no'))),
    'seq-notify': b'\x00' + record(frames['notify']) + record(frames['request-ping'], run=True),
    'seq-fds': b'\x00' + record(frames['request-fds'], nfds=2)
               + record(frame(PING, F_NOTIFY, 0, ping(4), nfds=1), nfds=1)
               + record(frame(PING, F_REQUEST, 9, ping(5), nfds=8), nfds=8),
    'seq-fds-mismatch': b'\x00' + record(frame(PING, F_REQUEST, 3, ping(1), nfds=1), nfds=3),
    'seq-unknown-type': b'\x00' + record(frame(READY, F_REQUEST, 11, b'\x08\x01')),
    'seq-oversize': b'\x00' + record(frame(PING, F_REQUEST, 12, ping(1)), pad=True),
    'seq-close-in-handler': b'\x00' + record(frame(PING, F_REQUEST, 13, ping(0xdead)))
                            + record(frames['request-ping']),
    'seq-unread': b'\x06' + b''.join(record(frame(PING, F_REQUEST, i, ping(i))) for i in range(1, 40)),
    'stream-ping': b'\x01' + record(frames['request-ping']),
    'stream-split': b'\x03' + record(frames['back-to-back'][:5], run=True)
                    + record(frames['back-to-back'][5:30], run=True)
                    + record(frames['back-to-back'][30:] + frames['response-ping'][:9])
                    + record(frames['response-ping'][9:], run=True),
    'stream-bad-header': b'\x01' + record(frames['request-ping'] + frames['body-over-limit']),
}

def ld(field, payload):
    """A length-delimited field."""
    return varint(field << 3 | 2) + varint(len(payload)) + payload

def node(name, *children, u64=None):
    b = ld(1, name.encode())
    if u64 is not None:
        b += b'\x18' + varint(u64)
    return b + b''.join(ld(8, c) for c in children)

def deep(levels):
    b = b''
    for _ in range(levels):
        b = ld(8, b)
    return b

# byte 0: message (tests/fuzz/ipc/fuzz-ipc-body.c descs[]), byte 1: nesting bound
INSPECT_REPLY, NODE, ERROR_REPLY, PS_REPLY, LOGS_REPLY, CHANNEL_OPEN = 0, 1, 2, 3, 4, 7
body = {
    'inspect-tree': bytes([INSPECT_REPLY, 32]) + ld(1, node('testd', node('frame', node(
        'bus', node('frames_in', u64=12), node('bad_frames', u64=0))), node('ticks', u64=1 << 40))),
    'inspect-deep': bytes([INSPECT_REPLY, 32]) + ld(1, deep(40)),
    'inspect-flat': bytes([INSPECT_REPLY, 32]) + ld(1, b'\x42\x00' * 600),
    'inspect-bound-5': bytes([INSPECT_REPLY, 5]) + ld(1, deep(4)),
    'node-unknown': bytes([NODE, 32]) + b'\x4d\x01\x02\x03\x04\x50\x7f' + ld(11, deep(50)),
    'node-truncated': bytes([NODE, 32]) + b'\x42\x05\x0a\x01',
    'error-reply': bytes([ERROR_REPLY, 32]) + error_reply(95, 'no handler'),
    'ps-reply': bytes([PS_REPLY, 32]) + ld(1, ld(1, b'diagd') + b'\x10\x2a' + ld(3, b'running')),
    'logs-reply': bytes([LOGS_REPLY, 32]) + ld(1, b'\x08\x01' + ld(3, b'testd') + ld(5, b'hi'))
                  + b'\x10\x02',
    'channel-open': bytes([CHANNEL_OPEN, 32]) + b'\x08\x01\x10\x02'
                    + ld(4, b''.join(varint(0x1000 + i) for i in range(16)))
                    + ld(8, b'\x08\x00\x10\x80\x80\x40'),
}

for name, blobs in (('ipc-frame', frames), ('ipc-chan', chan), ('ipc-body', body)):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    for k, v in blobs.items():
        with open(os.path.join(d, k), 'wb') as f:
            f.write(v)
