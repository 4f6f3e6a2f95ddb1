/* SPDX-License-Identifier: MIT */
/* Embeds the flat sidecar image (kvmtool bios-rom.S pattern); SIDECAR_BIN is its path. */
	.section .rodata.sidecar_blob, "a"
	.balign 4096
	.globl shim_sidecar_blob, shim_sidecar_blob_end
shim_sidecar_blob:
	.incbin SIDECAR_BIN
shim_sidecar_blob_end:

	.section .note.GNU-stack, "", @progbits
