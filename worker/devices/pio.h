/* SPDX-License-Identifier: MIT */
/*
 * The legacy port I/O devices a Linux guest touches while it boots: COM1 (an 8250/16550
 * subset: transmit goes to an output fd, THRE/receive interrupts on IRQ 4), the CMOS RTC
 * (time of day read from the host clock), and the reset paths (i8042 pulse 0xfe on port
 * 0x64, 0xcf9 reset control) which end the partition. Everything else reads as all ones.
 */
#ifndef MHCL_WORKER_PIO_H
#define MHCL_WORKER_PIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"

#define PIO_COM1_BASE 0x3f8
#define PIO_COM1_IRQ 4

typedef void (*pio_irq_fn)(void *opaque, uint32_t gsi, bool level);

struct uart_8250 {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool thri_pending;
	bool irq_level;
	int out_fd;
	char line[256];
	size_t line_len;
};

struct pio_devices {
	pthread_mutex_t lock;
	struct uart_8250 com1;
	uint8_t cmos_index;
	bool reset_requested;
	bool poweroff_requested; /* ACPI S5 through the sleep control register */
	pio_irq_fn irq;
	void *irq_opaque;
};

/* out_fd is borrowed: the guest's console bytes are written there, a line at a time. */
void pio_init(struct pio_devices *d, int out_fd, pio_irq_fn irq, void *opaque);
/* Handles one port access (data: size bytes, filled on reads). Returns true if the
 * access asked for a reset or, through the ACPI sleep control register, a power off
 * (then poweroff_requested is set too). */
bool pio_access(struct pio_devices *d, uint16_t port, uint8_t size, bool write, uint8_t *data);
/* Writes out a partial console line. */
void pio_flush(struct pio_devices *d);

#endif
