#!/usr/bin/env python3
"""Checks the device tree the shim handed to Linux against what the machine was told.

usage: dt-check.py LINUX_DTB --boot-cpus N (--host HOST_DTB | --smp N [--numa LIST])
                   [--host-memory] [--mem-mib M] [--sidecar on|off] [--isolated]
                   [--cmdline-dropped N] [--cmdline-dropped-names "NAME ..."]

Expected values come from the host tree (--host: CPUs with their APIC IDs and NUMA
nodes, and with --host-memory its memory ranges) or from QEMU's -smp/-numa options,
which is what its MADT/SRAT describe (--smp 8 --numa 0-3,4-7: node 0 holds CPUs 0-3,
node 1 CPUs 4-7; APIC IDs equal CPU numbers under TCG). Every difference is printed
as "DT MISMATCH: ..."; exit 1 when there is any.
"""
import argparse
import struct
import sys

FDT_MAGIC = 0xD00DFEED
FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP, FDT_END = 1, 2, 3, 4, 9


class DtError(Exception):
    pass


def parse_fdt(blob):
    """Returns {path: {prop: bytes}} with "/" as root; raises DtError on bad structure."""
    if len(blob) < 40:
        raise DtError("blob shorter than an FDT header")
    (magic, total, off_struct, off_strings, _rsv, version, _last, _boot, size_strings,
     size_struct) = struct.unpack(">10I", blob[:40])
    if magic != FDT_MAGIC:
        raise DtError("bad magic 0x%x" % magic)
    if total != len(blob):
        raise DtError("totalsize %d, blob %d bytes" % (total, len(blob)))
    if version < 17:
        raise DtError("version %d < 17" % version)
    if off_struct + size_struct > total or off_strings + size_strings > total:
        raise DtError("blocks outside totalsize")
    strings = blob[off_strings:off_strings + size_strings]
    pos, end = off_struct, off_struct + size_struct
    nodes, stack = {}, []

    def u32():
        nonlocal pos
        if pos + 4 > end:
            raise DtError("structure block truncated")
        v = struct.unpack(">I", blob[pos:pos + 4])[0]
        pos += 4
        return v

    while True:
        tok = u32()
        if tok == FDT_BEGIN_NODE:
            nul = blob.index(b"\0", pos, end)
            name = blob[pos:nul].decode()
            pos = (nul + 4) & ~3
            path = "/" if not stack else (stack[-1].rstrip("/") + "/" + name)
            if path in nodes:
                raise DtError("duplicate node " + path)
            nodes[path] = {}
            stack.append(path)
        elif tok == FDT_END_NODE:
            if not stack:
                raise DtError("unbalanced END_NODE")
            stack.pop()
        elif tok == FDT_PROP:
            if not stack:
                raise DtError("property outside a node")
            ln, nameoff = u32(), u32()
            if nameoff >= len(strings) or pos + ln > end:
                raise DtError("property out of bounds")
            pname = strings[nameoff:strings.index(b"\0", nameoff)].decode()
            nodes[stack[-1]][pname] = blob[pos:pos + ln]
            pos = (pos + ln + 3) & ~3
        elif tok == FDT_NOP:
            continue
        elif tok == FDT_END:
            break
        else:
            raise DtError("unknown token 0x%x at 0x%x" % (tok, pos - 4))
    if stack:
        raise DtError("nodes left open at FDT_END")
    return nodes


