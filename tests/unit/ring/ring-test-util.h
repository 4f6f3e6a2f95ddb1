/* SPDX-License-Identifier: MIT */
/*
 * Ring memory for the ring tests: a control page plus data pages, either one
 * contiguous mapping or pages scattered in reverse order inside a larger
 * mapping (so the library must take its page-by-page path).
 */
#ifndef MHCL_TEST_RING_UTIL_H
#define MHCL_TEST_RING_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "test.h"
#include "vmbus_ring.h"

struct test_ring_mem {
	uint8_t *map;
	size_t map_len;
	void *control;
	void *pages[256];
	uint32_t npages;
	bool scattered;
};

static inline void test_ring_mem_alloc(struct test_ring_mem *m, uint32_t npages, bool scattered)
{
	ASSERT_TRUE(npages >= 1 && npages <= 256);
	memset(m, 0, sizeof(*m));
	m->npages = npages;
	m->scattered = scattered;
	/* Scattered: 2N+1 pages; data page i sits at slot 2*(N-i), with gaps
	 * between, so no two consecutive data pages are adjacent. */
	size_t slots = scattered ? 2 * (size_t)npages + 2 : (size_t)npages + 1;
	m->map_len = slots * VMBUS_RING_PAGE_SIZE;
	m->map = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(m->map != MAP_FAILED);
	m->control = m->map;
	for (uint32_t i = 0; i < npages; i++) {
		size_t slot = scattered ? 2 * ((size_t)npages - i) : (size_t)i + 1;
		m->pages[i] = m->map + slot * VMBUS_RING_PAGE_SIZE;
	}
}

static inline void test_ring_mem_free(struct test_ring_mem *m)
{
	munmap(m->map, m->map_len);
	memset(m, 0, sizeof(*m));
}

/* Ring offset -> byte in the data area. */
static inline uint8_t *test_ring_byte(struct test_ring_mem *m, uint32_t off)
{
	return (uint8_t *)m->pages[off / VMBUS_RING_PAGE_SIZE] + off % VMBUS_RING_PAGE_SIZE;
}

static inline void test_ring_poke(struct test_ring_mem *m, uint32_t off, const void *src,
				  uint32_t len)
{
	uint32_t size = m->npages * VMBUS_RING_PAGE_SIZE;
	for (uint32_t i = 0; i < len; i++)
		*test_ring_byte(m, (off + i) % size) = ((const uint8_t *)src)[i];
}

static inline void test_ring_peek(struct test_ring_mem *m, uint32_t off, void *dst, uint32_t len)
{
	uint32_t size = m->npages * VMBUS_RING_PAGE_SIZE;
	for (uint32_t i = 0; i < len; i++)
		((uint8_t *)dst)[i] = *test_ring_byte(m, (off + i) % size);
}

static inline struct vmbus_ring_control *test_ring_ctl(struct test_ring_mem *m)
{
	return m->control;
}

/* Sets both indices (as a guest would before handing over) and attaches. */
static inline void test_ring_attach(struct test_ring_mem *m, struct vmbus_ring *r, uint32_t wr,
				    uint32_t rd)
{
	struct vmbus_ring_control *c = m->control;
	c->write_index = wr;
	c->read_index = rd;
	c->feature_bits = VMBUS_RING_FEAT_PENDING_SEND_SZ;
	ASSERT_OK(vmbus_ring_init(r, m->control, m->pages, m->npages));
}

#endif
