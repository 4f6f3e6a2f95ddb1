/* SPDX-License-Identifier: MIT */
/*
 * mhcl net capture [-c COUNT] > FILE.pcap
 *
 * Writes a pcap file (Ethernet, microsecond timestamps) of the frames the guest sends and
 * receives through the server named "net" (mhcl-netd) to stdout: the file header, then the
 * records of one IPC_MSG_NET_CAPTURE after another (each arms the capture for what is
 * still wanted, at most 2 s) until COUNT frames (default 100) were written or a request
 * saw none. The pcap goes to stdout (never a terminal); what happened goes to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defs/ipc_frame.h"
#include "mhcl.h"
#include "net.pb-c.h"

#define CAPTURE_DEFAULT_COUNT 100u
#define CAPTURE_REQUEST_MAX 1000u /* what diagd lets one request ask for */
#define CAPTURE_WAIT_MS 2000u
#define CAPTURE_SNAPLEN 65535u
#define PCAP_MAGIC 0xa1b2c3d4u
#define PCAP_LINKTYPE_ETHERNET 1u

struct pcap_file_header {
	uint32_t magic;
	uint16_t version_major, version_minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

int cmd_net(struct mhcl_ctx *c)
{
	const struct mhcl_args *a = c->args;
	uint32_t want = a->count ? a->count : CAPTURE_DEFAULT_COUNT, got = 0, missed = 0;

	if (a->npos != 1 || strcmp(a->pos[0], "capture"))
		return mhcl_fail(c, MHCL_CLI_USAGE,
				 "usage: mhcl net capture [-c COUNT] > FILE.pcap");
	if (isatty(STDOUT_FILENO))
		return mhcl_fail(c, MHCL_CLI_USAGE,
				 "mhcl net capture writes pcap: redirect it to a file or a pipe");
	struct pcap_file_header h = {
	    PCAP_MAGIC, 2, 4, 0, 0, CAPTURE_SNAPLEN, PCAP_LINKTYPE_ETHERNET};
	if (fwrite(&h, sizeof(h), 1, stdout) != 1)
		return mhcl_fail(c, MHCL_CLI_REMOTE, "unable to write the pcap header");
	while (got < want) {
		Mhcl__Net__NetCaptureRequest req = MHCL__NET__NET_CAPTURE_REQUEST__INIT;
		ProtobufCMessage *m;
		req.count = want - got < CAPTURE_REQUEST_MAX ? want - got : CAPTURE_REQUEST_MAX;
		req.timeout_ms = CAPTURE_WAIT_MS;
		req.snaplen = CAPTURE_SNAPLEN;
		int r = mhcl_call(c, IPC_MSG_NET_CAPTURE, &req.base,
				  &mhcl__net__net_capture_reply__descriptor, &m);
		if (r != MHCL_CLI_OK)
			return r;
		const Mhcl__Net__NetCaptureReply *rep = (const Mhcl__Net__NetCaptureReply *)m;
		uint32_t frames = rep->frames;
		missed += rep->missed;
		size_t n = rep->records.len;
		bool ok = !n || fwrite(rep->records.data, n, 1, stdout) == 1;
		protobuf_c_message_free_unpacked(m, NULL);
		if (!ok)
			return mhcl_fail(c, MHCL_CLI_REMOTE, "unable to write the capture");
		got += frames;
		if (frames == 0)
			break; /* nothing for CAPTURE_WAIT_MS */
	}
	fflush(stdout);
	fprintf(stderr, "mhcl: captured %u frames%s\n", got, missed ? " (some did not fit)" : "");
	return MHCL_CLI_OK;
}
