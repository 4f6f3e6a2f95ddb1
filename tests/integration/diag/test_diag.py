#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of mhcl-diagd and the mhcl CLI.

Starts the real mhcl-init (hosted mode) with a manifest holding mhcl-diagd
(unix + TCP listeners) and the test server mhcl-testd, then drives every CLI
command through diagd. Scenarios (one meson test each, own init, own dir):

  unix    every command over the unix socket, text and --json
  tcp     every command over TCP, text and --json
  faults  diag unreachable (exit 3), timeouts (exit 4), a hung server,
          diagd's request validation and client limits on the raw wire
  hostile servers answering inspect with a tree 20,000 deep and with ~48,000
          empty nodes (a body holds no more), and a fake diagd answering the
          CLI with both: init refuses the servers' replies and the CLI
          diagd's, everything keeps running

Readiness is awaited by polling the CLI, never by sleeping for a fixed time,
and nothing asserts on how long anything took. Child output is shown only
when a check fails.
"""
import argparse
import errno
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

# CLI exit codes (tools/mhcl/mhcl_exit.h).
EXIT_OK, EXIT_REMOTE, EXIT_NO_SERVER, EXIT_UNREACHABLE, EXIT_TIMEOUT, EXIT_USAGE = 0, 1, 2, 3, 4, 100
# Bound on any one wait for a condition; hitting it is a failure, not a measurement.
WAIT_LIMIT_S = 60

MANIFEST = """/dts-v1/;
/ {
%(chosen)s	mhcl {
		manifest {
			compatible = "mhcl,manifest-v1";
			diagd {
				binary = "mhcl-diagd";
				args = "--unix", "${RUN}/diag.sock", "--tcp", "127.0.0.1:0", "--vsock", "any",
				       "--max-conns", "%(max_conns)d", "--max-pending", "%(max_pending)d"%(diag_extra)s;
				policy = "diagd";
				control;
				start-order = <10>;
				restart = "always";
			};
			testd {
				binary = "mhcl-testd";
				policy = "diagd";
				start-order = <20>;
				restart = "always";
				restart-delay-ms = <10>;
				restart-delay-max-ms = <50>;
				crash-loop-limit = <64>;
				crash-loop-window-ms = <100>;
			};
%(extra)s		};
	};
};
"""

# Servers whose inspect replies no decoder may take (scenario hostile).
BOMB_SERVER = """			%(name)s {
				binary = "mhcl-testd";
				args = "--inspect-bomb", "%(name)s";
				policy = "diagd";
				start-order = <30>;
				restart = "always";
				restart-delay-ms = <10>;
				restart-delay-max-ms = <50>;
				crash-loop-limit = <64>;
				crash-loop-window-ms = <100>;
			};
