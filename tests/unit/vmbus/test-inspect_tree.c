/* SPDX-License-Identifier: MIT */
/* The VMBus state rendered as an inspect tree (lib/vmbus/inspect_tree.c). */
#include "sim_guest.h"
#include "vmbus_inspect.h"

static const char *str_at(Mhcl__Node *root, const char *path)
{
	Mhcl__Node *n = inspect_find(root, path);
	if (!n || n->value_case != MHCL__NODE__VALUE_STR)
		TEST_FAIL_("no string at %s", path);
	return n->str;
}

static uint64_t u64_at(Mhcl__Node *root, const char *path)
{
	Mhcl__Node *n = inspect_find(root, path);
	if (!n || n->value_case != MHCL__NODE__VALUE_U64)
		TEST_FAIL_("no u64 at %s", path);
	return n->u64;
}

int main(void)
{
	struct sim sim;
	uint32_t relid, ring;

	sim_init(&sim);
	relid = sim_offer(&sim, HV_GUID_SCSI, 1, 0);
	ASSERT_EQ(sim_connect(&sim), VMBUS_VERSION_WIN10_V5_3);
	sim_request_offers(&sim);
	ASSERT_EQ(sim_gpadl(&sim, relid, 10, 30, &ring), 0);
	ASSERT_EQ(sim_open(&sim, relid, ring, 15, 1), 0);
	ASSERT_NE(sim_open(&sim, relid, ring, 15, 1), 0); /* one error on the channel */

	struct inspect_tree *t = inspect_tree_new("vmbus");
	ASSERT_TRUE(t);
	vmbus_host_inspect_tree(sim.s, t, NULL);
	Mhcl__Node *root = inspect_tree_root(t);
	ASSERT_STREQ(str_at(root, "connection/state"), "connected");
	ASSERT_STREQ(str_at(root, "connection/version"), "5.3");
	ASSERT_EQ(u64_at(root, "connection/channels"), 1);
	ASSERT_STREQ(str_at(root, "channels/1/class"), "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");
	ASSERT_STREQ(str_at(root, "channels/1/state"), "open");
	ASSERT_EQ(u64_at(root, "channels/1/target_vp"), 1);
	ASSERT_EQ(u64_at(root, "channels/1/event_conn_id"), VMBUS_EVENT_CONNID(1));
	ASSERT_EQ(u64_at(root, "channels/1/counters/errors"), 1);
	ASSERT_TRUE(strstr(str_at(root, "channels/1/last_error"), "while the channel is open"));
	ASSERT_EQ(u64_at(root, "gpadls/0xe1e10/pages"), 30);
	ASSERT_EQ(u64_at(root, "gpadls/0xe1e10/relid"), relid);
	ASSERT_STREQ(str_at(root, "gpadls/0xe1e10/state"), "created");
	t = inspect_tree_free(t);
	sim_fini(&sim);
	printf("ok\n");
	return 0;
}
