#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the C libraries mhcl links (libuv, protobuf-c runtime, libseccomp, libfdt,
# liburing) as static musl libraries from Debian's own source packages, and installs them
# with pkg-config files under .cache/musl/sysroot for cross/musl-x86_64.ini.
#
#   usage: scripts/musl-deps.sh            (idempotent; sources and builds stay in .cache/musl)
#
# Needs: musl-tools (musl-gcc), cmake, make, dpkg-dev (dpkg-source), gperf (scripts/deps.sh
# image installs them all), and Debian's archive
# for `apt-get source`. When the machine's apt has no deb-src lines, a private sources list
# for Debian 12 is used (-o Dir::Etc::sourcelist=...), with its own lists and cache
# directories so the system's apt state is not touched. Nothing here is committed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
M=${MHCL_MUSL_CACHE:-$ROOT/.cache/musl}
SRC=$M/src
SYS=$M/sysroot
JOBS=${JOBS:-2}

die() { echo "musl-deps: $*" >&2; exit 1; }
command -v musl-gcc >/dev/null || die "musl-gcc not found (apt-get install musl-tools)"
command -v cmake >/dev/null || die "cmake not found"
command -v dpkg-source >/dev/null || die "dpkg-source not found (apt-get install dpkg-dev)"

mkdir -p "$SRC" "$SYS/include" "$SYS/lib/pkgconfig" "$M/apt/lists/partial" "$M/apt/cache/archives/partial"

# musl-gcc searches only musl's headers; the Linux uapi headers (linux/, asm/, asm-generic/)
# come from the build machine's linux-libc-dev through a separate directory.
KH=$SYS/kernel-headers
mkdir -p "$KH"
for d in linux asm-generic; do ln -sfn "/usr/include/$d" "$KH/$d"; done
ln -sfn /usr/include/x86_64-linux-gnu/asm "$KH/asm"
for d in linux asm-generic asm; do [ -d "$KH/$d/" ] || die "missing uapi headers $d (linux-libc-dev)"; done

export CC=musl-gcc
export CFLAGS="-O2 -g -fPIC -isystem $KH"

