/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'vmbus-msg': a sequence of guest messages and device actions
 * against one VMBus control-plane connection.
 *
 * Input: byte 0 = setup (bit 0 open pending, bit 1 close pending, bit 2
 * teardown pending, bit 3 opens fail, bits 4-6 highest version index, bit 7
 * message connection id 0x800074), then records {op u8, len u8, len bytes}:
 *   op 0x00-0x03  guest post on connection id 1 / 4 / the message id / 9
 *   op 0x40       device offer (payload: class byte, instance byte, subchannel)
 *   op 0x41       rescind relid payload[0]
 *   op 0x42-0x44  complete a pending open / close / GPADL teardown
 *   op 0x45       inspect
 *   op 0x46       save, restore into a new server, continue there
 *   op 0x47       restore the payload as a blob into a scratch server
 * Every host message must be a type the host sends, 8..240 bytes long.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "vmbus.h"

struct fz {
	struct vmbus_host *s;
	uint8_t setup;
	uint32_t opens[16], closes[16], tds[16][2];
	unsigned nopen, nclose, ntd;
	uint64_t msgs;
};

static void fz_unloaded_conn(void *ctx, const struct vmbus_conn_report *r)
{
	if (r->state != VMBUS_CONN_DISCONNECTED || r->gpadls || r->version)
		abort();
}

static void fz_unloaded_chan(void *ctx, const struct vmbus_chan_report *r)
{
	if (r->state != VMBUS_CHAN_CLOSED || r->offered || r->rescinded)
		abort();
}

static void fz_post(void *ctx, uint32_t vp, const void *msg, size_t len)
{
	struct fz *f = ctx;
	uint32_t type;

	if (len < 8 || len > VMBUS_MSG_MAX)
		abort();
	memcpy(&type, msg, 4);
	switch (type) {
	case VMBUS_MSG_OFFERCHANNEL:
	case VMBUS_MSG_RESCIND_CHANNELOFFER:
	case VMBUS_MSG_ALLOFFERS_DELIVERED:
	case VMBUS_MSG_OPENCHANNEL_RESULT:
	case VMBUS_MSG_GPADL_CREATED:
	case VMBUS_MSG_GPADL_TORNDOWN:
	case VMBUS_MSG_VERSION_RESPONSE:
	case VMBUS_MSG_UNLOAD_RESPONSE:
	case VMBUS_MSG_TL_CONNECT_RESULT:
	case VMBUS_MSG_MODIFYCHANNEL_RESPONSE:
		break;
	default:
		abort();
	}
	if (type == VMBUS_MSG_OFFERCHANNEL) {
		const struct vmbus_msg_offer_channel *o = msg;
		if (len != sizeof(*o) || o->child_relid == 0 || o->child_relid > VMBUS_RELID_MAX ||
		    o->connection_id > VMBUS_CONNID_MAX)
			abort();
	}
	if (type == VMBUS_MSG_UNLOAD_RESPONSE) {
		/* Unloaded means nothing is left open or described. */
		static const struct vmbus_inspect_ops check = {.connection = fz_unloaded_conn,
							       .channel = fz_unloaded_chan};
		vmbus_host_inspect(f->s, &check, f);
	}
	f->msgs++;
}

static int fz_open(void *ctx, const struct vmbus_open_info *i)
{
	struct fz *f = ctx;
	/* Both rings have a control page and at least one data page. */
	if (i->page_count < 4 || i->downstream_page < 2 || i->downstream_page > i->page_count - 2 ||
	    i->event_conn_id > VMBUS_CONNID_MAX || i->target_vp >= 4 || !i->relid ||
	    i->relid > VMBUS_RELID_MAX)
		abort();
	/* Touch every PFN the library lends: ASan catches a dangling pointer. */
	volatile uint64_t sum = 0;
	for (uint32_t k = 0; k < i->page_count; k++)
		sum += i->pfns[k];
	(void)sum;
	if (f->setup & 8)
		return -EIO;
	if (f->setup & 1 && f->nopen < 16) {
		f->opens[f->nopen++] = i->relid;
		return VMBUS_PENDING;
	}
	return 0;
}

static int fz_close(void *ctx, uint32_t relid)
{
	struct fz *f = ctx;
	if (f->setup & 2 && f->nclose < 16) {
		f->closes[f->nclose++] = relid;
		return VMBUS_PENDING;
	}
	return 0;
}

static int fz_teardown(void *ctx, uint32_t relid, uint32_t id)
{
	struct fz *f = ctx;
	if (f->setup & 4 && f->ntd < 16) {
		f->tds[f->ntd][0] = relid;
		f->tds[f->ntd++][1] = id;
		return VMBUS_PENDING;
	}
	return 0;
}

static void fz_gpadl(void *ctx, const struct vmbus_gpadl_view *g)
{
	volatile uint64_t sum = 0;
	for (uint32_t k = 0; k < g->page_count; k++)
		sum += g->pfns[k];
	for (uint32_t k = 0; k < g->range_count; k++)
		if (g->ranges[k].pfn_index + g->ranges[k].pfn_count > g->page_count)
			abort();
	(void)sum;
}

static void fz_error(void *ctx, uint32_t relid, int err, const char *reason)
{
	if (err >= 0 || !reason || !*reason)
		abort();
}

