/* SPDX-License-Identifier: MIT */
/*
 * SynIC message and event paths against a simulated guest: the test plays the guest side
 * (reads and frees SIMP slots, writes EOM through the ack eventfd) and hostile hypercall
 * inputs. The partition is a minimal backend whose SINT irqfds are plain eventfds.
 */
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "defs/hv_defs.h"
#include "synic.h"
#include "test_guestmem.h"

#define VPS 2
#define RAM (1u << 20)
#define SIMP_GPA 0x10000ull
#define SIEFP_GPA 0x11000ull
#define INPUT_GPA 0x20000ull

struct partition {
	int irqfd[VPS]; /* test's copy: readable when a SINT was raised */
	int ackfd[VPS]; /* test's copy: write = the guest acknowledged */
	uint32_t event_conn;
	int event_fd;
};

static int sim_sint_irqfd(struct partition *p, uint32_t vp, uint8_t sint, int *ret_irqfd,
			  int *ret_ackfd)
{
	ASSERT_LT(vp, VPS);
	ASSERT_EQ(sint, 2);
	p->irqfd[vp] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->ackfd[vp] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	*ret_irqfd = dup(p->irqfd[vp]);
	*ret_ackfd = dup(p->ackfd[vp]);
	return 0;
}

static int sim_hv_eventfd(struct partition *p, uint32_t conn, int fd)
{
	p->event_conn = conn;
	p->event_fd = fd;
	return 0;
}

static const struct backend_ops sim_ops = {
    .name = "test",
    .sint_irqfd = sim_sint_irqfd,
    .hv_eventfd = sim_hv_eventfd,
};

static struct partition part;
static struct guestmem ram;

static struct hv_message *slot(void)
{
	return (struct hv_message *)test_gm_ptr(&ram, SIMP_GPA + 2 * HV_MESSAGE_SIZE,
						HV_MESSAGE_SIZE);
}

/* Waits for a raised SINT; the timeout only turns a hang into a failure. */
static bool raised(uint32_t vp, int timeout_ms)
{
	struct pollfd p = {.fd = part.irqfd[vp], .events = POLLIN};
	uint64_t v;
	if (poll(&p, 1, timeout_ms) != 1)
		return false;
	ASSERT_EQ(read(part.irqfd[vp], &v, sizeof(v)), sizeof(v));
	return true;
}

/* The guest's side of the slot protocol: consume, free, barrier, EOM if pending. */
static uint32_t guest_consume(uint32_t vp, uint8_t *ret_first)
{
	struct hv_message *m = slot();
	uint32_t type = m->message_type;
	*ret_first = m->payload[0];
	bool pending = m->message_flags & HV_MESSAGE_FLAG_PENDING;
	__atomic_store_n(&m->message_type, 0, __ATOMIC_SEQ_CST);
	if (pending) {
		uint64_t one = 1;
		ASSERT_EQ(write(part.ackfd[vp], &one, sizeof(one)), sizeof(one));
	}
	return type;
}

static uint32_t got_vp, got_conn, got_type, got_len, got_calls;
static uint8_t got_payload[240];

static uint16_t port(void *opaque, uint32_t vp, uint32_t conn, uint32_t type,
		     const uint8_t *payload, uint32_t len)
{
	ASSERT_TRUE(opaque == &part);
	got_vp = vp;
	got_conn = conn;
	got_type = type;
	got_len = len;
	memcpy(got_payload, payload, len);
	got_calls++;
	return HV_STATUS_SUCCESS;
}

