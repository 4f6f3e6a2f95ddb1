/* SPDX-License-Identifier: MIT */
/*
 * mhcl-image: packs the mhcl image and shows what an image holds.
 *
 *   mhcl-image build --shim mhcl-shim.elf --kernel vmlinuz --initrd initrd.cpio.gz
 *                    [--cmdline TEXT] [--manifest manifest.dtb]
 *                    [--pvh OUT.elf] [--payload OUT.bin] [--igvm OUT.igvm]
 *   mhcl-image dump FILE          (IGVM, payload or PVH ELF)
 *
 * The PVH form is the shim ELF as it is (QEMU -kernel) plus the payload module
 * (QEMU -initrd); the IGVM form carries both with the layout in image.h.
 * Exit codes: 0 ok, 1 invalid input, 100 usage, 111 system call failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defs/exit_codes.h"
#include "igvm.h"
#include "image.h"

#define MAX_INPUT (1ull << 30)

static void usage(FILE *f)
{
	fprintf(f, "usage: mhcl-image build --shim ELF --kernel BZIMAGE --initrd FILE\n"
		   "                        [--cmdline TEXT] [--manifest DTB]\n"
		   "                        [--pvh OUT.elf] [--payload OUT.bin] [--igvm OUT.igvm]\n"
		   "       mhcl-image dump FILE\n");
}

/* Reads a whole file (at most 1 GiB). */
static int read_file(const char *path, struct blob *ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_INPUT) {
		int e = errno && !S_ISREG(st.st_mode) ? EINVAL : EFBIG;
		close(fd);
		return -e;
	}
	uint8_t *p = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			free(p);
			close(fd);
			return -e;
		}
		got += (size_t)n;
	}
	close(fd);
	ret->data = p;
	ret->size = got;
	return 0;
}

/* Writes to PATH.tmp, then renames, so a failed run leaves no half file. */
static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	const uint8_t *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			unlink(tmp);
			return -e;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

static int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"shim", required_argument, NULL, 's'},	{"kernel", required_argument, NULL, 'k'},
	    {"initrd", required_argument, NULL, 'i'},	{"cmdline", required_argument, NULL, 'c'},
	    {"manifest", required_argument, NULL, 'm'}, {"pvh", required_argument, NULL, 'p'},
	    {"payload", required_argument, NULL, 'P'},	{"igvm", required_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},		{0},
	};
	const char *shim = NULL, *kernel = NULL, *initrd = NULL, *cmdline = "", *manifest = NULL;
	const char *out_pvh = NULL, *out_payload = NULL, *out_igvm = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			shim = optarg;
			break;
		case 'k':
			kernel = optarg;
			break;
		case 'i':
			initrd = optarg;
			break;
		case 'c':
			cmdline = optarg;
			break;
		case 'm':
			manifest = optarg;
			break;
		case 'p':
			out_pvh = optarg;
			break;
		case 'P':
			out_payload = optarg;
			break;
		case 'g':
			out_igvm = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return MHCL_EXIT_USAGE;
		}
	}
	if (optind != argc || !kernel || !initrd || (!out_pvh && !out_payload && !out_igvm) ||
	    ((out_pvh || out_igvm) && !shim)) {
		usage(stderr);
		return MHCL_EXIT_USAGE;
	}

	struct blob b_shim = {0}, b_kernel = {0}, b_initrd = {0}, b_manifest = {0};
	struct blob b_cmdline = {(const uint8_t *)cmdline, strlen(cmdline)};
	const char *paths[] = {shim, kernel, initrd, manifest};
	struct blob *blobs[] = {&b_shim, &b_kernel, &b_initrd, &b_manifest};
	int r, ret = MHCL_EXIT_FAILURE;
	uint8_t *payload = NULL, *igvm = NULL;
	size_t payload_len = 0, igvm_len = 0;
	char err[256] = "";

	for (unsigned i = 0; i < 4; i++) {
		if (!paths[i])
			continue;
		if ((r = read_file(paths[i], blobs[i])) < 0) {
			fprintf(stderr, "mhcl-image: unable to read %s: %s\n", paths[i],
				strerror(-r));
			ret = MHCL_EXIT_SYSCALL;
			goto out;
		}
	}
	if (b_shim.data) {
		struct pvh_elf elf;
		if (pvh_elf_parse(b_shim.data, b_shim.size, &elf, err, sizeof(err)) < 0) {
			fprintf(stderr, "mhcl-image: %s: %s\n", shim, err);
			goto out;
		}
	}
	/* The shim checks the kernel fully; catch the wrong file here already. */
	if (b_kernel.size < 0x206 || memcmp(b_kernel.data + 0x202, "HdrS", 4)) {
		fprintf(stderr, "mhcl-image: %s: not a Linux bzImage (no HdrS header)\n", kernel);
		goto out;
	}
	if (b_manifest.data &&
	    (b_manifest.size < 4 || memcmp(b_manifest.data, "\xd0\x0d\xfe\xed", 4))) {
		fprintf(stderr, "mhcl-image: %s: not a flattened device tree\n", manifest);
		goto out;
	}
	r = payload_build(b_kernel, b_initrd, b_cmdline, b_manifest, &payload, &payload_len);
	if (r < 0) {
		fprintf(stderr, "mhcl-image: unable to build the payload: %s\n", strerror(-r));
		goto out;
	}
	if (out_payload && (r = write_file(out_payload, payload, payload_len, 0644)) < 0) {
		fprintf(stderr, "mhcl-image: unable to write %s: %s\n", out_payload, strerror(-r));
		ret = MHCL_EXIT_SYSCALL;
		goto out;
	}
	if (out_pvh && (r = write_file(out_pvh, b_shim.data, b_shim.size, 0755)) < 0) {
		fprintf(stderr, "mhcl-image: unable to write %s: %s\n", out_pvh, strerror(-r));
		ret = MHCL_EXIT_SYSCALL;
		goto out;
	}
	if (out_igvm) {
		r = image_compose_igvm(b_shim, (struct blob){payload, payload_len}, &igvm,
				       &igvm_len, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "mhcl-image: %s\n", err);
			goto out;
		}
		if ((r = write_file(out_igvm, igvm, igvm_len, 0644)) < 0) {
			fprintf(stderr, "mhcl-image: unable to write %s: %s\n", out_igvm,
				strerror(-r));
			ret = MHCL_EXIT_SYSCALL;
			goto out;
		}
	}
	ret = 0;
