/* SPDX-License-Identifier: MIT */
/*
 * A test device: a small NVMe controller model behind a struct devaccess, for lib/nvme's
 * unit tests. It keeps registers, admin and I/O queues, MSI-X eventfds, DMA mappings
 * (IOVA -> this process's memory) and a RAM disk, and executes Identify, Set Features
 * (Number of Queues), Create/Delete queues, Abort, Read, Write, Flush and Dataset
 * Management. It is deliberately simple (one namespace, DSTRD 0) and independent of the
 * driver's code: its PRP walk is its own.
 *
 * Admin commands run as soon as their doorbell rings. I/O commands too, unless
 * io_manual is set: then they wait for fake_nvme_run(), which is how tests keep commands
 * in flight across a "restart". hold_io keeps fetched I/O commands without completing
 * them (a stuck device), until an Abort names them or fake_nvme_release() runs.
 */
#ifndef MHCL_TESTS_FAKE_NVME_H
#define MHCL_TESTS_FAKE_NVME_H

#include <stdbool.h>
#include <stdint.h>

#include "devaccess.h"

#define FAKE_NVME_MAX_Q 17u
#define FAKE_NVME_MAX_MAPS 64u
#define FAKE_NVME_MAX_HELD 64u

struct fake_nvme_q {
	bool live;
	uint64_t iova;
	uint32_t size;
	uint32_t head; /* SQ: next to fetch; CQ: the host's head (doorbell) */
	uint32_t tail; /* SQ: the host's tail (doorbell); CQ: next to post */
	uint32_t phase;
	uint16_t cqid;
	bool ien;
	uint16_t iv;
};

struct fake_nvme_map {
	uint8_t *va;
	uint64_t iova;
	uint64_t len;
	bool owned; /* the device's own mapping of shared pages */
};

struct fake_nvme_held {
	uint16_t sqid;
	uint16_t cid;
	uint16_t sqhd;
	uint8_t opcode;
};

struct fake_nvme {
	struct devaccess da;
	/* Registers */
	uint64_t cap;
	uint32_t cc, csts, aqa;
	uint64_t asq, acq;
	struct fake_nvme_q sq[FAKE_NVME_MAX_Q], cq[FAKE_NVME_MAX_Q];
	struct fake_nvme_map maps[FAKE_NVME_MAX_MAPS];
	unsigned nmaps;
	int irq_fds[FAKE_NVME_MAX_Q];
	unsigned nirq;
	/* Identity and medium */
	uint8_t mdts;
	bool vwc, dsm;
	unsigned max_queues;
	uint8_t *disk;
	uint64_t nblocks;
	uint32_t block_size;
	/* Behaviour */
	bool io_manual;
	bool hold_io;
	struct fake_nvme_held held[FAKE_NVME_MAX_HELD];
	unsigned nheld;
	/* What the driver did */
	unsigned admin_count[256];
	unsigned io_count[256];
	unsigned enables;  /* CC.EN 0 -> 1 */
	unsigned disables; /* CC.EN 1 -> 0 */
	unsigned flushes, deallocated_blocks;
	unsigned dma_errors;
	bool bus_master;
};

/* A device with a disk of nblocks blocks of block_size bytes (zeroed), 65 vectors. */
struct fake_nvme *fake_nvme_new(uint64_t nblocks, uint32_t block_size);
void fake_nvme_free(struct fake_nvme *f);

/* Runs the I/O commands waiting in every SQ (io_manual). Returns how many ran. */
unsigned fake_nvme_run(struct fake_nvme *f);
/* Completes every held command with success. */
void fake_nvme_release(struct fake_nvme *f);
/* Posts a raw CQE on CQ qid as the device (its phase bit is set for the slot). */
void fake_nvme_post_raw(struct fake_nvme *f, uint16_t qid, uint32_t dw0, uint16_t sqhd,
			uint16_t sqid, uint16_t cid, uint16_t status);

#endif
