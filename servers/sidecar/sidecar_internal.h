/* SPDX-License-Identifier: MIT */
/*
 * mhcl-sidecard internals: the sidecar client in Linux user space.
 *
 * Trust: the boot device tree (setup_data, written by the shim before Linux)
 * is trusted as much as the kernel's boot parameters, but is still parsed
 * with every length and count checked. The control and command pages are
 * shared with the sidecar CPUs, which are trusted less than the kernel: each
 * value is read once into a local, checked against the tree (magic, version,
 * cpu_count, command page addresses, CPU indices) and never used as an
 * index before it is bounded.
 */
#ifndef MHCL_SIDECAR_INTERNAL_H
#define MHCL_SIDECAR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defs/sidecar_defs.h"

/* Limits, in one place. */
#define SC_MAX_CPUS 256u		 /* the shim's own limit */
#define SC_MAX_NODES SIDECAR_MAX_NODES
#define SC_MAX_RESERVED 16u		 /* /reserved-memory ranges kept */
#define SC_DTB_MAX (256u * 1024u)	 /* largest boot device tree read */
#define SC_CHECKSUM_MAX (1024u * 1024u)	 /* largest work item range */
#define SC_CHECKSUM_DEFAULT (64u * 1024u)
#define SC_COMMAND_TIMEOUT_MS 3000u	 /* a posted command (or REMOVE) must finish */
#define SC_POLL_MS 2u			 /* how often the server looks at a busy CPU */


enum sc_owner {
	SC_OWNER_SIDECAR,
	SC_OWNER_LINUX,
	SC_OWNER_FAILED,
	SC_OWNER_OFFLINE, /* neither: not started (mhcl.sidecar=off) and not onlined */
	_SC_OWNER_MAX,
};

struct sc_node {
	uint32_t node;	     /* numa-node-id */
	uint64_t ctrl_pa;    /* control page */
	uint64_t shmem_pa;   /* command pages, then private pages */
	uint64_t shmem_size;
	uint32_t cpu_count;  /* from the tree (mhcl,cpu-indices) */
	uint32_t first_cpu;  /* index into sc->cpus of cpu-indices[0] order */
	volatile struct sidecar_control_page *ctrl; /* mapping of ctrl_pa */
	volatile struct sidecar_command_page *cmd;  /* cpu_count command pages */
	bool broken;	     /* control page failed validation */
	char why[96];
};

struct sc_cpu {
	uint32_t index;	  /* the shim's CPU index = Linux CPU number */
	uint32_t apic_id; /* from the tree */
	uint32_t numa;
	enum sc_owner owner;
	int node;	  /* index into sc->nodes, -1 if not a sidecar CPU */
	uint32_t slot;	  /* index in the node's cpu_status[] */
	int online_fd;	  /* /sys/devices/system/cpu/cpuN/online, -1 if absent */
	bool busy;	  /* a command or hand-off of ours is in flight */
	bool stuck;	  /* did not finish one in time: no more commands */
	uint32_t seq;	  /* our last sequence number */
	const char *last_op; /* what we last asked for */
	int last_result;
	uint64_t ops;	  /* requests we completed on this CPU */
};

struct sc_range {
	uint64_t base, size;
};

struct sidecar {
	int mem_fd; /* /dev/mem, for pread verification */
	uint32_t ncpus, nnodes, nreserved;
	uint32_t boot_cpus;
	struct sc_cpu cpus[SC_MAX_CPUS];
	struct sc_node nodes[SC_MAX_NODES];
	struct sc_range reserved[SC_MAX_RESERVED];
	uint8_t *scratch; /* SC_CHECKSUM_MAX bytes, allocated once */
	struct {
		uint64_t checksums, onlines, refused, timeouts, bad_pages;
	} stats;
};

/* Parses a boot device tree (dtb, len bytes, borrowed) into sc. Returns 0,
 * -ENODEV when it has no sidecar node, or -EBADMSG/-EINVAL with why filled. */
int sidecar_parse_tree(struct sidecar *sc, const void *dtb, size_t len, char *why, size_t why_len);

/* Maps every node's pages through mem_fd (borrowed) and validates them. */
int sidecar_map(struct sidecar *sc, int mem_fd);

/* Current status byte of a sidecar CPU (read once), or -EINVAL. */
int sidecar_cpu_status(struct sidecar *sc, const struct sc_cpu *c);

const char *sidecar_owner_name(enum sc_owner o);
const char *sidecar_status_name(int st);
const char *sidecar_command_name(uint32_t cmd);

uint64_t sidecar_fnv1a(const uint8_t *p, size_t len);

#endif
