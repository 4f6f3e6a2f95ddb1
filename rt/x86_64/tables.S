/* SPDX-License-Identifier: MIT */
/*
 * Static descriptor and page tables. Both images link their own copy; all
 * addresses are resolved at link time, so no code builds them.
 *   GDT: 0x10 64-bit code, 0x18 flat data, 0x20 32-bit code (Linux's 64-bit
 *        boot protocol wants __BOOT_CS = 0x10 and __BOOT_DS = 0x18).
 *   Page tables: identity map of 0..4 GiB with 2 MiB pages (PML4 -> one PDPT
 *        -> four page directories), which covers RAM below 4 GiB, the local
 *        APIC and the IOAPIC.
 */
	.section .data.rt_tables, "aw"
	.balign 4096
	.globl rt_pml4
rt_pml4:
	.quad rt_pdpt + 0x3
	.fill 511, 8, 0
rt_pdpt:
	.quad rt_pd + 0x0000 + 0x3
	.quad rt_pd + 0x1000 + 0x3
	.quad rt_pd + 0x2000 + 0x3
	.quad rt_pd + 0x3000 + 0x3
	.fill 508, 8, 0
rt_pd:
	.set pde, 0
	.rept 2048
	.quad (pde << 21) | 0x83 /* present, writable, 2 MiB */
	.set pde, pde + 1
	.endr

	.balign 16
	.globl rt_gdt, rt_gdt_desc
rt_gdt:
	.quad 0
	.quad 0
	.quad 0x00af9a000000ffff /* 0x10: 64-bit code */
	.quad 0x00cf92000000ffff /* 0x18: data */
	.quad 0x00cf9a000000ffff /* 0x20: 32-bit code */
rt_gdt_end:
	.balign 8
rt_gdt_desc:
	.word rt_gdt_end - rt_gdt - 1
	.quad rt_gdt

	.text
	.code64
	.globl rt_gdt_load
rt_gdt_load:
	lgdt rt_gdt_desc(%rip)
	mov $0x18, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %ax, %ax
	mov %ax, %gs
	pushq $0x10
	lea 1f(%rip), %rax
	pushq %rax
	lretq
1:	ret

	.section .note.GNU-stack, "", @progbits
