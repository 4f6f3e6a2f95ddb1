/* SPDX-License-Identifier: MIT */
/*
 * The kvm partition backend: a KVM VM with the in-kernel irqchip and PIT, and KVM's own
 * Hyper-V SynIC emulation (KVM_CAP_HYPERV_SYNIC2). KVM handles the synthetic MSRs, the
 * hypercall page, VP index, reference time and the SINT/EOM logic itself; it leaves to
 * userspace the SynIC page writes (KVM_EXIT_HYPERV_SYNIC), HvPostMessage and any
 * HvSignalEvent whose connection id has no eventfd (KVM_EXIT_HYPERV_HCALL).
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "macros.h"

/* Addresses KVM needs for its own use on Intel; kept inside the 4 GiB MMIO hole. */
#define KVM_TSS_ADDR 0xfffbd000ull
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ull

#define IOAPIC_PINS 24
#define SINT_GSI_BASE IOAPIC_PINS
#define MAX_ROUTES 1024

#define CPUID_1_ECX_XSAVE (1u << 26)
#define XCR0_X87 (1ull << 0)

struct partition {
	int kvm_fd;
	int vm_fd;
	int run_size;
	uint32_t vcpu_count;
	pthread_mutex_t lock; /* routes */
	struct kvm_irq_routing *routing;
	uint32_t next_gsi;
};

struct vcpu {
	struct partition *p;
	uint32_t index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_known;
};

static int kvm_ioctl_ret(int fd, unsigned long req, void *arg)
{
	int r;
	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR && req != KVM_RUN);
	return r < 0 ? -errno : r;
}

static void kick_handler(int sig)
{
	(void)sig;
}

static int route_add(struct partition *p, const struct kvm_irq_routing_entry *e)
{
	if (p->routing->nr >= MAX_ROUTES)
		return -ENOSPC;
	p->routing->entries[p->routing->nr++] = *e;
	return 0;
}

/* The ISA/IO-APIC routing a PC has: IRQ0 (the PIT) arrives at IO-APIC pin 2, as the MADT's
 * interrupt source override says; every other GSI < 16 also reaches the PIC. */
static int routes_init_default(struct partition *p)
{
	for (uint32_t gsi = 0; gsi < IOAPIC_PINS; gsi++) {
		struct kvm_irq_routing_entry e = {.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP};
		int r;
		if (gsi < 16 && gsi != 2) {
			e.u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			e.u.irqchip.pin = gsi % 8;
			r = route_add(p, &e);
			if (r < 0)
				return r;
		}
		if (gsi == 2)
			continue;
		e.u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e.u.irqchip.pin = gsi == 0 ? 2 : gsi;
		r = route_add(p, &e);
		if (r < 0)
			return r;
	}
	p->next_gsi = SINT_GSI_BASE;
	return kvm_ioctl_ret(p->vm_fd, KVM_SET_GSI_ROUTING, p->routing);
}

static struct partition *kvm_partition_destroy(struct partition *p)
{
	if (!p)
		return NULL;
	if (p->vm_fd >= 0)
		close(p->vm_fd);
	if (p->kvm_fd >= 0)
		close(p->kvm_fd);
	free(p->routing);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}

