#!/usr/bin/env python3
"""Boot-time benchmark: power-on to "all CPUs ready", sidecar versus Linux.

For each vCPU count the same image (shim + kernel + initramfs) boots twice
under QEMU TCG:
  sidecar  default shim options: every secondary CPU parked in the sidecar,
           Linux starts with maxcpus=1. Ready = Linux user space runs and the
           shim reported every sidecar CPU ready (the later of the two).
  linux    mhcl.sidecar=off mhcl.boot_cpus=N: Linux starts every CPU itself
           (maxcpus=N, the whole machine). Ready = user space sees CPUs 0..N-1
           online (the kernel's own "Brought up" line is shown too).
Times are host wall clock from QEMU's start to the serial line, so they
include QEMU's own start-up. Prints a markdown table.
"""
import argparse
import os
import re
import subprocess
import sys
import time

MARKERS = {
    "sidecar_ready": re.compile(rb"sidecar CPUs ready: (\d+)"),
    "kernel_smp": re.compile(rb"smp: Brought up \d+ nodes?, (\d+) CPUs"),
    "userspace": re.compile(rb"BENCH userspace cpus=(\S+)"),
}


def boot(qemu_args, timeout):
    t0 = time.monotonic()
    p = subprocess.Popen(qemu_args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    seen = {}
    try:
        while True:
            if time.monotonic() - t0 > timeout:
                raise TimeoutError("no user-space marker after %d s" % timeout)
            line = p.stdout.readline()
            if not line:
                break
            now = time.monotonic() - t0
            for k, rx in MARKERS.items():
                m = rx.search(line)
                if m and k not in seen:
                    seen[k] = (now, m.group(1).decode(errors="replace"))
            if "userspace" in seen:
                break
    finally:
        p.kill()
        p.wait()
    return seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shim", required=True)
    ap.add_argument("--payload", required=True)
    ap.add_argument("--cpus", default="8,32,64")
    ap.add_argument("--mem", default="2048")
    ap.add_argument("--timeout", type=int, default=900)
    a = ap.parse_args()

    rows = []
    for n in [int(x) for x in a.cpus.split(",")]:
        base = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-smp", str(n),
                "-m", a.mem, "-display", "none", "-no-reboot", "-serial", "stdio",
                "-monitor", "none", "-kernel", a.shim, "-initrd", a.payload]
        res = {}
        for mode, extra in (("sidecar", ""), ("linux", " mhcl.sidecar=off mhcl.boot_cpus=%d" % n)):
            append = "console=ttyS0 quiet loglevel=4 panic=-1" + extra
            seen = boot(base + ["-append", append], a.timeout)
            res[mode] = seen
            print("# %d vCPUs, %s: %s" % (n, mode, {k: (round(v[0], 2), v[1]) for k, v in seen.items()}),
                  file=sys.stderr, flush=True)
        s, l = res["sidecar"], res["linux"]
        want = "0-%d" % (n - 1) if n > 1 else "0"
        ok_s = s.get("sidecar_ready", (0, ""))[1] == str(n - 1) and "userspace" in s
        ok_l = l.get("userspace", (0, ""))[1] == want
        t_s = max(s["userspace"][0], s["sidecar_ready"][0]) if ok_s else float("nan")
        t_l = l["userspace"][0] if ok_l else float("nan")
        rows.append((n, s.get("sidecar_ready", (float("nan"),))[0], t_s,
                     l.get("kernel_smp", (float("nan"),))[0], t_l, t_l / t_s))
    print("| vCPUs | sidecar: all %s parked (s) | sidecar: user space up, all CPUs ready (s) "
          "| Linux only: kernel brought all up (s) | Linux only: user space sees all online (s) "
          "| Linux / sidecar |" % "secondaries")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %d | %.2f | %.2f | %.2f | %.2f | %.2fx |" % r)


if __name__ == "__main__":
    main()
