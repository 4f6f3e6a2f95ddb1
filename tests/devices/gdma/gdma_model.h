/* SPDX-License-Identifier: MIT */
/*
 * GDMA/MANA device model: a TEST DEVICE, never part of the image.
 *
 * It plays the MANA virtual function (PCI 1414:00BA) so mhcl's userspace MANA driver
 * can be proven without hardware: BAR0 registers, the shared-memory channel that
 * bootstraps the hardware channel (HWC), doorbells, EQ/CQ/SQ/RQ with owner bits and
 * arming, the GDMA core and MANA commands over the HWC, and one vPort whose TX frames
 * leave through frame_out() and whose RX frames arrive through gdma_model_frame_in().
 * Layouts come from include/defs/{gdma,mana}_defs.h.
 *
 * The model has no transport of its own: a host interface (in-process unit tests,
 * or a vfio-user server later) forwards BAR and config-space accesses and supplies
 * the three callbacks. It emulates no MSI-X table: it names vectors in irq() and the
 * host interface delivers them (GDMA_MODEL_MSIX_BAR holds table and PBA).
 *
 * Everything the driver supplies (queue ids, sizes, region handles, WQE headers, SGE
 * addresses and lengths, message sizes) is untrusted: a bad value gets a GDMA error
 * status, or the work is dropped and counted in gdma_model_stats; a WQ whose entries
 * cannot be parsed stops (is "broken") until it is destroyed or the device is reset.
 *
 * Not thread-safe: the host interface serializes all calls on one model.
 */
#ifndef MHCL_TESTS_GDMA_MODEL_H
#define MHCL_TESTS_GDMA_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* BAR0: register map at 0, SMC aperture after it, one doorbell page at 4 KiB. */
#define GDMA_MODEL_BAR0_SIZE 0x2000u
#define GDMA_MODEL_SHM_OFFSET 0x28u
#define GDMA_MODEL_DB_PAGE_OFFSET 0x1000u
#define GDMA_MODEL_DB_PAGE_SIZE 0x1000u
#define GDMA_MODEL_CONFIG_SIZE 256u
/* MSI-X capability of the config space: table at BAR4 + 0, PBA at BAR4 + 0x800. */
#define GDMA_MODEL_MSIX_BAR 4u
#define GDMA_MODEL_MSIX_TABLE_OFFSET 0x0u
#define GDMA_MODEL_MSIX_PBA_OFFSET 0x800u
#define GDMA_MODEL_MSIX_MAX 64u

/* Resource tables (index 0 of each queue type is the HWC's). */
#define GDMA_MODEL_MAX_EQS 16u
#define GDMA_MODEL_MAX_CQS 32u
#define GDMA_MODEL_MAX_WQS 16u /* each of SQ and RQ */
#define GDMA_MODEL_MAX_REGIONS 64u
#define GDMA_MODEL_MAX_REGION_PAGES 1024u
#define GDMA_MODEL_MAX_FRAME 16384u
#define GDMA_MODEL_MAX_QUEUES 7u /* per vPort: room for one EQ and two CQs each */

/* Values the model hands out (tests compare against them). */
#define GDMA_MODEL_HWC_PDID 0x1u
#define GDMA_MODEL_HWC_GPA_MKEY 0x2u
#define GDMA_MODEL_MANA_PDID 0x10u
#define GDMA_MODEL_MANA_GPA_MKEY 0x20u
#define GDMA_MODEL_VPORT_HANDLE 0x7600u

/*
 * Status codes the model answers with where Linux defines none (NTSTATUS values,
 * the family GDMA_STATUS_MORE_ENTRIES comes from).
 */
#define GDMA_MODEL_STATUS_INVALID_PARAMETER 0xC000000Du
#define GDMA_MODEL_STATUS_NO_RESOURCES 0xC000009Au
#define GDMA_MODEL_STATUS_NOT_FOUND 0xC0000225u

struct gdma_model;

/*
 * The host interface. Each callback gets the ctx given to gdma_model_new.
 * @dma_ptr: a pointer to [iova, iova + len) of memory the driver mapped for the device,
 *   or NULL if any byte of it is not mapped (the model then counts a DMA error and
 *   drops that piece of work). The model asks for at most one 4 KiB page at a time
 *   and keeps the pointer only for the access at hand.
 * @irq: raise MSI-X vector @vector (< msix_count).
 * @frame_out: a frame the driver transmitted; @data is valid during the call only.
 */
