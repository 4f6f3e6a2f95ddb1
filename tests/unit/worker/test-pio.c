/* SPDX-License-Identifier: MIT */
/* Legacy port devices: the 8250 as Linux's driver probes and drives it, CMOS, resets. */
#include <fcntl.h>
#include <unistd.h>

#include "pio.h"
#include "test.h"

static int irq_level = -1;
static int irq_edges;

static void irq(void *opaque, uint32_t gsi, bool level)
{
	(void)opaque;
	ASSERT_EQ(gsi, PIO_COM1_IRQ);
	if (level && irq_level != 1)
		irq_edges++;
	irq_level = level;
}

static uint8_t in8(struct pio_devices *d, uint16_t port)
{
	uint8_t v = 0;
	ASSERT_FALSE(pio_access(d, port, 1, false, &v));
	return v;
}

static bool out8(struct pio_devices *d, uint16_t port, uint8_t v)
{
	return pio_access(d, port, 1, true, &v);
}

int main(void)
{
	struct pio_devices d;
	int fds[2];
	char buf[64];

	ASSERT_OK(pipe2(fds, O_NONBLOCK | O_CLOEXEC));
	pio_init(&d, fds[1], irq, NULL);

	/* Probe: scratch register, loopback modem lines (the 8250 autoconfig test), FIFO. */
	out8(&d, 0x3ff, 0xa5);
	ASSERT_EQ(in8(&d, 0x3ff), 0xa5);
	out8(&d, 0x3fc, 0x10 | 0x0a);
	ASSERT_EQ(in8(&d, 0x3fe) & 0xf0, 0x90);
	out8(&d, 0x3fc, 0);
	ASSERT_EQ(in8(&d, 0x3fa) & 0xc0, 0xc0);
	ASSERT_EQ(in8(&d, 0x3fa) & 0x01, 0x01); /* no interrupt pending */
	ASSERT_EQ(in8(&d, 0x3fd) & 0x60, 0x60); /* THRE and TEMT */

	/* Divisor latch does not transmit. */
	out8(&d, 0x3fb, 0x80);
	out8(&d, 0x3f8, 0x01);
	ASSERT_EQ(in8(&d, 0x3f8), 0x01);
	out8(&d, 0x3fb, 0x03);

	/* THRE interrupt: enabling THRI raises it; reading IIR reports and clears it; each
	 * transmitted byte raises it again. */
	out8(&d, 0x3f9, 0x02);
	ASSERT_EQ(irq_level, 1);
	ASSERT_EQ(in8(&d, 0x3fa) & 0x0f, 0x02);
	ASSERT_EQ(irq_level, 0);
	ASSERT_EQ(in8(&d, 0x3fa) & 0x0f, 0x01);
	int edges = irq_edges;
	out8(&d, 0x3f8, 'h');
	out8(&d, 0x3f8, 'i');
	ASSERT_EQ(irq_level, 1);
	ASSERT_GT(irq_edges, edges);
	ASSERT_EQ(read(fds[0], buf, sizeof(buf)), -1); /* held until the end of the line */
	out8(&d, 0x3f8, '\n');
	ASSERT_EQ(read(fds[0], buf, sizeof(buf)), 3);
	ASSERT_TRUE(memcmp(buf, "hi\n", 3) == 0);
	out8(&d, 0x3f9, 0x00);
	ASSERT_EQ(irq_level, 0);
	out8(&d, 0x3f8, 'x');
	pio_flush(&d);
	ASSERT_EQ(read(fds[0], buf, sizeof(buf)), 1);

	/* CMOS: update not in progress, 24-hour BCD, valid RAM; BCD digits. */
	out8(&d, 0x70, 0x0a);
	ASSERT_EQ(in8(&d, 0x71) & 0x80, 0);
	out8(&d, 0x70, 0x0b);
	ASSERT_EQ(in8(&d, 0x71), 0x02);
	out8(&d, 0x70, 0x0d);
	ASSERT_EQ(in8(&d, 0x71), 0x80);
	out8(&d, 0x70, 0x08);
	uint8_t mon = in8(&d, 0x71);
	ASSERT_TRUE((mon & 0x0f) <= 9 && mon >= 1 && mon <= 0x12);

	/* Unclaimed ports float high; multi-byte too. */
	ASSERT_EQ(in8(&d, 0x1234), 0xff);
	uint8_t w[4] = {0};
	ASSERT_FALSE(pio_access(&d, 0xcfc, 4, false, w));
	ASSERT_EQ(w[0] & w[1] & w[2] & w[3], 0xff);

	/* Resets: keyboard controller pulse, reset control register; other writes do not. */
	ASSERT_FALSE(out8(&d, 0x64, 0xd1));
	ASSERT_FALSE(out8(&d, 0xcf9, 0x02));
	ASSERT_FALSE(d.reset_requested);
	ASSERT_EQ(in8(&d, 0x64), 0);
	ASSERT_TRUE(out8(&d, 0x64, 0xfe));
	ASSERT_TRUE(out8(&d, 0xcf9, 0x06));
	ASSERT_TRUE(d.reset_requested);

	/* ACPI sleep control: only SLP_EN with SLP_TYP 5 powers off; status reads 0. */
	ASSERT_FALSE(d.poweroff_requested);
	ASSERT_EQ(in8(&d, 0x600), 0);
	ASSERT_EQ(in8(&d, 0x601), 0);
	ASSERT_FALSE(out8(&d, 0x601, 0x80));       /* clearing WAK_STS */
	ASSERT_FALSE(out8(&d, 0x600, 5u << 2));    /* no SLP_EN */
	ASSERT_FALSE(out8(&d, 0x600, 0x20 | 3u << 2)); /* S3 is not offered */
	ASSERT_FALSE(d.poweroff_requested);
	ASSERT_TRUE(out8(&d, 0x600, 0x20 | 5u << 2));
	ASSERT_TRUE(d.poweroff_requested);
	close(fds[0]);
	close(fds[1]);
	return 0;
}
