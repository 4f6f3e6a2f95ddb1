/* SPDX-License-Identifier: MIT */
/*
 * An in-process devaccess transport ("test") in front of the GDMA/MANA device model, for
 * lib/mana's unit tests: BAR0 and config space go to the model; DMA maps are the
 * "device's" own mmaps of the driver's memfd (so, as with a VFIO container or a vfio-user
 * emulator, they outlive the driver's mapping); the model's MSI-X become writes on the
 * eventfds the driver routed. Knobs let a test play a driver killed between a commit and
 * its doorbell, or a transport that lost the client's maps.
 */
#ifndef MHCL_TESTS_MANA_TDEV_H
#define MHCL_TESTS_MANA_TDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devaccess.h"
#include "gdma_model.h"
#include "mana.h"

#define TDEV_MEM_IOVA 0x100000000ull
#define TDEV_MAX_MAPS 8u
#define TDEV_MAX_VECTORS 64u
#define TDEV_MAX_OUT 8u

struct mana_dev;

struct tdev_map {
	uint8_t *va; /* the transport's own mapping */
	uint64_t iova;
	uint64_t len;
};

struct tdev {
	struct devaccess da;
	struct gdma_model *m;
	struct tdev_map maps[TDEV_MAX_MAPS];
	unsigned nmaps;
	int irq_fds[TDEV_MAX_VECTORS];
	unsigned nirq;
	unsigned irq_sets;
	uint8_t out[TDEV_MAX_OUT][MANA_BUF_SIZE];
	size_t out_len[TDEV_MAX_OUT];
	unsigned nout;
	struct mana_dev *drv;
	bool tamper_hwc_type; /* next HWC answer gets another msg_type */
	bool drop_doorbells;  /* doorbell writes never reach the model (a kill before them) */
	unsigned bar_writes;  /* every BAR write that reached the transport */
};

/* A model with 2 queue pairs per vPort and 8 vectors, and the transport in front of it. */
struct tdev *tdev_new(void);
/* tdev_new and a driver brought up on it with nq queue pairs wanted. */
struct tdev *tdev_bring_up(unsigned nq);
/* The options tdev_bring_up used (mana_dev_adopt needs the same). */
struct mana_opts tdev_opts(unsigned nq);
/* The transport forgets the client's maps and vectors (a vfio-user client that left). */
void tdev_forget(struct tdev *t);
/* Closes the driver (if any) and the transport with the model. */
void tdev_free(struct tdev *t);

/* A frame of len bytes to the model's vPort MAC, IPv4, filled from seed. */
void tdev_make_frame(uint8_t *f, size_t len, uint8_t seed);
/* The model's counters say nothing was refused (no DMA, doorbell, WQE or HWC error). */
void tdev_assert_device_clean(struct tdev *t);
/* The driver refused nothing the device wrote. */
void tdev_assert_driver_clean(struct tdev *t);

#endif