"""


class Failure(Exception):
    pass


class Env:
    def __init__(self, args, scenario):
        self.args = args
        self.scenario = scenario
        self.dir = tempfile.mkdtemp(prefix="mhcl-diag-%s-" % scenario)
        self.run_dir = os.path.join(self.dir, "run")
        self.sock = os.path.join(self.run_dir, "diag.sock")
        self.init = None
        self.init_log = os.path.join(self.dir, "init.log")
        self.transcript = []
        self.target = ["--socket", self.sock]
        self.max_conns = 4
        self.max_pending = 4
        self.extra_servers = "".join(BOMB_SERVER % {"name": n} for n in BOMBS) \
            if scenario == "hostile" else ""
        # test_isolation.py: a /chosen node and more diagd arguments.
        self.chosen = ""
        self.diag_extra = ""

    # ---- processes ----

    def start(self):
        dts = os.path.join(self.dir, "manifest.dts")
        dtb = os.path.join(self.dir, "manifest.dtb")
        with open(dts, "w") as f:
            f.write(MANIFEST % {"max_conns": self.max_conns, "max_pending": self.max_pending,
                                "extra": self.extra_servers, "chosen": self.chosen,
                                "diag_extra": self.diag_extra})
        subprocess.run([self.args.dtc, "-q", "-I", "dts", "-O", "dtb", "-o", dtb, dts], check=True)
        libexec = ":".join(sorted({os.path.dirname(os.path.abspath(p))
                                   for p in (self.args.diagd, self.args.testd)}))
        log = open(self.init_log, "w")
        self.init = subprocess.Popen(
            [self.args.init, "--dtb", dtb, "--libexec", libexec, "--run-dir", self.run_dir],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        self.wait_for("diagd and testd running", lambda: self.states().get("testd") == "running"
                      and self.states().get("diagd") == "running")

    def stop(self):
        if self.init and self.init.poll() is None:
            self.init.send_signal(signal.SIGTERM)
            try:
                self.init.wait(timeout=WAIT_LIMIT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.init.pid, signal.SIGKILL)
                self.init.wait()

    def dump(self):
        sys.stderr.write("---- CLI transcript (last 40) ----\n")
        for line in self.transcript[-40:]:
            sys.stderr.write(line + "\n")
        sys.stderr.write("---- init output (last 80 lines) ----\n")
        try:
            with open(self.init_log, errors="replace") as f:
                sys.stderr.write("".join(f.readlines()[-80:]))
        except OSError:
            pass

    # ---- the CLI ----

    def mhcl(self, *argv, target=None, timeout_ms=None, env=None):
        cmd = [self.args.mhcl] + (self.target if target is None else target)
        if timeout_ms:
            cmd += ["--timeout", str(timeout_ms)]
        cmd += list(argv)
        e = dict(os.environ)
        e.pop("MHCL_DIAG", None)
        if env:
            e.update(env)
        p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=WAIT_LIMIT_S)
        self.transcript.append("$ %s -> %d\n%s%s" % (" ".join(cmd), p.returncode,
                                                    p.stdout[-2000:], p.stderr[-1000:]))
        return p

    def ok(self, *argv, **kw):
        p = self.mhcl(*argv, **kw)
        if p.returncode != EXIT_OK:
            raise Failure("mhcl %s: exit %d, stderr %r" % (" ".join(argv), p.returncode, p.stderr))
        if p.stderr:
            raise Failure("mhcl %s: unexpected stderr %r" % (" ".join(argv), p.stderr))
        return p.stdout

    def json(self, *argv, **kw):
        out = self.ok("--json", *argv, **kw)
        try:
            return json.loads(out)
        except ValueError as e:
            raise Failure("mhcl --json %s: not JSON (%s): %r" % (" ".join(argv), e, out[:500]))

    def fails(self, code, *argv, **kw):
        p = self.mhcl(*argv, **kw)
        if p.returncode != code:
            raise Failure("mhcl %s: exit %d, wanted %d (stderr %r)" %
                          (" ".join(argv), p.returncode, code, p.stderr))
        lines = p.stderr.splitlines()
        if len(lines) != 1 or not lines[0].startswith("mhcl: "):
            raise Failure("mhcl %s: wanted one 'mhcl: ' line on stderr, got %r" %
                          (" ".join(argv), p.stderr))
        return p

    def ps(self):
        return {s["name"]: s for s in self.json("ps")["servers"]}

    def states(self):
        """Server states, {} while diag is not answering yet."""
        p = self.mhcl("--json", "ps", timeout_ms=2000)
        if p.returncode != EXIT_OK:
            return {}
        return {s["name"]: s["state"] for s in json.loads(p.stdout)["servers"]}

    def wait_for(self, what, cond):
        """Polls cond() until true; WAIT_LIMIT_S is a hang guard, not a timing check."""
        deadline = time.monotonic() + WAIT_LIMIT_S
        while True:
            if self.init is not None and self.init.poll() is not None:
                raise Failure("init exited (%d) while waiting for %s" % (self.init.returncode, what))
            if cond():
                return
            if time.monotonic() > deadline:
                raise Failure("gave up waiting for " + what)
            time.sleep(0.05)

    def wait_revived(self, name, old_pid):
        """Until `name` runs again as a new process; returns its ps entry."""
        found = {}

        def cond():
            # diag itself may be the one coming back: not answering yet is "not yet".
            p = self.mhcl("--json", "ps", timeout_ms=2000)
            if p.returncode != EXIT_OK:
                return False
            s = {x["name"]: x for x in json.loads(p.stdout)["servers"]}.get(name)
            if s and s["state"] == "running" and s["pid"] not in (0, old_pid):
                found.update(s)
                return True
            return False
        self.wait_for("%s revived (old pid %d)" % (name, old_pid), cond)
        return found


def check(cond, fmt, *a):
    if not cond:
        raise Failure(fmt % a)


def find_key(tree, key):
    """True if a nested JSON object has `key` at any depth."""
    if isinstance(tree, dict):
        return key in tree or any(find_key(v, key) for v in tree.values())
    if isinstance(tree, list):
        return any(find_key(v, key) for v in tree)
    return False


# ---- commands, each in text and JSON form ----

def parse_size(text):
    """A ps size column ("512B", "1.5K", "12.0M") in bytes, approximately."""
    units = {"B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    check(len(text) >= 2 and text[-1] in units, "size column %r", text)
    return float(text[:-1]) * units[text[-1]]


def t_ps(env, as_json):
    if as_json:
        r = env.json("ps")
        servers = {s["name"]: s for s in r["servers"]}
        check(set(servers) >= {"diagd", "testd"}, "ps lists %s", sorted(servers))
        for name in ("diagd", "testd"):
            s = servers[name]
            check(s["state"] == "running" and s["pid"] > 0, "ps %s: %r", name, s)
            for k in ("uptime_ms", "restarts", "rss_bytes", "pss_bytes", "uss_bytes",
                      "cpu_user_ms", "cpu_sys_ms", "last_exit", "policy"):
                check(k in s, "ps --json: %s lacks %s", name, k)
        check(servers["diagd"]["policy"] == "diagd", "diagd policy %r", servers["diagd"]["policy"])
        # init's own line, then the total over init and every server.
        init = r.get("init")
        check(isinstance(init, dict) and init["name"] == "init" and init["pid"] > 0 and
              init["state"] == "running", "ps --json init: %r", init)
        for s in [init, servers["diagd"], servers["testd"]]:
            # Both figures come from one read of smaps_rollup: USS is part of PSS.
            check(0 < s["uss_bytes"] <= s["pss_bytes"] and s["rss_bytes"] > 0,
                  "ps --json %s memory: %r", s["name"], s)
        for k in ("pss_bytes", "uss_bytes"):
            want = init[k] + sum(s[k] for s in r["servers"])
            check(r["total"][k] == want, "ps --json total %s %d, sum %d", k, r["total"][k], want)
    else:
        out = env.ok("ps").splitlines()
        check(out[0].split() == ["NAME", "PID", "STATE", "UPTIME", "RESTARTS", "RSS", "PSS", "USS",
                                 "CPU", "LAST-EXIT"], "ps header %r", out[0])
        rows = {l.split()[0]: l.split() for l in out[1:]}
        check(set(rows) >= {"diagd", "testd", "init", "total"}, "ps rows %r", out)
        check(rows["testd"][2] == "running" and rows["testd"][1].isdigit(), "ps testd %r",
              rows["testd"])
        check(rows["init"][1].isdigit() and rows["init"][4] == "-", "ps init %r", rows["init"])
        check(out[-1].split()[0] == "total", "ps: total is not the last row: %r", out[-1])
        # The total's PSS and USS are the sums of the rows above (as rounded for display).
        for col in (6, 7):
            parts = [parse_size(l.split()[col]) for l in out[1:-1]]
            total = parse_size(rows["total"][col])
            running = [parse_size(l.split()[col]) for l in out[1:-1] if l.split()[2] == "running"]
            check(len(running) >= 3 and all(p > 0 for p in running), "ps column %d: %r", col, out)
            check(abs(total - sum(parts)) <= 0.1 * total, "ps total %r vs rows %r", total, parts)


def t_inspect(env, as_json):
    # Everything.
    if as_json:
        tree = env.json("inspect")
        check(find_key(tree, "testd") and find_key(tree, "diagd"), "inspect all: %r",
              str(tree)[:300])
    else:
        out = env.ok("inspect")
        check("testd" in out and "diagd" in out, "inspect all: %r", out[:300])
        check(out.splitlines()[1].startswith("  "), "inspect all is not indented: %r", out[:200])
    # One server: diagd answers for itself with its counters.
    if as_json:
        tree = env.json("inspect", "diagd")
        d = tree.get("diagd")
        check(isinstance(d, dict), "inspect diagd: %r", str(tree)[:300])
        check(isinstance(d.get("connections"), int) and d["connections"] >= 1,
              "diagd connections %r", d.get("connections"))
        check(d["requests"]["served"] >= 1, "diagd requests %r", d.get("requests"))
        check(isinstance(d["limits"]["max_conns"], int), "typed values: %r", d["limits"])
        tree = env.json("inspect", "testd")
        check(isinstance(tree.get("testd"), dict) and "frame" in tree["testd"],
              "inspect testd: %r", str(tree)[:300])
    else:
        out = env.ok("inspect", "diagd")
        check(out.startswith("diagd\n"), "inspect diagd: %r", out[:100])
        check("\n  connections: " in out and "\n    served: " in out, "inspect diagd: %r",
              out[:800])
        check('name: "diagd"' in out, "strings are quoted: %r", out[:400])
        out = env.ok("inspect", "testd")
        check("frame" in out, "inspect testd: %r", out[:300])
    # A path.
    if as_json:
        tree = env.json("inspect", "diagd/limits")
        check(tree == {"limits": tree["limits"]} and
              tree["limits"]["max_conns"] == env.max_conns and
              tree["limits"]["max_pending"] == env.max_pending, "inspect diagd/limits: %r", tree)
    else:
        out = env.ok("inspect", "diagd/limits")
        check(out.startswith("limits\n") and ("  max_conns: %d\n" % env.max_conns) in out,
              "inspect diagd/limits: %r", out)
    # Unknown server, unknown path.
    env.fails(EXIT_NO_SERVER, *(["--json"] if as_json else []), "inspect", "nosuch")
    env.fails(EXIT_NO_SERVER, *(["--json"] if as_json else []), "inspect", "diagd/no/such/node")
    # Invalid names never leave the CLI.
    env.fails(EXIT_USAGE, "inspect", "NoSuch")


def t_restart(env, as_json):
    before = env.ps()["testd"]
    if as_json:
        r = env.json("restart", "testd")
        check(r.get("server") == "testd" and isinstance(r.get("pid"), int), "restart: %r", r)
        new_pid = r["pid"]
    else:
        out = env.ok("restart", "testd")
        check(out.startswith("restarted testd: pid "), "restart: %r", out)
        new_pid = int(out.split()[-1])
    check(new_pid > 0 and new_pid != before["pid"], "restart pid %d (was %d)", new_pid,
          before["pid"])
    after = env.wait_revived("testd", before["pid"])
    check(after["pid"] == new_pid, "ps pid %d, restart said %d", after["pid"], new_pid)
    check(after["restarts"] == before["restarts"] + 1, "restarts %d -> %d", before["restarts"],
          after["restarts"])
    env.fails(EXIT_NO_SERVER, "restart", "nosuch")


def t_kill(env, as_json):
    before = env.ps()["testd"]
    if as_json:
        r = env.json("kill", "testd")
        check(r == {"server": "testd", "signal": 9}, "kill: %r", r)
    else:
        out = env.ok("kill", "testd")
        check(out == "sent SIGKILL to testd\n", "kill: %r", out)
    after = env.wait_revived("testd", before["pid"])
    check(after["restarts"] > before["restarts"], "restarts %d -> %d", before["restarts"],
          after["restarts"])
    check("KILL" in after["last_exit"] or "9" in after["last_exit"], "last_exit %r",
          after["last_exit"])
    # --signal by name.
    before = after
    env.ok(*(["--json"] if as_json else []), "kill", "testd", "--signal", "TERM")
    env.wait_revived("testd", before["pid"])
    env.fails(EXIT_NO_SERVER, "kill", "nosuch")
    env.fails(EXIT_USAGE, "kill", "testd", "--signal", "NOPE")


def t_kill_fault(env, as_json):
    before = env.ps()["testd"]
    if as_json:
        r = env.json("kill", "testd", "--fault", "syscall")
        check(r == {"server": "testd", "fault": "syscall"}, "kill --fault: %r", r)
    else:
        out = env.ok("kill", "testd", "--fault", "syscall")
        check(out == "asked testd to fault: syscall\n", "kill --fault: %r", out)
    after = env.wait_revived("testd", before["pid"])
    # The seccomp filter killed it; init names the violation.
    last = after["last_exit"].lower()
    check("seccomp" in last or "jail" in last or "ptrace" in last or "sigsys" in last,
          "last_exit after a forbidden syscall: %r", after["last_exit"])
    # abort: revived too.
    before = after
    env.ok("kill", "testd", "--fault", "abort")
    env.wait_revived("testd", before["pid"])


def t_logs(env, as_json):
    if as_json:
        r = env.json("logs", "testd")
        check(isinstance(r.get("next_seq"), int) and r["lines"], "logs: %r", str(r)[:300])
        for l in r["lines"]:
            check(l["server"] == "testd" and set(l) == {"seq", "time_ns", "server", "stream",
                                                        "text"}, "log line %r", l)
        seqs = [l["seq"] for l in r["lines"]]
        check(seqs == sorted(seqs) and r["next_seq"] > seqs[-1], "seqs %r next %d", seqs,
              r["next_seq"])
        r = env.json("logs")
        check({l["server"] for l in r["lines"]} >= {"testd"}, "logs all: %r", str(r)[:300])
        r = env.json("logs", "-n", "1", "testd")
        check(len(r["lines"]) <= 1, "logs -n 1 gave %d lines", len(r["lines"]))
    else:
        out = env.ok("logs", "testd")
        lines = out.splitlines()
        check(lines and all(" testd" in l for l in lines), "logs: %r", out[:300])
        env.ok("logs")
    env.fails(EXIT_USAGE, "logs", "Bad!")


def t_logs_follow(env, as_json):
    """logs -f prints the backlog, then new lines as they come; SIGINT ends it with 0."""
    cmd = [env.args.mhcl] + env.target + (["--json"] if as_json else []) + \
        ["logs", "-f", "--interval", "50", "testd"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    buf = b""
    try:
        def read_until(pred, what):
            nonlocal buf
            deadline = time.monotonic() + WAIT_LIMIT_S
            while not pred(buf):
                if p.poll() is not None:
                    raise Failure("logs -f exited %d early: %r" % (p.returncode, p.stderr.read()))
                if time.monotonic() > deadline:
                    raise Failure("logs -f: gave up waiting for " + what)
                r, _, _ = select.select([p.stdout], [], [], 0.1)
                if r:
                    buf += os.read(p.stdout.fileno(), 65536)
        read_until(lambda b: b.count(b"\n") >= 1, "the backlog")
        n0 = buf.count(b"\n")
        # Something new for the ring: a restart makes init log about testd.
        pid = env.ps()["testd"]["pid"]
        env.ok("restart", "testd")
        env.wait_revived("testd", pid)
        read_until(lambda b: b.count(b"\n") > n0, "a new line")
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=WAIT_LIMIT_S)
        buf += p.stdout.read()
        check(rc == 0, "logs -f after SIGINT: exit %d (%r)", rc, p.stderr.read())
        if as_json:
            seqs = [json.loads(l)["seq"] for l in buf.decode().splitlines()]
            check(seqs == sorted(set(seqs)), "logs -f --json: seqs repeat or go back: %r", seqs)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()


def t_logs_follow_pipe(env, as_json):
    """`mhcl logs -f | head -1` ends: once head is gone, the next write kills mhcl (SIGPIPE)."""
    if as_json:
        return
    r, w = os.pipe()
    cmd = [env.args.mhcl] + env.target + ["logs", "-f", "--interval", "50", "testd"]
    p = subprocess.Popen(cmd, stdout=w, stderr=subprocess.DEVNULL)
    os.close(w)
    try:
        rf = os.fdopen(r, "rb")
        line = rf.readline()
        check(line.endswith(b"\n") and b" testd" in line, "logs -f first line %r", line)
        rf.close()  # the reader is gone, like head after its line
        pid = env.ps()["testd"]["pid"]
        env.ok("restart", "testd")  # new lines for the ring, so mhcl writes again
        env.wait_revived("testd", pid)
        rc = p.wait(timeout=WAIT_LIMIT_S)
        check(rc == -signal.SIGPIPE, "logs -f into a closed pipe: exit %d", rc)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def t_config(env, as_json):
    if as_json:
        r = env.json("config")
        man = [c for c in r["root"]["children"] if c["name"] == "mhcl"][0]["children"][0]
        check(man["name"] == "manifest" and man["properties"]["compatible"] == "mhcl,manifest-v1",
              "config manifest %r", str(man)[:200])
        servers = {c["name"]: c["properties"] for c in man["children"]}
        check(servers["diagd"]["control"] is True, "diagd control %r", servers["diagd"])
        check(servers["testd"]["start-order"] == [20], "testd start-order %r", servers["testd"])
        check(servers["diagd"]["args"][0] == "--unix", "diagd args %r", servers["diagd"]["args"])
    else:
        out = env.ok("config")
        check(out.startswith("/dts-v1/;\n"), "config: %r", out[:100])
        for want in ("\t\t\tdiagd {\n", "\t\t\t\tcontrol;\n", '\t\t\t\tpolicy = "diagd";\n',
                     "\t\t\t\tstart-order = <0x14>;\n", 'compatible = "mhcl,manifest-v1";'):
            check(want in out, "config lacks %r: %r", want, out[:600])
        # What we print, dtc reads back.
        dts = os.path.join(env.dir, "config-out.dts")
        with open(dts, "w") as f:
            f.write(out)
        subprocess.run([env.args.dtc, "-q", "-I", "dts", "-O", "dtb", "-o", os.devnull, dts],
                       check=True)


METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)\Z")
# A sample value: a decimal float, +Inf, -Inf or NaN (Go's ParseFloat reads more: underscores,
# hex, "infinity"; mhcl writes none of them).
VALUE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|Inf)\Z|NaN\Z")


def parse_exposition(text):
    """A strict reader of the Prometheus text format (0.0.4) as `mhcl metrics` writes it:
    every line a comment, blank or a sample; one TYPE per family, before its samples, and
    each family's samples together. Returns {name: (type, [(labels, value)])}."""
    families, seen_done, current = {}, set(), None
    check(text.endswith("\n"), "exposition does not end in a newline")
    for line in text[:-1].split("\n"):
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                check(METRIC_NAME.match(parts[2]), "bad name in %r", line)
            if len(parts) == 4 and parts[1] == "TYPE":
                name, typ = parts[2], parts[3]
                check(typ in ("counter", "gauge", "histogram", "summary", "untyped"),
                      "type %r", line)
                check(name not in families, "second TYPE for %s", name)
                families[name] = (typ, [])
                if current:
                    seen_done.add(current)
                current = name
            continue
        m = SAMPLE.match(line)
        check(m, "not a sample line: %r", line)
        name, labels, value = m.groups()
        check(name == current and name not in seen_done, "%s: sample without its TYPE "
              "just before, or its family split: %r", name, line)
        check(VALUE.match(value), "not a float: %r", line)
        lab = {}
        if labels:
            pos = 0
            while pos < len(labels):
                lm = LABEL.match(labels, pos)
                check(lm, "bad labels in %r", line)
                check(lm.group(1) not in lab, "label twice in %r", line)
                lab[lm.group(1)] = lm.group(2)
                pos = lm.end()
                if pos < len(labels):
                    check(labels[pos] == ",", "bad label separator in %r", line)
                    pos += 1
        families[name][1].append((lab, float(value)))
    return families


