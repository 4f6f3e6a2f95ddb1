/* SPDX-License-Identifier: MIT */
/*
 * The two entries. Both are entered in 32-bit protected mode, paging off,
 * interrupts off:
 *   pvh_entry   (XEN_ELFNOTE_PHYS32_ENTRY): EBX = struct hvm_start_info
 *               (pvh_defs.h);
 *   igvm_entry  (MHCL_ELFNOTE_IGVM_ENTRY, defs/mhcl_igvm.h): the VP context
 *               of the mhcl IGVM file, EBX = struct mhcl_igvm_info.
 * Each records which one ran in EBP (0 PVH, 1 IGVM). We then load the
 * runtime's GDT and identity page tables, enable long mode, clear .bss, switch
 * to the boot stack, enable SSE (Debian's libfdt.a may use it) and call
 * shim_main(EBX, entry kind).
 */
	.section .note.pvh, "a", @note
	.balign 4
	.long 4                 /* name size: "Xen\0" */
	.long 8                 /* descriptor size */
	.long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad pvh_entry
	.balign 4
	.long 5                 /* name size: "MHCL\0" */
	.long 4                 /* descriptor size */
	.long 1                 /* MHCL_ELFNOTE_IGVM_ENTRY */
	.asciz "MHCL"
	.balign 4
	.long igvm_entry

	.section .text.entry, "ax"
	.code32
	.globl pvh_entry, igvm_entry
igvm_entry:
	cli
	mov $1, %ebp
	jmp .Lentry_common
pvh_entry:
	cli
	xor %ebp, %ebp
.Lentry_common:
	cld
	mov %ebx, %esi
	lgdt rt_gdt_desc
	mov $0x18, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %cr4, %eax
	or $0x20, %eax                  /* PAE */
	mov %eax, %cr4
	mov $rt_pml4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx           /* EFER */
	rdmsr
	or $0x100, %eax                 /* LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax            /* PG | PE */
	mov %eax, %cr0
	ljmp $0x10, $long_entry

	.code64
long_entry:
	mov $0x18, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	mov %esi, %esi
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	rep stosb
	lea shim_boot_stack_top(%rip), %rsp
	mov %cr0, %rax
	and $~0x4, %rax                 /* clear EM */
	or $0x2, %rax                   /* MP */
	mov %rax, %cr0
	mov %cr4, %rax
	or $0x600, %rax                 /* OSFXSR | OSXMMEXCPT */
	mov %rax, %cr4
	mov %rsi, %rdi
	mov %ebp, %esi
	call shim_main
1:	cli
	hlt
	jmp 1b

/* shim_enter_linux(entry, boot_params): Linux 64-bit boot protocol, no return. */
	.text
	.globl shim_enter_linux
shim_enter_linux:
	cli
	mov %rdi, %rax
	mov %rsi, %rsi
	xor %edi, %edi
	xor %ebx, %ebx
	xor %ebp, %ebp
	jmp *%rax

	.section .bss.stack, "aw", @nobits
	.balign 4096
	.globl shim_boot_stack_bottom, shim_boot_stack_top
shim_boot_stack_bottom:
	.skip 65536
shim_boot_stack_top:

	.section .note.GNU-stack, "", @progbits
