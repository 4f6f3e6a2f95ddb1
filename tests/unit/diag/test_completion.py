#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Unit test of the bash completion for mhcl (tools/mhcl-completion.bash).

Sources the script in bash and runs its completion function on typed lines,
the way bash would, then compares the candidates with what the mhcl binary
says about itself (`mhcl --json help`, `mhcl help COMMAND`), so the script
cannot drift from the command table. Server names need a running diag: here
diag is unreachable and the script must offer nothing, silently; the live
names are checked by tests/integration/diag/test_diag.py.

Usage: test_completion.py SCRIPT MHCL
"""
import json
import os
import re
import subprocess
import sys
import tempfile

DRIVER = r'''
source "$1" || exit 1
COMP_LINE=$2
COMP_POINT=${#2}
_mhcl
printf '%s\n' "${COMPREPLY[@]}"
'''


def complete(script, line):
    """The candidates the script offers for `line`, typed up to its end."""
    p = subprocess.run(["bash", "--norc", "-c", DRIVER, "bash", script, line],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0 or p.stderr:
        raise AssertionError("completing %r: exit %d, stderr %r" % (line, p.returncode, p.stderr))
    return sorted(w for w in p.stdout.split("\n") if w)


def long_options(text, heading):
    """The --long options listed under `heading` in mhcl's help text."""
    opts, inside = set(), False
    for line in text.splitlines():
        if line.startswith(heading):
            inside = True
        elif inside and not line.startswith("  "):
            break
        elif inside:
            m = re.match(r"\s+(?:-\w, )?(--[a-z-]+)", line)
            if m:
                opts.add(m.group(1))
    return opts


def check(cond, fmt, *a):
    if not cond:
        raise AssertionError(fmt % a)


def main():
    script, mhcl = sys.argv[1], sys.argv[2]
    nowhere = "--socket /nonexistent/diag.sock"
    help_json = json.loads(subprocess.run([mhcl, "--json", "help"], capture_output=True,
                                          text=True, check=True).stdout)
    commands = sorted(c["name"] for c in help_json["commands"])

    p = subprocess.run(["bash", "--norc", "-c", 'source "$1"; complete -p mhcl', "bash", script],
                       capture_output=True, text=True)
    check(p.stdout.strip() == "complete -F _mhcl mhcl", "registered as %r", p.stdout)

    # Commands: all of them, and by prefix.
    check(complete(script, "mhcl ") == commands, "mhcl <TAB>: %r, commands %r",
          complete(script, "mhcl "), commands)
    check(complete(script, "mhcl m") == ["metrics"], "mhcl m<TAB>")
    check(complete(script, "mhcl --json --timeout 5 i") == ["inspect"], "after options")
    check(complete(script, "mhcl help ") == commands, "mhcl help <TAB>")
    check(complete(script, "mhcl help ps ") == [], "help takes one command")

    # Options: the global ones and exactly those `mhcl help COMMAND` lists.
    global_opts = long_options(subprocess.run([mhcl, "help"], capture_output=True, text=True,
                                              check=True).stdout, "Options")
    check("--socket" in global_opts and "--json" in global_opts, "global options %r",
          global_opts)
    for cmd in commands:
        own = long_options(subprocess.run([mhcl, "help", cmd], capture_output=True, text=True,
                                          check=True).stdout, "Options:")
        got = set(complete(script, "mhcl %s --" % cmd))
        check(got == global_opts | own, "mhcl %s --<TAB>: %r, wanted %r", cmd, sorted(got),
              sorted(global_opts | own))
    check(complete(script, "mhcl --so") == ["--socket"], "mhcl --so<TAB>")

    # Option values.
    check(complete(script, "mhcl kill testd --signal TE") == ["TERM"], "--signal TE")
    check(complete(script, "mhcl kill testd -s ki") == ["KILL"], "-s ki")
    check(complete(script, "mhcl kill testd --fault ") == ["abort", "hang", "syscall"], "--fault")
    check(complete(script, "mhcl --timeout ") == [], "--timeout takes a number")
    check(complete(script, "mhcl storage ") == ["attach", "detach"], "storage")
    check(complete(script, "mhcl guest s") == ["shutdown"], "guest s")
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "diag.sock"), "w").close()
        got = complete(script, "mhcl --socket %s/di" % d)
        check(got == [d + "/diag.sock"], "--socket file completion: %r", got)

    # Server names: diag is unreachable, so nothing (and no message on stderr).
    for line in ("%s %s inspect " % (mhcl, nowhere), "%s %s kill " % (mhcl, nowhere),
                 "%s --tcp 127.0.0.1:1 logs " % mhcl):
        check(complete(script, line) == [], "%r with diag unreachable: %r", line,
              complete(script, line))
    print("ok")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (AssertionError, subprocess.SubprocessError, ValueError) as e:
        print("FAIL: %s" % e)
        sys.exit(1)
