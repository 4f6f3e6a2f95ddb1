/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: one memfd the worker owns (so it can be handed to servers over the bus),
 * mapped once, covering guest physical [0, size). Every access names a length and is
 * bounds-checked, overflow included; guest addresses are never used as raw pointers.
 */
#ifndef MHCL_WORKER_GUEST_RAM_H
#define MHCL_WORKER_GUEST_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct guest_ram {
	int memfd;
	uint8_t *hva;
	uint64_t size;
};

int guest_ram_create(uint64_t size, struct guest_ram *ret);
void guest_ram_destroy(struct guest_ram *ram);

/* Returns the host pointer for [gpa, gpa + len), or NULL if any byte lies outside RAM. */
static inline void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	if (len == 0 || gpa >= ram->size || len > ram->size - gpa)
		return NULL;
	return ram->hva + gpa;
}

/* Copies between guest RAM and private memory; -EFAULT if out of range. */
static inline int guest_ram_read(const struct guest_ram *ram, uint64_t gpa, void *dst, size_t len)
{
	const void *src = guest_ram_ptr(ram, gpa, len);
	if (!src)
		return -14; /* EFAULT */
	memcpy(dst, src, len);
	return 0;
}

static inline int guest_ram_write(const struct guest_ram *ram, uint64_t gpa, const void *src, size_t len)
{
	void *dst = guest_ram_ptr(ram, gpa, len);
	if (!dst)
		return -14; /* EFAULT */
	memcpy(dst, src, len);
	return 0;
}

#endif
