/* SPDX-License-Identifier: MIT */
/*
 * mhcl-sidecard's boot-tree parser and page checks (servers/sidecar/tree.c):
 * trees the shim would write, trees it would not, and control/command pages
 * that disagree with the tree. A memfd stands in for /dev/mem.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sidecar_internal.h"
#include "test.h"

#define CTRL_PA 0x10000ull
#define NCPU 4u /* cpu 0 (Linux) + 3 in the sidecar */

struct opts {
	bool boot_in_sidecar, unknown_index, short_reg, no_sidecar;
};

static void *make_tree(const struct opts *o)
{
	static uint8_t buf[8192];
	void *fdt = buf;

	ASSERT_OK(fdt_create_empty_tree(fdt, sizeof(buf)));
	ASSERT_OK(fdt_setprop_string(fdt, 0, "compatible", "mhcl,vtl2"));
	int chosen = fdt_add_subnode(fdt, 0, "chosen");
	ASSERT_OK(fdt_setprop_u32(fdt, chosen, "mhcl,boot-cpus", 1));
	int cpus = fdt_add_subnode(fdt, 0, "cpus");
	for (uint32_t i = NCPU; i-- > 0;) {
		char name[16];
		snprintf(name, sizeof(name), "cpu@%u", i);
		int c = fdt_add_subnode(fdt, cpus, name);
		ASSERT_OK(fdt_setprop_u32(fdt, c, "reg", i));
		ASSERT_OK(fdt_setprop_u32(fdt, c, "mhcl,cpu-index", i));
		ASSERT_OK(fdt_setprop_string(fdt, c, "mhcl,owner", i ? "sidecar" : "linux"));
	}
	int rsv = fdt_add_subnode(fdt, 0, "reserved-memory");
	int r = fdt_add_subnode(fdt, rsv, "mhcl@8000");
	fdt64_t rr[2] = {cpu_to_fdt64(0x8000), cpu_to_fdt64(0x40000)};
	ASSERT_OK(fdt_setprop(fdt, r, "reg", rr, sizeof(rr)));
	if (!o->no_sidecar) {
		int sc = fdt_add_subnode(fdt, 0, "sidecar@10000");
		fdt64_t reg[4] = {cpu_to_fdt64(CTRL_PA), cpu_to_fdt64(4096),
				  cpu_to_fdt64(CTRL_PA + 4096),
				  cpu_to_fdt64(sidecar_node_pages(NCPU - 1) * 4096 - 4096)};
		fdt32_t ids[3] = {cpu_to_fdt32(o->boot_in_sidecar ? 0 : 1), cpu_to_fdt32(2),
				  cpu_to_fdt32(o->unknown_index ? 9 : 3)};
		ASSERT_OK(fdt_setprop_string(fdt, sc, "compatible", "mhcl,sidecar"));
		ASSERT_OK(fdt_setprop(fdt, sc, "reg", reg, o->short_reg ? 16 : sizeof(reg)));
		ASSERT_OK(fdt_setprop_u32(fdt, sc, "numa-node-id", 0));
		ASSERT_OK(fdt_setprop(fdt, sc, "mhcl,cpu-indices", ids, sizeof(ids)));
	}
	ASSERT_OK(fdt_pack(fdt));
	return fdt;
}

