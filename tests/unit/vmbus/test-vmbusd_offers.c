/* SPDX-License-Identifier: MIT */
/*
 * mhcl-vmbusd's device offer policy (servers/vmbus/vmbusd.c, vmbusd_policy.c), in process:
 * vmbusd on a loop, device servers and the worker on socketpairs it takes as from its
 * listeners, each a lib/ipc channel here. A device's identity is the peer uid of its
 * connection; the kernel records the uid that created the pair, so a device of another
 * uid is a pair made with that effective uid (needs root; those parts are skipped
 * otherwise).
 *
 *   - --device-allow / --device-offer-quota parsing refuses bad input, p unchanged;
 *   - with a policy, a uid without an entry is refused at connect, and a device may
 *     offer only its own instance GUIDs (not another uid's, not unlisted ones);
 *   - a sub-channel needs its primary on the same connection;
 *   - a device flooding offers stops at its quota while another keeps and adds its own;
 *   - in its grace period, only the same uid adopts a device's offers;
 *   - the record a restarted vmbusd takes over keeps each offer's owner uid: another uid
 *     cannot adopt, the owner can, and a policy that no longer allows it refuses it;
 *   - the worker's guest RAM must be a memfd sealed for good and big enough;
 *   - the inspect tree shows each device's uid and policy.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guestmem.h"
#include "inspect.h"
#include "ipc.h"
#include "test.h"
#include "vmbus.h"
#include "vmbus.pb-c.h"
#include "vmbusd.h"
#include "vmbusd_internal.h"
#include "vmbusd_policy.h"

#define OTHER_UID 4242u	   /* a device server's own uid (root only) */
#define STRANGER_UID 4343u /* a uid the policy does not name (root only) */
#define RAM_BYTES (1u << 20)

/* Instance GUIDs: A is ours, B the other uid's, C nobody's. */
#define GUID_A "6d686331-0001-4862-8000-686561727401"
#define GUID_B "6d686332-0000-5343-8000-73746f720001"
#define GUID_C "6d686333-0000-4e49-8000-6e6963000001"

static const uint8_t if_type[16] = {0xd9, 0x63, 0x61, 0xba, 0xa1, 0x04, 0x29, 0x4d,
				    0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f};

struct peer {
	struct ipc_chan *ch;
	int fd; /* the test's end of the connection (the channel owns it) */
	bool closed;
	uint32_t next_offer;
	int status; /* the last answer: 0 or -errno */
	char why[256];
};

static uv_loop_t loop;

static void settle(void)
{
	for (int i = 0; i < 20; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
}

static void peer_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct peer *p = opaque;

	(void)ch;
	(void)reason;
	p->closed = true;
	p->ch = NULL;
}

/* The worker answers what vmbusd asks of it: SINT irqfds and doorbell routes. */
static void worker_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	(void)opaque;
	if (msg->type == IPC_MSG_VP_SINT_IRQFD) {
		Mhcl__Vmbus__WorkerSintIrqfd r = MHCL__VMBUS__WORKER_SINT_IRQFD__INIT;
		int fd = eventfd(0, EFD_CLOEXEC);
		ASSERT_GE(fd, 0);
		ASSERT_OK(ipc_chan_reply(ch, msg->request_id, msg->type, &r.base, &fd, 1));
		close(fd);
		return;
	}
	Mhcl__Vmbus__WorkerPortReply r = MHCL__VMBUS__WORKER_PORT_REPLY__INIT;
	ASSERT_OK(ipc_chan_reply(ch, msg->request_id, msg->type, &r.base, NULL, 0));
}

static const struct ipc_chan_ops worker_ops = {.on_request = worker_request,
					       .on_close = peer_close};
static const struct ipc_chan_ops device_ops = {.on_close = peer_close};

/* A socketpair whose peer credentials say uid: made with that effective uid. */
static void pair_as(uint32_t uid, int sp[2])
{
	bool other = uid != geteuid();

	if (other)
		ASSERT_OK(seteuid(uid));
	ASSERT_OK(ipc_socketpair(sp));
	if (other)
		ASSERT_OK(seteuid(0));
}

