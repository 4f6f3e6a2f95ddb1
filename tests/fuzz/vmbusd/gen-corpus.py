#!/usr/bin/env python3
# Writes the seed corpus of the vmbusd-peer fuzz target (tests/fuzz/corpus/vmbusd-peer/):
# whole worker + device sessions, then hostile variants. With --record BUILD/tests/fuzz/
# fuzz-vmbusd-peer also that of vmbusd-record (tests/fuzz/corpus/vmbusd-record/): real
# records of states built by vmbusd-peer inputs, then variants (see the end). The input format is the comment
# atop fuzz-vmbusd-peer.c; bodies are proto/vmbus.proto messages, encoded here by hand.
import os
import struct
import subprocess
import sys
import tempfile

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus', 'vmbusd-peer')

# ---- protobuf (proto3) ----
def varint(v):
    out = b''
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])

def f_u(n, v):
    return varint(n << 3) + varint(v) if v else b''

def f_b(n, b):
    return varint(n << 3 | 2) + varint(len(b)) + b

def ram_range(gpa, size, off):
    return f_u(1, gpa) + f_u(2, size) + f_u(3, off)

def partition(vps, ranges):
    return f_u(1, vps) + b''.join(f_b(2, ram_range(*r)) for r in ranges)

def guest_msg(vp, conn, payload):
    return f_u(1, vp) + f_u(2, conn) + f_u(3, 1) + f_b(4, payload)

def synic(vp, enabled, siefp):
    return f_u(1, vp) + f_u(2, 1 if enabled else 0) + f_u(3, 0x98000) + f_u(4, siefp)

IC_HB = bytes.fromhex('39456f57c2cd4b4b8e8a7a7c0fa1bb0a')  # any 16 bytes do
def dev_offer(oid, inst, itype=IC_HB, user=b'', sub=0):
    return (f_u(1, oid) + f_b(2, itype) + f_b(3, inst) + (f_b(6, user) if user else b'') +
            f_u(7, sub))

# ---- records ----
W, D0, D1, D2 = 0, 1, 2, 3
REQ, NOTE, ANS, HUP = 0, 1, 2, 3

def rec(peer, kind, t, fdspec=0, body=b''):
    return bytes([peer | kind << 2, t & 0xff, fdspec]) + struct.pack('<H', len(body)) + body

def req(peer, typ, body=b'', fdspec=0):
    return rec(peer, REQ, typ - 32, fdspec, body)

def note(peer, typ, body=b''):
    return rec(peer, NOTE, typ - 32, 0, body)

def ans(peer, idx=0, body=b'', fdspec=0):
    return rec(peer, ANS, idx, fdspec, body)

def refuse(peer, idx=0, why=b'no'):
    return rec(peer, ANS, idx, 0x10, why)

def insp(r):  # inspect vmbusd after this record
    return bytes([r[0] | 0x10]) + r[1:]

def hup(peer):
    return rec(peer, HUP, 0)

MEMFD = 1 | 8
RAM = [(0, 0x100000, 0)]

# ---- guest channel messages (include/defs/vmbus_defs.h) ----
def hdr(t):
    return struct.pack('<II', t, 0)

def contact(v):
    return hdr(14) + struct.pack('<IIQQQ', v, 0, 2, 0x80000, 0x81000)

def gpadl(relid, gid, first_pfn, pages):
    return (hdr(8) + struct.pack('<IIHH', relid, gid, 8 + 8 * pages, 1) +
            struct.pack('<II', pages * 4096, 0) +
            b''.join(struct.pack('<Q', first_pfn + i) for i in range(pages)))

def open_ch(relid, gid, down, vp=0):
    return hdr(5) + struct.pack('<IIIII', relid, relid, gid, vp, down) + bytes(120)

def gm(payload, vp=0, conn=1):
    return note(W, 33, guest_msg(vp, conn, payload))

def attach(vps=2):
    s = req(W, 32, partition(vps, RAM), MEMFD)
    for _ in range(vps):  # WorkerSintIrqfd for each VP
        s += ans(W, 0, f_u(1, 0) + f_u(2, 2), 1)
    return s