APT_OPTS=()
if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	cat >"$M/apt/sources.list" <<'LIST'
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian-security bookworm-security main
LIST
	APT_OPTS=(-o "Dir::Etc::sourcelist=$M/apt/sources.list" -o "Dir::Etc::sourceparts=-"
		  -o "Dir::State::Lists=$M/apt/lists" -o "Dir::Cache=$M/apt/cache"
		  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
	if [ ! -e "$M/apt/updated" ]; then
		apt-get "${APT_OPTS[@]}" update >"$M/apt/update.log" 2>&1 ||
			die "apt-get update (deb-src) failed: see $M/apt/update.log"
		touch "$M/apt/updated"
	fi
fi

# fetch SRCPKG: unpacks the Debian source package once; prints its directory.
fetch() {
	local pkg=$1 dir
	dir=$(ls -d "$SRC/$pkg"-[0-9]*/ 2>/dev/null | head -1 || true)
	if [ -z "$dir" ]; then
		(cd "$SRC" && apt-get "${APT_OPTS[@]}" source "$pkg" >"$SRC/$pkg.log" 2>&1) ||
			die "apt-get source $pkg failed: see $SRC/$pkg.log"
		dir=$(ls -d "$SRC/$pkg"-[0-9]*/ | head -1)
	fi
	echo "${dir%/}"
}

# pc NAME VERSION LIBS [REQUIRES_PRIVATE_LIBS]: writes a pkg-config file for a static library.
pc() {
	cat >"$SYS/lib/pkgconfig/$1.pc" <<PC
prefix=$SYS
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: $1
Description: $1 (static, musl)
Version: $2
Libs: -L\${libdir} $3
Libs.private: ${4:-}
Cflags: -I\${includedir}
PC
}

# libfdt: the library part of device-tree-compiler, a handful of C files. Where the archive
# serves no source for it, Debian's libfdt-dev static archive is used instead: libfdt is
# freestanding C that calls only mem*/str*/strtoul and __stack_chk_fail, all of which musl
# has; the check below refuses it if it ever needs anything else from glibc.
if [ ! -f "$SYS/lib/libfdt.a" ]; then
	if d=$(fetch device-tree-compiler 2>/dev/null); then
		b=$M/build/libfdt && rm -rf "$b" && mkdir -p "$b"
		for f in "$d"/libfdt/*.c; do $CC $CFLAGS -I"$d/libfdt" -c "$f" -o "$b/$(basename "$f" .c).o"; done
		ar rcs "$SYS/lib/libfdt.a" "$b"/*.o
		cp "$d"/libfdt/{fdt.h,libfdt.h,libfdt_env.h} "$SYS/include/"
		v=$(basename "$d" | sed 's/^device-tree-compiler-//')
	else
		echo "musl-deps: no device-tree-compiler source in the archive; using libfdt-dev's libfdt.a"
		b=$M/build/libfdt-dev && rm -rf "$b" && mkdir -p "$b"
		(cd "$b" && apt-get download libfdt-dev >/dev/null 2>&1) || die "apt-get download libfdt-dev failed"
		dpkg-deb -x "$b"/libfdt-dev_*.deb "$b/x"
		a=$(find "$b/x" -name libfdt.a | head -1)
		extra=$(nm -u "$a" | awk 'NF==2{print $2}' | sort -u | grep -v '^fdt_' |
			grep -vxE 'mem(chr|cmp|cpy|move|set)|str(chr|len|nlen|rchr|toul)|__stack_chk_fail' || true)
		[ -z "$extra" ] || die "libfdt-dev's libfdt.a needs glibc symbols: $extra"
		cp "$a" "$SYS/lib/libfdt.a"
		cp "$b"/x/usr/include/{fdt.h,libfdt.h,libfdt_env.h} "$SYS/include/"
		v=$(dpkg-deb -f "$b"/libfdt-dev_*.deb Version)
	fi
	pc libfdt "$v" -lfdt
fi

# protobuf-c: the runtime only (protoc-c runs on the build machine).
if [ ! -f "$SYS/lib/libprotobuf-c.a" ]; then
	d=$(fetch protobuf-c)
	b=$M/build/protobuf-c && rm -rf "$b" && mkdir -p "$b"
	$CC $CFLAGS -I"$d" -c "$d/protobuf-c/protobuf-c.c" -o "$b/protobuf-c.o"
	ar rcs "$SYS/lib/libprotobuf-c.a" "$b/protobuf-c.o"
	mkdir -p "$SYS/include/protobuf-c"
	cp "$d/protobuf-c/protobuf-c.h" "$SYS/include/protobuf-c/"
	pc libprotobuf-c "$(basename "$d" | sed 's/^protobuf-c-//')" -lprotobuf-c
fi

# libuv: its CMake build, static library only.
if [ ! -f "$SYS/lib/libuv.a" ]; then
	d=$(fetch libuv1)
	b=$M/build/libuv && rm -rf "$b"
	cmake -S "$d" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=musl-gcc \
		-DCMAKE_C_FLAGS="$CFLAGS" -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF \
		-DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX="$SYS" >"$b.log" 2>&1 ||
		die "libuv cmake failed: see $b.log"
	cmake --build "$b" --target uv_a -j "$JOBS" >>"$b.log" 2>&1 || die "libuv build failed: see $b.log"
	cp "$b/libuv_a.a" "$SYS/lib/libuv.a" 2>/dev/null || cp "$b/libuv.a" "$SYS/lib/libuv.a"
	cp -r "$d"/include/uv.h "$d"/include/uv "$SYS/include/"
	pc libuv "$(basename "$d" | sed 's/^libuv1-//')" -luv -lpthread
fi

# libseccomp: its autoconf build (the Debian source ships configure); static only.
if [ ! -f "$SYS/lib/libseccomp.a" ]; then
	d=$(fetch libseccomp)
	command -v gperf >/dev/null || die "gperf not found (apt-get install gperf): libseccomp needs it"
	b=$M/build/libseccomp && rm -rf "$b" && mkdir -p "$b"
	(cd "$b" && "$d/configure" --host=x86_64-linux-musl --prefix="$SYS" --enable-static \
		--disable-shared --disable-python >"$b.log" 2>&1) || die "libseccomp configure failed: see $b.log"
	make -C "$b/src" -j "$JOBS" >>"$b.log" 2>&1 || die "libseccomp build failed: see $b.log"
	cp "$b/src/.libs/libseccomp.a" "$SYS/lib/"
	cp "$d/include/seccomp-syscalls.h" "$SYS/include/"
	cp "$b/include/seccomp.h" "$SYS/include/"
	pc libseccomp "$(basename "$d" | sed 's/^libseccomp-//')" -lseccomp
fi

# liburing: mhcl-storaged's file backend (not in the image, but meson wants every
# dependency). Its configure writes into the source tree, so it builds in a copy; the
# compiler carries the uapi headers because configure sets CFLAGS itself.
if [ ! -f "$SYS/lib/liburing.a" ]; then
	d=$(fetch liburing)
	b=$M/build/liburing && rm -rf "$b" && cp -r "$d" "$b"
	(cd "$b" && ./configure --cc="musl-gcc -isystem $KH" --prefix="$SYS" >"$b.log" 2>&1) ||
		die "liburing configure failed: see $b.log"
	make -C "$b/src" -j "$JOBS" ENABLE_SHARED=0 liburing.a >>"$b.log" 2>&1 ||
		die "liburing build failed: see $b.log"
	cp "$b/src/liburing.a" "$SYS/lib/"
	cp -r "$b/src/include/liburing.h" "$b/src/include/liburing" "$SYS/include/"
	pc liburing "$(basename "$d" | sed 's/^liburing-//')" -luring
fi

# The machine file cross/musl-x86_64.ini takes the sysroot's absolute path from here.
printf "[constants]\nsysroot = '%s'\n" "$SYS" >"$M/sysroot.ini"

echo "musl sysroot ready: $SYS"
echo "next: meson setup build-musl --cross-file $M/sysroot.ini --cross-file cross/musl-x86_64.ini -Ddefault_library=static"
ls -l "$SYS/lib"/*.a
