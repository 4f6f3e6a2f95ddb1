/* SPDX-License-Identifier: MIT */
/*
 * lib/vmbusdev against a stand-in vmbusd on a socketpair: offers go out on registration
 * with the ids and fields the device gave; a channel described after registration (a
 * sub-channel the guest asked for) is offered at once; guest RAM whose seals are not final
 * or that is too small fails the open; an open the device refuses is
 * answered with its reason and not closed again; a GPADL is kept, refused when its range
 * does not match its pages, and dropped on VmbusdGpadlRemove.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guestmem.h"
#include "ipc.h"
#include "test.h"
#include "vmbus.pb-c.h"
#include "vmbusdev.h"

struct peer {
	struct ipc_chan *ch;
	uint32_t offers, last_sub_index, last_offer_id;
	int replies, errors;
	char last_error[128];
};

static struct peer peer;
static int opens, closes, refuse;

static void peer_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	(void)opaque;
	ASSERT_EQ(msg->type, IPC_MSG_VP_DEVICE_OFFER);
	Mhcl__Vmbus__DeviceOffer *m = (Mhcl__Vmbus__DeviceOffer *)ipc_msg_unpack(
	    ch, msg, &mhcl__vmbus__device_offer__descriptor);
	ASSERT_TRUE(m != NULL);
	ASSERT_EQ(m->if_type.len, 16);
	peer.offers++;
	peer.last_sub_index = m->sub_channel_index;
	peer.last_offer_id = m->offer_id;
	protobuf_c_message_free_unpacked(&m->base, NULL);
	Mhcl__Vmbus__VmbusdOfferReply rep = MHCL__VMBUS__VMBUSD_OFFER_REPLY__INIT;
	ASSERT_OK(ipc_chan_reply(ch, msg->request_id, msg->type, &rep.base, NULL, 0));
}

static const struct ipc_chan_ops peer_ops = {.on_request = peer_request};

static void reply_cb(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	(void)ch;
	(void)opaque;
	if (status == -EREMOTEIO && reply) {
		peer.errors++;
		(void)ipc_msg_error(reply, peer.last_error, sizeof(peer.last_error));
	} else {
		ASSERT_OK(status);
		peer.replies++;
	}
}

static int op_open(struct vmbusdev_chan *c, bool resume, void *opaque, const char **why)
{
	(void)c;
	(void)resume;
	(void)opaque;
	if (refuse) {
		*why = "refused by the test device";
		return -EPERM;
	}
	opens++;
	return 0;
}

static void op_signaled(struct vmbusdev_chan *c, void *opaque)
{
	(void)c;
	(void)opaque;
}

static void op_close(struct vmbusdev_chan *c, void *opaque)
{
	(void)c;
	(void)opaque;
	closes++;
}

static const struct vmbusdev_chan_ops ops = {
    .open = op_open, .signaled = op_signaled, .close = op_close};

static void settle(uv_loop_t *loop)
{
	for (int i = 0; i < 50; i++)
		uv_run(loop, UV_RUN_NOWAIT);
}

static struct vmbusdev_chan *add_chan(struct vmbusdev *v, uint32_t sub_index)
{
	static uint8_t type[16] = {1}, inst[16] = {2};
	Mhcl__Vmbus__DeviceOffer o = MHCL__VMBUS__DEVICE_OFFER__INIT;
	struct vmbusdev_chan *c = NULL;

	o.if_type = (ProtobufCBinaryData){16, type};
	o.if_instance = (ProtobufCBinaryData){16, inst};
	o.sub_channel_index = sub_index;
	ASSERT_OK(vmbusdev_chan_new(v, &o, &ops, NULL, &c));
	return c;
}

/* VmbusdChannelOpen for offer 1 over an 8-page ring at pfn 16, with RAM on the first open. */
static void send_open(uv_loop_t *loop, struct guestmem *gm, bool with_ram)
{
	Mhcl__Vmbus__VmbusdChannelOpen m = MHCL__VMBUS__VMBUSD_CHANNEL_OPEN__INIT;
	Mhcl__Vmbus__RamRange rr = MHCL__VMBUS__RAM_RANGE__INIT, *rrp = &rr;
	uint64_t pfns[8];
	int fds[3], n = 0;

	for (int i = 0; i < 8; i++)
		pfns[i] = 16 + (uint64_t)i;
	m.offer_id = 1;
	m.relid = 5;
	m.n_pfns = 8;
	m.pfns = pfns;
	m.downstream_page = 4;
	m.partition = 1;
	if (with_ram) {
		rr.size = gm->layout.ranges[0].size;
		m.n_ram = 1;
		m.ram = &rrp;
		fds[n++] = gm->memfd;
	}
	fds[n++] = eventfd(0, EFD_CLOEXEC);
	fds[n++] = eventfd(0, EFD_CLOEXEC);
	ASSERT_OK(ipc_chan_request(peer.ch, IPC_MSG_VP_CHANNEL_OPEN, &m.base, fds, (size_t)n, 0,
				   reply_cb, NULL));
	close(fds[n - 1]);
	close(fds[n - 2]);
	settle(loop);
}

static int memfd_sealed(size_t size, int seals)
{
	int fd = memfd_create("test-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	ASSERT_GE(fd, 0);
	ASSERT_OK(ftruncate(fd, (off_t)size));
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, seals));
	return fd;
}