/* A device server of uid connects; returns vmbusd's answer (0 or -errno). */
static int device_connect(struct vmbusd *d, uint32_t uid, struct peer *p)
{
	int sp[2], r;

	*p = (struct peer){.next_offer = 1};
	pair_as(uid, sp);
	r = vmbusd_attach_device(d, sp[1]);
	p->fd = sp[0];
	ASSERT_OK(ipc_chan_open(&loop, sp[0], IPC_TRANSPORT_SEQPACKET, &device_ops, p, &p->ch));
	settle();
	return r;
}

static void hang_up(struct peer *p)
{
	if (p->ch)
		ipc_chan_close(p->ch);
	settle();
	ASSERT_TRUE(p->closed);
}

static void answer(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct peer *p = opaque;

	(void)ch;
	p->why[0] = 0;
	p->status = status;
	if (status == -EREMOTEIO && reply)
		p->status = ipc_msg_error(reply, p->why, sizeof(p->why));
}

/* Offers (instance, sub-channel) as the device would; vmbusd's answer, 0 or -errno. */
static int offer(struct peer *p, const char *instance, uint32_t sub)
{
	Mhcl__Vmbus__DeviceOffer m = MHCL__VMBUS__DEVICE_OFFER__INIT;
	struct hv_guid g;

	ASSERT_OK(vmbus_guid_from_string(instance, &g));
	m.offer_id = p->next_offer++;
	m.if_type = (ProtobufCBinaryData){16, (uint8_t *)if_type};
	m.if_instance = (ProtobufCBinaryData){16, g.b};
	m.sub_channel_index = sub;
	p->status = 1;
	ASSERT_OK(ipc_chan_request(p->ch, IPC_MSG_VP_DEVICE_OFFER, &m.base, NULL, 0, 0, answer, p));
	settle();
	ASSERT_NE(p->status, 1);
	return p->status;
}

/* A distinct instance GUID per n. */
static const char *nth_guid(unsigned n, char buf[VMBUS_GUID_STRING_MAX])
{
	snprintf(buf, VMBUS_GUID_STRING_MAX, "%08x-0000-4000-8000-0000000000aa", n);
	return buf;
}

/* The slot holding (instance, sub), or NULL. */
static struct dev_offer *slot_of(struct vmbusd *d, const char *instance, uint32_t sub)
{
	struct hv_guid g;

	ASSERT_OK(vmbus_guid_from_string(instance, &g));
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		struct dev_offer *o = &d->offers[i];
		if (o->dev && !memcmp(&o->offer.if_instance, &g, sizeof(g)) &&
		    o->offer.sub_channel_index == sub)
			return o;
	}
	return NULL;
}

static struct vmbusd *vmbusd_up(const struct vmbusd_policy *policy)
{
	struct vmbusd *d;

	ASSERT_OK(vmbusd_new(&loop, NULL, -1, -1, &d));
	if (policy)
		vmbusd_set_policy(d, policy);
	return d;
}

static void vmbusd_down(struct vmbusd *d)
{
	vmbusd_stop(NULL, d);
	for (int i = 0; i < 100 && uv_run(&loop, UV_RUN_DEFAULT); i++)
		;
	vmbusd_free(d);
	uv_run(&loop, UV_RUN_NOWAIT); /* vmbusd's timer closes */
}

static void policy_of(struct vmbusd_policy *p, const char *const *allow, size_t n)
{
	const char *why = "";

	vmbusd_policy_init(p);
	for (size_t i = 0; i < n; i++)
		ASSERT_OK(vmbusd_policy_add_allow(p, allow[i], &why));
}

/* ---- parsing ---- */

