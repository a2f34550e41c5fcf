/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * carrier_obj.S - the BPF object carrier.bpf.c compiles to, inside
 * nfqtrackd: carrier_load() loads it from memory, so that no file beside
 * the binary can be missing or of another version.
 */
	.section .rodata.carrier, "a"
	.balign 8
	.globl carrier_bpf_obj
	.hidden carrier_bpf_obj
carrier_bpf_obj:
	.incbin "src/carrier.bpf.o"
	.globl carrier_bpf_obj_end
	.hidden carrier_bpf_obj_end
carrier_bpf_obj_end:

	.section .note.GNU-stack, "", @progbits