static void send_gpadl(uv_loop_t *loop, uint32_t id, uint32_t byte_count)
{
	Mhcl__Vmbus__VmbusdGpadlAdd m = MHCL__VMBUS__VMBUSD_GPADL_ADD__INIT;
	Mhcl__Vmbus__GpadlRange r = MHCL__VMBUS__GPADL_RANGE__INIT, *rp = &r;
	uint64_t pfns[2] = {40, 41};

	r.byte_count = byte_count;
	r.pfn_count = 2;
	m.offer_id = 1;
	m.relid = 5;
	m.gpadl = id;
	m.n_ranges = 1;
	m.ranges = &rp;
	m.n_pfns = 2;
	m.pfns = pfns;
	m.partition = 1;
	ASSERT_OK(
	    ipc_chan_request(peer.ch, IPC_MSG_VP_GPADL_ADD, &m.base, NULL, 0, 0, reply_cb, NULL));
	settle(loop);
}

int main(void)
{
	uv_loop_t loop;
	struct vmbusdev *v;
	struct guestmem gm;
	struct iovec iov[4];
	int sp[2];

	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(ipc_socketpair(sp));
	ASSERT_OK(ipc_chan_open(&loop, sp[0], IPC_TRANSPORT_SEQPACKET, &peer_ops, NULL, &peer.ch));
	ASSERT_OK(vmbusdev_attach(&loop, sp[1], NULL, NULL, &v));
	ASSERT_OK(guestmem_create(1u << 20, &gm));

	struct vmbusdev_chan *primary = add_chan(v, 0);
	ASSERT_OK(vmbusdev_register(v));
	settle(&loop);
	ASSERT_EQ(peer.offers, 1);
	ASSERT_EQ(peer.last_offer_id, 1);
	ASSERT_EQ(vmbusdev_register(v), -EALREADY);

	/* A sub-channel described later is offered at once. */
	(void)add_chan(v, 1);
	settle(&loop);
	ASSERT_EQ(peer.offers, 2);
	ASSERT_EQ(peer.last_sub_index, 1);
	ASSERT_EQ(peer.last_offer_id, 2);

	/* Guest RAM the worker could still shrink (its seals are not final), then RAM too
	 * small for the layout: the open fails with the reason, the device goes on. */
	struct guestmem bad = gm;
	bad.memfd = memfd_sealed(1u << 20, F_SEAL_SHRINK | F_SEAL_GROW);
	send_open(&loop, &bad, true);
	ASSERT_EQ(peer.errors, 1);
	ASSERT_TRUE(strstr(peer.last_error, "F_SEAL_SEAL") != NULL);
	close(bad.memfd);
	bad.memfd = memfd_sealed(1u << 19, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	send_open(&loop, &bad, true);
	ASSERT_EQ(peer.errors, 2);
	ASSERT_TRUE(strstr(peer.last_error, "smaller") != NULL);
	close(bad.memfd);
	ASSERT_FALSE(vmbusdev_chan_is_open(primary));

	/* A refused open: answered with the reason, never closed. */
	refuse = 1;
	send_open(&loop, &gm, true);
	ASSERT_EQ(peer.errors, 3);
	ASSERT_TRUE(strstr(peer.last_error, "refused by the test device") != NULL);
	ASSERT_FALSE(vmbusdev_chan_is_open(primary));
	ASSERT_EQ(closes, 0);

	/* An accepted open, then GPADLs. */
	refuse = 0;
	send_open(&loop, &gm, false);
	ASSERT_EQ(peer.replies, 1);
	ASSERT_TRUE(vmbusdev_chan_is_open(primary));
	ASSERT_EQ(opens, 1);
	send_gpadl(&loop, 0x77, 2 * 4096 + 1); /* more bytes than its pages hold */
	ASSERT_EQ(peer.errors, 4);
	ASSERT_TRUE(vmbusdev_chan_gpadl(primary, 0x77) == NULL);
	send_gpadl(&loop, 0x78, 6000);
	ASSERT_EQ(peer.replies, 2);
	const struct vmbusdev_gpadl *g = vmbusdev_chan_gpadl(primary, 0x78);
	ASSERT_TRUE(g != NULL);
	ASSERT_EQ(vmbusdev_gpadl_iov(primary, g, 0, 6000, iov, 4), 1); /* pfns 40, 41 adjoin */
	ASSERT_EQ(iov[0].iov_len, 6000);
	ASSERT_EQ(vmbusdev_gpadl_iov(primary, g, 5000, 1001, iov, 4), -ERANGE);
	send_gpadl(&loop, 0x78, 6000);
	ASSERT_EQ(peer.errors, 5); /* known already */

	Mhcl__Vmbus__VmbusdGpadlRemove rm = MHCL__VMBUS__VMBUSD_GPADL_REMOVE__INIT;
	rm.offer_id = 1;
	rm.relid = 5;
	rm.gpadl = 0x78;
	ASSERT_OK(ipc_chan_request(peer.ch, IPC_MSG_VP_GPADL_REMOVE, &rm.base, NULL, 0, 0, reply_cb,
				   NULL));
	settle(&loop);
	ASSERT_EQ(peer.replies, 3);
	ASSERT_TRUE(vmbusdev_chan_gpadl(primary, 0x78) == NULL);

	vmbusdev_free(v);
	ASSERT_EQ(closes, 1);
	ipc_chan_close(peer.ch);
	settle(&loop);
	ASSERT_OK(uv_loop_close(&loop));
	guestmem_release(&gm);
	return 0;
}
