/* SPDX-License-Identifier: MIT */
/*
 * The sim partition backend: the guest is a test process speaking sim_proto.h over one
 * socket per VP. What a hypervisor would do inside the partition is done here, the way
 * KVM does it for backend_kvm: SynIC MSR state, SINT masking and raising (irqfd), SINT
 * acknowledgement (EOM/EOI -> ackfd) and HvSignalEvent routing to eventfds. Everything
 * else becomes the same vp_exit the VP loop sees from KVM: HvPostMessage and unrouted
 * hypercalls (VP_EXIT_HYPERCALL), SCONTROL/SIEFP/SIMP writes (VP_EXIT_SYNIC), other MSRs
 * (VP_EXIT_MSR). The guest's socket messages are untrusted like any guest input.
 */
#include "sim_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "defs/hv_defs.h"
#include "hv_cpuid.h"
#include "log.h"
#include "macros.h"
#include "sim_proto.h"

#define SIM_MAX_ROUTES 256
#define SIM_SINTS HV_SINT_COUNT

struct sim_route {
	uint32_t connection_id;
	int fd;
};

struct sim_vp {
	int irqfd[SIM_SINTS], ackfd[SIM_SINTS];
	int host_fd, guest_fd;
	struct vcpu *vcpu;
};

struct partition {
	pthread_mutex_t lock; /* routes, ram, vps[].vcpu */
	uint32_t vcpu_count;
	int memfd;
	uint64_t ram_size;
	struct sim_route routes[SIM_MAX_ROUTES];
	size_t nroutes;
	struct sim_vp vps[];
};

enum sim_pending {
	SIM_PENDING_NONE,
	SIM_PENDING_HYPERCALL,
	SIM_PENDING_SYNIC,
	SIM_PENDING_MSR,
};

struct vcpu {
	struct partition *p;
	uint32_t index;
	int sock; /* borrowed from p->vps[index].host_fd */
	int kick_fd;
	/* SynIC MSRs as the guest wrote them. */
	uint64_t scontrol, simp, siefp, sint[SIM_SINTS];
	uint32_t raised; /* SINTs raised while masked (bit per SINT) */
	/* The exit the VP loop is completing, and where it writes its outputs. */
	enum sim_pending pending;
	uint64_t rax, msr_data;
	bool msr_fault;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int sim_send(struct vcpu *v, const struct sim_msg *m)
{
	if (send(v->sock, m, sizeof(*m), MSG_NOSIGNAL) != (ssize_t)sizeof(*m))
		return -errno;
	return 0;
}

static int sim_result(struct vcpu *v, uint64_t a, uint64_t b)
{
	struct sim_msg m = {.type = SIM_HOST_RESULT, .a = a, .b = b};
	return sim_send(v, &m);
}

static struct partition *sim_partition_destroy(struct partition *p)
{
	if (!p)
		return NULL;
	for (uint32_t i = 0; i < p->vcpu_count; i++) {
		for (unsigned s = 0; s < SIM_SINTS; s++) {
			close_fd(&p->vps[i].irqfd[s]);
			close_fd(&p->vps[i].ackfd[s]);
		}
		close_fd(&p->vps[i].host_fd);
		close_fd(&p->vps[i].guest_fd);
	}
	for (size_t i = 0; i < p->nroutes; i++)
		close(p->routes[i].fd);
	close_fd(&p->memfd);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}

static int sim_partition_create(const struct partition_config *cfg, struct partition **ret)
{
	struct partition *p;

	if (!cfg->vcpu_count || cfg->vcpu_count > 1024)
		return -EINVAL;
	p = calloc(1, sizeof(*p) + cfg->vcpu_count * sizeof(struct sim_vp));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	p->vcpu_count = cfg->vcpu_count;
	p->memfd = -1;
	for (uint32_t i = 0; i < p->vcpu_count; i++) {
		struct sim_vp *vp = &p->vps[i];
		int sv[2];
		for (unsigned s = 0; s < SIM_SINTS; s++)
			vp->irqfd[s] = vp->ackfd[s] = -1;
		vp->host_fd = vp->guest_fd = -1;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
			int r = -errno;
			sim_partition_destroy(p);
			return r;
		}
		vp->host_fd = sv[0];
		vp->guest_fd = sv[1];
	}
	*ret = p;
	return 0;
}

