#!/usr/bin/env python3
# Writes the seed corpus for the 'ring-read' fuzz target (layout: see
# fuzz-ring-read.c). Run from the repository root; the output is committed.
import os
import struct

OUT = "tests/fuzz/corpus/ring-read"
PAGE = 4096


def desc(typ, off8, len8, flags, tid):
    return struct.pack("<HHHHQ", typ, off8, len8, flags, tid)


def pad8(b):
    return b + b"\0" * (-len(b) % 8)


def packet(typ, hdr, payload, flags=0, tid=0):
    body = hdr + pad8(payload)
    off8 = (16 + len(hdr)) // 8
    return desc(typ, off8, (16 + len(body)) // 8, flags, tid) + body


def inband(payload, tid=1, flags=1):
    return packet(6, b"", payload, flags, tid)


def comp(payload, tid=1):
    return packet(0xB, b"", payload, 0, tid)


def gpa(ranges, payload, tid=2):
    hdr = struct.pack("<II", 0, len(ranges))
    for count, off, pfns in ranges:
        hdr += struct.pack("<II", count, off) + b"".join(struct.pack("<Q", p) for p in pfns)
    return packet(9, hdr, payload, 1, tid)


def xfer(ranges, payload, tid=3, pageset=0xCAFE):
    hdr = struct.pack("<HBBI", pageset, 1, 0, len(ranges))
    hdr += b"".join(struct.pack("<II", c, o) for c, o in ranges)
    return packet(7, hdr, payload, 1, tid)


def ring(packets, npages=1, start=0, geometry=0, buf8=0, commit=0, mask=0, pending=0, feat=1):
    size = npages * PAGE
    data = bytearray(size)
    pos = start
    for p in packets:
        p = p + struct.pack("<Q", pos << 32)
        for i, b in enumerate(p):
            data[(pos + i) % size] = b
        pos = (pos + len(p)) % size
    geo = (npages - 1) | geometry
    hdr = struct.pack("<IIIIIBHB", pos, start, mask, pending, feat, geo, buf8, commit)
    assert len(hdr) == 24
    return hdr + bytes(data)


seeds = {
    "empty": ring([]),
    "one-inband": ring([inband(b"hello ring")]),
    "all-types": ring([
        inband(b"A" * 61, tid=0x1122334455667788),
        comp(b"B" * 64, tid=0xFFFFFFFFFFFFFFFD),
        gpa([(8192, 100, [0x1000, 0x1001, 0x2000]), (4096, 0, [0x77])], b"C" * 64),
        xfer([(100, 0), (200, 4096), (1, 8191)], b"D" * 40),
    ], npages=2, commit=2),
    "wrapped": ring([inband(bytes(range(200)), tid=7), comp(b"x" * 8)], start=PAGE - 40),
    "wrapped-scattered": ring([gpa([(12000, 8, [1, 2, 3])], b"y" * 100)], npages=3,
                              start=3 * PAGE - 16, geometry=4),
    "netvsc-pages": ring([gpa([(4096, 0, [i]) for i in range(32)], b"rndis" * 8)], npages=2),
    "small-buffer": ring([inband(b"z" * 200)], buf8=10),
    "full": ring([inband(b"f" * 1000, tid=i) for i in range(3)] + [inband(b"f" * 968)],
                 geometry=8, pending=1024),
    "storvsc": ring([gpa([(65536, 512, list(range(100, 117)))], b"\x03" + b"\0" * 63)] * 4,
                    npages=4, geometry=4 | 8, commit=1),
    "bad-len8": ring([desc(6, 2, 0xFFFF, 0, 1) + b"\0" * 16]),
    "bad-gpa-count": ring([packet(9, struct.pack("<II", 0, 0xFFFFFFFF), b"", 1, 5)]),
}

os.makedirs(OUT, exist_ok=True)
for name, blob in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(blob)
print(f"wrote {len(seeds)} seeds to {OUT}")
