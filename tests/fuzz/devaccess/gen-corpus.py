#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus for the 'vfio-user-reply' fuzz target: server reply streams
# for the requests the client makes, in order (see fuzz-vfio-user-reply.c). Run from the
# repository root; the output is committed.
import os
import struct

OUT = "tests/fuzz/corpus/vfio-user-reply"
REPLY, ERROR = 0x1, 0x20
VERSION, DMA_MAP, DMA_UNMAP, GET_INFO, REGION_INFO = 1, 2, 3, 4, 5
IRQ_INFO, SET_IRQS, REGION_READ, REGION_WRITE = 7, 8, 9, 10


def msg(mid, cmd, payload=b"", flags=REPLY, err=0):
    return struct.pack("<HHIII", mid, cmd, 16 + len(payload), flags, err) + payload


def version(mid, json=b'{"capabilities":{"max_msg_fds":8,"max_data_xfer_size":4096}}\0'):
    return msg(mid, VERSION, struct.pack("<HH", 0, 1) + json)


def region(mid, index, size, flags=3):
    return msg(mid, REGION_INFO, struct.pack("<IIIIQQ", 32, flags, index, 0, size, 0))


def rw(mid, cmd, off, region, data):
    body = struct.pack("<QII", off, region, len(data))
    return msg(mid, cmd, body + (data if cmd == REGION_READ else b""))


CFG = struct.pack("<HHHHIIIIIIIIIHH", 0x1414, 0x7E57, 0, 0, 0x02000001, 0, 0, 0, 0, 0, 0, 0, 0,
                  0x1414, 0x7E57)[:48]


def attach(bars=(4096, 0, 0, 0, 0, 0), json=None, msix=4):
    out = version(0) if json is None else version(0, json)
    out += msg(1, GET_INFO, struct.pack("<IIII", 16, 2, 9, 3))
    out += region(2, 7, 256)
    for i, size in enumerate(bars):
        out += region(3 + i, i, size)
    out += msg(9, IRQ_INFO, struct.pack("<IIII", 16, 1, 2, msix))
    out += rw(10, REGION_READ, 0, 7, CFG)
    return out


def session():
    out = attach()
    out += rw(11, REGION_READ, 0, 0, b"\x78\x56\x34\x12")
    out += rw(12, REGION_WRITE, 4, 0, b"\1\0\0\0")
    out += rw(13, REGION_READ, 0, 7, (CFG + bytes(64))[:64])
    out += msg(14, SET_IRQS) + msg(15, SET_IRQS) + msg(16, SET_IRQS)
    out += msg(17, DMA_MAP)
    out += msg(18, DMA_UNMAP, struct.pack("<IIQQ", 24, 0, 0x10000, 4096))
    out += rw(19, REGION_READ, 4, 7, b"\0\0")
    out += rw(20, REGION_WRITE, 4, 7, b"\6\0")
    return out


SEEDS = {
    "session": session(),
    "attach-only": attach(),
    "bars-absent-by-error": version(0)
    + msg(1, GET_INFO, struct.pack("<IIII", 16, 2, 9, 3))
    + region(2, 7, 4096)
    + b"".join(msg(3 + i, REGION_INFO, flags=REPLY | ERROR, err=22) for i in range(6))
    + msg(9, IRQ_INFO, flags=REPLY | ERROR, err=5)
    + rw(10, REGION_READ, 0, 7, CFG),
    "extra-caps": attach(json=b'{"capabilities":{"migration":{"pgsize":4096},'
                         b'"twin_socket":{"supported":false},"max_msg_fds":1}}\0'),
    "wrong-id": version(0) + msg(7, GET_INFO, struct.pack("<IIII", 16, 2, 9, 3)),
    "oversized": version(0) + struct.pack("<HHIII", 1, GET_INFO, 1 << 30, REPLY, 0),
    "error-version": msg(0, VERSION, flags=REPLY | ERROR, err=95),
    "not-pci": version(0) + msg(1, GET_INFO, struct.pack("<IIII", 16, 0, 9, 3)),
}

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
