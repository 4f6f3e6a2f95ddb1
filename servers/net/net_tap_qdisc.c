/* SPDX-License-Identifier: MIT */
/*
 * The TAP interface's transmit side: its root qdisc, over rtnetlink (RTM_GETQDISC,
 * RTM_NEWQDISC; the messages of linux/rtnetlink.h and linux/pkt_sched.h), and its queue
 * length. netd sets both as it opens a TAP; the image's preinit sets them for netd, which
 * then needs no net_admin (image/preinit.c compiles this file in).
 *
 * Why noqueue: tun's transmit never stops a queue and never returns busy (a frame for a full
 * ring is dropped), so a qdisc in front of a TAP never holds a frame: frames for the guest
 * wait in each queue's own ring (tx_queue_len). The kernel's default for a multi-queue TAP
 * still builds one mq child per possible queue (256), and raising tx_queue_len resizes
 * every one of them: pfifo_fast keeps three rings of tx_queue_len pointers, so 8192 costs
 * 192 KiB per queue, about 48 MiB of unreclaimable kernel memory for two queues in use.
 * noqueue has no rings at all. A qdisc an administrator chose (anything but the default
 * mq, or none yet on an interface that is down) is left alone: shaping still works on it.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macros.h"
#include "net_tap.h"

#define QDISC_NOQUEUE "noqueue"
#define NL_BUF 8192

struct qdisc_req {
	struct nlmsghdr nh;
	struct tcmsg tc;
	char attrs[64];
};

static int nl_send(int s, struct qdisc_req *req)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t n =
	    sendto(s, req, req->nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	if (n < 0)
		return -errno;
	return (size_t)n == req->nh.nlmsg_len ? 0 : -EIO;
}

/* The kind of ifindex's root qdisc into kind ("" when none is listed: a down interface). */
static int root_kind(int s, int ifindex, char kind[IFNAMSIZ])
{
	struct qdisc_req req = {
	    .nh = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
		   .nlmsg_type = RTM_GETQDISC,
		   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		   .nlmsg_seq = 1},
	    .tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex},
	};
	int r = nl_send(s, &req);
	if (r < 0)
		return r;
	kind[0] = '\0';
	/* Aligned for the nlmsghdr and rtattr casts below. */
	static _Alignas(struct nlmsghdr) char buf[NL_BUF];
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		size_t left = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -EPROTO;
			if (h->nlmsg_type != RTM_NEWQDISC ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct tcmsg)))
				continue;
			const struct tcmsg *tc = NLMSG_DATA(h);
			if (tc->tcm_ifindex != ifindex || tc->tcm_parent != TC_H_ROOT)
				continue;
			unsigned alen = (unsigned)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*tc)));
			for (struct rtattr *a = TCA_RTA(tc); RTA_OK(a, alen);
			     a = RTA_NEXT(a, alen)) {
				size_t plen = RTA_PAYLOAD(a);
				if (a->rta_type != TCA_KIND || plen == 0 || plen > IFNAMSIZ)
					continue;
				memcpy(kind, RTA_DATA(a), plen);
				kind[plen - 1] = '\0';
			}
		}
	}
}

static int set_noqueue(int s, int ifindex)
{
	struct qdisc_req req = {
	    .nh = {.nlmsg_type = RTM_NEWQDISC,
		   .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
		   .nlmsg_seq = 2},
	    .tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = TC_H_ROOT},
	};
	struct rtattr *a = (struct rtattr *)req.attrs;
	a->rta_type = TCA_KIND;
	a->rta_len = (unsigned short)RTA_LENGTH(sizeof(QDISC_NOQUEUE));
	memcpy(RTA_DATA(a), QDISC_NOQUEUE, sizeof(QDISC_NOQUEUE));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)) + RTA_ALIGN(a->rta_len);
	int r = nl_send(s, &req);
	if (r < 0)
		return r;
	static _Alignas(struct nlmsghdr) char buf[NL_BUF];
	ssize_t n = recv(s, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_type != NLMSG_ERROR ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
		return -EPROTO;
	const struct nlmsgerr *e = NLMSG_DATA(h);
	return e->error <= 0 ? e->error : -EPROTO;
}

int net_tap_use_noqueue(const char *ifname, char kept[IFNAMSIZ])
{
	kept[0] = '\0';
	int ifindex = (int)if_nametoindex(ifname);
	if (ifindex == 0)
		return -errno;
	_cleanup_close_ int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	int r = root_kind(s, ifindex, kept);
	if (r < 0)
		return r;
	if (strcmp(kept, QDISC_NOQUEUE) == 0)
		return 0;
	if (kept[0] && strcmp(kept, "mq") != 0)
		return 1;
	kept[0] = '\0';
	return set_noqueue(s, ifindex);
}

/*
 * Frames for the guest wait in each queue's ring while no netd reads it (a restart): the
 * ring must outlast one at the rate the guest is sent. The kernel's default (500 frames,
 * a few milliseconds at line rate) is raised, never lowered.
 */
int net_tap_raise_txqueuelen(const char *ifname)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};

	if (s < 0)
		return -errno;
	memcpy(ifr.ifr_name, ifname, IFNAMSIZ);
	if (ioctl(s, SIOCGIFTXQLEN, &ifr) < 0)
		return -errno;
	if (ifr.ifr_qlen >= (int)NET_TAP_TXQUEUELEN)
		return 0;
	ifr.ifr_qlen = (int)NET_TAP_TXQUEUELEN;
	return ioctl(s, SIOCSIFTXQLEN, &ifr) < 0 ? -errno : 0;
}