static void test_messages(struct hv_synic *s)
{
	uint8_t b[1] = {0}, first;

	/* Queued while the SynIC is off; delivered once the guest enables SCONTROL + SIMP. */
	b[0] = 1;
	ASSERT_OK(hv_synic_post_message(s, 0, 2, 1, b, 1));
	ASSERT_FALSE(raised(0, 0));
	hv_synic_msr_written(s, 0, HV_MSR_SIMP, 1, SIEFP_GPA | 1, SIMP_GPA | 1);
	ASSERT_TRUE(raised(0, 10000));
	ASSERT_EQ(slot()->message_type, 1);
	ASSERT_EQ(slot()->payload_size, 1);
	ASSERT_EQ(slot()->message_flags, 0);

	/* A second message waits behind the busy slot and marks it pending. */
	b[0] = 2;
	ASSERT_OK(hv_synic_post_message(s, 0, 2, 1, b, 1));
	ASSERT_FALSE(raised(0, 0));
	ASSERT_EQ(slot()->payload[0], 1);
	ASSERT_EQ(slot()->message_flags & HV_MESSAGE_FLAG_PENDING, HV_MESSAGE_FLAG_PENDING);
	b[0] = 3;
	ASSERT_OK(hv_synic_post_message(s, 0, 2, 1, b, 1));

	/* Each EOM lets the next one in, in order; the last carries no pending flag. */
	ASSERT_EQ(guest_consume(0, &first), 1);
	ASSERT_EQ(first, 1);
	ASSERT_TRUE(raised(0, 10000));
	ASSERT_EQ(slot()->payload[0], 2);
	ASSERT_EQ(slot()->message_flags & HV_MESSAGE_FLAG_PENDING, HV_MESSAGE_FLAG_PENDING);
	ASSERT_EQ(guest_consume(0, &first), 1);
	ASSERT_TRUE(raised(0, 10000));
	ASSERT_EQ(slot()->payload[0], 3);
	ASSERT_EQ(slot()->message_flags, 0);
	ASSERT_EQ(guest_consume(0, &first), 1);
	ASSERT_EQ(first, 3);

	/* The queue is bounded. */
	int n = 0;
	while (hv_synic_post_message(s, 1, 2, 1, b, 1) == 0)
		n++;
	ASSERT_EQ(n, HV_SYNIC_QUEUE_LEN);
	ASSERT_EQ(hv_synic_post_message(s, 1, 2, 1, b, 1), -EAGAIN);
	ASSERT_EQ(hv_synic_queue_free(s, 1, 2), 0);
	ASSERT_EQ(hv_synic_queue_free(s, 0, 2), HV_SYNIC_QUEUE_LEN);

	/* Bad arguments. */
	uint8_t big[241] = {0};
	ASSERT_EQ(hv_synic_post_message(s, 0, 2, 1, big, sizeof(big)), -EINVAL);
	ASSERT_EQ(hv_synic_post_message(s, VPS, 2, 1, b, 1), -EINVAL);
	ASSERT_EQ(hv_synic_post_message(s, 0, 3, 1, b, 1), -EINVAL);
	ASSERT_EQ(hv_synic_post_message(s, 0, 2, 0, b, 1), -EINVAL);
}

static void test_events(struct hv_synic *s)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	ASSERT_EQ(hv_synic_signal_event(s, 1, 2, 5), -ENXIO); /* VP 1 has no SIEFP */
	ASSERT_OK(hv_synic_signal_event(s, 0, 2, 77));
	ASSERT_TRUE(raised(0, 10000));
	ASSERT_EQ(*test_gm_ptr(&ram, SIEFP_GPA + 2 * 256 + 77 / 8, 1), 1u << (77 % 8));
	ASSERT_EQ(hv_synic_signal_event(s, 0, 2, HV_EVENT_FLAGS_PER_SINT), -EINVAL);

	ASSERT_OK(hv_synic_add_event_port(s, 0x2001, fd));
	ASSERT_EQ(part.event_conn, 0x2001);
	ASSERT_EQ(part.event_fd, fd);
	ASSERT_EQ(hv_synic_add_event_port(s, 0x1000000, fd), -EINVAL);
	close(fd);

	/* SIEFP outside RAM is treated as disabled. */
	hv_synic_msr_written(s, 1, HV_MSR_SIEFP, 1, (RAM + 0x1000) | 1, 0);
	ASSERT_EQ(hv_synic_signal_event(s, 1, 2, 5), -ENXIO);
}

static uint16_t post(struct hv_synic *s, uint64_t control, uint64_t gpa)
{
	return hv_synic_hypercall(s, 1, control, gpa, 0);
}