def connect():
    return gm(contact(0x50003), conn=4) + gm(hdr(3))

def open_relid(relid, gid, pfn=16):
    return gm(gpadl(relid, gid, pfn, 8)) + gm(open_ch(relid, gid, 4))

def write(name, data):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, name), 'wb') as f:
        f.write(data)

# A whole session: partition, SINT irqfds, a device's offer, SynIC pages, the guest connects,
# opens (doorbell route, device open), closes (device close), tears down, unloads.
session = (bytes([1]) + attach() + req(D0, 41, dev_offer(1, bytes(range(16)))) +
           note(W, 38, synic(0, True, 0x90000)) + connect() + open_relid(1, 0xe1e10) +
           ans(W) + insp(ans(D0)) + gm(hdr(7) + struct.pack('<I', 1)) + ans(D0) +
           gm(hdr(11) + struct.pack('<II', 1, 0xe1e10)) + gm(hdr(16)))
write('session', session)

# The device offers before the partition exists; two devices, two offers each.
write('devices-first', bytes([2]) + req(D0, 41, dev_offer(1, bytes(16))) +
      req(D0, 41, dev_offer(2, bytes([1]) * 16)) + req(D1, 41, dev_offer(7, bytes([2]) * 16)) +
      req(D1, 41, dev_offer(8, bytes([3]) * 16, user=b'pipe' * 30)) + attach(1) + connect() +
      open_relid(3, 5) + ans(W) + ans(D1) + open_relid(1, 6, 40) + ans(W) + ans(D0) +
      note(W, 38, synic(0, True, 0x91000)) + gm(hdr(16)))

# The device leaves while open, comes back and offers again; the worker leaves mid-open.
write('device-leaves', bytes([1]) + attach() + req(D0, 41, dev_offer(1, bytes(16))) + connect() +
      open_relid(1, 9) + ans(W) + insp(ans(D0)) + insp(hup(D0)) + req(D0, 41, dev_offer(1, bytes(16))) +
      open_relid(2, 10, 48) + hup(W) + attach(1) + connect() + open_relid(1, 11) + ans(W))

# Refusals from both sides: the worker will not route the doorbell, the device will not open
# or close; a close while the device is still opening.
write('refusals', bytes([1]) + attach() + req(D0, 41, dev_offer(1, bytes(16))) + connect() +
      open_relid(1, 1) + refuse(W, 0, b'no route') + open_ch(1, 1, 4)[:0] +
      gm(open_ch(1, 1, 4)) + ans(W) + refuse(D0, 0, b'busy') + gm(open_ch(1, 1, 4)) + ans(W) +
      gm(hdr(7) + struct.pack('<I', 1)) + ans(D0) + ans(D0) + gm(open_ch(1, 1, 4)) + ans(W) +
      ans(D0) + gm(hdr(7) + struct.pack('<I', 1)) + refuse(D0) + gm(hdr(16)))

# Hostile worker: partitions that must be refused, then one that is taken twice, guest
# messages for VPs that do not exist, SynIC pages outside RAM, unknown types, bad bodies.
bad = bytes([0])
bad += req(W, 32, partition(0, RAM), MEMFD)
bad += req(W, 32, partition(65, RAM), MEMFD)
bad += req(W, 32, partition(1, [(0, 0x1000, 0x123)]), MEMFD)
bad += req(W, 32, partition(1, [(0, 0x200000, 0)]), MEMFD)            # memfd too small
bad += req(W, 32, partition(1, [(0xfffffffffffff000, 0x2000, 0)]), MEMFD)  # wraps
bad += req(W, 32, partition(1, RAM), 1)                                # eventfd, not memfd
bad += req(W, 32, partition(1, RAM), 2 | 8)                            # two fds
bad += req(W, 32, partition(1, RAM), 0)                                # none
bad += req(W, 32, partition(1, [(0, 0x1000, 0)] * 17), MEMFD)
bad += req(W, 32, partition(1, RAM), MEMFD) + req(W, 32, partition(1, RAM), MEMFD)
bad += note(W, 33, guest_msg(5, 4, contact(0x50003))) + note(W, 33, guest_msg(0, 4, bytes(300)))
bad += note(W, 33, guest_msg(0, 99, hdr(3)))
bad += note(W, 38, synic(7, True, 0x1000)) + note(W, 38, synic(0, True, 0x100000))
bad += note(W, 38, synic(0, True, 0x1234))
bad += note(W, 38, synic(64, True, 0x1000)) + note(W, 38, synic(0xffffffff, False, 0))
for t in range(32, 64):
    bad += req(W, t, b'') + note(W, t, b'')