static void test_parse(void)
{
	struct vmbusd_policy p, before;
	const char *why = "";
	char arg[64 * 40];
	struct hv_guid a, b;

	vmbusd_policy_init(&p);
	ASSERT_FALSE(vmbusd_policy_restricted(&p));
	ASSERT_EQ(p.quota, VMBUSD_DEFAULT_OFFER_QUOTA);
	ASSERT_TRUE(vmbusd_policy_admits(&p, 12345));

	static const char *const bad[] = {
	    "",
	    "100",
	    "=" GUID_A,
	    "-1=" GUID_A,
	    "+100=" GUID_A,
	    " 100=" GUID_A,
	    "4294967295=" GUID_A, /* (uid_t)-1 */
	    "4294967296=" GUID_A,
	    "100=",
	    "100=" GUID_A ",",
	    "100=," GUID_A,
	    "100=" GUID_A " ",
	    "100=" GUID_A "," GUID_A, /* twice */
	    "100=6d686331-0001-4862-8000-68656172740",
	    "100=6d686331-0001-4862-8000-6865617274011",
	    "100={6d686331-0001-4862-8000-686561727401}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ASSERT_EQ(vmbusd_policy_add_allow(&p, bad[i], &why), -EINVAL);
		ASSERT_TRUE(why && why[0]);
		ASSERT_FALSE(vmbusd_policy_restricted(&p));
	}

	ASSERT_OK(vmbusd_policy_add_allow(&p, "100=" GUID_A, &why));
	ASSERT_OK(vmbusd_policy_add_allow(&p, "0=" GUID_B "," GUID_C, &why));
	before = p;
	/* One owner per instance, and the same uid again only adds new GUIDs. */
	ASSERT_EQ(vmbusd_policy_add_allow(&p, "100=" GUID_B, &why), -EINVAL);
	ASSERT_STREQ(why, "an instance GUID is already allowed to another uid");
	ASSERT_EQ(vmbusd_policy_add_allow(&p, "100=" GUID_A, &why), -EINVAL);
	ASSERT_STREQ(why, "an instance GUID is listed twice");
	ASSERT_OK(memcmp(&p, &before, sizeof(p)));
	ASSERT_TRUE(vmbusd_policy_restricted(&p));
	ASSERT_EQ(p.nentries, 2);

	ASSERT_OK(vmbus_guid_from_string(GUID_A, &a));
	ASSERT_OK(vmbus_guid_from_string(GUID_B, &b));
	ASSERT_TRUE(vmbusd_policy_allows(&p, 100, &a));
	ASSERT_FALSE(vmbusd_policy_allows(&p, 100, &b));
	ASSERT_TRUE(vmbusd_policy_allows(&p, 0, &b));
	ASSERT_FALSE(vmbusd_policy_allows(&p, 7, &a));
	ASSERT_TRUE(vmbusd_policy_admits(&p, 0));
	ASSERT_FALSE(vmbusd_policy_admits(&p, 7));

	/* Bounds: 32 instances per uid, 16 uids. */
	vmbusd_policy_init(&p);
	int n = snprintf(arg, sizeof(arg), "5=");
	for (unsigned i = 0; i < VMBUSD_POLICY_MAX_INSTANCES + 1; i++) {
		char g[VMBUS_GUID_STRING_MAX];
		n += snprintf(arg + n, sizeof(arg) - (size_t)n, "%s%s", i ? "," : "",
			      nth_guid(i, g));
	}
	ASSERT_EQ(vmbusd_policy_add_allow(&p, arg, &why), -E2BIG);
	ASSERT_EQ(p.nentries, 0);
	for (unsigned i = 0; i < VMBUSD_POLICY_MAX_UIDS; i++) {
		char g[VMBUS_GUID_STRING_MAX];
		snprintf(arg, sizeof(arg), "%u=%s", 1000 + i, nth_guid(i, g));
		ASSERT_OK(vmbusd_policy_add_allow(&p, arg, &why));
	}
	ASSERT_EQ(vmbusd_policy_add_allow(&p, "99=" GUID_A, &why), -E2BIG);

	static const char *const bad_quota[] = {"", "0", "129", "-1", "12x", " 5", "99999999999"};
	for (size_t i = 0; i < sizeof(bad_quota) / sizeof(bad_quota[0]); i++)
		ASSERT_EQ(vmbusd_policy_set_quota(&p, bad_quota[i], &why), -EINVAL);
	ASSERT_EQ(p.quota, VMBUSD_DEFAULT_OFFER_QUOTA);
	ASSERT_OK(vmbusd_policy_set_quota(&p, "128", &why));
	ASSERT_EQ(p.quota, 128);
}

