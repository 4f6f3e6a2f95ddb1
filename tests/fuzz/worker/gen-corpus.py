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


def event(flag):
    return bytes([3]) + struct.pack('<H', flag)


def message(length):
    return bytes([4, length])


DRAIN = bytes([5])


def msr(which, value):
    return bytes([6, which]) + struct.pack('<Q', value)


def hcall(code, inp):
    return bytes([7]) + struct.pack('<IQ', code, inp)


seeds = {
    'messages': post(0, struct.pack('<II', 3, 0)) + DRAIN
    + post(1, struct.pack('<IIIII', 14, 0, 1, 1, 0)) + post(2, b'\x63\0\0\0')
    + message(240) + message(0) + DRAIN,
    'flood': post(0, b'x' * 40) * 80 + DRAIN,
    'events': signal(1) + signal(2) + event(5) + event(2047) + DRAIN
    + poke(4096, b'\xff' * 64) + event(5) + DRAIN,
    'simp-busy': message(16) + poke(0x100, struct.pack('<I', 1)) + message(16) + DRAIN
    + msr(4, 0) + DRAIN,
    'synic': msr(0, (0x400 << 12) | 1) + hcall(0x5c, 0x12000) + msr(3, 1 << 16)
    + msr(3, 0xf3) + msr(0, (0x10 << 12) | 1) + msr(4, 0) + hcall(0x5d | (1 << 16), 0x2001)
    + hcall(0x7777, 0) + DRAIN,
}
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