static void fz_chan(void *ctx, const struct vmbus_chan_report *r)
{
	if (r->relid == 0 || r->relid > VMBUS_RELID_MAX || (unsigned)r->state >= _VMBUS_CHAN_MAX)
		abort();
}

static const uint32_t versions[] = {
    VMBUS_VERSION_WIN10_V5_3, VMBUS_VERSION_WIN10_V5_2, VMBUS_VERSION_WIN10_V5_1,
    VMBUS_VERSION_WIN10_V5,   VMBUS_VERSION_WIN10_V4_1, VMBUS_VERSION_WIN10,
    VMBUS_VERSION_WIN8_1,     VMBUS_VERSION_COPPER,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vmbus_host_ops ops = {
	    .post_msg = fz_post,
	    .channel_open = fz_open,
	    .channel_close = fz_close,
	    .gpadl_created = fz_gpadl,
	    .gpadl_teardown = fz_teardown,
	    .error = fz_error,
	};
	static const struct vmbus_inspect_ops iops = {.channel = fz_chan};
	struct vmbus_host_config cfg = {
	    /* 256 + 256 pages around a hole */
	    .ram = {.ranges = {{0, 1u << 20, 0}, {1ull << 32, 1u << 20, 1u << 20}}, .nranges = 2},
	    .vp_count = 4,
	    .max_gpadls_per_channel = 8,
	    .max_gpadl_pages = 512,
	    .max_total_pages = 4096,
	    .max_pending_gpadls = 4,
	    .max_channels = 16,
	};
	struct fz f = {0};
	size_t i = 1;

	if (size < 1)
		return 0;
	f.setup = data[0];
	cfg.max_version = versions[(data[0] >> 4) & 7];
	if (data[0] & 0x80)
		cfg.msg_conn_id = 0x800074;
	if (vmbus_host_new(&cfg, &ops, &f, &f.s) < 0)
		abort();

	while (i + 2 <= size) {
		uint8_t op = data[i], len = data[i + 1];
		const uint8_t *p = data + i + 2;
		if (len > size - i - 2)
			len = (uint8_t)(size - i - 2);
		i += 2u + len;

		if (op < 4) {
			static const uint32_t ids[] = {1, 4, 0, 9};
			uint32_t id = ids[op] ? ids[op] : (cfg.msg_conn_id ? cfg.msg_conn_id : 1);
			uint16_t st = vmbus_host_post(f.s, id, len ? p : NULL, len);
			if (st != VMBUS_HV_STATUS_SUCCESS &&
			    st != VMBUS_HV_STATUS_INVALID_PARAMETER &&
			    st != VMBUS_HV_STATUS_INVALID_CONNECTION_ID)
				abort();
			continue;
		}
		switch (op) {
		case 0x40: {
			struct vmbus_offer o = {0};
			uint32_t relid;
			o.if_type.b[0] = len > 0 ? p[0] : 0;
			o.if_instance.b[0] = len > 1 ? p[1] : 0;
			o.sub_channel_index = len > 2 ? p[2] : 0;
			(void)vmbus_host_offer(f.s, &o, &relid);
			break;
		}
		case 0x41:
			(void)vmbus_host_rescind(f.s, len > 0 ? p[0] : 0);
			break;
		case 0x42:
			if (f.nopen)
				vmbus_host_open_complete(f.s, f.opens[--f.nopen],
							 len && p[0] ? -EIO : 0);
			break;
		case 0x43:
			if (f.nclose)
				vmbus_host_close_complete(f.s, f.closes[--f.nclose]);
			break;
		case 0x44:
			if (f.ntd) {
				f.ntd--;
				vmbus_host_gpadl_teardown_complete(f.s, f.tds[f.ntd][0],
								   f.tds[f.ntd][1]);
			}
			break;
		case 0x45:
			vmbus_host_inspect(f.s, &iops, &f);
			break;
		case 0x46: {
			/* Restart: a saved quiescent server must restore, and go on. */
			ssize_t n = vmbus_host_save(f.s, NULL, 0);
			struct vmbus_host *fresh;
			uint8_t *blob;
			if (n == -EBUSY)
				break;
			if (n <= 0 || !(blob = malloc((size_t)n)))
				abort();
			if (vmbus_host_save(f.s, blob, (size_t)n) != n ||
			    vmbus_host_new(&cfg, &ops, &f, &fresh) < 0 ||
			    vmbus_host_restore(fresh, blob, (size_t)n) < 0 ||
			    vmbus_host_save(fresh, NULL, 0) != n)
				abort();
			free(blob);
			vmbus_host_free(f.s);
			f.s = fresh;
			break;
		}
		case 0x47: {
			/* A blob from elsewhere: restored or refused, never trusted. */
			struct vmbus_host *other;
			if (vmbus_host_new(&cfg, &ops, &f, &other) < 0)
				abort();
			int r = vmbus_host_restore(other, len ? p : NULL, len);
			if (r < 0 && r != -EBADMSG)
				abort();
			vmbus_host_inspect(other, &iops, &f);
			vmbus_host_free(other);
			break;
		}
		default:
			break;
		}
	}
	vmbus_host_inspect(f.s, &iops, &f);
	f.s = vmbus_host_free(f.s);
	return 0;
}
