/* SPDX-License-Identifier: MIT */
/*
 * The sidecar part of the boot device tree (boot/README.md, "Device tree for
 * Linux and init") and the mapping of the sidecar's shared pages.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sidecar_internal.h"

_printf_(3, 4) static int bad(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* A 64-bit-address, 64-bit-size pair at reg[i]; properties are only 4-byte aligned. */
static void reg_pair(const fdt64_t *reg, int i, uint64_t *base, uint64_t *size)
{
	fdt64_t v[2];
	memcpy(v, (const uint8_t *)reg + 16 * i, sizeof(v));
	*base = fdt64_to_cpu(v[0]);
	*size = fdt64_to_cpu(v[1]);
}

static bool u32_prop(const void *fdt, int node, const char *name, uint32_t *ret)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, node, name, &len);

	if (!p || len != 4)
		return false;
	*ret = fdt32_to_cpu(*p);
	return true;
}

static struct sc_cpu *cpu_by_index(struct sidecar *sc, uint32_t index)
{
	for (uint32_t i = 0; i < sc->ncpus; i++)
		if (sc->cpus[i].index == index)
			return &sc->cpus[i];
	return NULL;
}

static int parse_cpus(struct sidecar *sc, const void *fdt, char *why, size_t why_len)
{
	int cpus = fdt_path_offset(fdt, "/cpus"), c;

	if (cpus < 0)
		return bad(why, why_len, "no /cpus node");
	fdt_for_each_subnode(c, fdt, cpus)
	{
		uint32_t apic, index, numa = 0;
		int len;
		const char *owner = fdt_getprop(fdt, c, "mhcl,owner", &len);

		if (!u32_prop(fdt, c, "reg", &apic) || !u32_prop(fdt, c, "mhcl,cpu-index", &index))
			return bad(why, why_len, "cpu node %s lacks reg or mhcl,cpu-index",
				   fdt_get_name(fdt, c, NULL));
		(void)u32_prop(fdt, c, "numa-node-id", &numa);
		if (sc->ncpus == SC_MAX_CPUS)
			return bad(why, why_len, "more than %u cpus", SC_MAX_CPUS);
		if (index >= SC_MAX_CPUS || apic > 254 || cpu_by_index(sc, index))
			return bad(why, why_len, "cpu index %u / APIC ID %u out of range or repeated",
				   index, apic);
		if (!owner || len < 1 || owner[len - 1] != '\0')
			return bad(why, why_len, "cpu %u: mhcl,owner missing", index);
		struct sc_cpu *p = &sc->cpus[sc->ncpus++];
		*p = (struct sc_cpu){.index = index, .apic_id = apic, .numa = numa, .node = -1,
				     .online_fd = -1, .last_op = "", .owner = SC_OWNER_OFFLINE};
		if (strcmp(owner, "linux") == 0)
			p->owner = SC_OWNER_LINUX;
		else if (strcmp(owner, "sidecar") == 0)
			p->owner = SC_OWNER_SIDECAR;
		else if (strcmp(owner, "failed") == 0)
			p->owner = SC_OWNER_FAILED;
	}
	return 0;
}

static void parse_reserved(struct sidecar *sc, const void *fdt)
{
	int rsv = fdt_path_offset(fdt, "/reserved-memory"), r, len;

	if (rsv < 0)
		return;
	fdt_for_each_subnode(r, fdt, rsv)
	{
		const fdt64_t *reg = fdt_getprop(fdt, r, "reg", &len);
		if (!reg || len != 16 || sc->nreserved == SC_MAX_RESERVED)
			continue;
		struct sc_range *x = &sc->reserved[sc->nreserved];
		reg_pair(reg, 0, &x->base, &x->size);
		if (x->size && x->base + x->size > x->base)
			sc->nreserved++;
	}
	/* fdt order is the shim's order reversed twice: sort by address anyway. */
	for (uint32_t i = 1; i < sc->nreserved; i++)
		for (uint32_t j = i; j > 0 && sc->reserved[j].base < sc->reserved[j - 1].base; j--) {
			struct sc_range t = sc->reserved[j];
			sc->reserved[j] = sc->reserved[j - 1];
			sc->reserved[j - 1] = t;
		}
}