static void test_post_message_hypercall(struct hv_synic *s)
{
	struct hv_input_post_message in = {
	    .connection_id = 0xab000004, .message_type = 1, .payload_size = 40};
	memset(in.payload, 0xee, sizeof(in.payload));
	in.payload[0] = 14;
	ASSERT_OK(guestmem_write(&ram, INPUT_GPA, &in, sizeof(in)));

	/* No port: how a guest learns the host lacks the service. */
	ASSERT_EQ(post(s, HV_HCALL_POST_MESSAGE, INPUT_GPA), HV_STATUS_INVALID_CONNECTION_ID);
	ASSERT_OK(hv_synic_add_message_port(s, 4, port, &part));
	ASSERT_EQ(hv_synic_add_message_port(s, 4, port, &part), -EEXIST);
	ASSERT_EQ(post(s, HV_HCALL_POST_MESSAGE, INPUT_GPA), HV_STATUS_SUCCESS);
	ASSERT_EQ(got_calls, 1);
	ASSERT_EQ(got_vp, 1);
	ASSERT_EQ(got_conn, 4); /* bits 31:24 of the connection id are ignored */
	ASSERT_EQ(got_type, 1);
	ASSERT_EQ(got_len, 40);
	ASSERT_EQ(got_payload[0], 14);

	/* Hostile inputs never reach the port. */
	ASSERT_EQ(post(s, HV_HCALL_POST_MESSAGE, INPUT_GPA + 4), HV_STATUS_INVALID_ALIGNMENT);
	ASSERT_EQ(post(s, HV_HCALL_POST_MESSAGE, INPUT_GPA + 4096 - 128),
		  HV_STATUS_INVALID_ALIGNMENT);
	ASSERT_EQ(post(s, HV_HCALL_POST_MESSAGE, RAM), HV_STATUS_INVALID_PARAMETER);
	ASSERT_EQ(post(s, HV_HCALL_POST_MESSAGE, ~0ull & ~0xfffull), HV_STATUS_INVALID_PARAMETER);
	ASSERT_EQ(post(s, HV_HCALL_POST_MESSAGE | HV_HCALL_FAST, INPUT_GPA),
		  HV_STATUS_INVALID_HYPERCALL_INPUT);
	in.payload_size = 241;
	ASSERT_OK(guestmem_write(&ram, INPUT_GPA, &in, sizeof(in)));
	ASSERT_EQ(post(s, HV_HCALL_POST_MESSAGE, INPUT_GPA), HV_STATUS_INVALID_PARAMETER);
	in.payload_size = 8;
	in.message_type = 0;
	ASSERT_OK(guestmem_write(&ram, INPUT_GPA, &in, sizeof(in)));
	ASSERT_EQ(post(s, HV_HCALL_POST_MESSAGE, INPUT_GPA), HV_STATUS_INVALID_PARAMETER);
	in.message_type = 0x80000010;
	ASSERT_OK(guestmem_write(&ram, INPUT_GPA, &in, sizeof(in)));
	ASSERT_EQ(post(s, HV_HCALL_POST_MESSAGE, INPUT_GPA), HV_STATUS_INVALID_PARAMETER);
	ASSERT_EQ(got_calls, 1);

	ASSERT_EQ(post(s, HV_HCALL_SIGNAL_EVENT | HV_HCALL_FAST, 0x2001),
		  HV_STATUS_INVALID_CONNECTION_ID);
	ASSERT_EQ(post(s, 0x0046, 0), HV_STATUS_INVALID_HYPERCALL_CODE);
	ASSERT_EQ(hv_synic_hypercall(s, VPS, HV_HCALL_POST_MESSAGE, INPUT_GPA, 0),
		  HV_STATUS_INVALID_PARAMETER);

	ASSERT_OK(hv_synic_remove_message_port(s, 4));
	ASSERT_EQ(hv_synic_remove_message_port(s, 4), -ENOENT);
	in.message_type = 1;
	ASSERT_OK(guestmem_write(&ram, INPUT_GPA, &in, sizeof(in)));
	ASSERT_EQ(post(s, HV_HCALL_POST_MESSAGE, INPUT_GPA), HV_STATUS_INVALID_CONNECTION_ID);
}

int main(void)
{
	struct hv_synic *s;

	ASSERT_OK(guestmem_create(RAM, &ram));
	ASSERT_OK(hv_synic_new(&sim_ops, &part, &ram, VPS, &s));
	test_messages(s);
	test_events(s);
	test_post_message_hypercall(s);
	s = hv_synic_free(s);
	for (int i = 0; i < VPS; i++) {
		close(part.irqfd[i]);
		close(part.ackfd[i]);
	}
	guestmem_release(&ram);
	return 0;
}