int backend_sim_guest_socket(struct partition *p, uint32_t vp)
{
	int fd;

	if (vp >= p->vcpu_count)
		return -ENOENT;
	pthread_mutex_lock(&p->lock);
	fd = p->vps[vp].guest_fd;
	p->vps[vp].guest_fd = -1;
	pthread_mutex_unlock(&p->lock);
	return fd >= 0 ? fd : -EBUSY;
}

static int sim_map_ram(struct partition *p, uint32_t slot, uint64_t gpa, uint64_t size, void *hva,
		       int memfd, uint64_t offset)
{
	int fd;

	(void)hva;
	/* One region covering guest physical [0, size) of the memfd, as the worker maps it. */
	if (slot != 0 || gpa != 0 || offset != 0 || !size || memfd < 0)
		return -EINVAL;
	fd = fcntl(memfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&p->lock);
	close_fd(&p->memfd);
	p->memfd = fd;
	p->ram_size = size;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static int sim_supported_cpuid(struct partition *p, struct cpuid_leaf *ret_leaves, size_t max)
{
	(void)p;
	(void)ret_leaves;
	(void)max;
	return 0; /* the sim guest executes no CPUID */
}

/* What this backend emulates, as KVM_GET_SUPPORTED_HV_CPUID reports it for KVM: the SynIC,
 * the hypercall page, the VP index, HvPostMessage and HvSignalEvent. */
static int sim_supported_hv_cpuid(struct partition *p, struct cpuid_leaf *ret_leaves, size_t max)
{
	(void)p;
	if (max < 1)
		return -E2BIG;
	ret_leaves[0] = (struct cpuid_leaf){.function = HV_CPUID_FEATURES,
					    .eax = HV_CPUID_REQUIRED_EAX,
					    .ebx = HV_CPUID_REQUIRED_EBX};
	return 1;
}

static int sim_vcpu_create(struct partition *p, uint32_t index, struct vcpu **ret)
{
	struct vcpu *v;

	if (index >= p->vcpu_count || p->vps[index].vcpu)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->p = p;
	v->index = index;
	v->sock = p->vps[index].host_fd;
	for (unsigned s = 0; s < SIM_SINTS; s++)
		v->sint[s] = SIM_SINT_MASKED; /* SINTs start masked (TLFS) */
	v->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->kick_fd < 0) {
		int r = -errno;
		free(v);
		return r;
	}
	pthread_mutex_lock(&p->lock);
	p->vps[index].vcpu = v;
	pthread_mutex_unlock(&p->lock);
	*ret = v;
	return 0;
}

static struct vcpu *sim_vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return NULL;
	pthread_mutex_lock(&v->p->lock);
	v->p->vps[v->index].vcpu = NULL;
	pthread_mutex_unlock(&v->p->lock);
	close_fd(&v->kick_fd);
	free(v);
	return NULL;
}

static int sim_vcpu_set_cpuid(struct vcpu *v, const struct cpuid_leaf *leaves, size_t n)
{
	(void)v;
	(void)leaves;
	(void)n;
	return 0;
}

static int sim_vcpu_enable_synic(struct vcpu *v)
{
	(void)v;
	return 0;
}

static int sim_vcpu_set_boot_state(struct vcpu *v, const struct x86_boot_state *st)
{
	(void)v;
	(void)st;
	return 0; /* the guest's "registers" live in the test process */
}

static void sim_vcpu_kick(struct vcpu *v)
{
	uint64_t one = 1;
	(void)!write(v->kick_fd, &one, sizeof(one));
}

/* Sends SINT notes for every raised, unmasked SINT. */
static int deliver_raised(struct vcpu *v)
{
	for (unsigned s = 0; s < SIM_SINTS; s++) {
		if (!(v->raised & (1u << s)) || (v->sint[s] & SIM_SINT_MASKED))
			continue;
		struct sim_msg m = {.type = SIM_HOST_SINT, .a = s};
		int r = sim_send(v, &m);
		if (r < 0)
			return r;
		v->raised &= ~(1u << s);
	}
	return 0;
}