bad += ans(W, 0, b'\xff\xff', 3) + note(W, 33, b'\x0a\xff')
bad += hup(W) + attach(64) + note(W, 38, synic(63, True, 0x1000)) + note(W, 38, synic(64, True, 0x1000))
write('hostile-worker', bad)

# Hostile devices: bad offers, duplicates, unknown types, unasked answers, a garbage body.
bad = bytes([3]) + attach(1)
bad += req(D0, 41, dev_offer(0, bytes(16)))
bad += req(D0, 41, dev_offer(1, bytes(15)))
bad += req(D0, 41, dev_offer(1, bytes(16), itype=bytes(17)))
bad += req(D0, 41, dev_offer(1, bytes(16), user=bytes(121)))
bad += req(D0, 41, f_u(1, 1) + f_b(2, IC_HB) + f_b(3, bytes(16)) + f_u(4, 0x10000))
bad += req(D0, 41, dev_offer(1, bytes(16))) + req(D0, 41, dev_offer(1, bytes(16)))
bad += req(D1, 41, dev_offer(2, bytes(16)))
for t in range(32, 64):
    bad += req(D1, t, b'', 1) + note(D1, t, b'')
bad += rec(D1, ANS, 0) + connect() + open_relid(1, 3) + ans(W) + ans(D0, 0, b'', 2)
bad += req(D2, 41, b'\x0a\xff')
for i in range(130):
    bad += req(D1, 41, dev_offer(100 + i, struct.pack('<IIII', i, 1, 2, 3)))
write('hostile-devices', bad)

# Sub-channels: one under its primary, one before it, one under another device's primary;
# then a device floods offers past its quota (64) while the first keeps its channels.
sub = bytes([2]) + attach(1) + req(D0, 41, dev_offer(1, bytes([4]) * 16, sub=1))
sub += req(D0, 41, dev_offer(2, bytes([4]) * 16)) + req(D0, 41, dev_offer(3, bytes([4]) * 16, sub=1))
sub += req(D1, 41, dev_offer(4, bytes([4]) * 16, sub=2)) + connect() + open_relid(2, 7)
sub += ans(W) + ans(D0)
for i in range(70):
    sub += req(D1, 41, dev_offer(10 + i, struct.pack('<IIII', i, 9, 9, 9)))
sub += insp(gm(hdr(3)))
write('subchannels-quota', sub)

# ---- vmbusd-record: records vmbusd itself commits ----
# fuzz-vmbusd-peer with FUZZ_RECORD_OUT writes the record of the state an input leaves;
# each becomes vmbusd-record inputs (format atop fuzz-vmbusd-record.c): the worker
# reattaching with all host messages, or missing some, without reattaching, the device
# coming back or not, the record as a whole store file, truncated and garbled records,
# and guest messages after the takeover.
def record_of(binary, peer_input):
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, 'in'), os.path.join(tmp, 'record')
        with open(inp, 'wb') as f:
            f.write(peer_input)
        subprocess.run([binary, inp], env=dict(os.environ, FUZZ_RECORD_OUT=out), check=True,
                       stderr=subprocess.DEVNULL)
        with open(out, 'rb') as f:
            return f.read()

WHOLE, NO_REATTACH, DEVICE = 1, 2, 4

def rec_input(flags, host_seq, vps, record, guest=()):
    return (bytes([flags]) + struct.pack('<QBI', host_seq, vps - 1, len(record)) + record +
            b''.join(bytes([len(m)]) + m for m in guest))