static int kvm_partition_create(const struct partition_config *cfg, struct partition **ret)
{
	struct partition *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->kvm_fd = p->vm_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	p->vcpu_count = cfg->vcpu_count;
	p->routing = calloc(1, sizeof(*p->routing) + MAX_ROUTES * sizeof(struct kvm_irq_routing_entry));
	if (!p->routing) {
		r = -ENOMEM;
		goto err;
	}

	p->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (p->kvm_fd < 0) {
		r = -errno;
		goto err;
	}
	r = kvm_ioctl_ret(p->kvm_fd, KVM_GET_API_VERSION, NULL);
	if (r != KVM_API_VERSION) {
		r = r < 0 ? r : -ENOTSUP;
		goto err;
	}
	if (kvm_ioctl_ret(p->kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_HYPERV_SYNIC2) <= 0 ||
	    kvm_ioctl_ret(p->kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_HYPERV_EVENTFD) <= 0 ||
	    kvm_ioctl_ret(p->kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_IRQFD_RESAMPLE) <= 0) {
		r = -ENOTSUP;
		goto err;
	}
	p->run_size = kvm_ioctl_ret(p->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (p->run_size < (int)sizeof(struct kvm_run)) {
		r = p->run_size < 0 ? p->run_size : -EPROTO;
		goto err;
	}
	r = ioctl(p->kvm_fd, KVM_CREATE_VM, 0);
	if (r < 0) {
		r = -errno;
		goto err;
	}
	p->vm_fd = r;
	r = kvm_ioctl_ret(p->vm_fd, KVM_SET_TSS_ADDR, (void *)(uintptr_t)KVM_TSS_ADDR);
	if (r < 0)
		goto err;
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	r = kvm_ioctl_ret(p->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	if (r < 0)
		goto err;
	r = kvm_ioctl_ret(p->vm_fd, KVM_CREATE_IRQCHIP, NULL);
	if (r < 0)
		goto err;
	struct kvm_pit_config pit = {.flags = 0};
	r = kvm_ioctl_ret(p->vm_fd, KVM_CREATE_PIT2, &pit);
	if (r < 0)
		goto err;
	r = routes_init_default(p);
	if (r < 0)
		goto err;

	struct sigaction sa = {.sa_handler = kick_handler};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0) {
		r = -errno;
		goto err;
	}
	*ret = p;
	return 0;
err:
	kvm_partition_destroy(p);
	return r;
}

static int kvm_map_ram(struct partition *p, uint32_t slot, uint64_t gpa, uint64_t size, void *hva,
		       int memfd, uint64_t offset)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};
	(void)memfd;
	(void)offset;
	return kvm_ioctl_ret(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

static int cpuid_fetch(int fd, unsigned long req, struct cpuid_leaf *ret_leaves, size_t max)
{
	_cleanup_free_ struct kvm_cpuid2 *c = NULL;
	size_t n = CPUID_MAX_LEAVES;
	int r;

	c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return -ENOMEM;
	c->nent = (uint32_t)n;
	r = kvm_ioctl_ret(fd, req, c);
	if (r < 0)
		return r;
	if (c->nent > max)
		return -E2BIG;
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		ret_leaves[i] = (struct cpuid_leaf){
			.function = e->function,
			.index = e->index,
			.flags = (e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ? CPUID_LEAF_SIGNIFICANT_INDEX : 0,
			.eax = e->eax, .ebx = e->ebx, .ecx = e->ecx, .edx = e->edx,
		};
	}
	return (int)c->nent;
}

static int kvm_supported_cpuid(struct partition *p, struct cpuid_leaf *ret_leaves, size_t max)
{
	return cpuid_fetch(p->kvm_fd, KVM_GET_SUPPORTED_CPUID, ret_leaves, max);
}

static int kvm_supported_hv_cpuid(struct partition *p, struct cpuid_leaf *ret_leaves, size_t max)
{
	return cpuid_fetch(p->kvm_fd, KVM_GET_SUPPORTED_HV_CPUID, ret_leaves, max);
}

static void kvm_setup_done(struct partition *p)
{
	if (p->kvm_fd >= 0)
		close(p->kvm_fd);
	p->kvm_fd = -1;
}

static struct vcpu *kvm_vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return NULL;
	if (v->run)
		munmap(v->run, (size_t)v->p->run_size);
	if (v->fd >= 0)
		close(v->fd);
	free(v);
	return NULL;
}

static int kvm_vcpu_create(struct partition *p, uint32_t index, struct vcpu **ret)
{
	struct vcpu *v;
	int r;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->p = p;
	v->index = index;
	v->fd = ioctl(p->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0) {
		r = -errno;
		goto err;
	}
	(void)fcntl(v->fd, F_SETFD, FD_CLOEXEC);
	v->run = mmap(NULL, (size_t)p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		r = -errno;
		goto err;
	}
	*ret = v;
	return 0;
err:
	kvm_vcpu_destroy(v);
	return r;
}

