/* SPDX-License-Identifier: MIT */
/*
 * A hostile peer rewrites the ring while we read it: one thread keeps
 * flipping bytes in the data pages and the control words while the reader
 * parses. Every packet the reader accepts must be self-consistent inside the
 * caller's buffer (the reader validated its copy, not the ring), every
 * failure must be one of the documented errors, and ASan must see no access
 * outside the ring or the buffer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>

#include "ring-test-util.h"

#define PASSES 20000u

static struct test_ring_mem mem;
static volatile int stop;

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *mutator(void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	uint32_t size = mem.npages * VMBUS_RING_PAGE_SIZE;
	(void)arg;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		uint64_t v = rng_next(&seed);
		if (v % 64 == 0) {
			/* Now and then a control word: indices, mask, pending size. */
			uint32_t *w = (uint32_t *)mem.control + (v >> 8) % 4;
			__atomic_store_n(w, (uint32_t)(v >> 32) % (size + 64), __ATOMIC_RELAXED);
		} else {
			uint8_t *b = test_ring_byte(&mem, (uint32_t)(v >> 16) % size);
			__atomic_store_n(b, (uint8_t)(v >> 40), __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

/* Writes a few valid packets of each type so the mutator has structure to damage. */
static void refill(void)
{
	struct vmbus_ring w;
	struct vmbus_ring_control *c = mem.control;
	uint8_t data[200];
	uint64_t pfns[4] = {1, 2, 3, 4};
	struct vmbus_ring_gpa g = {.byte_count = 9000, .byte_offset = 12, .pfn_count = 3,
				   .pfns = pfns};
	struct vmbus_xfer_page_range xr[2] = {{10, 20}, {30, 40}};

	c->write_index = 0;
	c->read_index = 0;
	c->feature_bits = VMBUS_RING_FEAT_PENDING_SEND_SZ;
	memset(data, 0xab, sizeof(data));
	if (vmbus_ring_init(&w, mem.control, mem.pages, mem.npages) < 0)
		return; /* the mutator got in between: skip this round */
	for (int i = 0; i < 8; i++) {
		(void)vmbus_ring_send_inband(&w, i, 1, data, 40 + i * 20);
		(void)vmbus_ring_send_gpa_direct(&w, i, 1, &g, 1, data, 64);
		(void)vmbus_ring_send_xfer_pages(&w, i, 1, 0xCAFE, false, xr, 2, data, 32);
		(void)vmbus_ring_send_completion(&w, i, data, 64);
	}
	vmbus_ring_fini(&w);
}

static void check_packet(const uint8_t *buf, size_t buflen, const struct vmbus_pkt *p)
{
	const uint8_t *pay = p->payload;

	ASSERT_LE(p->total_len, buflen);
	ASSERT_TRUE(pay >= buf + 16 && pay + p->payload_len == buf + p->total_len);
	ASSERT_EQ(p->flags & ~1u, 0);
	switch (p->type) {
	case VMBUS_PKT_DATA_INBAND:
	case VMBUS_PKT_COMP:
		break;
	case VMBUS_PKT_DATA_USING_GPA_DIRECT: {
		ASSERT_TRUE(p->range_count >= 1 && p->range_count <= VMBUS_RING_MAX_GPA_RANGES);
		const uint8_t *r = p->ranges;
		ASSERT_TRUE(r == buf + 24 && r + p->ranges_len <= pay);
		struct vmbus_gpa_iter it;
		uint32_t bc, bo, n, seen = 0;
		const uint64_t *pfns;
		vmbus_gpa_iter_init(&it, p);
		while (vmbus_gpa_iter_next(&it, &bc, &bo, &pfns, &n)) {
			ASSERT_TRUE(bc > 0 && bo < 4096);
			ASSERT_EQ(n, ((uint64_t)bo + bc + 4095) / 4096);
			ASSERT_TRUE((const uint8_t *)(pfns + n) <= r + p->ranges_len);
			seen++;
		}
		ASSERT_EQ(seen, p->range_count);
		break;
	}
	case VMBUS_PKT_DATA_USING_XFER_PAGES:
		ASSERT_TRUE(p->range_count >= 1 && p->range_count <= VMBUS_RING_MAX_XFER_RANGES);
		ASSERT_TRUE((const uint8_t *)(p->xfer_ranges + p->range_count) <= pay);
		break;
	default:
		TEST_FAIL_("accepted packet type %u", p->type);
	}
}

int main(void)
{
	static alignas(8) uint8_t buf[1024];
	pthread_t t;
	uint64_t accepted = 0, errors[4] = {0};
	uint64_t seed = 0x0123456789abcdefull;

	test_ring_mem_alloc(&mem, 2, true);
	refill();
	ASSERT_OK(pthread_create(&t, NULL, mutator, NULL));
	for (uint32_t pass = 0; pass < PASSES; pass++) {
		struct vmbus_ring r;
		if (pass % 64 == 0)
			refill();
		/* Damage of our own, so the error paths run even when the scheduler
		 * never lets the mutator run beside us; it accumulates until refill. */
		uint64_t v = rng_next(&seed);
		*test_ring_byte(&mem, (uint32_t)(v >> 20) % 2048) = (uint8_t)(v >> 8);
		if (vmbus_ring_init(&r, mem.control, mem.pages, mem.npages) < 0) {
			errors[0]++;
			continue;
		}
		/* Bounded: each accepted packet consumes >= 24 of at most 8192 bytes. */
		for (int n = 0; n < 8192 / 24 + 1; n++) {
			struct vmbus_pkt p;
			size_t buflen = pass % 2 ? sizeof(buf) : 256;
			int ret = vmbus_ring_recv(&r, buf, buflen, &p);
			if (ret == 0) {
				check_packet(buf, buflen, &p);
				accepted++;
				continue;
			}
			if (ret == -EAGAIN)
				break;
			if (ret != -EPROTO && ret != -EBADMSG && ret != -EMSGSIZE)
				TEST_FAIL_("unexpected error %d", ret);
			ASSERT_TRUE(vmbus_ring_is_broken(&r));
			errors[ret == -EPROTO ? 1 : ret == -EBADMSG ? 2 : 3]++;
			break;
		}
		/* No commit: the next pass re-reads the same, further damaged, packets. */
		vmbus_ring_fini(&r);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	ASSERT_OK(pthread_join(t, NULL));
	printf("hostile: %u passes, %llu packets accepted, init refused %llu, EPROTO %llu, "
	       "EBADMSG %llu, EMSGSIZE %llu\n",
	       PASSES, (unsigned long long)accepted, (unsigned long long)errors[0],
	       (unsigned long long)errors[1], (unsigned long long)errors[2],
	       (unsigned long long)errors[3]);
	/* The counts depend on scheduling, so they are printed, not asserted. */
	test_ring_mem_free(&mem);
	return 0;
}
