/* SPDX-License-Identifier: MIT */
#include "vmbusd_policy.h"

#include <errno.h>
#include <string.h>

#include "vmbus.h"

static const char want_guids[] =
    "want instance GUIDs as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, separated by commas";

void vmbusd_policy_init(struct vmbusd_policy *p)
{
	p->quota = VMBUSD_DEFAULT_OFFER_QUOTA;
	p->nentries = 0;
}

/* A decimal number without sign or blanks, at most max; *end is where it stopped. */
static int parse_u32(const char *s, uint32_t max, uint32_t *ret, const char **end)
{
	uint64_t v = 0;
	const char *c = s;

	while (*c >= '0' && *c <= '9') {
		v = v * 10 + (uint64_t)(*c - '0');
		if (v > max)
			return -EINVAL;
		c++;
	}
	if (c == s)
		return -EINVAL;
	*ret = (uint32_t)v;
	*end = c;
	return 0;
}

static bool listed(const struct vmbusd_policy_entry *e, const struct hv_guid *g)
{
	for (uint32_t i = 0; i < e->ninstances; i++)
		if (!memcmp(&e->instances[i], g, sizeof(*g)))
			return true;
	return false;
}

int vmbusd_policy_add_allow(struct vmbusd_policy *p, const char *arg, const char **why)
{
	struct vmbusd_policy_entry e;
	const char *s;
	uint32_t slot, uid;

	/* (uid_t)-1 is "no uid" to the kernel: never a process's. */
	if (parse_u32(arg, UINT32_MAX - 1, &uid, &s) < 0 || *s != '=') {
		*why = "want UID=GUID[,GUID...] with a decimal uid below 4294967295";
		return -EINVAL;
	}
	for (slot = 0; slot < p->nentries && p->entries[slot].uid != uid; slot++)
		;
	if (slot == VMBUSD_POLICY_MAX_UIDS) {
		*why = "too many uids (at most 16)";
		return -E2BIG;
	}
	if (slot < p->nentries)
		e = p->entries[slot];
	else
		e = (struct vmbusd_policy_entry){.uid = uid};
	do {
		char text[VMBUS_GUID_STRING_MAX];
		struct hv_guid g;
		size_t n;

		s++; /* past '=' or ',' */
		n = strcspn(s, ",");
		if (n == sizeof(text) - 1) {
			memcpy(text, s, n);
			text[n] = 0;
		}
		if (n != sizeof(text) - 1 || vmbus_guid_from_string(text, &g) < 0) {
			*why = want_guids;
			return -EINVAL;
		}
		/* One owner per instance: two could take each other's channels over. */
		for (uint32_t i = 0; i < p->nentries; i++) {
			if (i != slot && listed(&p->entries[i], &g)) {
				*why = "an instance GUID is already allowed to another uid";
				return -EINVAL;
			}
		}
		if (listed(&e, &g)) {
			*why = "an instance GUID is listed twice";
			return -EINVAL;
		}
		if (e.ninstances == VMBUSD_POLICY_MAX_INSTANCES) {
			*why = "too many instance GUIDs for one uid (at most 32)";
			return -E2BIG;
		}
		e.instances[e.ninstances++] = g;
		s += n;
	} while (*s == ',');
	p->entries[slot] = e;
	if (slot == p->nentries)
		p->nentries++;
	return 0;
}

int vmbusd_policy_set_quota(struct vmbusd_policy *p, const char *arg, const char **why)
{
	const char *end;
	uint32_t q;

	if (parse_u32(arg, VMBUSD_MAX_OFFER_QUOTA, &q, &end) < 0 || *end || q == 0) {
		*why = "want 1..128 offers per device connection";
		return -EINVAL;
	}
	p->quota = q;
	return 0;
}

const struct vmbusd_policy_entry *vmbusd_policy_entry(const struct vmbusd_policy *p, uint32_t uid)
{
	for (uint32_t i = 0; i < p->nentries; i++)
		if (p->entries[i].uid == uid)
			return &p->entries[i];
	return NULL;
}

bool vmbusd_policy_admits(const struct vmbusd_policy *p, uint32_t uid)
{
	return !vmbusd_policy_restricted(p) || vmbusd_policy_entry(p, uid);
}

bool vmbusd_policy_allows(const struct vmbusd_policy *p, uint32_t uid,
			  const struct hv_guid *instance)
{
	const struct vmbusd_policy_entry *e;

	if (!vmbusd_policy_restricted(p))
		return true;
	e = vmbusd_policy_entry(p, uid);
	return e && listed(e, instance);
}
