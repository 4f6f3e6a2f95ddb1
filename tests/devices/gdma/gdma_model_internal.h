/* SPDX-License-Identifier: MIT */
/*
 * Private state of the GDMA/MANA test device model, shared by its parts:
 * gdma_model.c (PCI function, BAR0, SMC), gdma_queues.c (DMA regions, queues,
 * doorbells, entry posting), gdma_hwc.c (HWC transport and GDMA core commands),
 * gdma_mana.c (MANA commands, TX and RX).
 */
#ifndef MHCL_TESTS_GDMA_MODEL_INTERNAL_H
#define MHCL_TESTS_GDMA_MODEL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defs/gdma_defs.h"
#include "defs/mana_defs.h"
#include "gdma_model.h"

/* The largest WQE either queue type may hold (SQ entries; RQ ones are smaller). */
#define GDMA_MODEL_MAX_WQE GDMA_MAX_SQE_SIZE
#define GDMA_MODEL_MAX_SGES ((GDMA_MODEL_MAX_WQE - 16u) / sizeof(struct gdma_sge))

/* Queue memory: whole 4 KiB pages, a power of two bytes in all. */
struct gdma_mem {
	uint64_t *pages; /* owned */
	uint32_t page_count;
	uint32_t size;
};

/* A DMA region the driver created and no queue has taken yet. */
struct gdma_region {
	bool used;
	uint64_t handle;
	uint64_t length;
	uint32_t pages_filled;
	struct gdma_mem mem;
};

/* EQ or CQ: the device produces, the driver consumes. */
struct gdma_cqeq {
	bool used;
	struct gdma_mem mem;
	uint32_t entry_size;
	uint32_t entries; /* a power of two */
	uint32_t shift;	  /* log2(entries) */
	uint32_t tail;	  /* producer count, starts at entries so owner bits start at 1 */
	bool armed;
	uint32_t msix;	    /* EQ: vector */
	uint32_t parent_eq; /* CQ: EQ it reports to, or MANA_CQ_NO_EQ */
};

/* SQ or RQ: the driver produces, the device consumes. Offsets are running bytes. */
struct gdma_wq {
	bool used;
	bool broken;
	struct gdma_mem mem;
	uint32_t head; /* device: next entry */
	uint32_t tail; /* driver: end of posted entries, from the doorbell */
	uint32_t cq_id;
	uint64_t obj_handle; /* MANA WQ object, 0 for the HWC */
};

/* One WQE copied out of queue memory and checked. */
struct gdma_wqe_copy {
	uint32_t offset; /* byte offset in the queue */
	uint32_t size;	 /* bytes consumed, a multiple of 32 */
	uint32_t params;
	uint32_t oob_size;
	uint32_t num_sge;
	uint8_t oob[GDMA_INLINE_OOB_MAX];
	struct gdma_sge sgl[GDMA_MODEL_MAX_SGES];
};

struct gdma_model {
	struct gdma_model_config cfg;
	struct gdma_model_ops ops;
	void *ctx;
	struct gdma_model_stats stats;

	uint8_t smc[GDMA_SMC_SIZE];
	bool hwc_up;

	struct gdma_region regions[GDMA_MODEL_MAX_REGIONS];
	uint64_t next_handle;
	struct gdma_cqeq eqs[GDMA_MODEL_MAX_EQS];
	struct gdma_cqeq cqs[GDMA_MODEL_MAX_CQS];
	struct gdma_wq sqs[GDMA_MODEL_MAX_WQS];
	struct gdma_wq rqs[GDMA_MODEL_MAX_WQS];

	/* HWC message buffers (requests are copied out of driver memory first) */
	uint8_t hwc_req[GDMA_HWC_MAX_REQUEST_SIZE];
	uint8_t hwc_resp[GDMA_HWC_MAX_RESPONSE_SIZE];
	/* TX gather buffer, with room for an injected VLAN tag */
	uint8_t frame[GDMA_MODEL_MAX_FRAME + 4];

