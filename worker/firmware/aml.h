/* SPDX-License-Identifier: MIT */
/*
 * A small AML emitter (ACPI 6.x, section 20 "ACPI Machine Language Specification"):
 * just the terms the worker's DSDT needs. A struct aml is a fixed buffer; an emit that
 * does not fit sets .overflow and every later emit is ignored, so callers check once.
 */
#ifndef MHCL_WORKER_AML_H
#define MHCL_WORKER_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX 4096

struct aml {
	uint8_t b[AML_MAX];
	size_t len;
	bool overflow;
};

void aml_init(struct aml *a);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* A NameSeg or a rooted/multi-part path ("\\_SB_", "VMBS", "\\_SB_.VMBS"). Segments are
 * 1-4 characters, padded with '_'. */
void aml_name_string(struct aml *a, const char *path);
/* Name(name, <data>): the data term is whatever the caller emits next into a. */
void aml_name(struct aml *a, const char *name);
void aml_string(struct aml *a, const char *s);
void aml_integer(struct aml *a, uint64_t v);
/* EISAID("PNP0501"): the compressed 32-bit EISA id; id must be 3 capitals + 4 hex digits. */
void aml_eisaid(struct aml *a, const char *id);
/* Buffer(){bytes} */
void aml_buffer(struct aml *a, const void *p, size_t n);
/* Scope(path){body} and Device(name){body}: body is copied. */
void aml_scope(struct aml *a, const char *path, const struct aml *body);
void aml_device(struct aml *a, const char *name, const struct aml *body);

/* Encodes a PkgLength for a package whose contents (after the PkgLength) are n bytes.
 * Returns the encoding's size (1-4), or 0 if n is too large. */
size_t aml_pkg_length(uint8_t out[4], size_t n);

#endif