/* ---- a restricted vmbusd ---- */

static void test_disallowed_uid_refused(void)
{
	char allow[64];
	struct vmbusd_policy p;
	struct vmbusd *d;
	struct peer dev;

	/* A policy naming only another uid: this process's connection is refused. */
	snprintf(allow, sizeof(allow), "%u=" GUID_A, (unsigned)geteuid() + 1);
	const char *const list[] = {allow};
	policy_of(&p, list, 1);
	d = vmbusd_up(&p);
	ASSERT_EQ(device_connect(d, geteuid(), &dev), -EPERM);
	ASSERT_TRUE(dev.closed); /* vmbusd hung up */
	ASSERT_EQ(d->refused_devices, 1);
	ASSERT_EQ(d->devices, 0);
	vmbusd_down(d);
}

static void test_own_guids_only(void)
{
	char allow[2][64];
	struct vmbusd_policy p;
	struct vmbusd *d;
	struct peer dev, other, stranger;

	snprintf(allow[0], sizeof(allow[0]), "%u=" GUID_A, (unsigned)geteuid());
	snprintf(allow[1], sizeof(allow[1]), "%u=" GUID_B, OTHER_UID);
	const char *const list[] = {allow[0], allow[1]};
	policy_of(&p, list, 2);
	d = vmbusd_up(&p);
	ASSERT_OK(device_connect(d, geteuid(), &dev));
	ASSERT_OK(offer(&dev, GUID_A, 0));
	ASSERT_OK(offer(&dev, GUID_A, 1));
	/* Another uid's instance, and one nobody may offer. */
	ASSERT_EQ(offer(&dev, GUID_B, 0), -EPERM);
	ASSERT_TRUE(strstr(dev.why, "may not offer instance " GUID_B) != NULL);
	ASSERT_EQ(offer(&dev, GUID_C, 0), -EPERM);
	ASSERT_EQ(d->bad_device_messages, 2);
	ASSERT_TRUE(slot_of(d, GUID_B, 0) == NULL && slot_of(d, GUID_C, 0) == NULL);
	ASSERT_TRUE(slot_of(d, GUID_A, 1) != NULL);

	if (geteuid() == 0) {
		/* The other uid may offer its own, a stranger may not even connect. */
		ASSERT_OK(device_connect(d, OTHER_UID, &other));
		ASSERT_EQ(offer(&other, GUID_A, 2), -EPERM);
		ASSERT_OK(offer(&other, GUID_B, 0));
		ASSERT_EQ(slot_of(d, GUID_B, 0)->owner_uid, OTHER_UID);
		ASSERT_EQ(device_connect(d, STRANGER_UID, &stranger), -EPERM);
		ASSERT_TRUE(stranger.closed);
		hang_up(&other);
	} else {
		printf("skipped (not root): a device of another uid\n");
	}

	/* Inspect shows the device's uid and what it may offer. */
	struct inspect_tree *t = inspect_tree_new("vmbusd");
	char path[64];
	uint32_t slot = (uint32_t)(slot_of(d, GUID_A, 0)->dev - d->devs);
	vmbusd_inspect(NULL, t, inspect_tree_root(t), d);
	snprintf(path, sizeof(path), "devices/dev%u/uid", slot);
	ASSERT_UEQ(inspect_find(inspect_tree_root(t), path)->u64, geteuid());
	snprintf(path, sizeof(path), "devices/dev%u/policy/allowed_instances/0", slot);
	ASSERT_STREQ(inspect_find(inspect_tree_root(t), path)->str, GUID_A);
	snprintf(path, sizeof(path), "devices/dev%u/policy/offer_quota", slot);
	ASSERT_UEQ(inspect_find(inspect_tree_root(t), path)->u64, VMBUSD_DEFAULT_OFFER_QUOTA);
	snprintf(path, sizeof(path), "devices/dev%u/refused_offers", slot);
	ASSERT_UEQ(inspect_find(inspect_tree_root(t), path)->u64, 2);
	ASSERT_TRUE(inspect_find(inspect_tree_root(t), "devices/offers_restricted")->boolean);
	inspect_tree_free(t);

	hang_up(&dev);
	vmbusd_down(d);
}

