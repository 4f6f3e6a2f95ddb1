/* SPDX-License-Identifier: MIT */
/*
 * Two threads, one ring: a producer sends packets of pseudo-random sizes and
 * types, a consumer checks every byte and the running checksum. Both block on
 * eventfds and follow the signalling protocol exactly (interrupt mask on the
 * reading side, pending_send_sz on the writing side), so a lost wake-up hangs
 * the test and meson's timeout fails it. Half the packets are written in batches
 * (published later), with pending_send_sz asked for inside an open batch. A small
 * scattered ring makes almost every packet cross a page or the wrap.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ring-test-util.h"

#define NPACKETS 200000u
#define MAX_PAYLOAD 2000u

struct shared {
	struct test_ring_mem m;
	int data_efd;  /* producer -> consumer: "packets arrived" */
	int space_efd; /* consumer -> producer: "space freed" */
	uint64_t recv_sum;
	uint64_t signals_data, signals_space;
};

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void efd_signal(int fd)
{
	uint64_t one = 1;
	ASSERT_EQ(write(fd, &one, sizeof(one)), sizeof(one));
}

static void efd_wait(int fd)
{
	uint64_t v;
	ASSERT_EQ(read(fd, &v, sizeof(v)), sizeof(v));
}

static uint64_t checksum(uint64_t sum, const uint8_t *b, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		sum = sum * 1099511628211ull + b[i];
	return sum;
}

static void make_payload(uint8_t *b, uint32_t len, uint32_t seq)
{
	memcpy(b, &seq, 4);
	for (uint32_t i = 4; i < len; i++)
		b[i] = (uint8_t)(seq * 31u + i);
}

/* Publishes the producer's open batch, signalling if the consumer must be told. */
static void end_batch(struct shared *sh, struct vmbus_ring *w)
{
	int ret = vmbus_ring_batch_end(w);
	ASSERT_GE(ret, 0);
	if (ret == 1) {
		__atomic_fetch_add(&sh->signals_data, 1, __ATOMIC_RELAXED);
		efd_signal(sh->data_efd);
	}
}

/* Sends one packet after another; every other thousand go in batches of random length,
 * and a full ring there asks for space before the batch is published (as storaged's
 * backlog does), so the unpublished bytes are in play when the consumer commits. */
static void *producer(void *arg)
{
	struct shared *sh = arg;
	struct vmbus_ring w;
	static uint8_t buf[MAX_PAYLOAD];
	uint64_t seed = 0x1234567887654321ull, batch_seed = 0x9e3779b97f4a7c15ull;

	ASSERT_OK(vmbus_ring_init(&w, sh->m.control, sh->m.pages, sh->m.npages));
	for (uint32_t seq = 0; seq < NPACKETS; seq++) {
		uint32_t len = 4 + (uint32_t)(rng_next(&seed) % (MAX_PAYLOAD - 4));
		bool batching = (seq / 1000u) % 2u == 1;
		make_payload(buf, len, seq);
		for (;;) {
			int ret;
			if (batching)
				vmbus_ring_batch_begin(&w);
			if (seq % 3 == 0)
				ret = vmbus_ring_send_completion(&w, seq, buf, len);
			else
				ret = vmbus_ring_send_inband(&w, seq, seq & 1, buf, len);
			if (ret == 1) {
				__atomic_fetch_add(&sh->signals_data, 1, __ATOMIC_RELAXED);
				efd_signal(sh->data_efd);
			}
			if (ret >= 0)
				break;
			ASSERT_EQ(ret, -EAGAIN);
			/* Full: ask for a signal, then wait unless space appeared meanwhile. */
			ret = vmbus_ring_set_pending_send(&w, vmbus_ring_inband_size(len));
			ASSERT_GE(ret, 0);
			if (vmbus_ring_batch_open(&w))
				sched_yield(); /* storaged publishes at the end of its loop turn */
			end_batch(sh, &w);
			if (ret == 0)
				efd_wait(sh->space_efd);
			ASSERT_OK(vmbus_ring_set_pending_send(&w, 0));
		}
		if (!batching || rng_next(&batch_seed) % 8 == 0 || (seq + 1) % 1000u == 0)
			end_batch(sh, &w);
	}
	end_batch(sh, &w);
	vmbus_ring_fini(&w);
	return NULL;
}