/* A fake physical memory holding the node's pages as the shim leaves them. */
static int make_mem(uint32_t magic, uint32_t count, uint32_t cmd2_index)
{
	int fd = memfd_create("mem", MFD_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(ftruncate(fd, 0x40000));
	struct sidecar_control_page c = {0};
	c.magic = magic;
	c.version = SIDECAR_VERSION;
	c.cpu_count = count;
	c.base_cpu = 1;
	c.command_pages = CTRL_PA + 4096;
	for (uint32_t k = 0; k < NCPU - 1; k++)
		c.cpu_status[k] = SIDECAR_CPU_IDLE;
	ASSERT_EQ(pwrite(fd, &c, sizeof(c), CTRL_PA), (ssize_t)sizeof(c));
	for (uint32_t k = 0; k < NCPU - 1; k++) {
		struct sidecar_command_page p = {0};
		p.cpu_index = k == 1 ? cmd2_index : k + 1;
		ASSERT_EQ(pwrite(fd, &p, sizeof(p), CTRL_PA + 4096 * (1 + k)), (ssize_t)sizeof(p));
	}
	return fd;
}

static int parse(const struct opts *o, struct sidecar *sc)
{
	char why[160] = "";
	void *fdt = make_tree(o);

	memset(sc, 0, sizeof(*sc));
	int r = sidecar_parse_tree(sc, fdt, fdt_totalsize(fdt), why, sizeof(why));
	if (r < 0)
		fprintf(stderr, "parse: %d %s\n", r, why);
	return r;
}

static void unmap(struct sidecar *sc)
{
	for (uint32_t i = 0; i < sc->nnodes; i++) {
		if (sc->nodes[i].ctrl)
			munmap((void *)sc->nodes[i].ctrl, 4096);
		if (sc->nodes[i].cmd)
			munmap((void *)sc->nodes[i].cmd, sc->nodes[i].cpu_count * 4096);
	}
}

int main(void)
{
	static struct sidecar sc;
	struct opts o = {0};
	int fd;

	/* The shim's tree and pages. */
	ASSERT_OK(parse(&o, &sc));
	ASSERT_EQ(sc.ncpus, NCPU);
	ASSERT_EQ(sc.nnodes, 1);
	ASSERT_EQ(sc.nodes[0].cpu_count, 3);
	ASSERT_EQ(sc.boot_cpus, 1);
	ASSERT_EQ(sc.nreserved, 1);
	ASSERT_EQ(sc.cpus[0].owner, SC_OWNER_LINUX);
	ASSERT_EQ(sc.cpus[0].node, -1);
	fd = make_mem(SIDECAR_CONTROL_MAGIC, 3, 2);
	ASSERT_OK(sidecar_map(&sc, fd));
	ASSERT_FALSE(sc.nodes[0].broken);
	for (uint32_t i = 1; i < NCPU; i++) {
		ASSERT_FALSE(sc.cpus[i].stuck);
		ASSERT_EQ(sidecar_cpu_status(&sc, &sc.cpus[i]), SIDECAR_CPU_IDLE);
	}
	ASSERT_EQ(sidecar_cpu_status(&sc, &sc.cpus[0]), -EINVAL);
	unmap(&sc);
	close(fd);

	/* Pages that disagree with the tree: the node (or CPU) is left alone. */
	ASSERT_OK(parse(&o, &sc));
	fd = make_mem(0xdeadbeef, 3, 2);
	ASSERT_OK(sidecar_map(&sc, fd));
	ASSERT_TRUE(sc.nodes[0].broken);
	unmap(&sc);
	close(fd);

	ASSERT_OK(parse(&o, &sc));
	fd = make_mem(SIDECAR_CONTROL_MAGIC, 200, 2); /* cpu_count larger than the tree's */
	ASSERT_OK(sidecar_map(&sc, fd));
	ASSERT_TRUE(sc.nodes[0].broken);
	ASSERT_TRUE(strstr(sc.nodes[0].why, "cpu_count 200") != NULL);
	unmap(&sc);
	close(fd);

	ASSERT_OK(parse(&o, &sc));
	fd = make_mem(SIDECAR_CONTROL_MAGIC, 3, 7); /* CPU 2's page names CPU 7 */
	ASSERT_OK(sidecar_map(&sc, fd));
	ASSERT_FALSE(sc.nodes[0].broken);
	ASSERT_TRUE(sc.cpus[2].stuck);
	ASSERT_FALSE(sc.cpus[1].stuck);
	unmap(&sc);
	close(fd);

	/* Trees the shim never writes. */
	o = (struct opts){.boot_in_sidecar = true};
	ASSERT_EQ(parse(&o, &sc), -EBADMSG);
	o = (struct opts){.unknown_index = true};
	ASSERT_EQ(parse(&o, &sc), -EBADMSG);
	o = (struct opts){.short_reg = true};
	ASSERT_EQ(parse(&o, &sc), -EBADMSG);
	o = (struct opts){.no_sidecar = true};
	ASSERT_EQ(parse(&o, &sc), -ENODEV);
	char why[160];
	memset(&sc, 0, sizeof(sc));
	ASSERT_EQ(sidecar_parse_tree(&sc, "garbage garbage garbage garbage garbage", 40, why,
				     sizeof(why)),
		  -EBADMSG);

	ASSERT_STREQ(sidecar_status_name(200), "invalid");
	ASSERT_STREQ(sidecar_command_name(99), "invalid");
	ASSERT_UEQ(sidecar_fnv1a((const uint8_t *)"a", 1), 0xaf63dc4c8601ec8cull);
	printf("sidecar tree: ok\n");
	return 0;
}
