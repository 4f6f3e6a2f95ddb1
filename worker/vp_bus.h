/* SPDX-License-Identifier: MIT */
/*
 * mhcl-vp as a server under mhcl-init, with the VMBus control plane in mhcl-vmbusd.
 *
 * The main thread runs a libuv loop: the bus to init (lib/server) and a SOCK_SEQPACKET
 * channel to vmbusd (--vmbusd PATH). The worker sends WorkerPartition with the guest RAM
 * memfd; vmbusd answers with the message connection ids it claims. From then on:
 *   - a guest HvPostMessage to a claimed id is copied by the VP thread into a bounded
 *     queue, answered HV_STATUS_SUCCESS (or INSUFFICIENT_BUFFERS while the queue or the
 *     VP's SIMP queue is nearly full, which Linux retries), and the loop thread sends it to
 *     vmbusd as a WorkerGuestMessage notification;
 *   - VmbusdHostMessage notifications from vmbusd are posted into the VP's SIMP slot; those its
 *     full queue cannot take yet wait in order, and meanwhile that VP's posts are refused
 *     with INSUFFICIENT_BUFFERS;
 *   - vmbusd registers channel doorbells (VmbusdEventPortAssign + eventfd, routed by KVM with
 *     KVM_HYPERV_EVENTFD, no exit) and fetches the per-VP SINT irqfds (WorkerSintIrqfd); the
 *     worker reports where each VP keeps its SynIC pages (WorkerSynicPages), so vmbusd sets
 *     event flags in SIEFP itself. Channel data never passes through the worker.
 */
#ifndef MHCL_WORKER_VP_BUS_H
#define MHCL_WORKER_VP_BUS_H

#include "vp.h"

/* True when the process was started by mhcl-init (it holds a bus fd). */
bool vp_bus_under_init(void);

/* Runs the partition set up in w (VPs created, SynIC ready, VPs not started) until the
 * guest resets or a VP fails. Returns the process exit code. */
int vp_bus_run(struct worker *w, const char *vmbusd_path);

#endif
