#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Seeds for the 'sim-guest' fuzz target (action encoding in fuzz-sim-guest.c).
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), '..', 'corpus', 'sim-guest')
os.makedirs(out, exist_ok=True)


def post(conn, payload):
    return bytes([0, conn, len(payload)]) + payload


def poke(off, data):
    return bytes([1]) + struct.pack('<HB', off, len(data)) + data


def signal(which):
    return bytes([2, which])


def index(which, value):
    return bytes([3, which]) + struct.pack('<I', value)


def send(data):
    return bytes([4]) + struct.pack('<H', len(data)) + data


DRAIN = bytes([5])


def msr(which, value):
    return bytes([6, which]) + struct.pack('<Q', value)


def hcall(code, inp):
    return bytes([7]) + struct.pack('<IQ', code, inp)


# IC negotiate answer (framework 3.0, heartbeat 3.0) as the guest sends it.
pipe = struct.pack('<II', 1, 20 + 16)
hdr = struct.pack('<HHHHHHIBB2x', 3, 0, 0, 3, 0, 16, 0, 0, 0x05)
neg = struct.pack('<HHI', 1, 1, 0) + struct.pack('<HHHH', 3, 0, 3, 0)
seeds = {
    'well-behaved': DRAIN + send(pipe + hdr + neg) + signal(1) + DRAIN,
    'messages': post(0, struct.pack('<II', 3, 0)) + DRAIN
    + post(0, struct.pack('<IIIII', 5, 0, 1, 1, 0)) + post(1, b'\x63\0\0\0')
    + post(0, struct.pack('<IIIIHH', 8, 0, 1, 0x99, 24, 1) + struct.pack('<IIQ', 4096, 0, 1 << 40))
    + DRAIN + post(0, struct.pack('<III', 7, 0, 1)) + DRAIN,
    'ring-damage': index(0, 4096 * 3 + 64) + signal(1) + DRAIN
    + poke(4096, struct.pack('<HHHHQ', 6, 2, 0xffff, 0, 1)) + index(0, 32) + signal(1)
    + index(1, 0xfffffff0) + send(b'x' * 40) + signal(1) + DRAIN,
    'synic': msr(0, (0x400 << 12) | 1) + hcall(0x5c, 0x12000) + msr(3, 1 << 16)
    + msr(3, 0xf3) + msr(0, (0x10 << 12) | 1) + msr(4, 0) + hcall(0x5d | (1 << 16), 0x2001)
    + hcall(0x7777, 0) + DRAIN,
}
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