def store_file(record):
    hdr_page = struct.pack('<QQIIQQQ', 0x7473646275626d76, 4 << 20, 0, 0, len(record), 0, 1)
    return hdr_page + bytes(4096 - len(hdr_page)) + record

def write_records(binary):
    global root
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus',
                        'vmbusd-record')
    states = {
        # Connected, a device's offer open on a ring GPADL, a second GPADL, SynIC pages.
        'open': bytes([1]) + attach() + req(D0, 41, dev_offer(1, bytes(range(16)))) +
                note(W, 38, synic(0, True, 0x90000)) + connect() + open_relid(1, 0xe1e10) +
                ans(W) + ans(D0) + gm(gpadl(1, 0x777, 40, 4)),
        # Two devices, four offers, two channels open, one VP.
        'two-devices': bytes([2]) + req(D0, 41, dev_offer(1, bytes(16))) +
                req(D0, 41, dev_offer(2, bytes([1]) * 16)) + req(D1, 41, dev_offer(7, bytes([2]) * 16)) +
                req(D1, 41, dev_offer(8, bytes([3]) * 16, user=b'pipe' * 30)) + attach(1) + connect() +
                open_relid(3, 5) + ans(W) + ans(D1) + open_relid(1, 6, 40) + ans(W) + ans(D0),
        # Connected with an offer, nothing open.
        'connected': bytes([1]) + attach() + req(D0, 41, dev_offer(1, bytes(16))) + connect(),
        # A primary open and its two sub-channels, one of them open too.
        'subchannels': bytes([1]) + attach(1) + req(D0, 41, dev_offer(1, bytes([5]) * 16)) +
                req(D0, 41, dev_offer(2, bytes([5]) * 16, sub=1)) +
                req(D0, 41, dev_offer(3, bytes([5]) * 16, sub=2)) + connect() +
                open_relid(1, 4) + ans(W) + ans(D0) + open_relid(3, 5, 40) + ans(W) + ans(D0),
    }
    vps = {'open': 2, 'two-devices': 1, 'connected': 2, 'subchannels': 1}
    for name, peer_input in states.items():
        r = record_of(binary, peer_input)
        host_seq = struct.unpack_from('<Q', r, 16)[0]
        v = vps[name]
        write(name, rec_input(DEVICE, host_seq, v, r))
        write(name + '-resend', rec_input(DEVICE, max(host_seq - 2, 0), v, r))
        write(name + '-no-device', rec_input(0, host_seq, v, r))
        write(name + '-fresh', rec_input(NO_REATTACH | DEVICE, host_seq, v, r))
        write(name + '-store-file', rec_input(WHOLE | DEVICE, host_seq, v, store_file(r)))
        write(name + '-truncated', rec_input(DEVICE, host_seq, v, r[:len(r) // 2]))
        garbled = bytearray(r)
        for off in range(24, len(r), 97):
            garbled[off] ^= 0x5a
        write(name + '-garbled', rec_input(DEVICE, host_seq, v, bytes(garbled)))
    r = record_of(binary, states['open'])
    host_seq = struct.unpack_from('<Q', r, 16)[0]
    # Unusable records: the guest's VMBus starts over, numbered on from the worker's last.
    write('unusable-then-guest', rec_input(DEVICE, host_seq, 2, r[:40], [contact(0x50003), hdr(3)]))
    write('none-then-guest', rec_input(DEVICE, host_seq, 2, b'', [contact(0x50003), hdr(3)]))
    write('open-then-guest', rec_input(DEVICE, struct.unpack_from('<Q', r, 16)[0], 2, r, [
        hdr(3), hdr(7) + struct.pack('<I', 1), hdr(11) + struct.pack('<II', 1, 0x777),
        gpadl(1, 0x888, 60, 2), open_ch(1, 0x888, 1), hdr(16)]))

if len(sys.argv) == 3 and sys.argv[1] == '--record':
    write_records(sys.argv[2])
