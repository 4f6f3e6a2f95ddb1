/* SPDX-License-Identifier: MIT */
/*
 * Hyper-V synthetic interface (Hyper-V TLFS; REFERENCES.md section 1): the CPUID leaves,
 * MSRs, hypercall codes and status values, and the SynIC message layout mhcl serves to
 * the guest. Wire layouts are static-asserted against the spec's sizes and offsets.
 */
#ifndef MHCL_DEFS_HV_DEFS_H
#define MHCL_DEFS_HV_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* CPUID leaves */
#define HV_CPUID_VENDOR_AND_MAX 0x40000000u
#define HV_CPUID_INTERFACE 0x40000001u
#define HV_CPUID_VERSION 0x40000002u
#define HV_CPUID_FEATURES 0x40000003u
#define HV_CPUID_ENLIGHTENMENT_INFO 0x40000004u
#define HV_CPUID_IMPLEMENTATION_LIMITS 0x40000005u
#define HV_CPUID_MIN_MAX_LEAF 0x40000005u /* Linux requires max leaf >= this */
#define HV_CPUID_SIGNATURE_EBX 0x7263694du /* "Micr" */
#define HV_CPUID_SIGNATURE_ECX 0x666f736fu /* "osof" */
#define HV_CPUID_SIGNATURE_EDX 0x76482074u /* "t Hv" */
#define HV_CPUID_INTERFACE_EAX 0x31237648u /* "Hv#1" */

/* 0x40000003 EAX: partition privileges, low word */
#define HV_PRIV_VP_RUNTIME (1u << 0)
#define HV_PRIV_TIME_REF_COUNT (1u << 1)
#define HV_PRIV_SYNIC (1u << 2)
#define HV_PRIV_SYNTIMER (1u << 3)
#define HV_PRIV_APIC_ACCESS (1u << 4)
#define HV_PRIV_HYPERCALL (1u << 5)
#define HV_PRIV_VP_INDEX (1u << 6)
#define HV_PRIV_RESET (1u << 7)
#define HV_PRIV_REFERENCE_TSC (1u << 9)
#define HV_PRIV_ACCESS_FREQUENCY_MSRS (1u << 11)
/* 0x40000003 EBX: partition privileges, high word */
#define HV_PRIV_ACCESS_PARTITION_ID (1u << 1)
#define HV_PRIV_POST_MESSAGES (1u << 4)
#define HV_PRIV_SIGNAL_EVENTS (1u << 5)
/* 0x40000003 EDX: miscellaneous features */
#define HV_FEATURE_FREQUENCY_MSRS_AVAILABLE (1u << 8)
#define HV_FEATURE_STIMER_DIRECT_MODE (1u << 19)
/* 0x40000004 EAX: recommendations */
#define HV_HINT_RELAXED_TIMING (1u << 5)
#define HV_HINT_DEPRECATING_AEOI (1u << 9)

/* MSRs */
#define HV_MSR_GUEST_OS_ID 0x40000000u
#define HV_MSR_HYPERCALL 0x40000001u
#define HV_MSR_VP_INDEX 0x40000002u
#define HV_MSR_SCONTROL 0x40000080u
#define HV_MSR_SVERSION 0x40000081u
#define HV_MSR_SIEFP 0x40000082u
#define HV_MSR_SIMP 0x40000083u
#define HV_MSR_EOM 0x40000084u
#define HV_MSR_SINT0 0x40000090u
#define HV_SCONTROL_ENABLE (1ull << 0)
#define HV_SIMP_ENABLE (1ull << 0) /* also SIEFP */
#define HV_PAGE_SHIFT 12
#define HV_PAGE_SIZE 4096u

/* Hypercall input value (RCX) and result (RAX). */
#define HV_HCALL_CODE(c) ((uint16_t)((c) & 0xffff))
#define HV_HCALL_FAST (1ull << 16)
#define HV_HCALL_VARHEAD_MASK (0x3ffull << 17)
#define HV_HCALL_REP_COUNT_MASK (0xfffull << 32)
#define HV_HCALL_POST_MESSAGE 0x005c
#define HV_HCALL_SIGNAL_EVENT 0x005d

#define HV_STATUS_SUCCESS 0x0000
#define HV_STATUS_INVALID_HYPERCALL_CODE 0x0002
#define HV_STATUS_INVALID_HYPERCALL_INPUT 0x0003
#define HV_STATUS_INVALID_ALIGNMENT 0x0004
#define HV_STATUS_INVALID_PARAMETER 0x0005
#define HV_STATUS_INSUFFICIENT_MEMORY 0x000b
#define HV_STATUS_INVALID_PORT_ID 0x0011
#define HV_STATUS_INVALID_CONNECTION_ID 0x0012
#define HV_STATUS_INSUFFICIENT_BUFFERS 0x0013

/* SynIC */
#define HV_SINT_COUNT 16
#define HV_CONNECTION_ID_MASK 0x00ffffffu
#define HV_MESSAGE_SIZE 256
#define HV_MESSAGE_PAYLOAD_SIZE 240
#define HV_MESSAGE_TYPE_NONE 0u
#define HV_MESSAGE_TYPE_HOST_MASK 0x80000000u /* types with this bit are the hypervisor's */
#define HV_MESSAGE_FLAG_PENDING 0x01u
#define HV_EVENT_FLAGS_PER_SINT 2048

/* A SynIC message slot (one of 16 in the SIMP page). */
struct hv_message {
	uint32_t message_type;
	uint8_t payload_size;
	uint8_t message_flags;
	uint16_t reserved;
	uint64_t sender; /* origination id / port id */
	uint8_t payload[HV_MESSAGE_PAYLOAD_SIZE];
};
static_assert(sizeof(struct hv_message) == HV_MESSAGE_SIZE, "hv_message");
static_assert(offsetof(struct hv_message, message_flags) == 5, "message_flags");
static_assert(offsetof(struct hv_message, payload) == 16, "payload");
static_assert(sizeof(struct hv_message) * HV_SINT_COUNT == HV_PAGE_SIZE, "SIMP page");

/* HvCallPostMessage input (one 256-byte block at the input GPA). */
struct hv_input_post_message {
	uint32_t connection_id;
	uint32_t reserved;
	uint32_t message_type;
	uint32_t payload_size;
	uint8_t payload[HV_MESSAGE_PAYLOAD_SIZE];
};
static_assert(sizeof(struct hv_input_post_message) == 256, "post message input");
static_assert(offsetof(struct hv_input_post_message, payload) == 16, "post message payload");

/* HvCallSignalEvent (fast): RDX = connection_id | flag_number << 32. */
#define HV_SIGNAL_EVENT_FLAG(rdx) ((uint16_t)((rdx) >> 32))

#endif