static void ack_sint(struct vcpu *v, unsigned sint)
{
	uint64_t one = 1;
	int fd = v->p->vps[v->index].ackfd[sint];
	if (fd >= 0)
		(void)!write(fd, &one, sizeof(one));
}

/* Completes the exit the VP loop just handled: the guest gets its result. */
static int complete_pending(struct vcpu *v)
{
	enum sim_pending what = v->pending;

	v->pending = SIM_PENDING_NONE;
	switch (what) {
	case SIM_PENDING_HYPERCALL:
		return sim_result(v, v->rax, 0);
	case SIM_PENDING_SYNIC:
		return sim_result(v, 0, 0);
	case SIM_PENDING_MSR:
		return sim_result(v, v->msr_data, v->msr_fault);
	case SIM_PENDING_NONE:
	default:
		return 0;
	}
}

static int send_ram(struct vcpu *v)
{
	struct sim_msg m = {.type = SIM_HOST_RAM, .b = v->index};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	int fd;

	pthread_mutex_lock(&v->p->lock);
	fd = v->p->memfd;
	m.a = fd >= 0 ? v->p->ram_size : 0;
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n = sendmsg(v->sock, &mh, MSG_NOSIGNAL);
	pthread_mutex_unlock(&v->p->lock);
	return n == (ssize_t)sizeof(m) ? 0 : -errno;
}

/* HvSignalEvent on a routed connection is handled inside the partition, as KVM does. */
static bool signal_routed(struct vcpu *v, uint64_t control, uint64_t input)
{
	bool done = false;

	if (HV_HCALL_CODE(control) != HV_HCALL_SIGNAL_EVENT || !(control & HV_HCALL_FAST))
		return false;
	pthread_mutex_lock(&v->p->lock);
	for (size_t i = 0; i < v->p->nroutes; i++) {
		if (v->p->routes[i].connection_id == (input & HV_CONNECTION_ID_MASK)) {
			uint64_t one = 1;
			(void)!write(v->p->routes[i].fd, &one, sizeof(one));
			done = true;
			break;
		}
	}
	pthread_mutex_unlock(&v->p->lock);
	return done;
}

/* Handles one guest request. Returns 1 when *e is an exit for the VP loop, 0 when the
 * request was answered here, -errno when the socket failed. */
