/* SPDX-License-Identifier: MIT */
/*
 * QEMU fw_cfg over I/O ports (docs/specs/fw_cfg.txt): selector 0x510 (16-bit),
 * data 0x511 (byte stream). The file directory (selector 0x19) is a big-endian
 * u32 count followed by {be32 size, be16 select, be16 reserved, char name[56]}.
 */
#include <string.h>

#include "rt.h"
#include "x86.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_FILE_DIR 0x0019
#define FW_CFG_MAX_FILES 4096u

#ifndef ENOENT
#define ENOENT 2
#define ENODEV 19
#endif

static void read_bytes(void *buf, uint32_t len)
{
	uint8_t *p = buf;
	for (uint32_t i = 0; i < len; i++)
		p[i] = inb(FW_CFG_PORT_DATA);
}

bool rt_fwcfg_present(void)
{
	char sig[4];
	outw(FW_CFG_PORT_SEL, FW_CFG_SIGNATURE);
	read_bytes(sig, sizeof(sig));
	return memcmp(sig, "QEMU", 4) == 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int rt_fwcfg_find(const char *name, uint16_t *ret_select, uint32_t *ret_size)
{
	uint8_t hdr[4], ent[64];

	if (!rt_fwcfg_present())
		return -ENODEV;
	outw(FW_CFG_PORT_SEL, FW_CFG_FILE_DIR);
	read_bytes(hdr, sizeof(hdr));
	uint32_t count = be32(hdr);
	if (count > FW_CFG_MAX_FILES)
		count = FW_CFG_MAX_FILES;
	for (uint32_t i = 0; i < count; i++) {
		read_bytes(ent, sizeof(ent));
		ent[63] = '\0';
		if (strcmp((const char *)ent + 8, name) == 0) {
			*ret_select = (uint16_t)(ent[4] << 8 | ent[5]);
			*ret_size = be32(ent);
			return 0;
		}
	}
	return -ENOENT;
}

void rt_fwcfg_read(uint16_t select, void *buf, uint32_t len)
{
	outw(FW_CFG_PORT_SEL, select);
	read_bytes(buf, len);
}