int sidecar_parse_tree(struct sidecar *sc, const void *fdt, size_t len, char *why, size_t why_len)
{
	int n, r;

	if (len < sizeof(struct fdt_header) || fdt_check_header(fdt) != 0 ||
	    fdt_totalsize(fdt) > len)
		return bad(why, why_len, "not a flattened device tree");
	r = fdt_check_full(fdt, len);
	if (r < 0)
		return bad(why, why_len, "device tree is malformed (%s)", fdt_strerror(r));
	if (fdt_node_check_compatible(fdt, 0, "mhcl,vtl2") != 0)
		return bad(why, why_len, "not the mhcl boot device tree");
	int chosen = fdt_path_offset(fdt, "/chosen");
	if (chosen >= 0)
		(void)u32_prop(fdt, chosen, "mhcl,boot-cpus", &sc->boot_cpus);
	r = parse_cpus(sc, fdt, why, why_len);
	if (r < 0)
		return r;
	parse_reserved(sc, fdt);

	fdt_for_each_subnode(n, fdt, 0)
	{
		int plen;
		if (fdt_node_check_compatible(fdt, n, "mhcl,sidecar") != 0)
			continue;
		if (sc->nnodes == SC_MAX_NODES)
			return bad(why, why_len, "more than %u sidecar nodes", SC_MAX_NODES);
		struct sc_node *sn = &sc->nodes[sc->nnodes];
		const fdt64_t *reg = fdt_getprop(fdt, n, "reg", &plen);
		uint64_t csize;
		if (!reg || plen != 32)
			return bad(why, why_len, "%s: reg wants 2 (address, size) pairs",
				   fdt_get_name(fdt, n, NULL));
		reg_pair(reg, 0, &sn->ctrl_pa, &csize);
		reg_pair(reg, 1, &sn->shmem_pa, &sn->shmem_size);
		const fdt32_t *ids = fdt_getprop(fdt, n, "mhcl,cpu-indices", &plen);
		if (!ids || plen <= 0 || plen % 4 || (uint32_t)plen / 4 > SIDECAR_MAX_NODE_CPUS)
			return bad(why, why_len, "%s: bad mhcl,cpu-indices",
				   fdt_get_name(fdt, n, NULL));
		sn->cpu_count = (uint32_t)plen / 4;
		if (!u32_prop(fdt, n, "numa-node-id", &sn->node))
			sn->node = 0;
		/* Pages: aligned, the sizes the layout needs, no wrap, below 4 GiB. */
		if (csize != SIDECAR_PAGE_SIZE || sn->ctrl_pa % SIDECAR_PAGE_SIZE ||
		    sn->shmem_pa % SIDECAR_PAGE_SIZE ||
		    sn->shmem_size < (uint64_t)sn->cpu_count * SIDECAR_PAGE_SIZE ||
		    sn->shmem_pa + sn->shmem_size < sn->shmem_pa ||
		    sn->shmem_pa + sn->shmem_size > (1ull << 32) || sn->ctrl_pa >= (1ull << 32))
			return bad(why, why_len, "%s: control or command pages out of shape",
				   fdt_get_name(fdt, n, NULL));
		for (uint32_t k = 0; k < sn->cpu_count; k++) {
			struct sc_cpu *c = cpu_by_index(sc, fdt32_to_cpu(ids[k]));
			if (!c || c->node >= 0 || c->index == 0)
				return bad(why, why_len, "%s: cpu index %u unknown, boot or repeated",
					   fdt_get_name(fdt, n, NULL), fdt32_to_cpu(ids[k]));
			c->node = (int)sc->nnodes;
			c->slot = k;
		}
		sc->nnodes++;
	}
	return sc->nnodes ? 0 : -ENODEV;
}

static void *map_pages(int fd, uint64_t pa, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)pa);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * Checks one node's control page against the tree. Each field is read once.
 * A node that fails is marked broken (its CPUs get no commands) and the
 * others keep working.
 */