/*
 * Starts the VP with XCR0 holding every state component CPUID leaf 0xD advertises (CPUID.1
 * ECX.XSAVE set) rather than the reset value x87 alone. KVM recomputes leaf 0xD.0 EBX (the
 * XSAVE area size for the enabled XCR0) when it handles the guest's XSETBV; under a nested
 * SVM that does not deliver XSETBV exits to us (QEMU TCG as L0 runs L2's XSETBV itself), that
 * recomputation never happens, EBX keeps the x87-only size (576) and Linux finds it
 * inconsistent with the per-component offsets ("XSAVE consistency problem") and turns
 * XSAVE off (QEMU's own KVM guest shows the same in that topology). With XCR0 already at the advertised mask, EBX matches what the guest enables,
 * whether or not its XSETBV reaches KVM. XCR0 has no effect until the guest sets
 * CR4.OSXSAVE, and a guest that writes XCR0 itself still gets what it writes. XCR0 survives
 * INIT, so application processors keep it too.
 */
static int kvm_vcpu_init_xcr0(struct vcpu *v, const struct cpuid_leaf *leaves, size_t n)
{
	const struct cpuid_leaf *l1 = NULL, *d0 = NULL;
	struct kvm_xcrs xcrs = {.nr_xcrs = 1};

	for (size_t i = 0; i < n; i++) {
		if (leaves[i].function == 1)
			l1 = &leaves[i];
		else if (leaves[i].function == 0xd && leaves[i].index == 0)
			d0 = &leaves[i];
	}
	if (!l1 || !(l1->ecx & CPUID_1_ECX_XSAVE) || !d0)
		return 0;
	xcrs.xcrs[0] = (struct kvm_xcr){
		.xcr = 0,
		.value = (((uint64_t)d0->edx << 32) | d0->eax) | XCR0_X87,
	};
	return kvm_ioctl_ret(v->fd, KVM_SET_XCRS, &xcrs);
}

static int kvm_vcpu_set_cpuid(struct vcpu *v, const struct cpuid_leaf *leaves, size_t n)
{
	_cleanup_free_ struct kvm_cpuid2 *c = NULL;

	c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return -ENOMEM;
	c->nent = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		c->entries[i] = (struct kvm_cpuid_entry2){
			.function = leaves[i].function,
			.index = leaves[i].index,
			.flags = (leaves[i].flags & CPUID_LEAF_SIGNIFICANT_INDEX) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
			.eax = leaves[i].eax, .ebx = leaves[i].ebx, .ecx = leaves[i].ecx, .edx = leaves[i].edx,
		};
	int r = kvm_ioctl_ret(v->fd, KVM_SET_CPUID2, c);
	if (r < 0)
		return r;
	return kvm_vcpu_init_xcr0(v, leaves, n);
}

static int kvm_vcpu_enable_synic(struct vcpu *v)
{
	struct kvm_enable_cap synic = {.cap = KVM_CAP_HYPERV_SYNIC2};
	/* Holds the guest to what its Hyper-V CPUID leaves advertise: an MSR or hypercall
	 * whose feature bit is clear faults instead of reaching KVM's emulation. */
	struct kvm_enable_cap enforce = {.cap = KVM_CAP_HYPERV_ENFORCE_CPUID, .args = {1}};
	int r;

	r = kvm_ioctl_ret(v->fd, KVM_ENABLE_CAP, &synic);
	if (r < 0)
		return r;
	if (kvm_ioctl_ret(v->p->vm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_HYPERV_ENFORCE_CPUID) > 0)
		r = kvm_ioctl_ret(v->fd, KVM_ENABLE_CAP, &enforce);
	return r;
}

static void seg_to_kvm(const struct x86_segment *s, struct kvm_segment *k)
{
	*k = (struct kvm_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector, .type = s->type,
		.present = s->present, .dpl = s->dpl, .db = s->db, .s = s->s, .l = s->l, .g = s->g,
	};
}

