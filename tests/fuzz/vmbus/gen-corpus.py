#!/usr/bin/env python3
# Writes the seed corpora for the vmbus-msg and vmbus-ic fuzz targets
# (tests/fuzz/corpus/vmbus-{msg,ic}/). Layouts: include/defs/vmbus_defs.h,
# include/defs/ic_defs.h; input formats: the comments atop fuzz-vmbus-*.c.
import os
import struct
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus')

def hdr(t):
    return struct.pack('<II', t, 0)

def contact(v, sint=2):
    tgt = sint if v >= 0x50000 else 0x102000
    return hdr(14) + struct.pack('<IIQQQ', v, 0, tgt, 0x100000, 0x101000)

def rec(op, payload=b''):
    return bytes([op, len(payload)]) + payload

def post(conn_sel, msg):
    return rec(conn_sel, msg)

def gpadl(relid, gid, first_pfn, pages):
    pfns = [first_pfn + i for i in range(pages)]
    rng = struct.pack('<II', pages * 4096, 0)
    out = []
    n = min(pages, 26)
    out.append(hdr(8) + struct.pack('<IIHH', relid, gid, 8 + 8 * pages, 1) + rng +
               b''.join(struct.pack('<Q', p) for p in pfns[:n]))
    while n < pages:
        k = min(pages - n, 28)
        out.append(hdr(9) + struct.pack('<II', 0, gid) +
                   b''.join(struct.pack('<Q', p) for p in pfns[n:n + k]))
        n += k
    return out

def open_ch(relid, gid, down, vp=0):
    return hdr(5) + struct.pack('<IIIII', relid, relid, gid, vp, down) + bytes(120)

def relid_msg(t, relid):
    return hdr(t) + struct.pack('<I', relid)

def teardown(relid, gid):
    return hdr(11) + struct.pack('<II', relid, gid)

def modify(relid, vp):
    return hdr(22) + struct.pack('<II', relid, vp)

def offers():
    return rec(0x40, bytes([0xd9, 1, 0])) + rec(0x40, bytes([0x63, 2, 0])) + \
        rec(0x40, bytes([0xd9, 1, 1]))

def lifecycle(conn):
    s = post(conn, hdr(3))
    for m in gpadl(1, 0xe1e10, 16, 40):
        s += post(conn, m)
    s += post(conn, open_ch(1, 0xe1e10, 20, 1))
    s += post(conn, modify(1, 2))
    for m in gpadl(2, 0xe1e11, 100, 8):
        s += post(conn, m)
    s += post(conn, open_ch(2, 0xe1e11, 4))
    s += rec(0x45)
    s += post(conn, relid_msg(7, 1))
    s += post(conn, teardown(1, 0xe1e10))
    return s

