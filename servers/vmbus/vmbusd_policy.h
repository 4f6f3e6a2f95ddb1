/* SPDX-License-Identifier: MIT */
/*
 * Which channels each device server may offer (--device-allow, --device-offer-quota).
 *
 * A device server's identity is the uid the kernel vouches for on its connection
 * (SO_PEERCRED); init runs each server as its own uid. The policy maps a uid to the
 * VMBus instance GUIDs it may offer. With no entry at all the policy is unrestricted
 * (development: every device may offer anything); with at least one, a uid that has no
 * entry may offer nothing. The quota bounds the offers one device connection holds,
 * sub-channels included, so that one device cannot fill vmbusd's shared offer table.
 *
 * Plain data, no allocation: parsed once from the command line, copied into vmbusd.
 */
#ifndef MHCL_VMBUSD_POLICY_H
#define MHCL_VMBUSD_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "defs/vmbus_defs.h"

#define VMBUSD_POLICY_MAX_UIDS 16u	/* as many as vmbusd has device slots */
#define VMBUSD_POLICY_MAX_INSTANCES 32u /* per uid */
#define VMBUSD_DEFAULT_OFFER_QUOTA 64u
#define VMBUSD_MAX_OFFER_QUOTA 128u /* the offer table's size (VMBUSD_MAX_OFFERS) */

struct vmbusd_policy_entry {
	uint32_t uid;
	uint32_t ninstances;
	struct hv_guid instances[VMBUSD_POLICY_MAX_INSTANCES];
};

struct vmbusd_policy {
	uint32_t quota;	   /* offers per device connection */
	uint32_t nentries; /* 0: unrestricted */
	struct vmbusd_policy_entry entries[VMBUSD_POLICY_MAX_UIDS];
};

/* Unrestricted, with the default quota. */
void vmbusd_policy_init(struct vmbusd_policy *p);

/*
 * Adds one --device-allow argument, "UID=GUID[,GUID...]" (a decimal uid, instance GUIDs
 * as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx). The same uid may come back with more GUIDs;
 * a GUID listed twice, or for two uids, is refused. 0, or -EINVAL / -E2BIG with *why
 * (a static string); p is unchanged on failure.
 */
int vmbusd_policy_add_allow(struct vmbusd_policy *p, const char *arg, const char **why);

/* Parses --device-offer-quota: a decimal 1..VMBUSD_MAX_OFFER_QUOTA. 0 or -EINVAL. */
int vmbusd_policy_set_quota(struct vmbusd_policy *p, const char *arg, const char **why);

static inline bool vmbusd_policy_restricted(const struct vmbusd_policy *p)
{
	return p->nentries != 0;
}

/* uid's entry, or NULL (also when the policy is unrestricted). */
const struct vmbusd_policy_entry *vmbusd_policy_entry(const struct vmbusd_policy *p, uint32_t uid);

/* May uid connect as a device server at all (unrestricted, or it has an entry)? */
bool vmbusd_policy_admits(const struct vmbusd_policy *p, uint32_t uid);

/* May uid offer channels of this instance GUID? */
bool vmbusd_policy_allows(const struct vmbusd_policy *p, uint32_t uid,
			  const struct hv_guid *instance);

#endif