static int kvm_vcpu_set_boot_state(struct vcpu *v, const struct x86_boot_state *st)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {0};
	int r;

	r = kvm_ioctl_ret(v->fd, KVM_GET_SREGS, &sregs);
	if (r < 0)
		return r;
	seg_to_kvm(&st->cs, &sregs.cs);
	seg_to_kvm(&st->ds, &sregs.ds);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = st->gdt_base;
	sregs.gdt.limit = st->gdt_limit;
	sregs.cr0 = st->cr0;
	sregs.cr3 = st->cr3;
	sregs.cr4 = st->cr4;
	sregs.efer = st->efer;
	r = kvm_ioctl_ret(v->fd, KVM_SET_SREGS, &sregs);
	if (r < 0)
		return r;
	regs.rip = st->rip;
	regs.rsp = st->rsp;
	regs.rsi = st->rsi;
	regs.rbx = st->rbx;
	regs.rflags = st->rflags;
	return kvm_ioctl_ret(v->fd, KVM_SET_REGS, &regs);
}

static int kvm_vcpu_run(struct vcpu *v, struct vp_exit *ret_exit)
{
	struct kvm_run *run = v->run;
	int r;

	if (!v->thread_known) {
		v->thread = pthread_self();
		__atomic_store_n(&v->thread_known, true, __ATOMIC_RELEASE);
	}
	r = ioctl(v->fd, KVM_RUN, 0);
	if (__atomic_load_n(&run->immediate_exit, __ATOMIC_ACQUIRE))
		__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_RELAXED);
	if (r < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			*ret_exit = (struct vp_exit){.kind = VP_EXIT_NONE};
			return -EINTR;
		}
		return -errno;
	}

	struct vp_exit e = {.kind = VP_EXIT_NONE};
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		e.kind = VP_EXIT_IO;
		e.io.port = run->io.port;
		e.io.size = run->io.size;
		e.io.write = run->io.direction == KVM_EXIT_IO_OUT;
		e.io.count = run->io.count;
		e.io.data = (uint8_t *)run + run->io.data_offset;
		if ((uint64_t)run->io.data_offset + (uint64_t)run->io.count * run->io.size >
		    (uint64_t)v->p->run_size)
			return -EPROTO;
		break;
	case KVM_EXIT_MMIO:
		e.kind = VP_EXIT_MMIO;
		e.mmio.gpa = run->mmio.phys_addr;
		e.mmio.len = MIN(run->mmio.len, 8u);
		e.mmio.write = run->mmio.is_write;
		e.mmio.data = run->mmio.data;
		break;
	case KVM_EXIT_HYPERV:
		if (run->hyperv.type == KVM_EXIT_HYPERV_SYNIC) {
			e.kind = VP_EXIT_SYNIC;
			e.synic.msr = run->hyperv.u.synic.msr;
			e.synic.control = run->hyperv.u.synic.control;
			e.synic.evt_page = run->hyperv.u.synic.evt_page;
			e.synic.msg_page = run->hyperv.u.synic.msg_page;
		} else if (run->hyperv.type == KVM_EXIT_HYPERV_HCALL) {
			e.kind = VP_EXIT_HYPERCALL;
			e.hcall.control = run->hyperv.u.hcall.input;
			e.hcall.input = run->hyperv.u.hcall.params[0];
			e.hcall.output = run->hyperv.u.hcall.params[1];
			e.hcall.result = (uint64_t *)&run->hyperv.u.hcall.result;
		} else {
			e.kind = VP_EXIT_FAILED;
			e.failure.reason = 0x10000u | run->hyperv.type;
		}
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_SHUTDOWN:
		e.kind = VP_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		e.kind = VP_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		e.kind = VP_EXIT_FAILED;
		e.failure.reason = run->fail_entry.hardware_entry_failure_reason;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		e.kind = VP_EXIT_FAILED;
		e.failure.reason = run->internal.suberror;
		break;
	default:
		e.kind = VP_EXIT_FAILED;
		e.failure.reason = run->exit_reason;
		break;
	}
	*ret_exit = e;
	return 0;
}