/* ---- sub-channels and the quota ---- */

static void test_subchannel_needs_primary(void)
{
	struct vmbusd *d = vmbusd_up(NULL);
	struct peer a, b;

	ASSERT_OK(device_connect(d, geteuid(), &a));
	ASSERT_OK(device_connect(d, geteuid(), &b));
	ASSERT_EQ(offer(&a, GUID_A, 1), -ENOENT);
	ASSERT_TRUE(strstr(a.why, "has not offered its primary") != NULL);
	ASSERT_OK(offer(&a, GUID_A, 0));
	ASSERT_OK(offer(&a, GUID_A, 1));
	/* Another connection's primary does not count, even for the same uid. */
	ASSERT_EQ(offer(&b, GUID_A, 2), -ENOENT);
	ASSERT_EQ(d->bad_device_messages, 2);
	ASSERT_TRUE(slot_of(d, GUID_A, 2) == NULL);
	hang_up(&a);
	hang_up(&b);
	vmbusd_down(d);
}

static void test_quota(void)
{
	struct vmbusd *d = vmbusd_up(NULL);
	char g[VMBUS_GUID_STRING_MAX];
	struct vmbusd_policy p;
	struct peer legit, flood;
	const char *why;
	unsigned refused = 0;

	ASSERT_OK(device_connect(d, geteuid(), &legit));
	ASSERT_OK(device_connect(d, geteuid(), &flood));
	ASSERT_OK(offer(&legit, GUID_A, 0));
	ASSERT_OK(offer(&legit, GUID_A, 1));
	for (unsigned i = 0; i < VMBUSD_DEFAULT_OFFER_QUOTA + 10; i++) {
		int r = offer(&flood, nth_guid(i, g), 0);
		if (i < VMBUSD_DEFAULT_OFFER_QUOTA) {
			ASSERT_OK(r);
		} else {
			ASSERT_EQ(r, -EDQUOT);
			refused++;
		}
	}
	ASSERT_TRUE(strstr(flood.why, "quota of 64 offers") != NULL);
	ASSERT_EQ(d->bad_device_messages, refused);
	ASSERT_FALSE(flood.closed); /* refused, not cut off */
	/* The other device keeps its channels and still has room for more. */
	struct device *ldev = slot_of(d, GUID_A, 0)->dev;
	ASSERT_TRUE(ldev->ch != NULL && slot_of(d, GUID_A, 1)->dev == ldev);
	ASSERT_OK(offer(&legit, GUID_B, 0));
	ASSERT_TRUE(slot_of(d, GUID_B, 0)->dev == ldev);

	/* A smaller quota counts sub-channels too. */
	vmbusd_policy_init(&p);
	ASSERT_OK(vmbusd_policy_set_quota(&p, "4", &why));
	vmbusd_set_policy(d, &p);
	ASSERT_OK(offer(&legit, GUID_B, 1));
	ASSERT_EQ(offer(&legit, GUID_B, 2), -EDQUOT);
	hang_up(&legit);
	hang_up(&flood);
	vmbusd_down(d);
}

/* ---- restarts ---- */

/* The worker attaches guest RAM memfd (borrowed); the answer, 0 or -errno. */
static int worker_attach(struct vmbusd *d, struct peer *w, int memfd, bool reattach)
{
	Mhcl__Vmbus__WorkerPartition pi = MHCL__VMBUS__WORKER_PARTITION__INIT;
	Mhcl__Vmbus__RamRange rr = MHCL__VMBUS__RAM_RANGE__INIT, *rrp = &rr;
	int sp[2];

	*w = (struct peer){0};
	ASSERT_OK(ipc_socketpair(sp));
	ASSERT_OK(vmbusd_attach_worker(d, sp[1]));
	ASSERT_OK(ipc_chan_open(&loop, sp[0], IPC_TRANSPORT_SEQPACKET, &worker_ops, w, &w->ch));
	rr.size = RAM_BYTES;
	pi.vp_count = 1;
	pi.n_ram = 1;
	pi.ram = &rrp;
	pi.reattach = reattach;
	w->status = 1;
	ASSERT_OK(ipc_chan_request(w->ch, IPC_MSG_VP_PARTITION, &pi.base, &memfd, 1, 0, answer, w));
	settle();
	ASSERT_NE(w->status, 1);
	return w->status;
}