out:
	for (unsigned i = 0; i < 4; i++)
		free((void *)blobs[i]->data);
	free(payload);
	free(igvm);
	return ret;
}

/* ---- dump ---- */

struct dump_ctx {
	const uint8_t *file;
	/* a run of page-data headers printed as one line */
	uint64_t run_start, run_next;
	uint32_t run_count, run_zero, run_flags, run_mask;
	uint32_t run_offset;
};

static void flush_run(struct dump_ctx *d)
{
	if (!d->run_count)
		return;
	printf("  0x%08x PAGE_DATA          gpa 0x%09" PRIx64 "-0x%09" PRIx64
	       " %u pages (%u zero) mask 0x%x flags 0x%x\n",
	       d->run_offset, d->run_start, d->run_next, d->run_count, d->run_zero, d->run_mask,
	       d->run_flags);
	d->run_count = 0;
}

static const char *reg_name(uint32_t n)
{
	switch (n) {
	case HV_X64_REGISTER_RAX:
		return "rax";
	case HV_X64_REGISTER_RBX:
		return "rbx";
	case HV_X64_REGISTER_RSP:
		return "rsp";
	case HV_X64_REGISTER_RSI:
		return "rsi";
	case HV_X64_REGISTER_RIP:
		return "rip";
	case HV_X64_REGISTER_RFLAGS:
		return "rflags";
	case HV_X64_REGISTER_CR0:
		return "cr0";
	case HV_X64_REGISTER_CR3:
		return "cr3";
	case HV_X64_REGISTER_CR4:
		return "cr4";
	case HV_X64_REGISTER_ES:
		return "es";
	case HV_X64_REGISTER_CS:
		return "cs";
	case HV_X64_REGISTER_SS:
		return "ss";
	case HV_X64_REGISTER_DS:
		return "ds";
	case HV_X64_REGISTER_FS:
		return "fs";
	case HV_X64_REGISTER_GS:
		return "gs";
	case HV_X64_REGISTER_TR:
		return "tr";
	case HV_X64_REGISTER_IDTR:
		return "idtr";
	case HV_X64_REGISTER_GDTR:
		return "gdtr";
	case HV_X64_REGISTER_EFER:
		return "efer";
	default:
		return NULL;
	}
}

