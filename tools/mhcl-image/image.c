/* SPDX-License-Identifier: MIT */
/* Payload writer/reader and PVH ELF reader: see image.h. */
#include "image.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

int payload_build(struct blob kernel, struct blob initrd, struct blob cmdline, struct blob manifest,
		  uint8_t **ret_buf, size_t *ret_len)
{
	struct blob items[MHCL_PAYLOAD_ITEM_MAX] = {kernel, initrd, cmdline, manifest};
	struct mhcl_payload_header h = {
	    .magic = MHCL_PAYLOAD_MAGIC,
	    .version = MHCL_PAYLOAD_VERSION,
	    .header_size = sizeof(h),
	};
	uint64_t off = MHCL_PAYLOAD_ALIGN; /* the header alone in the first page */

	if (!kernel.size || !initrd.size)
		return -EINVAL;
	if (cmdline.size && memchr(cmdline.data, '\0', cmdline.size))
		return -EINVAL;
	for (int i = 0; i < MHCL_PAYLOAD_ITEM_MAX; i++) {
		if (!items[i].size)
			continue;
		/* Kernel and initrd start on a page; the small items on 8 bytes. */
		off = align_up(off, i < MHCL_PAYLOAD_CMDLINE ? MHCL_PAYLOAD_ALIGN : 8);
		h.item[i].offset = off;
		h.item[i].size = items[i].size;
		off += items[i].size;
	}
	if (off > SIZE_MAX / 2)
		return -EFBIG;
	h.total_size = off;
	uint8_t *p = calloc(1, off);
	if (!p)
		return -ENOMEM;
	memcpy(p, &h, sizeof(h));
	for (int i = 0; i < MHCL_PAYLOAD_ITEM_MAX; i++)
		if (items[i].size)
			memcpy(p + h.item[i].offset, items[i].data, items[i].size);
	*ret_buf = p;
	*ret_len = off;
	return 0;
}

int payload_parse(const uint8_t *buf, size_t len, struct mhcl_payload_header *ret_hdr, char *err,
		  size_t errlen)
{
	static const char *const names[] = {"kernel", "initrd", "cmdline", "manifest"};
	struct mhcl_payload_header h;

	if (len < sizeof(h))
		return fail(err, errlen, "payload: %zu bytes, shorter than its header", len);
	memcpy(&h, buf, sizeof(h));
	if (h.magic != MHCL_PAYLOAD_MAGIC)
		return fail(err, errlen, "payload: bad magic");
	if (h.version != MHCL_PAYLOAD_VERSION || h.header_size != sizeof(h))
		return fail(err, errlen, "payload: version %u header size %u not supported",
			    h.version, h.header_size);
	if (h.total_size > len || h.total_size < sizeof(h))
		return fail(err, errlen, "payload: total size %llu outside the file (%zu bytes)",
			    (unsigned long long)h.total_size, len);
	for (int i = 0; i < MHCL_PAYLOAD_ITEM_MAX; i++) {
		uint64_t o = h.item[i].offset, s = h.item[i].size;
		if (!s) {
			if (o)
				return fail(err, errlen, "payload: %s has an offset but no size",
					    names[i]);
			if (i < MHCL_PAYLOAD_CMDLINE)
				return fail(err, errlen, "payload: no %s", names[i]);
			continue;
		}
		if (o < sizeof(h) || o > h.total_size || s > h.total_size - o)
			return fail(err, errlen, "payload: %s [%llu, +%llu) outside [128, %llu)",
				    names[i], (unsigned long long)o, (unsigned long long)s,
				    (unsigned long long)h.total_size);
		if (i < MHCL_PAYLOAD_CMDLINE && o % MHCL_PAYLOAD_ALIGN)
			return fail(err, errlen, "payload: %s not 4 KiB aligned", names[i]);
		for (int j = 0; j < i; j++) {
			uint64_t oj = h.item[j].offset, sj = h.item[j].size;
			if (sj && o < oj + sj && oj < o + s)
				return fail(err, errlen, "payload: %s overlaps %s", names[i],
					    names[j]);
		}
	}
	*ret_hdr = h;
	return 0;
}

int pvh_elf_parse(const uint8_t *buf, size_t len, struct pvh_elf *ret, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	struct pvh_elf out = {0};
	bool have_entry = false;

	if (len < sizeof(eh))
		return fail(err, errlen, "ELF: %zu bytes, shorter than its header", len);
	memcpy(&eh, buf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return fail(err, errlen, "ELF: not a little-endian ELF64 x86-64 file");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64 ||
	    eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return fail(err, errlen, "ELF: program headers outside the file");
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return fail(err, errlen, "ELF: segment %u outside the file", i);
		if (ph.p_type == PT_LOAD && ph.p_memsz) {
			if (out.nseg == PVH_ELF_MAX_SEGMENTS)
				return fail(err, errlen, "ELF: more than %d load segments",
					    PVH_ELF_MAX_SEGMENTS);
			if (ph.p_filesz > ph.p_memsz || ph.p_paddr + ph.p_memsz < ph.p_paddr ||
			    ph.p_paddr + ph.p_memsz > 0x100000000ull)
				return fail(err, errlen,
					    "ELF: segment %u not a valid region below 4 GiB", i);
			out.seg[out.nseg].paddr = ph.p_paddr;
			out.seg[out.nseg].offset = ph.p_offset;
			out.seg[out.nseg].filesz = ph.p_filesz;
			out.seg[out.nseg].memsz = ph.p_memsz;
			out.nseg++;
		} else if (ph.p_type == PT_NOTE) {
			uint64_t o = ph.p_offset, end = ph.p_offset + ph.p_filesz;
			while (end - o >= sizeof(Elf64_Nhdr)) {
				Elf64_Nhdr nh;
				memcpy(&nh, buf + o, sizeof(nh));
				uint64_t name_o = o + sizeof(nh);
				uint64_t desc_o = name_o + align_up(nh.n_namesz, 4);
				uint64_t next = desc_o + align_up(nh.n_descsz, 4);
				if (next > end || next <= o)
					break;
				if (nh.n_namesz == 4 && !memcmp(buf + name_o, "Xen", 4) &&
				    nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_descsz >= 4) {
					memcpy(&out.entry, buf + desc_o, 4);
					have_entry = true;
				}
				if (nh.n_namesz == sizeof(MHCL_ELFNOTE_NAME) &&
				    !memcmp(buf + name_o, MHCL_ELFNOTE_NAME,
					    sizeof(MHCL_ELFNOTE_NAME)) &&
				    nh.n_type == MHCL_ELFNOTE_IGVM_ENTRY && nh.n_descsz >= 4)
					memcpy(&out.igvm_entry, buf + desc_o, 4);
				o = next;
			}
		}
	}
	if (!out.nseg)
		return fail(err, errlen, "ELF: no load segments");
	if (!have_entry) {
		(void)fail(err, errlen, "ELF: no PVH entry note (Xen, XEN_ELFNOTE_PHYS32_ENTRY)");
		return -ENOENT;
	}
	*ret = out;
	return 0;
}
