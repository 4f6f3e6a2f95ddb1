#!/bin/sh
# SPDX-License-Identifier: MIT
# mhcl-box (image/box.c) runs the program it is named as: each of the image's programs,
# run through a link of its name, prints its own usage; under any other name the box
# refuses, exits 2 and lists the names it knows.
#   usage: box-names.sh BUILD_DIR
set -u
BOX=$(cd "$1" && pwd)/image/mhcl-box
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail=0
for n in mhcl-init mhcl-diagd mhcl-sidecard mhcl-vmbusd mhcl-icd mhcl-storaged mhcl-netd mhcl-vp; do
	ln -s "$BOX" "$W/$n"
	out=$("$W/$n" --help 2>&1)
	rc=$?
	case $out in
	"usage: $n "*) echo "ok: $n --help prints its own usage" ;;
	*) echo "FAIL: $n --help (exit $rc): $(echo "$out" | head -n 1)"; fail=1 ;;
	esac
done
ln -s "$BOX" "$W/mhcl-other"
out=$("$W/mhcl-other" --help 2>&1)
rc=$?
if [ "$rc" = 2 ] && echo "$out" | grep -q 'run as one of: mhcl-init .*mhcl-vp (not "mhcl-other")'; then
	echo "ok: an unknown name is refused with the names the box knows"
else
	echo "FAIL: unknown name: exit $rc: $out"; fail=1
fi
exit $fail