def t_metrics(env, as_json):
    if as_json:
        r = env.json("metrics")
        by = {}
        for s in r["metrics"]:
            check(METRIC_NAME.match(s["name"]) and s["type"] in ("counter", "gauge") and
                  isinstance(s["value"], (int, float)), "metrics --json sample %r", s)
            by.setdefault(s["name"], {})[s["labels"]["server"]] = s["value"]
        check(by["mhcl_server_up"].get("testd") == 1, "metrics --json up %r",
              by.get("mhcl_server_up"))
        return
    fam = parse_exposition(env.ok("metrics"))
    ps = env.json("ps")
    running = {s["name"] for s in ps["servers"] if s["state"] == "running"}
    check(running >= {"diagd", "testd"}, "ps %r", ps)
    for name, (typ, samples) in fam.items():
        check(name.startswith("mhcl_"), "family without the prefix: %s", name)
        check(typ == ("counter" if name.endswith("_total") else "gauge"), "%s is a %s", name, typ)
        keys = [tuple(sorted(l.items())) for l, _ in samples]
        check(len(keys) == len(set(keys)), "%s has a sample twice", name)
        check(all("server" in l for l, _ in samples), "%s: sample without server", name)

    def per_server(name):
        check(name in fam, "no family %s", name)
        return {l["server"]: v for l, v in fam[name][1]}
    up = per_server("mhcl_server_up")
    check(all(up.get(s) == 1 for s in running), "mhcl_server_up %r", up)
    check(set(per_server("mhcl_server_restarts_total")) >= running, "restarts %r",
          per_server("mhcl_server_restarts_total"))
    for f in ("mhcl_server_pss_bytes", "mhcl_server_uss_bytes"):
        v = per_server(f)
        check(set(v) >= running | {"init"} and all(v[s] > 0 for s in running | {"init"}),
              "%s %r", f, v)
    # testd's own inspect counters, and diagd's, with index labels where its tree has ids.
    testd = [n for n, (_, ss) in fam.items() if any(l["server"] == "testd" for l, _ in ss)]
    check("mhcl_testd_generation" in testd and "mhcl_frame_bus_frames_in" in testd,
          "testd families %r", testd)
    clients = fam.get("mhcl_clients_requests", ("", []))[1]
    check(clients and all(l.get("clients", "").isdigit() for l, _ in clients),
          "diagd's per-client counters %r", clients)
    served = per_server("mhcl_requests_served")
    check(served.get("diagd", 0) >= 1, "diagd requests served %r", served)


