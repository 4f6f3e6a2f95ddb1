#!/usr/bin/env python3
# Writes the seed corpora of the 'nvme-cqe' and 'nvme-identify' fuzz targets (layouts: see
# the targets). Run from the repository root; the output is committed.
import os
import struct

CQE_DIR = "tests/fuzz/corpus/nvme-cqe"
ID_DIR = "tests/fuzz/corpus/nvme-identify"


def cqe(cid, sqid=1, sqhd=0, sc=0, phase=1, dw0=0):
    return struct.pack("<IIHHHH", dw0, 0, sqhd, sqid, cid, (sc << 1) | phase)


def raw(c):  # op 0: phase as given
    return b"\x00" + c


def fixed(c):  # op 1: the phase the driver expects
    return b"\x01" + c


REAP, SUBMIT, ADOPT = b"\x02", b"\x03", b"\x05"


def timeouts(units):
    return b"\x04" + bytes([units])


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# depth 8 (byte 0 = 6): three commands, completed out of order, then reaped.
write(CQE_DIR, "in-order", bytes([6]) + SUBMIT * 3 +
      fixed(cqe(1, sqhd=1)) + fixed(cqe(0, sqhd=2)) + fixed(cqe(2, sqhd=3)) + REAP)
# Unknown CIDs, another SQ, a duplicate, a head past the tail.
write(CQE_DIR, "hostile", bytes([6]) + SUBMIT * 2 + fixed(cqe(7)) + fixed(cqe(0xffff)) +
      fixed(cqe(0, sqid=2)) + fixed(cqe(0, sqhd=9)) + fixed(cqe(0)) + REAP)
# A ring of 2 wrapping many times.
write(CQE_DIR, "wrap", bytes([0]) + (SUBMIT + fixed(cqe(0, sqhd=1)) + REAP) * 6)
# Commands in flight across an adoption, completing afterwards.
write(CQE_DIR, "adopt", bytes([6]) + SUBMIT * 3 + fixed(cqe(1, sqhd=2)) + ADOPT + SUBMIT +
      fixed(cqe(0, sqhd=3)) + fixed(cqe(2, sqhd=3)) + REAP + ADOPT + REAP)
# Timeouts: abort, then give up, then a late completion.
write(CQE_DIR, "timeout", bytes([6]) + SUBMIT * 2 + timeouts(5) + timeouts(200) +
      fixed(cqe(0, sc=7)) + REAP + SUBMIT + REAP)
# Raw entries with the wrong phase (ignored until the phase matches).
write(CQE_DIR, "phase", bytes([2]) + SUBMIT + raw(cqe(0, phase=0)) + REAP +
      raw(cqe(0, phase=1)) + REAP)

PAGE = 4096


def page(fields):
    b = bytearray(PAGE)
    for off, data in fields:
        b[off:off + len(data)] = data
    return bytes(b)


write(ID_DIR, "ctrl-qemu", page([(0, struct.pack("<HH", 0x1b36, 0x1af4)),
                                  (4, b"deadbeef".ljust(20)),
                                  (24, b"QEMU NVMe Ctrl".ljust(40)),
                                  (64, b"7.2.0".ljust(8)), (77, b"\x07"),
                                  (512, b"\x66\x44"), (516, struct.pack("<I", 256)),
                                  (520, struct.pack("<H", 0x15d)), (525, b"\x01")]))
write(ID_DIR, "ns-4k", page([(0, struct.pack("<QQQ", 131072, 131072, 0)),
                              (25, b"\x01\x01"), (128, struct.pack("<HBB", 0, 9, 0)),
                              (132, struct.pack("<HBB", 0, 12, 0)),
                              (104, bytes(range(1, 17)))]))
write(ID_DIR, "ns-list", page([(0, struct.pack("<IIII", 1, 2, 7, 0))]))
write(ID_DIR, "ns-metadata", page([(0, struct.pack("<Q", 64)), (128, struct.pack("<HBB", 8, 9, 0))]))
