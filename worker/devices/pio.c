/* SPDX-License-Identifier: MIT */
#include "pio.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acpi.h"

/* 8250 registers (offset from the base) and bits. */
#define UART_RX 0   /* DLAB=0, read */
#define UART_TX 0   /* DLAB=0, write */
#define UART_IER 1
#define UART_IIR 2  /* read */
#define UART_FCR 2  /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_FIFO_ENABLED 0xc0
#define UART_LCR_DLAB 0x80
#define UART_MCR_LOOP 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MSR_DCD 0x80
#define UART_MSR_DSR 0x20
#define UART_MSR_CTS 0x10

#define PORT_KBD_STATUS 0x64
#define PORT_KBD_DATA 0x60
#define KBD_CMD_PULSE_RESET 0xfe
#define PORT_RESET_CONTROL 0xcf9
#define RESET_CONTROL_CPU_RESET 0x04
#define PORT_CMOS_INDEX 0x70
#define PORT_CMOS_DATA 0x71

void pio_init(struct pio_devices *d, int out_fd, pio_irq_fn irq, void *opaque)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->com1.out_fd = out_fd;
	d->irq = irq;
	d->irq_opaque = opaque;
}

static void uart_flush_line(struct uart_8250 *u)
{
	size_t off = 0;
	while (off < u->line_len) {
		ssize_t n = write(u->out_fd, u->line + off, u->line_len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	u->line_len = 0;
}

void pio_flush(struct pio_devices *d)
{
	pthread_mutex_lock(&d->lock);
	uart_flush_line(&d->com1);
	pthread_mutex_unlock(&d->lock);
}

/* No receive path yet: the line never has data, so only THRE raises the interrupt. The
 * transmitter drains instantly, so THRE is pending from every THR write (or from enabling
 * THRI) until the guest reads IIR and sees it, as on a real 16550. */
static void uart_update_irq(struct pio_devices *d)
{
	struct uart_8250 *u = &d->com1;
	bool level = (u->ier & UART_IER_THRI) && u->thri_pending;
	if (level != u->irq_level) {
		u->irq_level = level;
		d->irq(d->irq_opaque, PIO_COM1_IRQ, level);
	}
}

static uint8_t uart_read(struct pio_devices *d, unsigned reg)
{
	struct uart_8250 *u = &d->com1;
	uint8_t v = 0;

	switch (reg) {
	case UART_RX:
		v = (u->lcr & UART_LCR_DLAB) ? u->dll : 0;
		break;
	case UART_IER:
		v = (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR:
		if ((u->ier & UART_IER_THRI) && u->thri_pending) {
			v = UART_IIR_THRI;
			u->thri_pending = false;
		} else {
			v = UART_IIR_NO_INT;
		}
		v |= UART_IIR_FIFO_ENABLED;
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT;
		break;
	case UART_MSR:
		/* In loopback the modem outputs feed the inputs (the 8250 driver probes this). */
		if (u->mcr & UART_MCR_LOOP)
			v = (uint8_t)(((u->mcr & 0x0c) << 4) | ((u->mcr & 0x01) << 5) | ((u->mcr & 0x02) << 3));
		else
			v = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
		break;
	case UART_SCR:
		v = u->scr;
		break;
	}
	uart_update_irq(d);
	return v;
}

static void uart_write(struct pio_devices *d, unsigned reg, uint8_t v)
{
	struct uart_8250 *u = &d->com1;

	switch (reg) {
	case UART_TX:
		if (u->lcr & UART_LCR_DLAB) {
			u->dll = v;
			break;
		}
		if (!(u->mcr & UART_MCR_LOOP)) {
			u->line[u->line_len++] = (char)v;
			if (v == '\n' || u->line_len == sizeof(u->line))
				uart_flush_line(u);
		}
		u->thri_pending = true;
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB) {
			u->dlm = v;
			break;
		}
		if ((v & UART_IER_THRI) && !(u->ier & UART_IER_THRI))
			u->thri_pending = true;
		u->ier = v & 0x0f;
		break;
	case UART_FCR:
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		break;
	}
	uart_update_irq(d);
}

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* MC146818: registers 0-9 are the time in BCD, A has UIP clear, B = 24-hour BCD, D = valid. */
static uint8_t cmos_read(uint8_t index)
{
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	switch (index & 0x7f) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case 0x0a: return 0x26;
	case 0x0b: return 0x02;
	case 0x0c: return 0x00;
	case 0x0d: return 0x80;
	case 0x32: return bcd(19 + tm.tm_year / 100);
	default: return 0x00;
	}
}

bool pio_access(struct pio_devices *d, uint16_t port, uint8_t size, bool write, uint8_t *data)
{
	bool reset = false;

	pthread_mutex_lock(&d->lock);
	if (port >= PIO_COM1_BASE && port < PIO_COM1_BASE + 8 && size == 1) {
		if (write)
			uart_write(d, port - PIO_COM1_BASE, data[0]);
		else
			data[0] = uart_read(d, port - PIO_COM1_BASE);
	} else if (port == PORT_CMOS_INDEX && size == 1) {
		if (write)
			d->cmos_index = data[0];
		else
			data[0] = d->cmos_index;
	} else if (port == PORT_CMOS_DATA && size == 1) {
		if (!write)
			data[0] = cmos_read(d->cmos_index);
	} else if (port == PORT_KBD_STATUS && size == 1) {
		/* Input and output buffers always empty; a pulse of the reset line resets. */
		if (write)
			reset = data[0] == KBD_CMD_PULSE_RESET;
		else
			data[0] = 0;
	} else if (port == PORT_KBD_DATA && size == 1) {
		if (!write)
			data[0] = 0;
	} else if (port == PORT_RESET_CONTROL && size == 1) {
		if (write)
			reset = (data[0] & RESET_CONTROL_CPU_RESET) != 0;
		else
			data[0] = 0;
	} else if ((port == ACPI_SLEEP_CONTROL_PORT || port == ACPI_SLEEP_STATUS_PORT) && size == 1) {
		/* Status reads 0 (never woken); only S5 is offered, other sleep types are ignored. */
		if (write && port == ACPI_SLEEP_CONTROL_PORT && (data[0] & ACPI_SLEEP_SLP_EN) &&
		    ACPI_SLEEP_SLP_TYP(data[0]) == ACPI_S5_SLP_TYP) {
			reset = true;
			__atomic_store_n(&d->poweroff_requested, true, __ATOMIC_RELEASE);
		} else if (!write) {
			data[0] = 0;
		}
	} else if (!write) {
		memset(data, 0xff, size);
	}
	if (reset)
		d->reset_requested = true;
	pthread_mutex_unlock(&d->lock);
	return reset;
}