static int handle_request(struct vcpu *v, const struct sim_msg *m, struct vp_exit *e)
{
	switch (m->type) {
	case SIM_GUEST_HELLO:
		return send_ram(v);
	case SIM_GUEST_HYPERCALL:
		if (signal_routed(v, m->a, m->b))
			return sim_result(v, HV_STATUS_SUCCESS, 0);
		v->rax = HV_STATUS_INVALID_HYPERCALL_CODE;
		v->pending = SIM_PENDING_HYPERCALL;
		e->kind = VP_EXIT_HYPERCALL;
		e->hcall.control = m->a;
		e->hcall.input = m->b;
		e->hcall.output = m->c;
		e->hcall.result = &v->rax;
		return 1;
	case SIM_GUEST_EOI:
		if (m->a < SIM_SINTS)
			ack_sint(v, (unsigned)m->a);
		return sim_result(v, 0, 0);
	case SIM_GUEST_WRMSR: {
		uint32_t msr = (uint32_t)m->a;
		if (msr >= HV_MSR_SINT0 && msr < HV_MSR_SINT0 + SIM_SINTS) {
			v->sint[msr - HV_MSR_SINT0] = m->b;
			int r = sim_result(v, 0, 0);
			return r < 0 ? r : deliver_raised(v);
		}
		if (msr == HV_MSR_EOM) {
			for (unsigned s = 0; s < SIM_SINTS; s++)
				ack_sint(v, s);
			return sim_result(v, 0, 0);
		}
		if (msr == HV_MSR_SCONTROL || msr == HV_MSR_SIEFP || msr == HV_MSR_SIMP) {
			if (msr == HV_MSR_SCONTROL)
				v->scontrol = m->b;
			else if (msr == HV_MSR_SIEFP)
				v->siefp = m->b;
			else
				v->simp = m->b;
			v->pending = SIM_PENDING_SYNIC;
			e->kind = VP_EXIT_SYNIC;
			e->synic.msr = msr;
			e->synic.control = v->scontrol;
			e->synic.evt_page = v->siefp;
			e->synic.msg_page = v->simp;
			return 1;
		}
		v->msr_data = 0;
		v->msr_fault = false;
		v->pending = SIM_PENDING_MSR;
		e->kind = VP_EXIT_MSR;
		e->msr.index = msr;
		e->msr.write = true;
		e->msr.value = m->b;
		e->msr.data = &v->msr_data;
		e->msr.fault = &v->msr_fault;
		return 1;
	}
	case SIM_GUEST_RDMSR: {
		uint32_t msr = (uint32_t)m->a;
		if (msr >= HV_MSR_SINT0 && msr < HV_MSR_SINT0 + SIM_SINTS)
			return sim_result(v, v->sint[msr - HV_MSR_SINT0], 0);
		if (msr == HV_MSR_SCONTROL)
			return sim_result(v, v->scontrol, 0);
		if (msr == HV_MSR_SIEFP)
			return sim_result(v, v->siefp, 0);
		if (msr == HV_MSR_SIMP)
			return sim_result(v, v->simp, 0);
		if (msr == HV_MSR_VP_INDEX)
			return sim_result(v, v->index, 0);
		v->msr_data = 0;
		v->msr_fault = false;
		v->pending = SIM_PENDING_MSR;
		e->kind = VP_EXIT_MSR;
		e->msr.index = msr;
		e->msr.write = false;
		e->msr.value = 0;
		e->msr.data = &v->msr_data;
		e->msr.fault = &v->msr_fault;
		return 1;
	}
	default:
		/* A guest speaking nonsense on its own VP socket: it gets a fault, nothing else. */
		log_debug("sim VP %u: unknown request type %#x", v->index, m->type);
		return sim_result(v, 0, 1);
	}
}