static void check_node(struct sidecar *sc, struct sc_node *sn)
{
	volatile struct sidecar_control_page *c = sn->ctrl;
	uint32_t magic = c->magic, version = c->version, count = c->cpu_count;
	uint32_t node = c->node_index;
	uint64_t cmd_pa = c->command_pages;

	if (magic != SIDECAR_CONTROL_MAGIC || version != SIDECAR_VERSION)
		snprintf(sn->why, sizeof(sn->why), "bad magic 0x%x or version %u", magic, version);
	else if (count != sn->cpu_count)
		snprintf(sn->why, sizeof(sn->why), "cpu_count %u, the tree lists %u", count,
			 sn->cpu_count);
	else if (cmd_pa != sn->shmem_pa)
		snprintf(sn->why, sizeof(sn->why), "command pages at 0x%llx, the tree says 0x%llx",
			 (unsigned long long)cmd_pa, (unsigned long long)sn->shmem_pa);
	else if (node != sn->node)
		snprintf(sn->why, sizeof(sn->why), "node %u, the tree says %u", node, sn->node);
	else
		return;
	sn->broken = true;
	sc->stats.bad_pages++;
}

int sidecar_map(struct sidecar *sc, int mem_fd)
{
	for (uint32_t i = 0; i < sc->nnodes; i++) {
		struct sc_node *sn = &sc->nodes[i];
		sn->ctrl = map_pages(mem_fd, sn->ctrl_pa, SIDECAR_PAGE_SIZE);
		if (!sn->ctrl)
			return log_error_errno(-errno, "unable to map control page 0x%llx: %m",
					       (unsigned long long)sn->ctrl_pa);
		sn->cmd = map_pages(mem_fd, sn->shmem_pa, (size_t)sn->cpu_count * SIDECAR_PAGE_SIZE);
		if (!sn->cmd)
			return log_error_errno(-errno, "unable to map command pages 0x%llx: %m",
					       (unsigned long long)sn->shmem_pa);
		check_node(sc, sn);
		if (sn->broken) {
			log_warn("sidecar node %u: %s; its CPUs are left alone", sn->node, sn->why);
			continue;
		}
		/* Each command page names its CPU (written by the shim). */
		for (uint32_t k = 0; k < sc->ncpus; k++) {
			struct sc_cpu *c = &sc->cpus[k];
			if (c->node != (int)i)
				continue;
			uint32_t idx = sn->cmd[c->slot].cpu_index;
			if (idx != c->index) {
				log_warn("cpu %u: command page names cpu %u; not used", c->index, idx);
				c->stuck = true;
				sc->stats.bad_pages++;
			}
		}
	}
	return 0;
}

int sidecar_cpu_status(struct sidecar *sc, const struct sc_cpu *c)
{
	if (c->node < 0 || (uint32_t)c->node >= sc->nnodes)
		return -EINVAL;
	const struct sc_node *sn = &sc->nodes[c->node];
	if (!sn->ctrl || c->slot >= sn->cpu_count)
		return -EINVAL;
	return __atomic_load_n(&sn->ctrl->cpu_status[c->slot], __ATOMIC_ACQUIRE);
}

const char *sidecar_owner_name(enum sc_owner o)
{
	static const char *const names[_SC_OWNER_MAX] = {
	    [SC_OWNER_SIDECAR] = "sidecar",
	    [SC_OWNER_LINUX] = "linux",
	    [SC_OWNER_FAILED] = "failed",
	    [SC_OWNER_OFFLINE] = "offline",
	};
	return (unsigned)o < _SC_OWNER_MAX ? names[o] : "?";
}

const char *sidecar_status_name(int st)
{
	static const char *const names[SIDECAR_CPU_STATUS_MAX] = {
	    [SIDECAR_CPU_REMOVED] = "removed", [SIDECAR_CPU_STARTING] = "starting",
	    [SIDECAR_CPU_IDLE] = "idle",       [SIDECAR_CPU_RUN] = "run",
	    [SIDECAR_CPU_REMOVE] = "remove",   [SIDECAR_CPU_FAILED] = "failed",
	};
	return st >= 0 && st < SIDECAR_CPU_STATUS_MAX ? names[st] : "invalid";
}

const char *sidecar_command_name(uint32_t cmd)
{
	static const char *const names[SIDECAR_CMD_MAX] = {
	    [SIDECAR_CMD_NONE] = "none",
	    [SIDECAR_CMD_STATUS] = "status",
	    [SIDECAR_CMD_CHECKSUM] = "checksum",
	};
	return cmd < SIDECAR_CMD_MAX ? names[cmd] : "invalid";
}

uint64_t sidecar_fnv1a(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}
