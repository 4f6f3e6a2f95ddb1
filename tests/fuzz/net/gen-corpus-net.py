#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpora of the 'nvsp-message', 'rndis-control' and 'rndis-packet' fuzz
# targets (layouts: see each fuzz-*.c): what Linux 6.1's netvsc sends during probe and
# transmit, plus a few hostile messages. Run from the repository root; the output is
# committed.
import os
import struct


def u32(*v):
    return struct.pack("<%dI" % len(v), *v)


def nvsp(typ, body=b""):
    return (u32(typ) + body).ljust(40, b"\0")


NVSP = {
    "init-v61": nvsp(1, u32(0x60001, 0x60001)),
    "init-v1": nvsp(1, u32(2, 2)),
    "ndis-config": nvsp(125, u32(1514, 0) + struct.pack("<Q", 0x88)),
    "ndis-version": nvsp(100, u32(6, 30)),
    "recv-buf": nvsp(101, u32(0x1000) + struct.pack("<H", 0xCAFE)),
    "send-buf": nvsp(104, u32(0x1001) + struct.pack("<H", 0)),
    "rndis-pkt-control": nvsp(107, u32(1, 0xFFFFFFFF, 0)),
    "rndis-pkt-section": nvsp(107, u32(0, 12, 1514)),
    "rndis-complete": nvsp(108, u32(1)),
    "subchannel": nvsp(133, u32(1, 3)),
    "switch-data-path": nvsp(129, u32(1)),
    "revoke-recv": nvsp(103, struct.pack("<H", 0xCAFE)),
    "short-init": u32(1, 0x60001),
    "host-type": nvsp(2, u32(0x60001, 0, 1)),
}


def rndis(typ, body):
    return u32(typ, 8 + len(body)) + body


def query(rid, oid, info=b""):
    return rndis(4, u32(rid, oid, len(info), 20, 0) + info)


def set_(rid, oid, info):
    return rndis(5, u32(rid, oid, len(info), 20, 0) + info)


def rec(msg):
    return struct.pack("<H", len(msg)) + msg


init = rndis(2, u32(1, 1, 0, 0x4000))
hwcaps_in = bytes([0xA7, 3]) + struct.pack("<H", 156) + b"\0" * 152
offload = bytes([0x80, 3]) + struct.pack("<H", 28) + bytes([1, 4, 4, 4, 4, 0, 0, 2, 2, 0, 0, 0]) \
    + u32(0) + b"\0" * 8
rss_hdr = bytes([0x89, 2]) + struct.pack("<H", 40)


def rss(flags, queues):
    body = struct.pack("<HHIHHIHHIIII", flags, 0, 0x1701, 512, 0, 40, 40, 0, 552, 0, 0, 0)
    return rss_hdr + body + u32(*[i % queues for i in range(128)]) + bytes(range(40))


name = "NetworkAddress".encode("utf-16-le")
value = "021122334455".encode("utf-16-le")
netaddr = u32(20, len(name), 2, 20 + len(name), len(value)) + name + value

probe = [init,
         query(2, 0x00010106),
         query(3, 0x01010101),
         query(4, 0x00020216),
         query(5, 0xFC01020D, hwcaps_in),
         set_(6, 0xFC01020C, offload),
         query(7, 0x00010114),
         query(8, 0x00010107),
         query(9, 0x00010203, bytes([0x88, 2]) + struct.pack("<H", 18) + b"\0" * 14),
         set_(10, 0x00010204, rss(0x10, 4)),
         set_(11, 0x00010204, rss(0, 4)),
         set_(12, 0x0001010E, u32(0xD)),
         set_(13, 0x0001021B, netaddr),
         rndis(8, u32(14)),
         rndis(6, u32(0)),
         rndis(3, u32(15))]

CONTROL = {
    "linux-probe": bytes([0x3F]) + b"".join(rec(m) for m in probe),
    "supported-list": bytes([0x07]) + rec(init) + rec(query(2, 0x00010101)),
    "lying-info-offset": bytes([0x00]) + rec(rndis(5, u32(1, 0x0001010E, 4, 0xFFFFFFF0, 0, 1))),
    "lying-length": bytes([0x00]) + rec(u32(4, 0x1000) + u32(1, 0x00010106, 0, 20, 0)),
    "rss-bad-queue": bytes([0x08]) + rec(init) + rec(set_(2, 0x00010204, rss(0, 9))),
    "offload-v4": bytes([0x07]) + rec(init) + rec(set_(2, 0xFC01020C, offload[:22])),
}


def ppi(typ, v):
    return u32(16, typ, 12, v)


def packet(ppis, frame):
    body = u32(36 + len(ppis), len(frame), 0, 0, 0, 36 if ppis else 0, len(ppis), 0, 0)
    return rndis(1, body + ppis + frame)


eth4 = bytes(12) + b"\x08\x00"
ip4 = bytes([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
tcp = bytes(20)
eth6 = bytes(12) + b"\x86\xdd"
ip6 = bytes([0x60]) + bytes(5) + bytes([6, 64]) + bytes(32)


def pkt_seed(ppis, frame, flags=0, avail=None, head=None):
    msg = packet(ppis, frame)
    head = len(msg) if head is None else head
    avail = len(msg) if avail is None else avail
    return struct.pack("<HIB", head, avail, flags) + msg


lso4 = ppi(2, (1 << 30) | (34 << 20) | 1448)
PACKET = {
    "plain": pkt_seed(b"", eth4 + ip4 + tcp + bytes(20)),
    "csum-tcp4-vlan-hash": pkt_seed(ppi(8, 0x1234) + ppi(6, 5 | (100 << 4))
                                    + ppi(0, 1 | 4 | (34 << 16)), eth4 + ip4 + tcp + bytes(100)),
    "csum-udp6": pkt_seed(ppi(0, 2 | 8 | (54 << 16)), eth6 + ip6 + bytes(8) + bytes(50)),
    "lso4": pkt_seed(lso4, eth4 + ip4 + tcp + bytes(3000), flags=1),
    "lso6-header-only": pkt_seed(ppi(2, (3 << 30) | (54 << 20) | 1428), eth6 + ip6 + tcp,
                                 avail=60000, head=44 + 16),
    "ip-header-csum": pkt_seed(ppi(0, 1 | 16), eth4 + ip4 + bytes(40)),
    "ppi-overrun": pkt_seed(u32(40, 0, 12, 0), eth4 + ip4),
    "frame-outside": pkt_seed(b"", eth4 + ip4, avail=20),
    "internal-ppi": pkt_seed(u32(16, 0x80000001, 12, 0x0101) + ppi(0x33, 7), eth4 + ip4),
}

for target, seeds in (("nvsp-message", NVSP), ("rndis-control", CONTROL),
                      ("rndis-packet", PACKET)):
    out = os.path.join("tests/fuzz/corpus", target)
    os.makedirs(out, exist_ok=True)
    for name_, blob in seeds.items():
        with open(os.path.join(out, name_), "wb") as f:
            f.write(blob)
    print(f"wrote {len(seeds)} seeds to {out}")