def t_help(env, as_json):
    if as_json:
        h = env.json("help")
        check({c["name"] for c in h["commands"]} >= {"ps", "metrics", "inspect", "restart", "kill",
                                                     "logs", "config", "help"}, "help --json %r", h)
        check(set(h["exit_codes"]) == {"0", "1", "2", "3", "4", "5", "100"}, "exit codes %r",
              h["exit_codes"])
        check(len(env.json("help", "kill")["commands"]) == 1, "help kill --json")
    else:
        out = env.ok("help")
        for want in ("ps", "inspect", "restart", "kill", "logs", "config", "Exit codes", "100"):
            check(want in out, "help lacks %r", want)
        check("--signal" in env.ok("help", "kill"), "help kill")
        # Every command has its usage, and says which options it takes.
        names = [c["name"] for c in env.json("help")["commands"]]
        check({"metrics", "help"} <= set(names), "help --json lists %r", names)
        for name in names:
            out = env.ok("help", name)
            check(out.startswith("usage: mhcl [OPTIONS] %s" % name), "help %s: %r", name, out)
            check(out == env.ok(name, "--help"), "help %s and %s --help differ", name, name)
        out = env.ok("help", "logs")
        check("-f, --follow" in out and "-n, --lines N" in out, "help logs: %r", out)
        check("Options:" not in env.ok("help", "ps"), "help ps lists options")
        p = env.fails(EXIT_USAGE, "help", "bogus")
        check("unknown command 'bogus'" in p.stderr, "help bogus: %r", p.stderr)
        env.fails(EXIT_USAGE, "help", "ps", "kill")
    env.fails(EXIT_USAGE, "bogus")
    env.fails(EXIT_USAGE, "ps", "--bogus")


