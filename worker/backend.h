/* SPDX-License-Identifier: MIT */
/*
 * Partition backends: how the worker runs VTL0. One ops table per backend (kvm here;
 * mshv_vtl for Hyper-V VTL2 later; sim, for tests, in tests/sim). The VP loop sees only
 * decoded exits (struct vp_exit) and completes them by filling the fields the exit names;
 * the backend turns that back into its own ABI (kvm_run, the mshv_vtl run page, a test's
 * socket).
 *
 * How the other backends map onto it: mshv_vtl (Hyper-V VTL2, include/uapi/linux/mshv.h)
 * runs a VP with its run page's cpu_context and returns an intercept message (I/O port,
 * MMIO, CPUID, MSR, hypercall) that becomes one vp_exit; the hypervisor owns the SynIC
 * there, so VP_EXIT_SYNIC never occurs, and CPUID/MSR intercepts arrive as VP_EXIT_CPUID
 * and VP_EXIT_MSR (KVM answers both in the kernel from vcpu_set_cpuid). sim delivers the
 * same exits from a test process over a socket, with rings in the shared memfd.
 *
 * Ownership: the worker owns guest RAM (a memfd) and hands the backend a borrowed mapping.
 * Every fd a backend returns is close-on-exec and owned by the caller.
 * All functions return 0 or a positive count on success, -errno on failure.
 */
#ifndef MHCL_WORKER_BACKEND_H
#define MHCL_WORKER_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct partition;
struct vcpu;

struct cpuid_leaf {
	uint32_t function;
	uint32_t index;
	uint32_t flags; /* CPUID_LEAF_SIGNIFICANT_INDEX */
	uint32_t eax, ebx, ecx, edx;
};
#define CPUID_LEAF_SIGNIFICANT_INDEX (1u << 0)
#define CPUID_MAX_LEAVES 256

struct x86_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g;
};

/* Register state at the first instruction of a VP (the boot loader's hand-off). */
struct x86_boot_state {
	uint64_t rip, rsp, rsi, rbx, rflags;
	uint64_t cr0, cr3, cr4, efer;
	struct x86_segment cs, ds;
	uint64_t gdt_base;
	uint16_t gdt_limit;
};

enum vp_exit_kind {
	VP_EXIT_NONE,           /* interrupted or handled inside the backend: just run again */
	VP_EXIT_IO,
	VP_EXIT_MMIO,
	VP_EXIT_HYPERCALL,      /* a hypercall the partition left to us */
	VP_EXIT_SYNIC,          /* the guest wrote SCONTROL, SIMP or SIEFP */
	VP_EXIT_CPUID,          /* a CPUID the partition did not answer itself */
	VP_EXIT_MSR,            /* an MSR access the partition did not handle itself */
	VP_EXIT_SHUTDOWN,       /* triple fault or similar: the VP cannot continue */
	VP_EXIT_FAILED,         /* the backend could not run the VP (reason in .failure) */
	_VP_EXIT_MAX,
};

struct vp_exit {
	enum vp_exit_kind kind;
	union {
		struct {
			uint16_t port;
			uint8_t size;   /* 1, 2 or 4 */
			bool write;
			uint32_t count; /* string I/O repetitions */
			uint8_t *data;  /* count * size bytes, backend-owned; fill on reads */
		} io;
		struct {
			uint64_t gpa;
			uint32_t len;   /* <= 8 */
			bool write;
			uint8_t *data;  /* len bytes, backend-owned; fill on reads */
		} mmio;
		struct {
			uint64_t control;  /* RCX: code, fast bit, counts */
			uint64_t input;    /* RDX: input GPA, or data for fast calls */
			uint64_t output;   /* R8: output GPA, or data for fast calls */
			uint64_t *result;  /* where to write RAX (backend-owned) */
		} hcall;
		struct {
			uint32_t msr;
			uint64_t control, evt_page, msg_page;
		} synic;
		struct {
			uint32_t function, index;
			uint32_t *regs; /* eax, ebx, ecx, edx to fill (backend-owned) */
		} cpuid;
		struct {
			uint32_t index;
			bool write;
			uint64_t value;  /* written value, or fill with the read result */
			uint64_t *data;  /* where a read result goes (backend-owned) */
			bool *fault;     /* set to inject #GP */
		} msr;
		struct {
			uint64_t reason;
		} failure;
	};
};

struct partition_config {
	uint32_t vcpu_count;
};

struct backend_ops {
	const char *name;

	int (*partition_create)(const struct partition_config *cfg, struct partition **ret);
	/* Accepts NULL; returns NULL. Vcpus must be destroyed first. */
	struct partition *(*partition_destroy)(struct partition *p);

	/* Maps [gpa, gpa + size) to the borrowed mapping hva (backed by memfd at offset). */
	int (*map_ram)(struct partition *p, uint32_t slot, uint64_t gpa, uint64_t size, void *hva,
		       int memfd, uint64_t offset);

	/* Fills ret_leaves with what the partition can give the guest; returns the count. The
	 * Hyper-V leaves (0x40000000..) come from supported_hv_cpuid, never this list. */
	int (*supported_cpuid)(struct partition *p, struct cpuid_leaf *ret_leaves, size_t max);
	int (*supported_hv_cpuid)(struct partition *p, struct cpuid_leaf *ret_leaves, size_t max);

	/* Optional: closes what only setup needs (KVM: /dev/kvm itself), once every VP exists
	 * and before the jail, so a compromised worker holds the VM's fds and nothing that
	 * makes new VMs. */
	void (*setup_done)(struct partition *p);

	int (*vcpu_create)(struct partition *p, uint32_t index, struct vcpu **ret);
	struct vcpu *(*vcpu_destroy)(struct vcpu *v);
	/* Copies leaves; the backend answers the guest's CPUID from them. The kvm backend also
	 * starts XCR0 at the XSAVE components leaf 0xD advertises (see backend_kvm.c). */
	int (*vcpu_set_cpuid)(struct vcpu *v, const struct cpuid_leaf *leaves, size_t n);
	/* Enables the SynIC (message/event pages, SINTs) for this VP. */
	int (*vcpu_enable_synic)(struct vcpu *v);
	int (*vcpu_set_boot_state)(struct vcpu *v, const struct x86_boot_state *st);
	/* Runs until an exit the VP loop must see; the previous exit's outputs are applied
	 * first. Returns -EINTR when kicked. */
	int (*vcpu_run)(struct vcpu *v, struct vp_exit *ret_exit);
	/* Makes vcpu_run return soon (from another thread). */
	void (*vcpu_kick)(struct vcpu *v);

	/* Injects a fixed interrupt with vector into VP vp's local APIC. */
	int (*inject_interrupt)(struct partition *p, uint32_t vp, uint8_t vector);
	/* Drives an interrupt line (ISA IRQ / IO-APIC GSI) of the partition's interrupt controller. */
	int (*irq_line)(struct partition *p, uint32_t gsi, bool level);
	/* Returns an eventfd that raises SINT sint on VP vp when written, and one that becomes
	 * readable when the guest acknowledges that SINT (EOM or EOI). */
	int (*sint_irqfd)(struct partition *p, uint32_t vp, uint8_t sint, int *ret_irqfd,
			  int *ret_ackfd);
	/* Routes HvSignalEvent(connection_id) to eventfd fd (borrowed; the partition holds its
	 * own reference), or removes the route when fd < 0. */
	int (*hv_eventfd)(struct partition *p, uint32_t connection_id, int fd);
};

extern const struct backend_ops backend_kvm_ops;

#endif