struct gdma_model_ops {
	void *(*dma_ptr)(void *ctx, uint64_t iova, size_t len);
	void (*irq)(void *ctx, uint32_t vector);
	void (*frame_out)(void *ctx, const void *data, size_t len);
};

struct gdma_model_config {
	uint8_t mac[6];	     /* the vPort's permanent address */
	uint32_t max_queues; /* SQs and RQs per vPort, 1..GDMA_MODEL_MAX_QUEUES; 0 = 4 */
	uint32_t msix_count; /* 2..GDMA_MODEL_MSIX_MAX; 0 = 8 */
};

/* Counters of what the model refused or dropped; cumulative across resets. */
struct gdma_model_stats {
	uint64_t tx_frames;
	uint64_t tx_errors; /* TX WQEs completed with an error CQE */
	uint64_t rx_frames;
	uint64_t rx_dropped_no_wqe; /* frame_in with no posted RQ entry */
	uint64_t rx_dropped_no_rq;  /* frame_in with no RQ or RX disabled */
	uint64_t rx_truncated;	    /* frame larger than the posted buffers */
	uint64_t dma_errors;	    /* dma_ptr returned NULL */
	uint64_t bad_doorbells;	    /* unknown queue id, bad offset or size, bad tail */
	uint64_t bad_wqes;	    /* unparsable WQEs (the WQ is broken afterwards) */
	uint64_t bad_bar_accesses;  /* out of range or misaligned */
	uint64_t hwc_requests;	    /* HWC requests answered */
	uint64_t hwc_errors;	    /* HWC requests answered with a non-zero status */
	uint64_t hwc_dropped;	    /* HWC requests that could not be answered */
	uint64_t irqs;
};

/*
 * Creates a model in the reset state. Copies @cfg and @ops; @ctx is borrowed and
 * passed to every callback. Returns NULL on a bad config (-EINVAL semantics) or
 * when out of memory.
 */
struct gdma_model *gdma_model_new(const struct gdma_model_config *cfg,
				  const struct gdma_model_ops *ops, void *ctx);
/* Frees @m and everything it holds; accepts NULL; returns NULL. */
struct gdma_model *gdma_model_free(struct gdma_model *m);

/* Back to power-on state: all queues, regions, the HWC and the vPort are gone. */
void gdma_model_reset(struct gdma_model *m);

/*
 * BAR0 accesses of 1..8 bytes. Reads return the register map, the SMC aperture and
 * zeros elsewhere. Writes reach the SMC aperture (writing its last dword runs the
 * message) and the doorbell page (64-bit writes only). Returns 0, or -EINVAL for an
 * access outside BAR0 (counted; reads then return zeros).
 */
int gdma_model_bar_read(struct gdma_model *m, uint64_t off, void *buf, size_t len);
int gdma_model_bar_write(struct gdma_model *m, uint64_t off, const void *buf, size_t len);

/* PCI config-space reads (type 0 header with the MANA VF ids and an MSI-X capability). */
int gdma_model_config_read(struct gdma_model *m, uint64_t off, void *buf, size_t len);

/*
 * A frame arriving from the wire for the vPort: copied into the next posted entry of
 * the vPort's RX queue, completed with an RX CQE, an EQE and an MSI-X as arming
 * allows. @data is borrowed for the call. Returns 0 when delivered (a truncated
 * delivery counts as delivered), -EMSGSIZE over GDMA_MODEL_MAX_FRAME, -ENODEV
 * without an RX queue or with RX disabled, -ENOBUFS without a posted entry, -EIO if
 * the RQ is broken or its memory unreachable.
 */
int gdma_model_frame_in(struct gdma_model *m, const void *data, size_t len);

/*
 * Whether a frame arriving now would find the vPort's RX queue without a posted entry
 * (gdma_model_frame_in would drop it with -ENOBUFS): a host interface whose wire can wait
 * (a TAP queue) holds frames back until the driver posts buffers again. False without an
 * RX queue, with RX disabled or a broken queue: frames are then refused for good.
 */
bool gdma_model_rx_full(struct gdma_model *m);

/* Copies the counters into @ret. */
void gdma_model_get_stats(const struct gdma_model *m, struct gdma_model_stats *ret);

#endif
