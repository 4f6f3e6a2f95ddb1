/* SPDX-License-Identifier: MIT */
/*
 * mhcl-storaged's crash-consistent state: one memfd that init keeps in its fd store
 * ("storage-state"), mapped shared and written as requests move, so that the next
 * instance, after a planned restart or a kill -9, knows exactly which guest requests it
 * owes an answer:
 *
 *   take       the request is copied out of the ring and validated into a free slot, the
 *              channel's `pending` names the slot, the slot turns TAKEN, the ring's
 *              read_index is published, `pending` is cleared;
 *   complete   the channel's `batch_start` records the write_index the guest sees before
 *              the loop turn's first completion; each slot turns COMPLETING with the
 *              out-ring offset and size its completion will have, and the completion is
 *              written; once per loop turn write_index is published for all of them and
 *              the slots turn FREE.
 *
 * Each step's last store decides; a process can die between any two. The next instance
 * (stor_chan_adopt) reads the ring indices in guest RAM to settle the one uncertain slot
 * per channel and direction:
 *   - `pending` names a TAKEN slot: if read_index still points at the slot's packet, the
 *     ring will deliver it again, so the slot is dropped; otherwise it is kept;
 *   - a COMPLETING slot whose completion lies between `batch_start` and write_index was
 *     answered (FREE); otherwise it is TAKEN again;
 *   - every TAKEN slot is executed again: a read reads again, a write writes the same
 *     bytes again (the guest does not reuse a buffer before it sees the completion).
 * So no request is lost and none is answered twice. Only this binary reads the layout;
 * the magic and sizes refuse another build's.
 */
#ifndef MHCL_STORAGE_STOR_STATE_H
#define MHCL_STORAGE_STOR_STATE_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "defs/storvsp_defs.h"

#define STOR_STATE_MAGIC 0x6d68635374723033ull /* "mhcStr03": bump when the layout changes */
#define STOR_MAX_CONTROLLERS 4u
#define STOR_MAX_CHANNELS 16u /* per controller, the primary included */
#define STOR_QUEUE_DEPTH 256u /* requests in flight per channel */
#define STOR_MAX_TRANSFER (256u * 1024u)
#define STOR_MAX_PFNS (STOR_MAX_TRANSFER / 4096u + 1u)

enum stor_slot_state {
	STOR_SLOT_FREE = 0,
	STOR_SLOT_TAKEN = 1,
	STOR_SLOT_COMPLETING = 2,
};

/* One request the guest handed over and has not seen completed. */
struct stor_slot_rec {
	uint32_t state;			  /* enum stor_slot_state */
	uint32_t ring_start, ring_end;	  /* where its packet sat in the guest->host ring */
	uint32_t out_at, out_len;	  /* COMPLETING: its completion in the host->guest ring */
	uint32_t byte_offset, byte_count; /* the data buffer: one GPA range */
	uint32_t npfns;
	uint64_t trans_id;
	struct storvsp_packet pkt; /* as the guest sent it, zero padded */
	uint64_t pfns[STOR_MAX_PFNS];
};
static_assert(sizeof(struct stor_slot_rec) % 8 == 0, "slots stay 8-byte aligned");

struct stor_chan_rec {
	uint32_t pending;     /* slot index + 1 whose take is not yet confirmed, 0 = none */
	uint32_t batch_start; /* where the completions not yet known published begin */
	struct stor_slot_rec slots[STOR_QUEUE_DEPTH];
};

/* A controller's protocol state (negotiated on its primary channel). */
struct stor_ctrl_rec {
	uint32_t version;     /* negotiated protocol version, 0 = none yet */
	uint32_t init_state;  /* enum stor_init in storvsp.h */
	uint32_t subchannels; /* sub-channels granted (offered) */
	uint32_t luns_set;    /* lun_absent below was set (fresh state: from the manifest) */
	uint64_t lun_absent;  /* bit per declared LUN detached (mhcl storage detach) */
	struct stor_chan_rec chan[STOR_MAX_CHANNELS];
};

struct stor_state {
	uint64_t magic;
	uint64_t size; /* bytes of the whole mapping */
	uint32_t ncontrollers;
	uint32_t reserved;
	struct stor_ctrl_rec ctrl[];
};

static inline uint64_t stor_state_size(uint32_t ncontrollers)
{
	return sizeof(struct stor_state) + (uint64_t)ncontrollers * sizeof(struct stor_ctrl_rec);
}

/*
 * Whether a completion written at `at` (ring bytes `len`, trailer included) in a ring of
 * `size` data bytes reached the guest, when its batch began at `from` and the guest's
 * write_index is `wr`: it lies after `from` and write_index has passed its end. All of it
 * comes from the state page and guest RAM: anything out of range is "not seen".
 */
static inline bool stor_completion_seen(uint32_t size, uint32_t from, uint32_t wr, uint32_t at,
					uint32_t len)
{
	if (!size || from >= size || wr >= size || at >= size || len == 0 || len >= size)
		return false;
	uint32_t at_d = (at + size - from) % size;
	uint32_t end_d = (uint32_t)(((uint64_t)at_d + len) % size);
	uint32_t wr_d = (wr + size - from) % size;
	return at_d < end_d && end_d <= wr_d;
}

/* The store that makes a step visible to the next instance: release order, so every
 * store before it is seen first (a process dies, the memory stays coherent). */
#define stor_publish(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#endif