def t_completion(env, as_json):
    """The bash completion offers the servers diag lists, asked over the line's own target."""
    script = getattr(env.args, "completion", None)
    if as_json or not script:
        return
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "unit", "diag"))
    from test_completion import complete
    prefix = " ".join([env.args.mhcl] + env.target)
    got = complete(script, prefix + " inspect ")
    check(got == ["diagd", "init", "testd"], "inspect <TAB>: %r", got)
    got = complete(script, prefix + " restart ")
    check(got == ["diagd", "testd"], "restart <TAB> (init is no server to restart): %r", got)
    got = complete(script, prefix + " kill t")
    check(got == ["testd"], "kill t<TAB>: %r", got)


COMMANDS = [t_ps, t_metrics, t_inspect, t_restart, t_kill, t_kill_fault, t_logs, t_logs_follow,
            t_logs_follow_pipe, t_config, t_help, t_completion]


def run_transport(env, transport):
    if transport == "tcp":
        addr = env.json("inspect", "diagd/listeners/tcp/address")["address"]
        check(addr.startswith("127.0.0.1:"), "diagd tcp address %r", addr)
        env.target = ["--tcp", addr]
        # The environment variable selects the transport too.
        p = env.mhcl("--json", "ps", target=[], env={"MHCL_DIAG": "tcp:" + addr})
        check(p.returncode == 0, "MHCL_DIAG=tcp:%s ps: exit %d", addr, p.returncode)
        d = env.json("inspect", "diagd/listeners")["listeners"]
        check(d["tcp"]["accepted"] >= 1, "tcp listener accepted %r", d)
    else:
        mode = os.stat(env.sock).st_mode & 0o777
        check(mode == 0o600, "diag socket mode %o, wanted 600", mode)
        p = env.mhcl("ps", target=[], env={"MHCL_DIAG": "unix:" + env.sock})
        check(p.returncode == 0, "MHCL_DIAG=unix:%s ps: exit %d", env.sock, p.returncode)
    for as_json in (False, True):
        for t in COMMANDS:
            print("# %s %s%s" % (transport, t.__name__[2:], " --json" if as_json else ""),
                  flush=True)
            t(env, as_json)


