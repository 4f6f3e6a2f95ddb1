/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'vfio-user-reply': the input is the byte stream a hostile vfio-user server
 * sends back, replies to the client's requests in order (msg_id from 0). The client
 * attaches over a socketpair whose other end holds the input and then hangs up, so every
 * read ends in data or end of stream: no timeouts. After a successful attach the client
 * makes a few calls (register and config reads, a register write, MSI-X, DMA map/unmap)
 * that consume the rest. It must never crash, leak, or hand out data from a reply that
 * broke the protocol. Seeds: gen-corpus.py.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devaccess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(struct devaccess *d)
{
	static int memfd = -1;
	int efd[2];
	uint8_t cfg[64];

	if (memfd < 0) {
		memfd = memfd_create("fuzz-dma", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, 4096) < 0)
			return;
	}
	(void)devaccess_read32(d, 0, 0);
	devaccess_write32(d, 0, 4, 1);
	(void)d->ops->config_read(d, 0, cfg, sizeof(cfg));
	efd[0] = eventfd(0, EFD_CLOEXEC);
	efd[1] = -1;
	(void)devaccess_irq_set(d, efd, d->irq_count < 2 ? d->irq_count : 2);
	(void)devaccess_dma_map_fd(d, memfd, 0, NULL, 0x10000, 4096);
	(void)devaccess_dma_unmap(d, 0x10000, 4096);
	(void)devaccess_bus_master(d, true);
	if (efd[0] >= 0)
		close(efd[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct devaccess *d;
	int sp[2];
	size_t off = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return 0;
	/* What does not fit in the socket buffer is dropped: the stream just ends sooner. */
	while (off < size) {
		ssize_t n = send(sp[1], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(sp[1], SHUT_WR);
	if (devaccess_vfio_user_attach(sp[0], &d) == 0) {
		exercise(d);
		devaccess_close(d);
	} else {
		close(sp[0]);
	}
	close(sp[1]);
	return 0;
}