static void *consumer(void *arg)
{
	struct shared *sh = arg;
	struct vmbus_ring r;
	static alignas(8) uint8_t buf[MAX_PAYLOAD + 64];
	uint32_t expect = 0;

	ASSERT_OK(vmbus_ring_init(&r, sh->m.control, sh->m.pages, sh->m.npages));
	while (expect < NPACKETS) {
		/* Drain with interrupts masked, publish once per batch. */
		vmbus_ring_mask_interrupts(&r);
		for (;;) {
			struct vmbus_pkt pkt;
			int ret = vmbus_ring_recv(&r, buf, sizeof(buf), &pkt);
			if (ret == -EAGAIN)
				break;
			ASSERT_OK(ret);
			ASSERT_UEQ(pkt.trans_id, expect);
			ASSERT_EQ(pkt.type, expect % 3 == 0 ? VMBUS_PKT_COMP : VMBUS_PKT_DATA_INBAND);
			uint32_t seq;
			memcpy(&seq, pkt.payload, 4);
			ASSERT_EQ(seq, expect);
			expect++;
			if (expect % 16 == 0) {
				int s = vmbus_ring_recv_commit(&r);
				ASSERT_GE(s, 0);
				if (s == 1) {
					__atomic_fetch_add(&sh->signals_space, 1, __ATOMIC_RELAXED);
					efd_signal(sh->space_efd);
				}
			}
			sh->recv_sum = checksum(sh->recv_sum, pkt.payload, pkt.payload_len);
		}
		int s = vmbus_ring_recv_commit(&r);
		ASSERT_GE(s, 0);
		if (s == 1) {
			__atomic_fetch_add(&sh->signals_space, 1, __ATOMIC_RELAXED);
			efd_signal(sh->space_efd);
		}
		if (expect >= NPACKETS)
			break;
		int more = vmbus_ring_unmask_interrupts(&r);
		ASSERT_GE(more, 0);
		if (!more)
			efd_wait(sh->data_efd);
	}
	vmbus_ring_fini(&r);
	return NULL;
}

int main(void)
{
	struct shared sh = {0};
	pthread_t tp, tc;

	test_ring_mem_alloc(&sh.m, 2, true);
	((struct vmbus_ring_control *)sh.m.control)->feature_bits = VMBUS_RING_FEAT_PENDING_SEND_SZ;
	sh.data_efd = eventfd(0, EFD_CLOEXEC);
	sh.space_efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_GE(sh.data_efd, 0);
	ASSERT_GE(sh.space_efd, 0);

	ASSERT_OK(pthread_create(&tc, NULL, consumer, &sh));
	ASSERT_OK(pthread_create(&tp, NULL, producer, &sh));
	ASSERT_OK(pthread_join(tp, NULL));
	ASSERT_OK(pthread_join(tc, NULL));

	/* The consumer hashed padded payloads; hash the producer's stream the same way. */
	uint64_t seed = 0x1234567887654321ull, want = 0;
	static uint8_t buf[MAX_PAYLOAD + 8];
	for (uint32_t seq = 0; seq < NPACKETS; seq++) {
		uint32_t len = 4 + (uint32_t)(rng_next(&seed) % (MAX_PAYLOAD - 4));
		memset(buf, 0, sizeof(buf));
		make_payload(buf, len, seq);
		want = checksum(want, buf, (len + 7) & ~7u);
	}
	ASSERT_UEQ(sh.recv_sum, want);
	printf("stress: %u packets, checksum %016llx, %llu data signals, %llu space signals\n",
	       NPACKETS, (unsigned long long)sh.recv_sum, (unsigned long long)sh.signals_data,
	       (unsigned long long)sh.signals_space);
	test_ring_mem_free(&sh.m);
	close(sh.data_efd);
	close(sh.space_efd);
	return 0;
}