def write(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

linux = [0x50003, 0x50002, 0x50001, 0x50000, 0x40001, 0x40000, 0x30000, 0x20004]

def contact_all():
    return b''.join(post(1 if v >= 0x50000 else 0, contact(v)) for v in linux)

# Linux 6.1 boot to UNLOAD at 5.3.
write('vmbus-msg', 'linux-boot-5.3', bytes([0x00]) + offers() + post(1, contact(0x50003)) +
      lifecycle(2) + post(2, hdr(16)))
# Fallback down to 4.0 (highest version index 5), then the same lifecycle on id 1.
write('vmbus-msg', 'fallback-4.0', bytes([0x50]) + offers() + contact_all() + lifecycle(0) +
      post(0, hdr(16)))
# Devices answering later, rescind and release.
write('vmbus-msg', 'async-rescind', bytes([0x07]) + offers() + post(1, contact(0x50003)) +
      lifecycle(2) + rec(0x42) + rec(0x42) + rec(0x43) + rec(0x44) + rec(0x41, b'\x02') +
      rec(0x43) + post(2, relid_msg(13, 2)) + rec(0x44) + post(2, hdr(16)) + rec(0x43) +
      rec(0x44) + rec(0x44))
# Message connection id 0x800074, reconnect while connected, TL connect.
write('vmbus-msg', 'msgconn-reconnect', bytes([0x80]) + offers() + post(1, contact(0x50003)) +
      lifecycle(2) + post(1, contact(0x50002)) + post(2, hdr(3)) +
      post(2, hdr(21) + bytes(32)) + post(2, hdr(16)))
# Hostile: truncations, unknown types, PFNs outside RAM, bodies for nobody.
bad = bytes([0x00]) + offers() + post(1, contact(0x50003)) + post(2, hdr(3))
for t in range(0, 26):
    bad += post(2, hdr(t) + bytes(4))
bad += post(2, hdr(8) + struct.pack('<IIHH', 1, 7, 16, 1) + struct.pack('<IIQ', 4096, 0, 1 << 40))
bad += post(2, hdr(8) + struct.pack('<IIHH', 1, 8, 16, 1) + struct.pack('<IIQ', 0xffffffff, 0xfff, 1))
bad += post(2, hdr(9) + struct.pack('<IIQ', 0, 0x1234, 5))
bad += post(2, open_ch(9, 7, 2)) + post(2, open_ch(1, 7, 2)) + post(3, hdr(3)) + post(2, bytes(240))
write('vmbus-msg', 'hostile', bad)

# Restart mid-session (save, restore into a new server, go on), and a saved
# blob of a disconnected server with one offer restored on the side.
restart = bytes([0x04]) + offers() + post(1, contact(0x50003)) + post(2, hdr(3))
for m in gpadl(1, 0xe1e10, 16, 40)[:1]:
    restart += post(2, m)
restart += rec(0x46)  # a GPADL waiting for its body survives the restart
for m in gpadl(1, 0xe1e10, 16, 40)[1:]:
    restart += post(2, m)
restart += post(2, open_ch(1, 0xe1e10, 20, 1)) + rec(0x46) + post(2, modify(1, 2))
restart += post(2, teardown(1, 0xe1e10)) + rec(0x46)  # deferred teardown survives
restart += post(2, relid_msg(7, 1)) + rec(0x46) + rec(0x44) + rec(0x46)
restart += post(2, hdr(16)) + rec(0x46)
write('vmbus-msg', 'restart', restart)
offer_blob = (struct.pack('<8I', 0x56534d56, 1, 0, 0, 0, 0, 1, 0) +
              struct.pack('<7I', 1, 0, 0, 0, 0, 0, 0) + bytes(16) + bytes(16) +
              struct.pack('<HH', 0, 0) + bytes(120) + struct.pack('<HH', 0, 0))
write('vmbus-msg', 'restore-blob', bytes([0x00]) + rec(0x47, offer_blob))

# IC answers.
def ic_pkt(msgtype, body, status=0, fw=(0, 0), mv=(0, 0)):
    h = struct.pack('<HHHHHHIBB2x', fw[0], fw[1], msgtype, mv[0], mv[1], len(body), status, 0, 5)
    return struct.pack('<II', 1, len(h) + len(body)) + h + body

def framed(p):
    return struct.pack('<H', len(p)) + p

neg_hb = ic_pkt(0, struct.pack('<HHI', 1, 1, 0) + struct.pack('<HHHH', 3, 0, 3, 0) + bytes(8))
hb = b''.join(framed(ic_pkt(1, struct.pack('<Q', s) + bytes(32), fw=(3, 0), mv=(3, 0)))
              for s in (2, 3, 4))
write('vmbus-ic', 'heartbeat', bytes([0]) + framed(neg_hb) + hb)
neg_sd = ic_pkt(0, struct.pack('<HHI', 1, 1, 0) + struct.pack('<HHHH', 3, 0, 3, 2) + bytes(16))
sd = framed(ic_pkt(3, bytes(12 + 16), fw=(3, 0), mv=(3, 2)))
write('vmbus-ic', 'shutdown-reboot', bytes([0x05]) + framed(neg_sd) + sd + sd)
write('vmbus-ic', 'no-version', bytes([0]) + framed(ic_pkt(0, struct.pack('<HHI', 0, 0, 0) + bytes(8))))
sys.exit(0)