static int dump_header(void *ctx, const struct igvm_header_view *h)
{
	struct dump_ctx *d = ctx;
	uint32_t type = h->type & ~IGVM_VHT_IGNORABLE;
	const char *name = igvm_type_name(type);

	if (type == IGVM_VHT_PAGE_DATA) {
		struct igvm_vhs_page_data p;
		memcpy(&p, h->body, sizeof(p));
		if (d->run_count && p.gpa == d->run_next && p.flags == d->run_flags &&
		    p.compatibility_mask == d->run_mask) {
			d->run_count++;
			d->run_zero += !p.file_offset;
			d->run_next += IGVM_PAGE_SIZE;
			return 0;
		}
		flush_run(d);
		d->run_start = p.gpa;
		d->run_next = p.gpa + IGVM_PAGE_SIZE;
		d->run_count = 1;
		d->run_zero = !p.file_offset;
		d->run_flags = p.flags;
		d->run_mask = p.compatibility_mask;
		d->run_offset = h->offset;
		return 0;
	}
	flush_run(d);
	printf("  0x%08x %-18s ", h->offset, name ? name : "(unknown, ignorable)");
	switch (type) {
	case IGVM_VHT_SUPPORTED_PLATFORM: {
		struct igvm_vhs_supported_platform p;
		static const char *const pt[] = {"native", "vsm-isolation", "sev-snp", "tdx"};
		memcpy(&p, h->body, sizeof(p));
		printf("mask 0x%x %s v%u highest VTL %u shared boundary 0x%" PRIx64 "\n",
		       p.compatibility_mask, pt[p.platform_type], p.platform_version, p.highest_vtl,
		       p.shared_gpa_boundary);
		break;
	}
	case IGVM_VHT_PARAMETER_AREA: {
		struct igvm_vhs_parameter_area p;
		memcpy(&p, h->body, sizeof(p));
		printf("index %u, %" PRIu64 " bytes, initial data %s\n", p.parameter_area_index,
		       p.number_of_bytes, p.file_offset ? "from the file" : "zero");
		break;
	}
	case IGVM_VHT_PARAMETER_INSERT: {
		struct igvm_vhs_parameter_insert p;
		memcpy(&p, h->body, sizeof(p));
		printf("area %u at gpa 0x%" PRIx64 " mask 0x%x\n", p.parameter_area_index, p.gpa,
		       p.compatibility_mask);
		break;
	}
	case IGVM_VHT_REQUIRED_MEMORY: {
		struct igvm_vhs_required_memory p;
		memcpy(&p, h->body, sizeof(p));
		printf("gpa 0x%" PRIx64 " +0x%x flags 0x%x mask 0x%x\n", p.gpa, p.number_of_bytes,
		       p.flags, p.compatibility_mask);
		break;
	}
	case IGVM_VHT_VP_CONTEXT: {
		struct igvm_vhs_vp_context p;
		struct igvm_vbs_vp_context_header vh;
		memcpy(&p, h->body, sizeof(p));
		memcpy(&vh, d->file + p.file_offset, sizeof(vh));
		printf("VP %u mask 0x%x, %u registers at file offset 0x%x\n", p.vp_index,
		       p.compatibility_mask, vh.register_count, p.file_offset);
		for (uint32_t i = 0; i < vh.register_count; i++) {
			struct igvm_vbs_vp_context_register r;
			uint64_t lo, hi;
			memcpy(&r, d->file + p.file_offset + sizeof(vh) + i * sizeof(r), sizeof(r));
			uint32_t n =
			    (uint32_t)r.register_name[0] | (uint32_t)r.register_name[1] << 8 |
			    (uint32_t)r.register_name[2] << 16 | (uint32_t)r.register_name[3] << 24;
			memcpy(&lo, r.register_value, 8);
			memcpy(&hi, r.register_value + 8, 8);
			const char *rn = reg_name(n);
			if (rn)
				printf("               vtl%u %-6s ", r.vtl, rn);
			else
				printf("               vtl%u 0x%08x ", r.vtl, n);
			if (n >= HV_X64_REGISTER_ES && n <= HV_X64_REGISTER_TR)
				printf("base 0x%" PRIx64
				       " limit 0x%x selector 0x%x attributes 0x%x\n",
				       lo, (uint32_t)hi, (uint32_t)(hi >> 32) & 0xffff,
				       (uint32_t)(hi >> 48));
			else
				printf("0x%" PRIx64 "%s\n", lo, hi ? " (high bits set)" : "");
		}
		break;
	}
	default:
		if (h->length == sizeof(struct igvm_vhs_parameter) && name) {
			struct igvm_vhs_parameter p;
			memcpy(&p, h->body, sizeof(p));
			printf("area %u offset %u\n", p.parameter_area_index, p.byte_offset);
		} else {
			printf("type 0x%x, %u bytes\n", h->type, h->length);
		}
	}
	return 0;
}