static int sim_vcpu_run(struct vcpu *v, struct vp_exit *ret_exit)
{
	struct sim_vp *vp = &v->p->vps[v->index];
	int r;

	r = complete_pending(v);
	if (r < 0)
		goto gone;
	for (;;) {
		struct pollfd pfds[2 + SIM_SINTS];
		unsigned sint_of[2 + SIM_SINTS];
		nfds_t n = 0;

		pfds[n++] = (struct pollfd){.fd = v->kick_fd, .events = POLLIN};
		pfds[n++] = (struct pollfd){.fd = v->sock, .events = POLLIN};
		for (unsigned s = 0; s < SIM_SINTS; s++) {
			if (vp->irqfd[s] < 0)
				continue;
			sint_of[n] = s;
			pfds[n++] = (struct pollfd){.fd = vp->irqfd[s], .events = POLLIN};
		}
		if (poll(pfds, n, -1) < 0) {
			if (errno == EINTR)
				return -EINTR;
			return -errno;
		}
		if (pfds[0].revents) {
			uint64_t val;
			(void)!read(v->kick_fd, &val, sizeof(val));
			return -EINTR;
		}
		for (nfds_t i = 2; i < n; i++) {
			uint64_t val;
			if (!(pfds[i].revents & POLLIN))
				continue;
			if (read(pfds[i].fd, &val, sizeof(val)) == sizeof(val))
				v->raised |= 1u << sint_of[i];
		}
		r = deliver_raised(v);
		if (r < 0)
			goto gone;
		if (pfds[1].revents) {
			struct sim_msg m = {0};
			ssize_t len = recv(v->sock, &m, sizeof(m), MSG_DONTWAIT);
			if (len < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (len <= 0)
				goto gone;
			if (len != (ssize_t)sizeof(m)) {
				log_debug("sim VP %u: short request (%zd bytes)", v->index, len);
				r = sim_result(v, 0, 1);
				if (r < 0)
					goto gone;
				continue;
			}
			memset(ret_exit, 0, sizeof(*ret_exit));
			r = handle_request(v, &m, ret_exit);
			if (r < 0)
				goto gone;
			if (r == 1)
				return 0;
		}
	}
gone:
	/* The guest hung up: the machine is off. */
	memset(ret_exit, 0, sizeof(*ret_exit));
	ret_exit->kind = VP_EXIT_SHUTDOWN;
	return 0;
}

static int sim_inject_interrupt(struct partition *p, uint32_t vp, uint8_t vector)
{
	(void)p;
	(void)vp;
	(void)vector;
	return -EOPNOTSUPP; /* the sim guest has no local APIC */
}

static int sim_irq_line(struct partition *p, uint32_t gsi, bool level)
{
	(void)p;
	(void)gsi;
	(void)level;
	return -EOPNOTSUPP;
}

static int sim_sint_irqfd(struct partition *p, uint32_t vp, uint8_t sint, int *ret_irqfd,
			  int *ret_ackfd)
{
	int irqfd, ackfd, r = 0;

	if (vp >= p->vcpu_count || sint >= SIM_SINTS)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	if (p->vps[vp].irqfd[sint] >= 0) {
		r = -EEXIST;
		goto out;
	}
	p->vps[vp].irqfd[sint] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->vps[vp].ackfd[sint] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->vps[vp].irqfd[sint] < 0 || p->vps[vp].ackfd[sint] < 0) {
		r = -errno;
		goto fail;
	}
	/* The caller owns its own references; ours are read (irqfd) and written (ackfd) by
	 * the VP thread. */
	irqfd = fcntl(p->vps[vp].irqfd[sint], F_DUPFD_CLOEXEC, 3);
	ackfd = fcntl(p->vps[vp].ackfd[sint], F_DUPFD_CLOEXEC, 3);
	if (irqfd < 0 || ackfd < 0) {
		r = -errno;
		if (irqfd >= 0)
			close(irqfd);
		if (ackfd >= 0)
			close(ackfd);
		goto fail;
	}
	*ret_irqfd = irqfd;
	*ret_ackfd = ackfd;
	goto out;
fail:
	close_fd(&p->vps[vp].irqfd[sint]);
	close_fd(&p->vps[vp].ackfd[sint]);
out:
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int sim_hv_eventfd(struct partition *p, uint32_t connection_id, int fd)
{
	int r = 0;

	if (connection_id & ~HV_CONNECTION_ID_MASK)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	size_t i;
	for (i = 0; i < p->nroutes; i++)
		if (p->routes[i].connection_id == connection_id)
			break;
	if (fd < 0) {
		if (i == p->nroutes) {
			r = -ENOENT;
		} else {
			close(p->routes[i].fd);
			p->routes[i] = p->routes[--p->nroutes];
		}
	} else if (i < p->nroutes) {
		r = -EEXIST;
	} else if (p->nroutes == SIM_MAX_ROUTES) {
		r = -ENOSPC;
	} else {
		int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (dup < 0)
			r = -errno;
		else
			p->routes[p->nroutes++] = (struct sim_route){connection_id, dup};
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

const struct backend_ops backend_sim_ops = {
	.name = "sim",
	.partition_create = sim_partition_create,
	.partition_destroy = sim_partition_destroy,
	.map_ram = sim_map_ram,
	.supported_cpuid = sim_supported_cpuid,
	.supported_hv_cpuid = sim_supported_hv_cpuid,
	.vcpu_create = sim_vcpu_create,
	.vcpu_destroy = sim_vcpu_destroy,
	.vcpu_set_cpuid = sim_vcpu_set_cpuid,
	.vcpu_enable_synic = sim_vcpu_enable_synic,
	.vcpu_set_boot_state = sim_vcpu_set_boot_state,
	.vcpu_run = sim_vcpu_run,
	.vcpu_kick = sim_vcpu_kick,
	.inject_interrupt = sim_inject_interrupt,
	.irq_line = sim_irq_line,
	.sint_irqfd = sim_sint_irqfd,
	.hv_eventfd = sim_hv_eventfd,
};
