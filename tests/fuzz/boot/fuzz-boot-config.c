/* SPDX-License-Identifier: MIT */
/*
 * The boot shim's parsers over hostile bytes. The first byte picks the input:
 *   0 host device tree, 1 ACPI MADT, 2 ACPI SRAT (with a fixed MADT),
 *   3 command line (image line, NUL, host line), 4 payload module.
 * Every input must either be refused with an error message or produce a
 * topology whose invariants hold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A string list the parser kept: within its buffer, accepted by ok, counted right. */
static void check_list(const char *list, size_t size, uint32_t len, uint32_t count,
		       bool (*ok)(const char *, size_t, unsigned *))
{
	unsigned n = 0;
	if (len > size || (len && (!ok(list, len, &n) || n != count)) || (!len && count))
		abort();
}

static void check_topology(const struct shim_topology *t)
{
	if (t->cpu_count > SHIM_MAX_CPUS || t->mem_count > SHIM_MAX_RANGES ||
	    t->node_count > SHIM_MAX_NODES)
		abort();
	for (uint32_t i = 0; i < t->cpu_count; i++) {
		if (t->cpu[i].apic_id > SHIM_MAX_APIC_ID || t->cpu[i].node >= SHIM_MAX_NODES)
			abort();
		for (uint32_t j = 0; j < i; j++)
			if (t->cpu[j].apic_id == t->cpu[i].apic_id)
				abort();
	}
	for (uint32_t i = 0; i < t->mem_count; i++)
		if (t->mem[i].base + t->mem[i].size < t->mem[i].base)
			abort();
	/* The guest's data disks are different /dev names, its NVMe functions different PCI
	 * addresses, its MACs unicast, not zero and different. */
	check_list(t->guest.data_disks, sizeof(t->guest.data_disks), t->guest.data_disks_len,
		   t->guest.ndata_disks, host_guest_disk_list_ok);
	check_list(t->guest.nvme, sizeof(t->guest.nvme), t->guest.nvme_len, t->guest.nnvme,
		   host_guest_nvme_list_ok);
	for (uint32_t i = 0; i < t->guest.data_disks_len; i++) {
		char c = t->guest.data_disks[i];
		if (!(c == '\0' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			abort();
	}
	if (t->guest.nnic_macs > HOST_GUEST_NICS_MAX)
		abort();
	for (uint32_t i = 0; i < t->guest.nnic_macs; i++) {
		const uint8_t *m = t->guest.nic_macs + i * HOST_GUEST_MAC_LEN;
		if ((m[0] & 1u) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
			abort();
		for (uint32_t j = 0; j < i; j++)
			if (!memcmp(m, t->guest.nic_macs + j * HOST_GUEST_MAC_LEN,
				    HOST_GUEST_MAC_LEN))
				abort();
	}
}

/* The filter's output: bounded names, a count at least as large as the names listed,
 * and nothing isolated mode forbids left in a line of plain tokens. */
static void check_cmdline(const struct shim_options *o, const char *out)
{
	uint32_t listed = 0;

	if (o->dropped_names_len > sizeof(o->dropped_names) || strlen(out) >= SHIM_MAX_CMDLINE)
		abort();
	for (uint32_t k = 0; k < o->dropped_names_len; k++)
		listed += o->dropped_names[k] == '\0';
	if (listed > o->dropped || (o->isolated && o->fault[0]))
		abort();
}

/* A valid MADT with one enabled local APIC (ID 0); the checksum is filled in once. */
static uint8_t madt_fixed[52] = {
    'A', 'P', 'I', 'C', 52, 0, 0, 0, 1, 0, 'M', 'H', 'C',  'L',	 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0,	 0,   0,   0,	0,  0, 0, 0, 0, 0, 0,	0,   0xe0, 0xfe, 0, 0, 0, 0, 0, 8, 0, 0, 1, 0, 0, 0,
};

static void madt_fixed_checksum(void)
{
	uint8_t sum = 0;
	madt_fixed[9] = 0;
	for (size_t i = 0; i < sizeof(madt_fixed); i++)
		sum = (uint8_t)(sum + madt_fixed[i]);
	madt_fixed[9] = (uint8_t)(0x100 - sum);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct shim_topology topo;
	struct shim_error err;
	struct shim_options opts = {.sidecar = true, .boot_cpus = 1};
	struct mhcl_payload_header hdr;
	char out[SHIM_MAX_CMDLINE];

	if (size < 1)
		return 0;
	uint8_t sel = data[0] % 5;
	data++;
	size--;
	/* Private, exactly sized copy so ASan sees every overread. */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	switch (sel) {
	case 0:
		if (shim_host_dt_parse(buf, size, &topo, &err) == 0)
			check_topology(&topo);
		break;
	case 1:
		if (shim_acpi_parse(buf, size, NULL, 0, 0, &topo, &err) == 0)
			check_topology(&topo);
		break;
	case 2:
		madt_fixed_checksum();
		if (shim_acpi_parse(madt_fixed, sizeof(madt_fixed), buf, size, 0, &topo, &err) == 0)
			check_topology(&topo);
		break;
	case 3: {
		/* Image line, NUL, host line; isolation preset by the host line's first byte. */
		char *s = malloc(size + 2);
		if (s) {
			memcpy(s, buf, size);
			s[size] = s[size + 1] = '\0';
			const char *host = s + strlen(s) + 1;
			opts.isolated = host[0] & 1;
			if (shim_cmdline_parse(s, host, &opts, out, sizeof(out), &err) == 0)
				check_cmdline(&opts, out);
			free(s);
		}
		break;
	}
	case 4:
		(void)shim_payload_parse(buf, size, &hdr, &err);
		break;
	}
	free(buf);
	return 0;
}
