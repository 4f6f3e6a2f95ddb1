#!/usr/bin/env python3
"""Boot-time benchmark: power-on to "all CPUs ready", sidecar versus Linux.

For each vCPU count the same image (shim + kernel + initramfs) boots twice
under QEMU TCG:
  sidecar  default shim options: every secondary CPU parked in the sidecar,
           Linux starts with maxcpus=1. Ready = Linux user space runs and the
           shim reported every sidecar CPU ready (the later of the two).
  linux    mhcl.sidecar=off mhcl.boot_cpus=N: Linux starts every CPU itself
           (maxcpus=N, the whole machine). Ready = user space sees CPUs 0..N-1
           online (the kernel starts them all before it runs init).
Times are host wall clock from QEMU's start to the serial line, so they
include QEMU's own start-up; with --reps N each cell is the median of N
boots. Prints a markdown table.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

MARKERS = {
    "sidecar_ready": re.compile(rb"sidecar CPUs ready: (\d+)"),
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
    ap.add_argument("--reps", type=int, default=1, help="boots per mode and size; medians shown")
    a = ap.parse_args()

    rows = []
    for n in [int(x) for x in a.cpus.split(",")]:
        base = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-smp", str(n),
                "-m", a.mem, "-display", "none", "-no-reboot", "-serial", "stdio",
                "-monitor", "none", "-kernel", a.shim, "-initrd", a.payload]
        want = "0-%d" % (n - 1) if n > 1 else "0"
        parked, t_s, t_l = [], [], []
        for rep in range(a.reps):
            # Alternate the order so drift on a shared host hits both modes alike.
            modes = [("sidecar", ""), ("linux", " mhcl.sidecar=off mhcl.boot_cpus=%d" % n)]
            if rep % 2:
                modes.reverse()
            for mode, extra in modes:
                append = "console=ttyS0 quiet loglevel=4 panic=-1" + extra
                seen = boot(base + ["-append", append], a.timeout)
                print("# %d vCPUs, %s, run %d: %s" % (n, mode, rep + 1,
                      {k: (round(v[0], 2), v[1]) for k, v in seen.items()}),
                      file=sys.stderr, flush=True)
                if mode == "sidecar":
                    if seen.get("sidecar_ready", (0, ""))[1] != str(n - 1) or "userspace" not in seen:
                        sys.exit("%d vCPUs: the sidecar did not report every CPU ready" % n)
                    parked.append(seen["sidecar_ready"][0])
                    t_s.append(max(seen["userspace"][0], seen["sidecar_ready"][0]))
                else:
                    if seen.get("userspace", (0, ""))[1] != want:
                        sys.exit("%d vCPUs: Linux did not bring every CPU online" % n)
                    t_l.append(seen["userspace"][0])
        ms, ml = statistics.median(t_s), statistics.median(t_l)
        rows.append((n, statistics.median(parked), ms, ml, ml / ms, a.reps))
    print("| vCPUs | sidecar: secondaries parked (s) | sidecar: all CPUs ready (s) "
          "| Linux only: all CPUs online (s) | Linux / sidecar | boots per cell |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %d | %.2f | %.2f | %.2f | %.2fx | %d |" % r)


if __name__ == "__main__":
    main()
