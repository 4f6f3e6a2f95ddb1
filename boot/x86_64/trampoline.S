/* SPDX-License-Identifier: MIT */
/*
 * Secondary-CPU trampoline. The shim copies [shim_trampoline_start,
 * shim_trampoline_end) to SHIM_TRAMPOLINE_BASE (a page below 1 MiB) and sends
 * INIT-SIPI-SIPI with that page number. Each CPU wakes in real mode there,
 * goes to 32-bit protected mode, reads its own xAPIC ID, finds its start
 * block in the table the shim filled ({u32 apic_id, u32 start_block} pairs),
 * enables long mode with the shim's page tables, loads the stack from the
 * start block and jumps to the sidecar's 64-bit entry with RDI = start block.
 * A CPU missing from the table halts.
 */
#define TRAMP_BASE 0x8000
#define T(x) (TRAMP_BASE + ((x) - shim_trampoline_start))

	.section .text.trampoline, "ax"
	.code16
	.globl shim_trampoline_start, shim_trampoline_end
	.globl shim_tramp_cr3, shim_tramp_table, shim_tramp_count, shim_tramp_entry
shim_trampoline_start:
	cli
	cld
	xor %ax, %ax
	mov %ax, %ds
	lgdtl T(tramp_gdt_desc)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x20, $T(tramp32)

	.code32
tramp32:
	mov $0x18, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov 0xfee00020, %eax
	shr $24, %eax
	mov T(shim_tramp_table), %esi
	mov T(shim_tramp_count), %ecx
1:	test %ecx, %ecx
	jz tramp_lost
	cmp (%esi), %eax
	je 2f
	add $8, %esi
	dec %ecx
	jmp 1b
2:	mov 4(%esi), %edi
	mov %cr4, %eax
	or $0x20, %eax
	mov %eax, %cr4
	mov T(shim_tramp_cr3), %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	ljmp $0x10, $T(tramp64)

	.code64
tramp64:
	mov $0x18, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %edi, %edi
	mov 16(%rdi), %rsp
	mov T(shim_tramp_entry), %rax
	jmp *%rax

tramp_lost:
	cli
	hlt
	jmp tramp_lost

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00cf9a000000ffff
tramp_gdt_desc:
	.word 39
	.long T(tramp_gdt)
	.balign 8
shim_tramp_entry:
	.quad 0
shim_tramp_cr3:
	.long 0
shim_tramp_table:
	.long 0
shim_tramp_count:
	.long 0
shim_trampoline_end:

	.section .note.GNU-stack, "", @progbits
