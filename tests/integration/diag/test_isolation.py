#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of isolated mode and diag's shared secret.

The real mhcl-init (hosted) reads isolation from its --dtb's
/chosen/mhcl,isolated, as it reads it from the boot tree in image mode.
Scenarios (one meson test each, own init, own dir):

  secret    not isolated; diagd with --secret-file: unix clients are not asked,
            TCP clients with the right secret (option or environment) are
            served, with a wrong one or none refused with exit 5; diagd counts
            the refusals; fault injection still works
  isolated  /chosen/mhcl,isolated: init refuses fault injection and the
            sidecar checksum; a second diagd whose manifest entry opens TCP
            without a secret exits 125 before listening and is not restarted;
            the diagd with a secret serves TCP to the right secret only

Readiness is awaited by polling the CLI; nothing asserts on time.
"""
import argparse
import os
import shutil
import sys

from test_diag import Env, Failure, check, EXIT_REMOTE, EXIT_NO_SERVER
import subprocess

EXIT_AUTH = 5
SECRET = b"correct horse battery staple 0123\n"
WRONG = b"incorrect horse battery staple 99\n"

# A second control server that asks for an open TCP listener: refused when isolated.
OPEN_DIAG = """			diagopen {
				binary = "mhcl-diagd";
				args = "--unix", "${RUN}/open.sock", "--tcp", "127.0.0.1:0";
				policy = "diagd";
				control;
				start-order = <30>;
				restart = "always";
			};
"""


def write_secret(env, name, data):
    path = os.path.join(env.dir, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, data)
    os.close(fd)
    return path


def tcp_target(env):
    lst = env.json("inspect", "diagd/listeners")["listeners"]
    check(lst["tcp"]["authenticated"] is True, "tcp listener not authenticated: %r", lst)
    check(lst["unix"]["authenticated"] is False, "unix listener authenticated: %r", lst)
    addr = lst["tcp"]["address"]
    check(addr.startswith("127.0.0.1:"), "diagd tcp address %r", addr)
    return ["--tcp", addr]


def t_secret_over_tcp(env, right, wrong):
    tcp = tcp_target(env)
    # The right secret, by option and by environment.
    out = env.ok("ps", target=tcp + ["--secret-file", right])
    check("testd" in out, "ps over tcp: %r", out)
    env.ok("ps", target=tcp, env={"MHCL_DIAG_SECRET_FILE": right})
    # A wrong secret, and none.
    p = env.fails(EXIT_AUTH, "ps", target=tcp + ["--secret-file", wrong])
    check("refused the secret" in p.stderr, "wrong secret: %r", p.stderr)
    p = env.fails(EXIT_AUTH, "ps", target=tcp)
    check("requires authentication" in p.stderr, "no secret: %r", p.stderr)
    # A secret readable by others is not used.
    loose = os.path.join(env.dir, "loose")
    shutil.copy(right, loose)
    os.chmod(loose, 0o644)
    p = env.fails(100, "ps", target=tcp + ["--secret-file", loose])
    check("group or others" in p.stderr, "loose secret file: %r", p.stderr)
    auth = env.json("inspect", "diagd/auth")["auth"]
    check(auth["refused"] >= 1 and auth["passed"] >= 2, "diagd auth counters %r", auth)
    # The unix socket asks nothing, with or without a secret.
    env.ok("ps")
    env.ok("ps", env={"MHCL_DIAG_SECRET_FILE": wrong})


def scenario_secret(env, right, wrong):
    t_secret_over_tcp(env, right, wrong)
    init = env.json("inspect", "init")["init"]
    check(init["isolated"] is False, "init isolated: %r", init.get("isolated"))
    # Not isolated: fault injection as before; no sidecar server here, so ENOENT.
    before = env.ps()["testd"]
    env.ok("kill", "testd", "--fault", "abort")
    env.wait_revived("testd", before["pid"])
    p = env.fails(EXIT_NO_SERVER, "sidecar", "checksum", "1")
    check("no server 'sidecar'" in p.stderr, "checksum, not isolated: %r", p.stderr)


def scenario_isolated(env, right, wrong):
    init = env.json("inspect", "init")["init"]
    check(init["isolated"] is True, "init isolated: %r", init.get("isolated"))
    before = env.ps()["testd"]
    for fault in ("abort", "syscall", "hang"):
        p = env.fails(EXIT_REMOTE, "kill", "testd", "--fault", fault)
        check("fault injection is refused in isolated mode" in p.stderr, "kill --fault: %r",
              p.stderr)
    after = env.ps()["testd"]
    check(after["pid"] == before["pid"] and after["state"] == "running",
          "testd after refused faults: %r", after)
    p = env.fails(EXIT_REMOTE, "sidecar", "checksum", "1")
    check("refused in isolated mode" in p.stderr, "checksum, isolated: %r", p.stderr)
    p = env.fails(EXIT_REMOTE, "sidecar", "checksum", "1", "0x100000", "4096")
    check("refused in isolated mode" in p.stderr, "checksum range, isolated: %r", p.stderr)

    # The diagd without a secret asked for TCP: it exits 125 and stays down.
    env.wait_for("diagopen refused", lambda: env.ps()["diagopen"]["state"] in ("stopped", "failed"))
    d = env.ps()["diagopen"]
    check("125" in d["last_exit"], "diagopen last_exit %r", d["last_exit"])
    check(d["restarts"] == 0, "diagopen restarted: %r", d)
    check(not os.path.exists(os.path.join(env.run_dir, "open.sock")),
          "diagopen listened before refusing")
    logs = env.json("logs", "diagopen")
    text = " ".join(l["text"] for l in logs["lines"])
    check("isolated: refusing --tcp without --secret-file" in text, "diagopen logs: %r",
          text[-600:])
    # inspect stays allowed, and the diagd with a secret serves TCP to it only.
    t_secret_over_tcp(env, right, wrong)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", choices=["secret", "isolated"], required=True)
    for a in ("init", "diagd", "testd", "mhcl", "dtc"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    for a in ("init", "diagd", "testd", "mhcl"):
        if not os.access(getattr(args, a), os.X_OK):
            print("skipped: %s not built" % a)
            return 77

    env = Env(args, args.scenario)
    right = write_secret(env, "secret", SECRET)
    wrong = write_secret(env, "wrong", WRONG)
    env.diag_extra = ', "--secret-file", "%s"' % right
    if args.scenario == "isolated":
        env.chosen = "\tchosen {\n\t\tmhcl,isolated;\n\t};\n"
        env.extra_servers = OPEN_DIAG
    try:
        env.start()
        print("# %s" % args.scenario, flush=True)
        (scenario_isolated if args.scenario == "isolated" else scenario_secret)(env, right, wrong)
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
