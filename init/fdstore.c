/* SPDX-License-Identifier: MIT */
#include "fdstore.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bus.pb-c.h"

void fdstore_init(struct fdstore *st)
{
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < FDSTORE_MAX; i++)
		st->fds[i] = -1;
}

void fdstore_clear(struct fdstore *st)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->fds[i] >= 0)
			close(st->fds[i]);
	st->n = 0;
	for (size_t i = 0; i < FDSTORE_MAX; i++)
		st->fds[i] = -1;
}

static bool name_ok(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len >= FDSTORE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return false;
	return true;
}

static ssize_t find(const struct fdstore *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->names[i], name))
			return (ssize_t)i;
	return -1;
}

static void drop(struct fdstore *st, size_t i)
{
	close(st->fds[i]);
	st->n--;
	if (i != st->n) {
		memcpy(st->names[i], st->names[st->n], FDSTORE_NAME_MAX);
		st->fds[i] = st->fds[st->n];
	}
	st->fds[st->n] = -1;
}

static int store(struct fdstore *st, Mhcl__FdStoreRequest *m, struct ipc_msg *msg, const char **why)
{
	size_t fresh = 0;

	if (m->n_names == 0 || m->n_names != msg->nfds) {
		*why = "want one fd per name";
		return -EINVAL;
	}
	for (size_t i = 0; i < m->n_names; i++) {
		if (!name_ok(m->names[i])) {
			*why = "a name is empty, too long or not printable";
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->names[i], m->names[j])) {
				*why = "a name appears twice";
				return -EINVAL;
			}
		if (find(st, m->names[i]) < 0)
			fresh++;
	}
	if (st->n + fresh > FDSTORE_MAX) {
		*why = "the fd store of this server is full";
		return -ENOSPC;
	}
	for (size_t i = 0; i < m->n_names; i++) {
		ssize_t k = find(st, m->names[i]);
		if (k >= 0) {
			close(st->fds[k]);
		} else {
			k = (ssize_t)st->n++;
			snprintf(st->names[k], FDSTORE_NAME_MAX, "%s", m->names[i]);
		}
		st->fds[k] = msg->fds[i];
		msg->fds[i] = -1;
		st->stored++;
	}
	return 0;
}

void fdstore_request(struct fdstore *st, struct ipc_chan *ch, struct ipc_msg *msg)
{
	const char *why = "";
	int r;

	if (msg->type == IPC_MSG_FD_STORE) {
		Mhcl__FdStoreRequest *m = (Mhcl__FdStoreRequest *)ipc_msg_unpack(
		    ch, msg, &mhcl__fd_store_request__descriptor);
		if (!m)
			return;
		r = store(st, m, msg, &why);
		protobuf_c_message_free_unpacked(&m->base, NULL);
	} else {
		Mhcl__FdStoreRemove *m = (Mhcl__FdStoreRemove *)ipc_msg_unpack(
		    ch, msg, &mhcl__fd_store_remove__descriptor);
		if (!m)
			return;
		r = msg->nfds ? -EINVAL : 0;
		why = "FdStoreRemove carries no fds";
		for (size_t i = 0; r == 0 && i < m->n_names; i++) {
			ssize_t k = m->names[i] ? find(st, m->names[i]) : -1;
			if (k >= 0) {
				drop(st, (size_t)k);
				st->removed++;
			}
		}
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
	if (r < 0) {
		st->refused++;
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, r, "%s", why);
		return;
	}
	Mhcl__Empty rep = MHCL__EMPTY__INIT;
	(void)ipc_chan_reply(ch, msg->request_id, msg->type, &rep.base, NULL, 0);
}
