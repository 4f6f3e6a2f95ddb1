#!/usr/bin/env python3
# Writes the seed corpus of the init-fdstore fuzz target (tests/fuzz/corpus/init-fdstore/):
# store, replace and remove sessions, then refusals. The input format is the comment atop
# fuzz-init-fdstore.c; bodies are proto/bus.proto FdStoreRequest/FdStoreRemove, by hand.
import os
import struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus', 'init-fdstore')

STORE, REMOVE = 0, 1
NAMES = 2  # the body is '/'-separated names, packed by the target
NOTE = 4


def names_body(*names):
    out = b''
    for n in names:
        out += b'\x0a' + bytes([len(n)]) + n
    return out


def rec(op, nfds, body):
    return bytes([op, nfds]) + struct.pack('<H', len(body)) + body


def store(*names, nfds=None):
    return rec(STORE, len(names) if nfds is None else nfds, names_body(*names))


def remove(*names):
    return rec(REMOVE, 0, names_body(*names))


seeds = {
    'store-one': store(b'vmbusd-state'),
    'store-replace-remove': store(b'state', b'tap0') + store(b'state') + remove(b'tap0') +
    remove(b'nothing') + store(b'vfio', b'tap0'),
    'fill': b''.join(store(b'fd%d' % i) for i in range(8)) + store(b'one-more') +
    store(b'fd3') + remove(b'fd0', b'fd1') + store(b'a', b'b', b'c'),
    'refusals': store(b'a', nfds=0) + store(b'a', b'b', nfds=1) + store(b'x' * 40) +
    store(b'bad name') + store(b'dup', b'dup') + store(b'\x7f') + rec(REMOVE, 1, b'') +
    rec(STORE, 1, b'\x0a\xff') + store(b'after'),
    'names': rec(STORE | NAMES, 2, b'state/ring') + rec(REMOVE | NAMES, 0, b'ring') +
    rec(STORE | NAMES, 3, b'a/b/a') + rec(STORE | NAMES, 1, b'') +
    rec(STORE | NAMES | NOTE, 1, b'quiet') + rec(STORE | NAMES, 9, b'/'.join(b'n%d' % i for i in range(9))),
}

os.makedirs(root, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(root, name), 'wb') as f:
        f.write(data)