def cells(v, n=1):
    """Splits a property into tuples of n 32-bit cells joined as integers."""
    words = struct.unpack(">%dI" % (len(v) // 4), v) if len(v) % 4 == 0 else None
    if words is None or len(words) % n:
        raise DtError("property of %d bytes is not a multiple of %d cells" % (len(v), n))
    return [tuple(words[i:i + n]) for i in range(0, len(words), n)]


def u32(v):
    if len(v) != 4:
        raise DtError("expected one cell, got %d bytes" % len(v))
    return struct.unpack(">I", v)[0]


def string(v):
    if not v.endswith(b"\0"):
        raise DtError("string property without NUL")
    return v[:-1].decode()


def children(nodes, parent, prefix):
    base = parent.rstrip("/") + "/"
    return sorted(p for p in nodes
                  if p.startswith(base) and "/" not in p[len(base):]
                  and p[len(base):].split("@")[0] == prefix)


def ranges64(v):
    return [((a << 32) | b, (c << 32) | d) for a, b, c, d in cells(v, 4)]


def host_expect(path, want_memory):
    nodes = parse_fdt(open(path, "rb").read())
    cpus = {}
    for p in children(nodes, "/cpus", "cpu"):
        node = u32(nodes[p]["numa-node-id"]) if "numa-node-id" in nodes[p] else 0
        cpus[u32(nodes[p]["reg"])] = node
    mem = None
    if want_memory:
        mem = set()
        for p in children(nodes, "/", "memory"):
            node = u32(nodes[p]["numa-node-id"]) if "numa-node-id" in nodes[p] else 0
            for base, size in ranges64(nodes[p]["reg"]):
                mem.add((base, size, node))
    return cpus, mem


def qemu_expect(smp, numa):
    cpus = {i: 0 for i in range(smp)}
    if numa:
        for node, group in enumerate(numa.split(",")):
            lo, _, hi = group.partition("-")
            for i in range(int(lo), int(hi or lo) + 1):
                cpus[i] = node
    return cpus


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dtb")
    ap.add_argument("--boot-cpus", type=int, required=True)
    ap.add_argument("--host")
    ap.add_argument("--host-memory", action="store_true")
    ap.add_argument("--smp", type=int)
    ap.add_argument("--numa")
    ap.add_argument("--mem-mib", type=int, default=1024)
    ap.add_argument("--sidecar", choices=("on", "off"), default="on")
    ap.add_argument("--isolated", action="store_true")
    ap.add_argument("--cmdline-dropped", type=int, default=0)
    ap.add_argument("--cmdline-dropped-names")
    a = ap.parse_args()

    errors = []

    def check(what, expected, got):
        if expected == got:
            return
        if isinstance(expected, dict) and isinstance(got, dict):
            keys = sorted(set(expected) | set(got))
            diff = ["%s: %s -> %s" % (k, expected.get(k, "(none)"), got.get(k, "(none)"))
                    for k in keys if expected.get(k) != got.get(k)]
            errors.append("%s: expected -> got: %s" % (what, "; ".join(diff)))
        else:
            errors.append("%s: expected %s, got %s" % (what, expected, got))

    try:
        nodes = parse_fdt(open(a.dtb, "rb").read())
        if a.host:
            want_cpus, want_mem = host_expect(a.host, a.host_memory)
            want_source = "host device tree"
        else:
            want_cpus, want_mem = qemu_expect(a.smp, a.numa), None
            want_source = "ACPI MADT+SRAT" if a.numa else "ACPI MADT"
        root = nodes.get("/", {})
        check("/compatible", "mhcl,vtl2", string(root.get("compatible", b"\0")))
        check("/#address-cells", 2, u32(root.get("#address-cells", b"")))
        check("/#size-cells", 2, u32(root.get("#size-cells", b"")))

        chosen = nodes.get("/chosen")
        if chosen is None:
            raise DtError("no /chosen")
        bootargs = string(chosen.get("bootargs", b"\0")).split()
        check("/chosen/bootargs maxcpus=", ["maxcpus=%d" % a.boot_cpus],
              [w for w in bootargs if w.startswith("maxcpus=")])
        check("/chosen/mhcl,boot-cpus", a.boot_cpus, u32(chosen.get("mhcl,boot-cpus", b"")))
        check("/chosen/mhcl,topology-source", want_source,
              string(chosen.get("mhcl,topology-source", b"\0")))
        check("/chosen/mhcl,isolated present", a.isolated, "mhcl,isolated" in chosen)
        # What isolation took off the host's command line: a count, and Linux's names.
        check("/chosen/mhcl,cmdline-dropped", a.cmdline_dropped,
              u32(chosen.get("mhcl,cmdline-dropped", b"")))
        names = chosen.get("mhcl,cmdline-dropped-names", b"")
        if names and not names.endswith(b"\0"):
            raise DtError("mhcl,cmdline-dropped-names is not a string list")
        got_names = names[:-1].decode().split("\0") if names else []
        if a.cmdline_dropped_names is not None:
            check("/chosen/mhcl,cmdline-dropped-names", a.cmdline_dropped_names.split(),
                  got_names)
        elif a.cmdline_dropped == 0:
            check("/chosen/mhcl,cmdline-dropped-names", [], got_names)

        # CPUs: APIC ID -> node as told; indices 0..n-1 with the boot CPU (APIC 0) first.
        got_cpus, index_of, owner_of = {}, {}, {}
        for p in children(nodes, "/cpus", "cpu"):
            c = nodes[p]
            apic = u32(c["reg"])
            check(p + " unit address", "cpu@%x" % apic, p.rsplit("/", 1)[1])
            check(p + "/device_type", "cpu", string(c.get("device_type", b"\0")))
            got_cpus[apic] = u32(c["numa-node-id"])
            index_of[apic] = u32(c["mhcl,cpu-index"])
            owner_of[index_of[apic]] = string(c["mhcl,owner"])
        check("cpus (APIC ID: numa-node-id)", want_cpus, got_cpus)
        check("cpu indices", list(range(len(got_cpus))), sorted(index_of.values()))
        check("cpu-index 0 APIC ID", 0, min(index_of, key=index_of.get) if index_of else None)
        n = len(got_cpus)
        parked = "sidecar" if a.sidecar == "on" else "offline"
        want_owner = {i: "linux" if i < a.boot_cpus else parked for i in range(n)}
        check("cpu owners by index", want_owner, owner_of)

        # Sidecar nodes: one per NUMA node with secondary CPUs, each listing them.
        want_sc = {}
        if a.sidecar == "on":
            for apic, node in got_cpus.items():
                if index_of[apic] != 0:
                    want_sc.setdefault(node, []).append(index_of[apic])
            want_sc = {k: sorted(v) for k, v in want_sc.items()}
        got_sc = {}
        for p in children(nodes, "/", "sidecar"):
            s = nodes[p]
            check(p + "/compatible", "mhcl,sidecar", string(s.get("compatible", b"\0")))
            reg = ranges64(s["reg"])
            check(p + " reg entries", 2, len(reg))
            check(p + " unit address", "sidecar@%x" % reg[0][0], p.rsplit("/", 1)[1])
            node = u32(s["numa-node-id"])
            if node in got_sc:
                errors.append("two sidecar nodes for NUMA node %d" % node)
            got_sc[node] = list(cells(s["mhcl,cpu-indices"]))
            got_sc[node] = sorted(x[0] for x in got_sc[node])
        check("sidecar nodes (numa-node-id: cpu indices)", want_sc, got_sc)

        # Memory: the host's ranges exactly, else the firmware's RAM below -m.
        got_mem = set()
        for p in children(nodes, "/", "memory"):
            m = nodes[p]
            check(p + "/device_type", "memory", string(m.get("device_type", b"\0")))
            node = u32(m["numa-node-id"]) if "numa-node-id" in m else None
            for base, size in ranges64(m["reg"]):
                got_mem.add((base, size, node))
        if want_mem is not None:
            fmt = lambda s: sorted("[0x%x, 0x%x) node %s" % (b, b + z, nd) for b, z, nd in s)
            check("memory ranges", fmt(want_mem), fmt(got_mem))
        else:
            total = sum(z for _, z, _ in got_mem)
            mib = a.mem_mib << 20
            if not mib - (2 << 20) <= total <= mib:
                errors.append("memory: %d MiB of RAM described, -m is %d MiB" %
                              (total >> 20, a.mem_mib))
            check("memory numa-node-id without a host tree", set(),
                  {nd for _, _, nd in got_mem if nd is not None})
        spans = sorted((b, b + z) for b, z, _ in got_mem)
        for (b0, e0), (b1, e1) in zip(spans, spans[1:]):
            if b1 < e0:
                errors.append("memory ranges overlap: [0x%x, 0x%x) and [0x%x, 0x%x)" %
                              (b0, e0, b1, e1))

        mhcl = nodes.get("/mhcl", {})
        check("/mhcl/compatible", "mhcl,boot-info", string(mhcl.get("compatible", b"\0")))
        if ("manifest" in mhcl) == ("manifest-path" in mhcl):
            errors.append("/mhcl: expected exactly one of manifest, manifest-path")
    except (DtError, KeyError, ValueError, UnicodeDecodeError, struct.error) as e:
        errors.append("malformed or incomplete tree: %s: %s" % (type(e).__name__, e))

    for e in errors:
        print("DT MISMATCH: " + e)
    if errors:
        return 1
    print("dt contents: %d cpus, %d sidecar node(s), topology from %s, boot-cpus %d: as expected"
          % (len(got_cpus), len(got_sc), want_source, a.boot_cpus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
