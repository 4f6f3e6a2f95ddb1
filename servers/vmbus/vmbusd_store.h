/* SPDX-License-Identifier: MIT */
/*
 * vmbusd's crash-consistent state: a memfd init keeps in its fd store, holding the last
 * committed record (the VMBus connection, channel table and GPADLs, vmbusd's device
 * offers, the host messages not known to be delivered). Two slots: a commit writes the
 * slot not in use, then flips the header's index, so a vmbusd killed at any instant
 * leaves either the old record or the new one, never a torn one. The record format is
 * vmbusd.c's; here it is bytes, read back with the same checks as any untrusted input.
 */
#ifndef MHCL_VMBUSD_STORE_H
#define MHCL_VMBUSD_STORE_H

#include <stddef.h>
#include <stdint.h>

#define VMBUSD_STORE_SLOT_BYTES (4u << 20) /* a record never exceeds this */

struct vmbusd_store;

/* A fresh, empty store in a new memfd (before the jail: memfd_create, ftruncate). */
int vmbusd_store_create(struct vmbusd_store **ret);
/* A store an earlier instance left (fd taken). -EBADMSG if it is not one. */
int vmbusd_store_adopt(int fd, struct vmbusd_store **ret);
void vmbusd_store_free(struct vmbusd_store *st);
int vmbusd_store_fd(const struct vmbusd_store *st);

/* Writes rec as the new committed record. -EMSGSIZE if it does not fit a slot. */
int vmbusd_store_commit(struct vmbusd_store *st, const void *rec, size_t len);
/* Or in place: write up to VMBUSD_STORE_SLOT_BYTES at vmbusd_store_slot(), then publish
 * that many bytes as the committed record. */
void *vmbusd_store_slot(struct vmbusd_store *st);
int vmbusd_store_publish(struct vmbusd_store *st, size_t len);
/* The committed record (NULL, 0 if none), borrowed until the next commit. */
const void *vmbusd_store_record(const struct vmbusd_store *st, size_t *len);

#endif
