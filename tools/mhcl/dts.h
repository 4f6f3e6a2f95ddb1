/* SPDX-License-Identifier: MIT */
/*
 * A small flattened-device-tree to source printer for `mhcl config`: node
 * names, then each property as a string list, cells, bytes or a bare flag,
 * the way dtc would write it. The blob comes off the network, so it is
 * checked whole (fdt_check_full) before a byte of it is printed.
 */
#ifndef MHCL_DTS_H
#define MHCL_DTS_H

#include <stddef.h>
#include <stdio.h>

struct json_writer;

/* Deepest node nesting printed; deeper trees are refused. */
#define DTS_DEPTH_MAX 32

enum dts_prop_kind {
	DTS_PROP_EMPTY,      /* length 0: a flag */
	DTS_PROP_STRINGS,    /* one or more NUL-terminated printable strings */
	DTS_PROP_CELLS,      /* a multiple of 4 bytes: big-endian 32-bit cells */
	DTS_PROP_BYTES,      /* anything else */
};

/* How a property value of len bytes is rendered. Borrows val. */
enum dts_prop_kind dts_prop_classify(const void *val, size_t len);

/* Writes the tree at dtb[0..len) as dts source. Borrows dtb. Returns 0, or
 * -EBADMSG when the blob is not a well-formed tree (nothing is written),
 * -E2BIG when it nests deeper than DTS_DEPTH_MAX. */
int dts_print(FILE *f, const void *dtb, size_t len);

/* Same tree as JSON: {"memreserve": [[addr, size]...], "root": NODE} where
 * NODE = {"name", "properties": {name: value}, "children": [NODE...]}; a flag
 * is true, strings a string (or an array of them), cells an array of numbers,
 * bytes a hex string. */
int dts_print_json(struct json_writer *w, const void *dtb, size_t len);

#endif
