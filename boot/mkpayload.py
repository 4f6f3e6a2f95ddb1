#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes an mhcl payload module (layout: include/defs/pvh_defs.h).

The boot shim takes exactly one PVH module (QEMU passes -initrd as that one
module): a 128-byte header, then the Linux bzImage and the initrd, each
4 KiB aligned, then an optional command line and an optional manifest DTB.

usage: mkpayload.py -k bzImage -i initrd [-c "cmdline"] [-m manifest.dtb] -o payload.bin
"""
import argparse
import struct
import sys

MAGIC = 0x315941504C43484D  # "MHCLPAY1"
VERSION = 1
HEADER_SIZE = 128
ALIGN = 4096


def build(kernel, initrd, cmdline=b"", manifest=b""):
    items = [kernel, initrd, cmdline, manifest]
    layout = []
    off = ALIGN  # header alone in the first page
    for i, data in enumerate(items):
        if not data:
            layout.append((0, 0))
            continue
        if i < 2 or off % 8:
            off = (off + ALIGN - 1) // ALIGN * ALIGN if i < 2 else (off + 7) // 8 * 8
        layout.append((off, len(data)))
        off += len(data)
    total = off
    hdr = struct.pack("<QIIQ", MAGIC, VERSION, HEADER_SIZE, total)
    for o, s in layout:
        hdr += struct.pack("<QQ", o, s)
    hdr += bytes(HEADER_SIZE - len(hdr))
    out = bytearray(total)
    out[0:HEADER_SIZE] = hdr
    for (o, s), data in zip(layout, items):
        out[o:o + s] = data
    return bytes(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", "--kernel", required=True)
    ap.add_argument("-i", "--initrd", required=True)
    ap.add_argument("-c", "--cmdline", default="")
    ap.add_argument("-m", "--manifest")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    with open(a.kernel, "rb") as f:
        kernel = f.read()
    with open(a.initrd, "rb") as f:
        initrd = f.read()
    manifest = b""
    if a.manifest:
        with open(a.manifest, "rb") as f:
            manifest = f.read()
    blob = build(kernel, initrd, a.cmdline.encode(), manifest)
    with open(a.output, "wb") as f:
        f.write(blob)
    return 0


if __name__ == "__main__":
    sys.exit(main())