	/* MANA function state */
	bool mana_registered;
	bool vport_tx_configured;
	bool vport_rx_configured;
	bool vport_rx_enabled;
	uint64_t default_rxobj;
};

/*
 * One HWC request being answered. The handler reads req (req_len bytes, at least its
 * table's minimum, the header already checked), writes its response body after the
 * response header in resp, sets resp_len (whole response) and version, and returns a
 * GDMA status. The header is filled in afterwards.
 */
struct gdma_msg {
	const uint8_t *req;
	uint32_t req_len;
	struct gdma_dev_id dev_id;
	uint8_t *resp;
	uint32_t resp_len;
	uint16_t version;
};

typedef uint32_t (*gdma_msg_fn)(struct gdma_model *m, struct gdma_msg *msg);

struct gdma_msg_handler {
	uint32_t code;
	uint32_t min_req_len;
	gdma_msg_fn fn;
};

/* Copies the request into @dst (zeroing what the driver did not send). */
void gdma__msg_copy(const struct gdma_msg *msg, void *dst, size_t size);

/* gdma_queues.c: memory */
void *gdma__dma(struct gdma_model *m, uint64_t iova, size_t len);
int gdma__dma_read(struct gdma_model *m, uint64_t iova, void *buf, size_t len);
int gdma__dma_write(struct gdma_model *m, uint64_t iova, const void *buf, size_t len);
int gdma__mem_read(struct gdma_model *m, const struct gdma_mem *mem, uint32_t off, void *buf,
		   size_t len);
void gdma__mem_free(struct gdma_mem *mem);

/* gdma_queues.c: regions */
struct gdma_region *gdma__region_find(struct gdma_model *m, uint64_t handle);
int gdma__region_take(struct gdma_model *m, uint64_t handle, uint32_t size,
		      struct gdma_mem *ret_mem);
void gdma__region_free(struct gdma_region *r);

/* gdma_queues.c: queues (ids are table indices) */
int gdma__eq_create(struct gdma_model *m, uint32_t id, struct gdma_mem *mem, uint32_t msix);
int gdma__cq_create(struct gdma_model *m, uint32_t id, struct gdma_mem *mem, uint32_t parent_eq);
int gdma__wq_create(struct gdma_model *m, bool is_send, uint32_t id, struct gdma_mem *mem,
		    uint32_t cq_id);
int gdma__alloc_id(const struct gdma_model *m, uint32_t type);
void gdma__cqeq_free(struct gdma_cqeq *q);
void gdma__wq_free(struct gdma_wq *q);
struct gdma_cqeq *gdma__eq(struct gdma_model *m, uint32_t id);
struct gdma_cqeq *gdma__cq(struct gdma_model *m, uint32_t id);
struct gdma_wq *gdma__sq(struct gdma_model *m, uint32_t id);
struct gdma_wq *gdma__rq(struct gdma_model *m, uint32_t id);
void gdma__post_eqe(struct gdma_model *m, uint32_t eq_id, uint32_t type, const uint32_t details[3]);
void gdma__post_cqe(struct gdma_model *m, uint32_t cq_id, const void *data, size_t len,
		    uint32_t wq_num, bool is_sq);
int gdma__wqe_next(struct gdma_model *m, struct gdma_wq *wq, bool is_send,
		   struct gdma_wqe_copy *ret_wqe);
void gdma__doorbell(struct gdma_model *m, uint32_t off, uint64_t val);
void gdma__queues_reset(struct gdma_model *m);

/* gdma_hwc.c */
uint8_t gdma__hwc_establish(struct gdma_model *m);
void gdma__hwc_destroy(struct gdma_model *m);
void gdma__hwc_sq_run(struct gdma_model *m);

/* gdma_mana.c */
const struct gdma_msg_handler *gdma__mana_handler(uint32_t code);
void gdma__mana_reset(struct gdma_model *m);
void gdma__mana_sq_run(struct gdma_model *m, uint32_t sq_id);

#endif
