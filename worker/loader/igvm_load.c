/* SPDX-License-Identifier: MIT */
/* IGVM loader: what it does with each directive is in igvm_load.h. */
#include "igvm_load.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "boot_x86.h"
#include "igvm.h"

#define MAX_PARAMS 256

struct area {
	uint32_t index;
	uint64_t bytes;
	uint32_t file_offset;
};

struct param {
	uint32_t type, index, offset;
};

struct load {
	const struct guestmem *ram;
	const uint8_t *file;
	size_t len;
	const struct igvm_load_params *params;
	struct igvm_load_result *res;
	char *err;
	size_t errlen;

	uint32_t mask; /* the chosen platform's bit; 0 until chosen */
	uint8_t vtl;   /* its highest VTL: the VP context registers this partition uses */
	struct area areas[IGVM_MAX_PARAM_AREAS];
	uint32_t nareas;
	struct param prm[MAX_PARAMS];
	uint32_t nprm;
	bool have_vp0;
};

__attribute__((format(printf, 3, 4))) static int fail(struct load *l, int r, const char *fmt, ...)
{
	va_list ap;
	if (l->err && l->errlen) {
		va_start(ap, fmt);
		vsnprintf(l->err, l->errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Whether [gpa, gpa + n) is RAM this loader may write: inside RAM, clear of the platform
 * range below 1 MiB. */
static int check_target(struct load *l, const char *what, uint64_t gpa, uint64_t n)
{
	if (!guestmem_ptr(l->ram, gpa, n))
		return fail(l, -E2BIG,
			    "%s [0x%llx, +0x%llx) is outside the partition's %llu MiB of RAM "
			    "(raise --mem)",
			    what, (unsigned long long)gpa, (unsigned long long)n,
			    (unsigned long long)(boot_ram_size(l->ram) >> 20));
	if (gpa < BOOT_HIGH_MEMORY && gpa + n > IGVM_LOAD_PLATFORM_LO)
		return fail(l, -EBADMSG,
			    "%s [0x%llx, +0x%llx) overlaps the platform range [0x%llx, 0x%llx)",
			    what, (unsigned long long)gpa, (unsigned long long)n,
			    (unsigned long long)IGVM_LOAD_PLATFORM_LO,
			    (unsigned long long)BOOT_HIGH_MEMORY);
	return 0;
}

static struct area *find_area(struct load *l, uint32_t index)
{
	for (uint32_t i = 0; i < l->nareas; i++)
		if (l->areas[i].index == index)
			return &l->areas[i];
	return NULL;
}

/* The partition's memory map, as IGVM memory map entries (page numbers). */
static uint32_t memory_map(const struct guestmem *ram, struct igvm_vhs_memory_map_entry *e)
{
	e[0] = (struct igvm_vhs_memory_map_entry){0, IGVM_LOAD_PLATFORM_LO / 4096,
						  IGVM_MEMORY_MAP_MEMORY, 0, 0};
	e[1] = (struct igvm_vhs_memory_map_entry){IGVM_LOAD_PLATFORM_LO / 4096,
						  (BOOT_HIGH_MEMORY - IGVM_LOAD_PLATFORM_LO) / 4096,
						  IGVM_MEMORY_MAP_PLATFORM_RESERVED, 0, 0};
	e[2] = (struct igvm_vhs_memory_map_entry){BOOT_HIGH_MEMORY / 4096,
						  (boot_ram_size(ram) - BOOT_HIGH_MEMORY) / 4096,
						  IGVM_MEMORY_MAP_MEMORY, 0, 0};
	return 3;
}

/*
 * The host device tree (boot/README.md "Host device tree"): compatible "mhcl,host-v1" and
 * one cpu node per VP (APIC ID = VP index, NUMA node 0). No memory node: the guest keeps
 * all RAM of the memory map. Returns 0 or -E2BIG when room is too small.
 */
static int host_dt(uint8_t *buf, uint64_t room, uint32_t vp_count)
{
	int sz = room > 1u << 20 ? 1 << 20 : (int)room;
	char name[32];

	if (fdt_create(buf, sz) || fdt_finish_reservemap(buf) || fdt_begin_node(buf, "") ||
	    fdt_property_string(buf, "compatible", "mhcl,host-v1") ||
	    fdt_property_u32(buf, "#address-cells", 2) || fdt_property_u32(buf, "#size-cells", 2) ||
	    fdt_begin_node(buf, "cpus") || fdt_property_u32(buf, "#address-cells", 1) ||
	    fdt_property_u32(buf, "#size-cells", 0))
		return -E2BIG;
	for (uint32_t i = 0; i < vp_count; i++) {
		snprintf(name, sizeof(name), "cpu@%u", i);
		if (fdt_begin_node(buf, name) || fdt_property_string(buf, "device_type", "cpu") ||
		    fdt_property_u32(buf, "reg", i) || fdt_property_u32(buf, "numa-node-id", 0) ||
		    fdt_end_node(buf))
			return -E2BIG;
	}
	if (fdt_end_node(buf) || fdt_end_node(buf) || fdt_finish(buf))
		return -E2BIG;
	return 0;
}

/* Writes one parameter into its area's buffer (bytes long). */
static int fill_param(struct load *l, const struct param *p, uint8_t *buf, uint64_t bytes)
{
	uint64_t room = bytes - p->offset; /* the reader checked offset < bytes */
	const char *name = igvm_type_name(p->type);

	switch (p->type) {
	case IGVM_VHT_COMMAND_LINE: {
		size_t n = strlen(l->params->cmdline) + 1;
		if (n > room)
			return fail(l, -E2BIG,
				    "command line of %zu bytes does not fit its parameter area %u "
				    "(%llu bytes from offset %u)",
				    n, p->index, (unsigned long long)room, p->offset);
		memcpy(buf + p->offset, l->params->cmdline, n);
		return 0;
	}
	case IGVM_VHT_MEMORY_MAP: {
		struct igvm_vhs_memory_map_entry e[4];
		uint32_t n = memory_map(l->ram, e);
		if (n * sizeof(e[0]) > room)
			return fail(l, -E2BIG, "memory map does not fit parameter area %u",
				    p->index);
		/* The entry after the last stays zero (the end marker) when there is room. */
		memset(buf + p->offset, 0, room < sizeof(e) ? room : sizeof(e));
		memcpy(buf + p->offset, e, n * sizeof(e[0]));
		return 0;
	}
	case IGVM_VHT_VP_COUNT_PARAMETER: {
		uint32_t c = l->params->vp_count;
		if (room < sizeof(c))
			return fail(l, -EBADMSG, "VP count parameter at the end of area %u",
				    p->index);
		memcpy(buf + p->offset, &c, sizeof(c));
		return 0;
	}
	case IGVM_VHT_DEVICE_TREE:
		if (host_dt(buf + p->offset, room, l->params->vp_count) < 0)
			return fail(l, -E2BIG,
				    "host device tree for %u VPs does not fit parameter area %u "
				    "(%llu bytes from offset %u)",
				    l->params->vp_count, p->index, (unsigned long long)room,
				    p->offset);
		return 0;
	default:
		return fail(l, -ENOTSUP, "parameter %s (area %u) is not provided by this loader",
			    name ? name : "?", p->index);
	}
}

static int do_insert(struct load *l, uint32_t hoff, const struct igvm_vhs_parameter_insert *in)
{
	struct area *a = find_area(l, in->parameter_area_index);
	int r;

	if (!a)
		return fail(l, -EBADMSG, "header at 0x%x: insert of undeclared area %u", hoff,
			    in->parameter_area_index);
	if ((r = check_target(l, "parameter area", in->gpa, a->bytes)) < 0)
		return r;
	uint8_t *buf = calloc(1, a->bytes);
	if (!buf)
		return fail(l, -ENOMEM, "no memory for a %llu-byte parameter area",
			    (unsigned long long)a->bytes);
	if (a->file_offset)
		memcpy(buf, l->file + a->file_offset, a->bytes);
	for (uint32_t i = 0; i < l->nprm; i++) {
		if (l->prm[i].index != a->index)
			continue;
		if ((r = fill_param(l, &l->prm[i], buf, a->bytes)) < 0) {
			free(buf);
			return r;
		}
		l->res->params++;
	}
	r = guestmem_write(l->ram, in->gpa, buf, a->bytes);
	free(buf);
	l->res->inserts++;
	return r;
}

static void seg_from_hv(const uint8_t v[16], struct x86_segment *s)
{
	struct hv_x64_segment_register h;
	memcpy(&h, v, sizeof(h));
	*s = (struct x86_segment){
	    .base = h.base,
	    .limit = h.limit,
	    .selector = h.selector,
	    .type = h.attributes & 0xf,
	    .s = (h.attributes >> 4) & 1,
	    .dpl = (h.attributes >> 5) & 3,
	    .present = (h.attributes >> 7) & 1,
	    .l = (h.attributes >> 13) & 1,
	    .db = (h.attributes >> 14) & 1,
	    .g = (h.attributes >> 15) & 1,
	};
}

static bool seg_equal(const struct x86_segment *a, const struct x86_segment *b)
{
	return a->base == b->base && a->limit == b->limit && a->selector == b->selector &&
	       a->type == b->type && a->present == b->present && a->dpl == b->dpl &&
	       a->db == b->db && a->s == b->s && a->l == b->l && a->g == b->g;
}

static int do_vp_context(struct load *l, uint32_t hoff, const struct igvm_vhs_vp_context *c)
{
	struct igvm_vbs_vp_context_header vh;
	struct x86_boot_state *b = &l->res->boot;
	struct x86_segment data[5] = {0}; /* DS, ES, SS, FS, GS */
	uint32_t have_data = 0;

	if (c->vp_index != 0)
		return fail(l, -ENOTSUP,
			    "header at 0x%x: VP context for VP %u (this loader starts VP 0 only; "
			    "the others wait for INIT/SIPI)",
			    hoff, c->vp_index);
	/* The reader checked the register list lies inside the file. */
	memcpy(&vh, l->file + c->file_offset, sizeof(vh));
	*b = (struct x86_boot_state){.rflags = 0x2};
	for (uint32_t i = 0; i < vh.register_count; i++) {
		struct igvm_vbs_vp_context_register reg;
		uint32_t name;
		uint64_t v;
		memcpy(&reg, l->file + c->file_offset + sizeof(vh) + i * sizeof(reg), sizeof(reg));
		memcpy(&name, reg.register_name, sizeof(name));
		memcpy(&v, reg.register_value, sizeof(v));
		if (reg.vtl != l->vtl)
			return fail(l, -ENOTSUP,
				    "header at 0x%x: register 0x%x for VTL %u (this partition runs "
				    "VTL %u only)",
				    hoff, name, reg.vtl, l->vtl);
		switch (name) {
		case HV_X64_REGISTER_RIP:
			b->rip = v;
			break;
		case HV_X64_REGISTER_RSP:
			b->rsp = v;
			break;
		case HV_X64_REGISTER_RSI:
			b->rsi = v;
			break;
		case HV_X64_REGISTER_RBX:
			b->rbx = v;
			break;
		case HV_X64_REGISTER_RFLAGS:
			b->rflags = v;
			break;
		case HV_X64_REGISTER_CR0:
			b->cr0 = v;
			break;
		case HV_X64_REGISTER_CR3:
			b->cr3 = v;
			break;
		case HV_X64_REGISTER_CR4:
			b->cr4 = v;
			break;
		case HV_X64_REGISTER_EFER:
			b->efer = v;
			break;
		case HV_X64_REGISTER_CS:
			seg_from_hv(reg.register_value, &b->cs);
			break;
		case HV_X64_REGISTER_DS:
			seg_from_hv(reg.register_value, &data[0]);
			have_data |= 1;
			break;
		case HV_X64_REGISTER_ES:
			seg_from_hv(reg.register_value, &data[1]);
			have_data |= 2;
			break;
		case HV_X64_REGISTER_SS:
			seg_from_hv(reg.register_value, &data[2]);
			have_data |= 4;
			break;
		case HV_X64_REGISTER_FS:
			seg_from_hv(reg.register_value, &data[3]);
			have_data |= 8;
			break;
		case HV_X64_REGISTER_GS:
			seg_from_hv(reg.register_value, &data[4]);
			have_data |= 16;
			break;
		case HV_X64_REGISTER_GDTR: {
			struct hv_x64_table_register t;
			memcpy(&t, reg.register_value, sizeof(t));
			b->gdt_base = t.base;
			b->gdt_limit = t.limit;
			break;
		}
		case HV_X64_REGISTER_TR:
			/* The partition keeps its reset TSS: the state a VP context may name
			 * for a ring-0 start without task switches. */
			break;
		default:
			return fail(l, -ENOTSUP,
				    "header at 0x%x: VP register 0x%x is not one this loader sets",
				    hoff, name);
		}
	}
	if (!(have_data & 1))
		return fail(l, -EBADMSG, "header at 0x%x: VP context without DS", hoff);
	b->ds = data[0];
	for (int k = 1; k < 5; k++)
		if ((have_data & (1u << k)) && !seg_equal(&data[k], &data[0]))
			return fail(l, -ENOTSUP,
				    "header at 0x%x: ES/SS/FS/GS differ from DS (this loader "
				    "sets one data segment)",
				    hoff);
	if (!(b->cr0 & 1) || !b->cs.present || !b->cs.s || !(b->cs.type & 8))
		return fail(l, -EBADMSG,
			    "header at 0x%x: VP context is not protected mode with a present code "
			    "segment (CR0 0x%llx, CS attributes)",
			    hoff, (unsigned long long)b->cr0);
	l->have_vp0 = true;
	return 0;
}

static int visit(void *ctx, const struct igvm_header_view *h)
{
	struct load *l = ctx;
	uint32_t type = h->type & ~IGVM_VHT_IGNORABLE;
	int r;

	if (type == IGVM_VHT_SUPPORTED_PLATFORM) {
		struct igvm_vhs_supported_platform p;
		memcpy(&p, h->body, sizeof(p));
		if (!l->mask && (p.platform_type == IGVM_PLATFORM_VSM_ISOLATION ||
				 p.platform_type == IGVM_PLATFORM_NATIVE)) {
			l->mask = p.compatibility_mask;
			l->vtl = p.highest_vtl;
		}
		return 0;
	}
	if (!l->mask)
		return fail(l, -ENOTSUP,
			    "no VSM-isolation or native platform in the file (SNP and TDX need "
			    "hardware isolation this loader does not have)");

	switch (type) {
	case IGVM_VHT_PARAMETER_AREA: {
		struct igvm_vhs_parameter_area p;
		memcpy(&p, h->body, sizeof(p));
		l->areas[l->nareas++] =
		    (struct area){p.parameter_area_index, p.number_of_bytes, p.file_offset};
		return 0;
	}
	case IGVM_VHT_VP_COUNT_PARAMETER:
	case IGVM_VHT_SRAT:
	case IGVM_VHT_MADT:
	case IGVM_VHT_MMIO_RANGES:
	case IGVM_VHT_MEMORY_MAP:
	case IGVM_VHT_COMMAND_LINE:
	case IGVM_VHT_SLIT:
	case IGVM_VHT_PPTT:
	case IGVM_VHT_DEVICE_TREE:
	case IGVM_VHT_ENVIRONMENT_INFO_PARAMETER: {
		struct igvm_vhs_parameter p;
		memcpy(&p, h->body, sizeof(p));
		if (l->nprm == MAX_PARAMS)
			return fail(l, -ENOTSUP, "more than %d parameters", MAX_PARAMS);
		l->prm[l->nprm++] = (struct param){type, p.parameter_area_index, p.byte_offset};
		return 0;
	}
	case IGVM_VHT_PARAMETER_INSERT: {
		struct igvm_vhs_parameter_insert p;
		memcpy(&p, h->body, sizeof(p));
		if (!(p.compatibility_mask & l->mask))
			return 0;
		return do_insert(l, h->offset, &p);
	}
	case IGVM_VHT_PAGE_DATA: {
		struct igvm_vhs_page_data p;
		memcpy(&p, h->body, sizeof(p));
		if (!(p.compatibility_mask & l->mask))
			return 0;
		uint64_t psize =
		    (p.flags & IGVM_PAGE_FLAG_2MB) ? IGVM_PAGE_SIZE_2MB : IGVM_PAGE_SIZE;
		if (p.data_type != IGVM_PAGE_DATA_NORMAL)
			return fail(
			    l, -ENOTSUP,
			    "header at 0x%x: page 0x%llx of data type %u (only normal pages "
			    "without hardware isolation)",
			    h->offset, (unsigned long long)p.gpa, p.data_type);
		if ((r = check_target(l, "page", p.gpa, psize)) < 0)
			return r;
		uint8_t *dst = guestmem_ptr(l->ram, p.gpa, psize);
		if (p.file_offset) {
			memcpy(dst, l->file + p.file_offset, psize);
		} else {
			memset(dst, 0, psize);
			l->res->zero_pages++;
		}
		l->res->pages++;
		return 0;
	}
	case IGVM_VHT_REQUIRED_MEMORY: {
		struct igvm_vhs_required_memory p;
		memcpy(&p, h->body, sizeof(p));
		if (!(p.compatibility_mask & l->mask))
			return 0;
		if (!guestmem_ptr(l->ram, p.gpa, p.number_of_bytes))
			return fail(
			    l, -E2BIG,
			    "the image requires RAM [0x%llx, +0x%x), beyond the partition's "
			    "%llu MiB (raise --mem)",
			    (unsigned long long)p.gpa, p.number_of_bytes,
			    (unsigned long long)(boot_ram_size(l->ram) >> 20));
		return 0;
	}
	case IGVM_VHT_VP_CONTEXT: {
		struct igvm_vhs_vp_context p;
		memcpy(&p, h->body, sizeof(p));
		if (!(p.compatibility_mask & l->mask))
			return 0;
		return do_vp_context(l, h->offset, &p);
	}
	default:
		/* Policy, relocation hints, measurement, error range, ignorable unknowns. */
		return 0;
	}
}

int igvm_load(const struct guestmem *ram, const uint8_t *file, size_t len,
	      const struct igvm_load_params *params, struct igvm_load_result *ret, char *err,
	      size_t errlen)
{
	struct load *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	memset(ret, 0, sizeof(*ret));
	*l = (struct load){.ram = ram,
			   .file = file,
			   .len = len,
			   .params = params,
			   .res = ret,
			   .err = err,
			   .errlen = errlen};
	r = igvm_parse(file, len, visit, l, NULL, err, errlen);
	if (r == 0 && !l->have_vp0)
		r = fail(l, -EBADMSG, "no VP context for VP 0 on the chosen platform");
	free(l);
	return r;
}