# ---- faults: unreachable, timeouts, hostile clients ----

HDR = struct.Struct("<IHHIHH")
IPC_F_REQUEST, IPC_F_RESPONSE, IPC_F_ERROR = 1, 2, 8


def pb_str(field, s):
    b = s.encode() if isinstance(s, str) else s
    return pb_varint(field << 3 | 2) + pb_varint(len(b)) + b


def pb_varint(v):
    out = b""
    while True:
        b, v = v & 0x7f, v >> 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_errno(body):
    """errno_code (field 1) of an ErrorReply body."""
    if not body or body[0] != 0x08:
        return 0
    v, shift = 0, 0
    for c in body[1:]:
        v |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            break
    return v - (1 << 32) if v >= 1 << 31 else v


def recv_frame(s):
    hdr = b""
    while len(hdr) < 16:
        c = s.recv(16 - len(hdr))
        if not c:
            return None
        hdr += c
    ln, ver, typ, rid, flags, nfds = HDR.unpack(hdr)
    body = b""
    while len(body) < ln:
        c = s.recv(ln - len(body))
        if not c:
            return None
        body += c
    return typ, rid, flags, body


def raw_conn(env):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(WAIT_LIMIT_S)
    s.connect(env.sock)
    return s


def send_req(s, typ, rid, body=b"", flags=IPC_F_REQUEST):
    s.sendall(HDR.pack(len(body), 1, typ, rid, flags, 0) + body)


def expect_error(s, rid, err, what):
    f = recv_frame(s)
    check(f is not None, "%s: connection closed instead of an error", what)
    typ, frid, flags, body = f
    check(frid == rid and flags & IPC_F_RESPONSE and flags & IPC_F_ERROR,
          "%s: frame id %d flags %#x", what, frid, flags)
    e = abs(pb_errno(body))
    check(e == err, "%s: errno %d, wanted %d (%r)", what, e, err, body)


def expect_ok(s, rid, typ, what):
    f = recv_frame(s)
    check(f is not None, "%s: connection closed", what)
    check(f[1] == rid and f[2] & IPC_F_RESPONSE and not f[2] & IPC_F_ERROR and f[0] == typ,
          "%s: frame %r", what, f[:3])
    return f[3]


def t_unreachable(env):
    env.fails(EXIT_UNREACHABLE, "ps", target=["--socket", os.path.join(env.dir, "nothing.sock")])
    # A TCP port with no listener: bind one, close it, use its number.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env.fails(EXIT_UNREACHABLE, "ps", target=["--tcp", "127.0.0.1:%d" % port])
    # No vsock peer at CID 3 (no transport, or nothing listening): unreachable either way.
    env.fails(EXIT_UNREACHABLE, "ps", target=["--vsock", "3:1"], timeout_ms=2000)
    env.fails(EXIT_UNREACHABLE, "--json", "inspect", target=[],
              env={"MHCL_DIAG": "unix:" + os.path.join(env.dir, "nothing.sock")})
    env.fails(EXIT_USAGE, "ps", target=[], env={"MHCL_DIAG": "carrier-pigeon:1"})


