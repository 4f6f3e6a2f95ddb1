/* SPDX-License-Identifier: MIT */
/*
 * The sim partition backend's wire protocol: how a test process plays the guest of one VP.
 *
 * Each VP has one SOCK_SEQPACKET unix socket pair; the backend keeps one end, the guest
 * the other (backend_sim_guest_socket). Every datagram is one struct sim_msg (32 bytes,
 * host byte order). The guest side is synchronous: each request gets exactly one
 * SIM_HOST_RESULT (or SIM_HOST_RAM for SIM_GUEST_HELLO), sent once the worker has handled
 * the exit the request caused. SIM_HOST_SINT notes arrive at any time, in between.
 *
 *   guest -> host                         host -> guest
 *   SIM_GUEST_HELLO                       SIM_HOST_RAM   a = RAM size; the memfd rides
 *                                                        along (SCM_RIGHTS); b = VP index
 *   SIM_GUEST_HYPERCALL a=RCX b=RDX c=R8  SIM_HOST_RESULT a = RAX
 *   SIM_GUEST_WRMSR a=index b=value       SIM_HOST_RESULT a = 0, b = 1 if it faulted (#GP)
 *   SIM_GUEST_RDMSR a=index               SIM_HOST_RESULT a = value, b = 1 if it faulted
 *   SIM_GUEST_EOI a=SINT                  SIM_HOST_RESULT (the guest EOIs the SINT vector)
 *                                         SIM_HOST_SINT  a = SINT (interrupt raised)
 *
 * As on hardware: HvPostMessage takes the GPA of its 256-byte input block in RDX;
 * HvSignalEvent is a fast call with the connection id in RDX; SIMP/SIEFP/SCONTROL writes
 * reach the worker's SynIC (VP_EXIT_SYNIC); SINTn writes set the vector and mask; a SINT
 * raised while masked stays pending until unmasked; EOM (and EOI) acknowledge the SINT,
 * which is what lets the worker deliver the next queued message.
 */
#ifndef MHCL_TEST_SIM_PROTO_H
#define MHCL_TEST_SIM_PROTO_H

#include <assert.h>
#include <stdint.h>

enum sim_msg_type {
	SIM_GUEST_HELLO = 1,
	SIM_GUEST_HYPERCALL = 2,
	SIM_GUEST_WRMSR = 3,
	SIM_GUEST_RDMSR = 4,
	SIM_GUEST_EOI = 5,
	SIM_HOST_RAM = 0x81,
	SIM_HOST_RESULT = 0x82,
	SIM_HOST_SINT = 0x83,
};

struct sim_msg {
	uint32_t type; /* enum sim_msg_type */
	uint32_t reserved;
	uint64_t a, b, c;
};
static_assert(sizeof(struct sim_msg) == 32, "sim messages are 32 bytes");

#define SIM_SINT_MASKED (1ull << 16) /* SINTn MSR: masked bit; vector in bits 0-7 */

#endif