static int memfd_sealed(size_t size, int seals)
{
	int fd = memfd_create("test-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	ASSERT_GE(fd, 0);
	ASSERT_OK(ftruncate(fd, (off_t)size));
	if (seals)
		ASSERT_OK(fcntl(fd, F_ADD_SEALS, seals));
	return fd;
}

static void test_guest_ram_sealed(void)
{
	struct vmbusd *d = vmbusd_up(NULL);
	struct peer w;
	int fd;

	fd = memfd_sealed(RAM_BYTES, F_SEAL_SHRINK); /* the worker could add seals later */
	ASSERT_EQ(worker_attach(d, &w, fd, false), -EINVAL);
	ASSERT_TRUE(strstr(w.why, "F_SEAL_SEAL") != NULL);
	close(fd);
	hang_up(&w);
	fd = memfd_sealed(RAM_BYTES, 0);
	ASSERT_EQ(worker_attach(d, &w, fd, false), -EINVAL);
	ASSERT_STREQ(w.why, "the memfd is not sealed against shrinking");
	close(fd);
	hang_up(&w);
	fd = memfd_sealed(RAM_BYTES / 2, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	ASSERT_EQ(worker_attach(d, &w, fd, false), -EINVAL);
	ASSERT_STREQ(w.why, "the memfd is smaller than the RAM ranges");
	close(fd);
	hang_up(&w);
	fd = memfd_sealed(RAM_BYTES, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	ASSERT_OK(worker_attach(d, &w, fd, false));
	close(fd);
	hang_up(&w);
	vmbusd_down(d);
}

/* Offers GUID_B 0 and 1 wait in their grace period: a device of another uid cannot take
 * them (EEXIST), the next instance of OTHER_UID adopts both. */
static void only_owner_adopts(struct vmbusd *d)
{
	struct peer thief, next;

	ASSERT_OK(device_connect(d, 0, &thief));
	ASSERT_EQ(offer(&thief, GUID_B, 0), -EEXIST);
	ASSERT_EQ(d->adopted, 0);
	ASSERT_TRUE(slot_of(d, GUID_B, 0)->dev->in_grace);
	ASSERT_OK(device_connect(d, OTHER_UID, &next));
	ASSERT_OK(offer(&next, GUID_B, 0));
	ASSERT_OK(offer(&next, GUID_B, 1));
	ASSERT_EQ(d->adopted, 2);
	ASSERT_TRUE(slot_of(d, GUID_B, 1)->dev->ch != NULL);
	ASSERT_EQ(slot_of(d, GUID_B, 1)->owner_uid, OTHER_UID);
	hang_up(&thief);
	hang_up(&next);
}

/* A device that left keeps its offers for its next instance: of its uid only. */
static void test_adoption_same_uid_only(void)
{
	struct vmbusd *d = vmbusd_up(NULL); /* unrestricted: the uid check holds anyway */
	struct peer owner;

	ASSERT_OK(device_connect(d, OTHER_UID, &owner));
	ASSERT_OK(offer(&owner, GUID_B, 0));
	ASSERT_OK(offer(&owner, GUID_B, 1));
	hang_up(&owner);
	only_owner_adopts(d);
	vmbusd_down(d);
}

/* A restarting device's next instance registers before vmbusd has read the end of the
 * last instance's connection (the offer is queued before the hang-up, so vmbusd takes it
 * first): the hung-up predecessor is retired and its offer adopted, not refused as
 * another device's. A live predecessor still keeps it. */
static void test_successor_before_eof(void)
{
	struct vmbusd *d = vmbusd_up(NULL);
	struct peer owner, next, twin;
	Mhcl__Vmbus__DeviceOffer m = MHCL__VMBUS__DEVICE_OFFER__INIT;
	struct hv_guid g;

	ASSERT_OK(device_connect(d, 0, &owner));
	ASSERT_OK(offer(&owner, GUID_A, 0));
	ASSERT_OK(device_connect(d, 0, &twin));
	ASSERT_EQ(offer(&twin, GUID_A, 0), -EEXIST); /* the owner lives */
	ASSERT_OK(device_connect(d, 0, &next));
	ASSERT_OK(vmbus_guid_from_string(GUID_A, &g));
	m.offer_id = next.next_offer++;
	m.if_type = (ProtobufCBinaryData){16, (uint8_t *)if_type};
	m.if_instance = (ProtobufCBinaryData){16, g.b};
	next.status = 1;
	ASSERT_OK(
	    ipc_chan_request(next.ch, IPC_MSG_VP_DEVICE_OFFER, &m.base, NULL, 0, 0, answer, &next));
	ASSERT_OK(shutdown(owner.fd, SHUT_RDWR));
	settle();
	ASSERT_OK(next.status);
	ASSERT_EQ(d->adopted, 1);
	ASSERT_TRUE(slot_of(d, GUID_A, 0)->dev->ch != NULL);
	hang_up(&twin);
	hang_up(&next);
	settle();
	vmbusd_down(d);
}

/* The record names each offer's owner; a restarted vmbusd keeps enforcing it. */
static void test_record_keeps_owner(void)
{
	struct vmbusd_store *st;
	struct vmbusd_policy p;
	struct vmbusd *d;
	struct peer w, owner;
	int ram = memfd_sealed(RAM_BYTES, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	int store, store2;

	d = vmbusd_up(NULL);
	ASSERT_OK(vmbusd_store_create(&st));
	vmbusd_set_store(d, st);
	store = dup(vmbusd_store_fd(st));
	store2 = dup(store);
	ASSERT_TRUE(store >= 0 && store2 >= 0);
	ASSERT_OK(worker_attach(d, &w, ram, false));
	ASSERT_OK(device_connect(d, OTHER_UID, &owner));
	ASSERT_OK(offer(&owner, GUID_B, 0));
	ASSERT_OK(offer(&owner, GUID_B, 1));
	ASSERT_GT(d->commits, 0);
	hang_up(&owner);
	hang_up(&w);
	vmbusd_down(d);

	/* The next vmbusd: another uid cannot take the recorded offers, the owner does. */
	d = vmbusd_up(NULL);
	ASSERT_OK(vmbusd_adopt_store(d, store));
	ASSERT_OK(worker_attach(d, &w, ram, true));
	ASSERT_EQ(d->restores, 1);
	ASSERT_EQ(slot_of(d, GUID_B, 1)->owner_uid, OTHER_UID);
	only_owner_adopts(d);
	hang_up(&w);
	vmbusd_down(d);

	/* One whose policy does not let that uid offer it does not take the record. */
	char allow[64];
	snprintf(allow, sizeof(allow), "%u=" GUID_C, OTHER_UID);
	const char *const list[] = {allow};
	policy_of(&p, list, 1);
	d = vmbusd_up(&p);
	ASSERT_OK(vmbusd_adopt_store(d, store2));
	ASSERT_OK(worker_attach(d, &w, ram, true));
	ASSERT_EQ(d->restores, 0);
	ASSERT_TRUE(slot_of(d, GUID_B, 0) == NULL);
	hang_up(&w);
	vmbusd_down(d);
	close(ram);
}

int main(void)
{
	log_set_level(getenv("TEST_VERBOSE") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERR);
	ASSERT_OK(uv_loop_init(&loop));
	test_parse();
	test_disallowed_uid_refused();
	test_own_guids_only();
	test_subchannel_needs_primary();
	test_quota();
	test_guest_ram_sealed();
	test_successor_before_eof();
	if (geteuid() == 0) {
		test_adoption_same_uid_only();
		test_record_keeps_owner();
	} else {
		printf("skipped (not root): adoption and the record across uids\n");
	}
	ASSERT_OK(uv_loop_close(&loop));
	printf("ok\n");
	return 0;
}