static void kvm_vcpu_kick(struct vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&v->thread_known, __ATOMIC_ACQUIRE))
		(void)pthread_kill(v->thread, SIGUSR1);
}

static int kvm_irq_line(struct partition *p, uint32_t gsi, bool level)
{
	struct kvm_irq_level l = {.irq = gsi, .level = level};
	return kvm_ioctl_ret(p->vm_fd, KVM_IRQ_LINE, &l);
}

static int kvm_inject_interrupt(struct partition *p, uint32_t vp, uint8_t vector)
{
	/* An MSI to the VP's APIC id (= its index): fixed delivery, physical destination. */
	struct kvm_msi msi = {
		.address_lo = 0xfee00000u | ((vp & 0xff) << 12),
		.address_hi = 0,
		.data = vector,
	};
	int r;

	if (vp >= p->vcpu_count || vector < 16)
		return -EINVAL;
	r = kvm_ioctl_ret(p->vm_fd, KVM_SIGNAL_MSI, &msi);
	return r < 0 ? r : 0;
}

static int kvm_sint_irqfd(struct partition *p, uint32_t vp, uint8_t sint, int *ret_irqfd,
			  int *ret_ackfd)
{
	_cleanup_close_ int irqfd = -1, ackfd = -1;
	uint32_t gsi;
	int r;

	if (vp >= p->vcpu_count || sint >= 16)
		return -EINVAL;
	irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ackfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (irqfd < 0 || ackfd < 0)
		return -errno;

	pthread_mutex_lock(&p->lock);
	gsi = p->next_gsi;
	struct kvm_irq_routing_entry e = {
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_HV_SINT,
		.u.hv_sint = {.vcpu = vp, .sint = sint},
	};
	r = route_add(p, &e);
	if (r >= 0) {
		r = kvm_ioctl_ret(p->vm_fd, KVM_SET_GSI_ROUTING, p->routing);
		if (r < 0)
			p->routing->nr--;
		else
			p->next_gsi++;
	}
	pthread_mutex_unlock(&p->lock);
	if (r < 0)
		return r;

	/* A resampling irqfd: KVM signals ackfd when the guest acks this SINT (an EOM write,
	 * or the EOI of its vector), which is when a busy message slot may have freed. */
	struct kvm_irqfd req = {
		.fd = (uint32_t)irqfd,
		.gsi = gsi,
		.flags = KVM_IRQFD_FLAG_RESAMPLE,
		.resamplefd = (uint32_t)ackfd,
	};
	r = kvm_ioctl_ret(p->vm_fd, KVM_IRQFD, &req);
	if (r < 0)
		return r;
	*ret_irqfd = take_fd(&irqfd);
	*ret_ackfd = take_fd(&ackfd);
	return 0;
}

static int kvm_hv_eventfd(struct partition *p, uint32_t connection_id, int fd)
{
	struct kvm_hyperv_eventfd req = {
		.conn_id = connection_id,
		.fd = fd,
		.flags = fd < 0 ? KVM_HYPERV_EVENTFD_DEASSIGN : 0,
	};
	if (connection_id & ~(uint32_t)KVM_HYPERV_CONN_ID_MASK)
		return -EINVAL;
	return kvm_ioctl_ret(p->vm_fd, KVM_HYPERV_EVENTFD, &req);
}

const struct backend_ops backend_kvm_ops = {
	.name = "kvm",
	.partition_create = kvm_partition_create,
	.partition_destroy = kvm_partition_destroy,
	.map_ram = kvm_map_ram,
	.supported_cpuid = kvm_supported_cpuid,
	.supported_hv_cpuid = kvm_supported_hv_cpuid,
	.setup_done = kvm_setup_done,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_set_cpuid = kvm_vcpu_set_cpuid,
	.vcpu_enable_synic = kvm_vcpu_enable_synic,
	.vcpu_set_boot_state = kvm_vcpu_set_boot_state,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.inject_interrupt = kvm_inject_interrupt,
	.irq_line = kvm_irq_line,
	.sint_irqfd = kvm_sint_irqfd,
	.hv_eventfd = kvm_hv_eventfd,
};