static int dump_igvm(const char *path, struct blob f)
{
	struct igvm_summary s;
	struct igvm_fixed_header fh;
	struct dump_ctx d = {.file = f.data};
	char err[256];

	int r = igvm_parse(f.data, f.size, NULL, NULL, &s, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "mhcl-image: %s: invalid IGVM file: %s\n", path, err);
		return MHCL_EXIT_FAILURE;
	}
	memcpy(&fh, f.data, sizeof(fh));
	printf("%s: IGVM format %u, %u bytes, checksum 0x%08x (ok)\n", path, fh.format_version,
	       fh.total_file_size, fh.checksum);
	printf("  variable headers at 0x%x, %u bytes, %u headers; file data from 0x%x\n",
	       fh.variable_header_offset, fh.variable_header_size, s.headers, s.data_offset);
	printf("  %u platform(s), %u page(s) (%u zero), %u parameter area(s), %u parameter(s), "
	       "%u insert(s), %u VP context(s), %u required memory\n",
	       s.platforms, s.pages, s.zero_pages, s.param_areas, s.params, s.inserts,
	       s.vp_contexts, s.required_memory);
	(void)igvm_parse(f.data, f.size, dump_header, &d, NULL, err, sizeof(err));
	flush_run(&d);
	return 0;
}

static int dump_payload(const char *path, struct blob f)
{
	static const char *const names[] = {"kernel", "initrd", "cmdline", "manifest"};
	struct mhcl_payload_header h;
	char err[256];

	if (payload_parse(f.data, f.size, &h, err, sizeof(err)) < 0) {
		fprintf(stderr, "mhcl-image: %s: %s\n", path, err);
		return MHCL_EXIT_FAILURE;
	}
	printf("%s: mhcl payload v%u, %" PRIu64 " bytes (file %zu)\n", path, h.version,
	       h.total_size, f.size);
	for (int i = 0; i < MHCL_PAYLOAD_ITEM_MAX; i++) {
		if (!h.item[i].size) {
			printf("  %-8s -\n", names[i]);
			continue;
		}
		printf("  %-8s offset 0x%08" PRIx64 " size %" PRIu64, names[i], h.item[i].offset,
		       h.item[i].size);
		if (i == MHCL_PAYLOAD_CMDLINE)
			printf(" \"%.*s\"", (int)h.item[i].size,
			       (const char *)f.data + h.item[i].offset);
		printf("\n");
	}
	return 0;
}

static int dump_elf(const char *path, struct blob f)
{
	struct pvh_elf e;
	char err[256];

	if (pvh_elf_parse(f.data, f.size, &e, err, sizeof(err)) < 0) {
		fprintf(stderr, "mhcl-image: %s: %s\n", path, err);
		return MHCL_EXIT_FAILURE;
	}
	printf("%s: PVH ELF, entry 0x%x, %u load segment(s)\n", path, e.entry, e.nseg);
	for (unsigned i = 0; i < e.nseg; i++)
		printf("  paddr 0x%08" PRIx64 " memsz 0x%" PRIx64 " filesz 0x%" PRIx64
		       " file offset 0x%" PRIx64 "\n",
		       e.seg[i].paddr, e.seg[i].memsz, e.seg[i].filesz, e.seg[i].offset);
	return 0;
}

static int cmd_dump(int argc, char **argv)
{
	struct blob f;
	uint32_t magic32 = 0;
	uint64_t magic64 = 0;
	int r, ret;

	if (argc != 2) {
		usage(stderr);
		return MHCL_EXIT_USAGE;
	}
	if ((r = read_file(argv[1], &f)) < 0) {
		fprintf(stderr, "mhcl-image: unable to read %s: %s\n", argv[1], strerror(-r));
		return MHCL_EXIT_SYSCALL;
	}
	if (f.size >= 4)
		memcpy(&magic32, f.data, 4);
	if (f.size >= 8)
		memcpy(&magic64, f.data, 8);
	if (magic32 == IGVM_MAGIC)
		ret = dump_igvm(argv[1], f);
	else if (magic64 == MHCL_PAYLOAD_MAGIC)
		ret = dump_payload(argv[1], f);
	else if (f.size >= 4 && !memcmp(f.data,
					"\x7f"
					"ELF",
					4))
		ret = dump_elf(argv[1], f);
	else {
		fprintf(stderr, "mhcl-image: %s: neither IGVM, an mhcl payload nor an ELF file\n",
			argv[1]);
		ret = MHCL_EXIT_FAILURE;
	}
	free((void *)f.data);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return MHCL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "build"))
		return cmd_build(argc - 1, argv + 1);
	if (!strcmp(argv[1], "dump"))
		return cmd_dump(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return MHCL_EXIT_USAGE;
}