def t_timeout_silent_peer(env):
    """A listener that accepts and never answers: exit 4."""
    path = os.path.join(env.dir, "silent.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(4)
    try:
        env.fails(EXIT_TIMEOUT, "ps", target=["--socket", path], timeout_ms=200)
        env.fails(EXIT_TIMEOUT, "--json", "config", target=["--socket", path], timeout_ms=200)
    finally:
        ls.close()


def t_hung_server(env):
    """A server that stops answering: inspecting it times out (exit 4); kill revives it."""
    before = env.ps()["testd"]
    env.ok("kill", "testd", "--fault", "hang")
    env.fails(EXIT_TIMEOUT, "inspect", "testd", timeout_ms=300)
    # diagd itself is unaffected.
    env.ok("inspect", "diagd/limits")
    # Without a client-side limit, init's own bound on the routed inspect answers: also exit 4.
    env.fails(EXIT_TIMEOUT, "--json", "inspect", "testd")
    env.ok("kill", "testd")
    env.wait_revived("testd", before["pid"])
    env.ok("inspect", "testd")


def t_validation(env):
    """diagd refuses bad requests with an error on the same connection, which stays usable."""
    s = raw_conn(env)
    try:
        send_req(s, 3, 1)  # PING: not a diag request
        expect_error(s, 1, errno.EOPNOTSUPP, "ping")
        send_req(s, 4, 2, pb_str(1, ""))  # INSPECT is init's, not a client's
        expect_error(s, 2, errno.EOPNOTSUPP, "raw inspect")
        send_req(s, 18, 3, pb_str(1, "Bad/Name"))
        expect_error(s, 3, errno.EINVAL, "restart Bad/Name")
        send_req(s, 18, 4, pb_str(1, "a" * 65))
        expect_error(s, 4, errno.EINVAL, "restart a*65")
        send_req(s, 17, 5, pb_str(1, "diagd") + pb_str(2, "x" * 300))
        expect_error(s, 5, errno.EINVAL, "long path")
        send_req(s, 18, 6, b"\x0a\xc8\x01abc")  # truncated string
        expect_error(s, 6, errno.EBADMSG, "truncated body")
        send_req(s, 16, 7, b"\x78\x01")  # unknown field 15
        expect_error(s, 7, errno.EBADMSG, "unknown field")
        send_req(s, 16, 8, b"\x00" * 2000)  # over the request size bound
        expect_error(s, 8, errno.EMSGSIZE, "oversized")
        send_req(s, 19, 9, pb_str(1, "testd") + bytes([0x18, 0x07]))  # fault kind 7
        expect_error(s, 9, errno.EINVAL, "unknown fault")
        # Still serving this connection.
        body = expect_ok_ps(s, 10)
        check(b"testd" in body, "ps after bad requests: %r", body[:100])
    finally:
        s.close()
    # A frame that breaks the envelope closes only that connection.
    s = raw_conn(env)
    s.sendall(HDR.pack(0, 99, 16, 1, IPC_F_REQUEST, 0))  # bad version
    f = recv_frame(s)
    while f is not None:
        f = recv_frame(s)
    s.close()
    s = raw_conn(env)
    s.sendall(HDR.pack(0xffffffff, 1, 16, 1, IPC_F_REQUEST, 0))  # huge body length
    f = recv_frame(s)
    while f is not None:
        f = recv_frame(s)
    s.close()
    env.ok("ps")
    d = env.json("inspect", "diagd")["diagd"]
    check(d["requests"]["rejected"] >= 9, "diagd rejected %r", d["requests"])


def expect_ok_ps(s, rid):
    send_req(s, 16, rid)
    return expect_ok(s, rid, 16, "ps")


def t_limits(env):
    """Per-connection pending bound (EBUSY) and the connection bound (closed at once)."""
    before = env.ps()["testd"]
    env.ok("kill", "testd", "--fault", "hang")
    s = raw_conn(env)
    try:
        # max_pending inspects of the hung server stay in flight; one more is refused.
        n = env.max_pending
        for i in range(n + 1):
            send_req(s, 17, 100 + i, pb_str(1, "testd"))
        expect_error(s, 100 + n, errno.EBUSY, "request over max_pending")
        for i in range(n):
            expect_error(s, 100 + i, errno.ETIMEDOUT, "inspect of a hung server")
    finally:
        s.close()
    env.ok("kill", "testd")
    env.wait_revived("testd", before["pid"])

    # Fill the connection table with idle clients: then diagd closes any new
    # connection at once, so a CLI client finds diag unreachable.
    conns = []
    try:
        for _ in range(env.max_conns):
            conns.append(raw_conn(env))
        # A slot an earlier CLI client still holds (diagd has not yet seen it close)
        # makes diagd close one of these at once: replace it until each is served.
        for i in range(len(conns)):
            for attempt in range(WAIT_LIMIT_S * 20):
                try:
                    expect_ok_ps(conns[i], 500 + attempt)
                    break
                except (Failure, OSError):
                    conns[i].close()
                    time.sleep(0.05)
                    conns[i] = raw_conn(env)
        env.wait_for("diagd to refuse a CLI client",
                     lambda: env.mhcl("ps").returncode == EXIT_UNREACHABLE)
        env.fails(EXIT_UNREACHABLE, "--json", "ps")
        extra = raw_conn(env)
        check(extra.recv(1) == b"", "connection over max_conns was not closed")
        extra.close()
        # The held connections still work.
        expect_ok_ps(conns[0], 1)
    finally:
        for c in conns:
            c.close()
    env.wait_for("a free connection slot", lambda: env.mhcl("ps").returncode == 0)
    d = env.json("inspect", "diagd")["diagd"]
    check(d["connections_refused"] >= 2, "diagd refused %r", d["connections_refused"])


def t_vsock(env):
    """diagd listens on AF_VSOCK where the kernel has it, and runs on without it otherwise."""
    listeners = env.json("inspect", "diagd/listeners")["listeners"]
    if "vsock" not in listeners:
        with open(env.init_log, errors="replace") as f:
            log = f.read()
        check("continuing without" in log, "no vsock listener and no warning: %r", log[-2000:])
        print("# vsock: not available in this kernel (diagd logged it)", flush=True)
        return
    port = int(listeners["vsock"]["address"])
    # CID 1 is the local host; it answers only with the vsock_loopback transport.
    p = env.mhcl("--json", "ps", target=["--vsock", "1:%d" % port], timeout_ms=2000)
    if p.returncode == EXIT_OK:
        check("testd" in p.stdout, "ps over vsock: %r", p.stdout[:200])
    else:
        check(p.returncode == EXIT_UNREACHABLE, "ps over vsock: exit %d (%r)", p.returncode,
              p.stderr)
        print("# vsock: listening on port %d, no loopback transport to reach it" % port,
              flush=True)


def t_diagd_restart(env):
    """diagd itself restarts (planned or killed) and serves again; init answers before
    the requester goes away, so the client gets its reply (exit 0)."""
    for how in (["restart", "diagd"], ["kill", "diagd"]):
        before = env.ps()["diagd"]
        p = env.mhcl(*how)
        check(p.returncode == EXIT_OK, "mhcl %s: exit %d (%r)",
              " ".join(how), p.returncode, p.stderr)
        env.wait_revived("diagd", before["pid"])
        env.ok("inspect", "diagd/limits")


FAULTS = [t_vsock, t_unreachable, t_timeout_silent_peer, t_hung_server, t_validation, t_limits,
          t_diagd_restart]


# ---- hostile: inspect trees no decoder may take ----

# Server name (its --inspect-bomb) -> why the body check refuses its tree (ipc.h).
BOMBS = {"deep": "nested too deep", "flat": "too many fields"}
IPC_BODY_MAX = 96 * 1024
DIAG_INSPECT = 17


def deep_children(levels):
    """A Node body whose only child has an only child, `levels` down, built inside out."""
    parts, inner = [], 0
    for _ in range(levels):
        hdr = b"\x42" + pb_varint(inner)  # Node.children
        parts.append(hdr)
        inner += len(hdr)
    return b"".join(reversed(parts))


def inspect_reply(node_body):
    return b"\x0a" + pb_varint(len(node_body)) + node_body  # InspectReply.root


def t_server_bombs(env):
    """init refuses a server's inspect reply before protobuf-c recurses into it; the CLI
    reports it (exit 1), and init, diagd and the other servers keep running."""
    env.wait_for("the hostile servers running",
                 lambda: all(env.states().get(n) == "running" for n in BOMBS))
    before = env.ps()
    for name, why in BOMBS.items():
        for as_json in (False, True):
            pid = env.ps()[name]["pid"]
            p = env.fails(EXIT_REMOTE, *(["--json"] if as_json else []), "inspect", name)
            check("%s's inspect reply refused: %s" % (name, why) in p.stderr,
                  "inspect %s: %r", name, p.stderr)
            # A server that sends what init refuses loses its bus: init replaces it.
            env.wait_revived(name, pid)
    # The whole tree still comes, whatever the hostile servers answer meanwhile.
    out = env.ok("inspect")
    check("testd" in out and "diagd" in out, "inspect all: %r", out[:300])
    after = env.ps()
    for name in ("diagd", "testd"):
        check(after[name]["pid"] == before[name]["pid"] and
              after[name]["restarts"] == before[name]["restarts"],
              "%s was restarted: %r -> %r", name, before[name], after[name])
    check(env.init.poll() is None, "init exited")


def t_cli_bombs(env):
    """A diag endpoint answering inspect with hostile trees: the CLI refuses the reply
    (exit 1) instead of recursing into it."""
    path = os.path.join(env.dir, "fake-diag.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(4)
    ls.settimeout(WAIT_LIMIT_S)
    flat = b"\x42\x00" * ((IPC_BODY_MAX - 16) // 2)
    bodies = {"nested too deep": inspect_reply(deep_children(20000)),
              "too many fields": inspect_reply(flat)}

    def serve(body):
        c, _ = ls.accept()
        with c:
            f = recv_frame(c)
            if f:
                c.sendall(HDR.pack(len(body), 1, f[0], f[1], IPC_F_RESPONSE, 0) + body)
                c.recv(1)  # until the CLI hangs up

    try:
        for why, body in bodies.items():
            check(len(body) <= IPC_BODY_MAX, "%s: a body of %d bytes", why, len(body))
            for as_json in (False, True):
                th = threading.Thread(target=serve, args=(body,), daemon=True)
                th.start()
                p = env.fails(EXIT_REMOTE, *(["--json"] if as_json else []), "inspect",
                              "testd", target=["--socket", path])
                th.join(WAIT_LIMIT_S)
                check("reply refused: " + why in p.stderr, "CLI on %s: %r", why, p.stderr)
    finally:
        ls.close()


HOSTILE = [t_server_bombs, t_cli_bombs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", choices=["unix", "tcp", "faults", "hostile"], required=True)
    for a in ("init", "diagd", "testd", "mhcl", "dtc"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--completion", help="the bash completion script, to check server names")
    args = ap.parse_args()
    for a in ("init", "diagd", "testd", "mhcl"):
        if not os.access(getattr(args, a), os.X_OK):
            print("skipped: %s not built" % a)
            return 77

    env = Env(args, args.scenario)
    try:
        env.start()
        if args.scenario in ("faults", "hostile"):
            for t in FAULTS if args.scenario == "faults" else HOSTILE:
                print("# %s %s" % (args.scenario, t.__name__[2:]), flush=True)
                t(env)
        else:
            run_transport(env, args.scenario)
        env.stop()
        check(env.init.returncode == 0, "init exit code %d", env.init.returncode)
    except (Failure, subprocess.SubprocessError, OSError, ValueError, KeyError) as e:
        print("FAIL: %s: %s" % (type(e).__name__, e), flush=True)
        env.dump()
        env.stop()
        return 1
    finally:
        env.stop()
    shutil.rmtree(env.dir, ignore_errors=True)
    print("ok: %s" % args.scenario)
    return 0


if __name__ == "__main__":
    sys.exit(main())
