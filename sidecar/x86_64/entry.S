/* SPDX-License-Identifier: MIT */
/*
 * Sidecar image header and 64-bit entry. The shim's trampoline jumps to
 * sidecar_ap_entry in long mode on the shim's page tables with RSP = the
 * CPU's stack and RDI = its struct sidecar_start_block. We load our own GDT
 * and our own identity map, so nothing of the shim is used after entry.
 */
	.section .text.header, "ax"
	.globl sidecar_image_header
sidecar_image_header:
	.long 0x47414d49                /* SIDECAR_IMAGE_MAGIC */
	.long 1                         /* SIDECAR_VERSION */
	.quad __image_start
	.quad __file_size
	.quad __image_size
	.quad sidecar_ap_entry

	.text
	.code64
	.globl sidecar_ap_entry
sidecar_ap_entry:
	cli
	call rt_gdt_load
	lea rt_pml4(%rip), %rax
	mov %rax, %cr3
	and $-16, %rsp
	call sidecar_main
1:	cli
	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
