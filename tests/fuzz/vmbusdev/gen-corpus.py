#!/usr/bin/env python3
# Writes the seed corpus of the vmbusdev-peer fuzz target (tests/fuzz/corpus/vmbusdev-peer/):
# channel sessions as vmbusd and a guest drive them, then hostile variants. The input
# format is the comment atop fuzz-vmbusdev-peer.c.
import os
import struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus', 'vmbusdev-peer')

RAM, RESUME, LESS_FD, MORE_FD, UNSEALED, RESET, PIPE = 1, 2, 4, 8, 16, 32, 64


def rec(op, body=b''):
    return bytes([op, len(body)]) + body


def open_(offer, relid, first, npfns=4, down=2, vp=0, siefp=0, partition=0, flags=RAM | RESET):
    return rec(0, struct.pack('<BHBBBBBBB', offer, relid, vp, npfns, first, down, siefp,
                              partition, flags))


def close(offer, relid):
    return rec(1, struct.pack('<BH', offer, relid))


def synic(vp, enabled, page):
    return rec(2, bytes([vp, enabled, page]))


def raw(typ, body=b'', notify=False, nfds=0):  # typ: the ipc message type sent
    return rec(3, bytes([typ - 1, 1 if notify else 0, nfds]) + body)


OPEN, CLOSE, SYNIC, OFFER = 42, 43, 38, 41


def packet(offer, payload):
    return rec(4, bytes([offer]) + payload)


def poke(page, off, data):
    return rec(5, struct.pack('<BH', page, off) + data)


def bell(offer):
    return rec(6, bytes([offer]))


RECONNECT = rec(7)
SIEFP = 61  # page 60, in RAM

seeds = {
    'session': b'\x00' + open_(1, 5, 0, siefp=SIEFP) + packet(1, b'hello') + bell(1) +
    synic(0, 1, SIEFP) + open_(2, 6, 8, flags=RESET) + packet(2, b'x' * 100) +
    packet(1, b'again') + close(1, 5) + close(2, 6),
    'split-ring': b'\x00' + open_(3, 7, 62, npfns=4, down=2, siefp=SIEFP) +
    packet(3, b'across the ranges' * 8) + packet(3, b'y' * 200) + close(3, 7),
    'resume': b'\x00' + open_(1, 5, 0, siefp=SIEFP) + packet(1, b'before') + RECONNECT +
    open_(1, 5, 0, siefp=SIEFP, flags=RAM | RESUME) + packet(1, b'after') + close(1, 5),
    'new-partition': b'\x00' + open_(1, 5, 0) + open_(2, 6, 8, partition=1, flags=RAM | RESET) +
    open_(1, 5, 0, partition=1, flags=RESET) + synic(1, 1, SIEFP) + close(1, 5) + close(2, 6),
    'hostile': b'\x00' + open_(1, 5, 130) + open_(1, 5, 0, npfns=0) + open_(1, 0, 0) +
    open_(1, 5, 0, down=0) + open_(1, 5, 0, down=9) + open_(9, 5, 0) +
    open_(1, 5, 0, flags=RAM | UNSEALED) + open_(1, 5, 0, flags=RAM | LESS_FD) +
    open_(1, 5, 0, flags=RAM | MORE_FD) + open_(1, 5, 0, flags=RAM | PIPE) +
    open_(1, 5, 0, vp=70) + open_(1, 2000, 0) + open_(1, 5, 0, siefp=130) +
    open_(2, 6, 8, flags=RESET) +
    open_(1, 5, 0, flags=RAM | RESET) + open_(1, 5, 0, flags=RAM) +
    poke(0, 0, b'\xff' * 16) + bell(1) + packet(1, b'broken') +
    synic(70, 1, SIEFP) + synic(0, 1, 130) + close(1, 6) + close(4, 5) +
    raw(CLOSE, b'\x08\x01') + raw(SYNIC, b'\xff\xff', notify=True) + raw(OPEN, b'', nfds=3) +
    raw(OPEN, b'\x08\x01\x10\x05\x22\x01\x00', nfds=8 | 3) + raw(OFFER, b'\x0a\x05hello') +
    raw(SYNIC, b'\x08\x01') + close(1, 5),
    'refusals': bytes([1 | 2 << 1]) + open_(2, 5, 0) + open_(1, 6, 8) + packet(1, b'z') +
    close(1, 6) + close(2, 5),
}

os.makedirs(root, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(root, name), 'wb') as f:
        f.write(data)
