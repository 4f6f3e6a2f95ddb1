#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus for the 'scsi-cdb' fuzz target (layout: see fuzz-scsi-cdb.c):
# what Linux's sd sends during a scan and I/O, plus a few hostile lists. Run from the
# repository root; the output is committed.
import os
import struct

OUT = "tests/fuzz/corpus/scsi-cdb"


def seed(cdb, xfer, params=b"", buf=4096, flags=0):
    cdb = bytes(cdb)
    hdr = struct.pack("<BBIH", len(cdb), flags, xfer, buf) + cdb.ljust(16, b"\0")
    assert len(hdr) == 24
    return hdr + params


def be(n, v):
    return v.to_bytes(n, "big")


def unmap_list(descs, data_len=None, desc_len=None):
    body = b"".join(be(8, lba) + be(4, n) + b"\0" * 4 for lba, n in descs)
    dl = len(body) + 6 if data_len is None else data_len
    bdl = len(body) if desc_len is None else desc_len
    return be(2, dl) + be(2, bdl) + b"\0" * 4 + body


seeds = {
    "inquiry-36": seed([0x12, 0, 0, 0, 36, 0], 36),
    "inquiry-vpd-00": seed([0x12, 1, 0x00, 0, 255, 0], 255),
    "inquiry-vpd-83": seed([0x12, 1, 0x83, 0, 255, 0], 255),
    "inquiry-vpd-b0": seed([0x12, 1, 0xB0, 0, 64, 0], 64),
    "read-capacity-10": seed([0x25] + [0] * 9, 8),
    "read-capacity-16": seed([0x9E, 0x10] + [0] * 8 + list(be(4, 32)) + [0, 0], 32),
    "mode-sense-6-all": seed([0x1A, 0, 0x3F, 0, 192, 0], 192),
    "mode-sense-10-caching": seed([0x5A, 0x18, 0x08, 0, 0, 0, 0, 0, 255, 0], 255),
    "read-10": seed([0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0], 4096),
    "write-10-fua": seed([0x2A, 0x08, 0, 0, 3, 0xE0, 0, 0, 16, 0], 8192, flags=0x20),
    "read-6-256": seed([0x08, 0, 0, 0, 0, 0], 256 * 512),
    "read-16-end": seed([0x88, 0] + list(be(8, (1 << 33) - 1)) + list(be(4, 1)) + [0, 0], 4096),
    "sync-cache-10": seed([0x35] + [0] * 9, 0, flags=0x40),
    "unmap-linux": seed([0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], 24, unmap_list([(100, 8)])),
    "unmap-lying": seed([0x42, 0, 0, 0, 0, 0, 0, 0, 56, 0], 56,
                        unmap_list([(5, 0), (999, 1), (2**64 - 1, 1)], data_len=300)),
    "write-same-16-unmap": seed([0x93, 0x08] + list(be(8, 10)) + list(be(4, 20)) + [0, 0], 512),
    "mode-select-6": seed([0x15, 0x10, 0, 0, 24, 0], 24,
                          bytes([0, 0, 0, 0, 0x08, 0x12, 0x04]) + b"\0" * 17),
    "mode-select-10-long": seed([0x55, 0x10, 0, 0, 0, 0, 0, 0, 36, 0], 36,
                                bytes([0, 0, 0, 0, 1, 0, 0, 16]) + be(8, 1000) + b"\0" * 4
                                + be(4, 512) + bytes([0x0A, 0x0A, 0, 0x10]) + b"\0" * 8),
    "request-sense": seed([0x03, 0, 0, 0, 18, 0], 18, buf=8),
    "unknown": seed([0xA3, 0x0C] + [0] * 10, 512, flags=1),
}

os.makedirs(OUT, exist_ok=True)
for name, blob in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(blob)
print(f"wrote {len(seeds)} seeds to {OUT}")
