/* The node-wide ledger (ledger.c): a small table in shared memory, one per
 * user and job on a host, where the processes of a job that share a node's
 * memory (+share rules) say which nodes they use and how much they placed
 * there; and the budget arithmetic read from it. No malloc. */
#ifndef AMLSHIM_LEDGER_H
#define AMLSHIM_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#define SHIM_LEDGER_SLOTS 256
#define SHIM_LEDGER_NODES 4 /* budgeted nodes per process */

/* One process's slot. owner: its start time << 22 | pid (0: free); live:
 * owner once the fields are filled (0 while claimed, filled or reclaimed). */
struct shim_ledger_slot {
	uint64_t owner, live;
	uint32_t nodes[SHIM_LEDGER_NODES]; /* node + 1; 0: none */
	uint64_t used[SHIM_LEDGER_NODES];  /* bytes placed on each */
	uint64_t grown_ns[SHIM_LEDGER_NODES]; /* CLOCK_MONOTONIC of the last growth; 0: none yet */
	uint32_t lends;                    /* +share:dynamic: settled claims shrink to use */
	uint32_t pad[3];
};

struct shim_ledger_table {
	uint32_t version;
	uint32_t closing; /* the last process is removing the file */
	uint64_t reserved[7];
	struct shim_ledger_slot slots[SHIM_LEDGER_SLOTS];
};

/* A process's attachment: the table, its slot (-1: none). */
struct shim_ledger {
	struct shim_ledger_table *table;
	int slot;
	char path[128];
};

/* The job's key when no name is given: the parent's pid and start time
 * ("1234-5678"), what all local ranks of a launcher share. 0 or -1. */
int shim_ledger_default_key(char *buf, size_t len);
/* Opens (creates, 0600) the table for key under dir ("/dev/shm"), claims
 * a slot for this process with its nodes (up to SHIM_LEDGER_NODES, node
 * numbers) and reclaims slots whose process is gone. 0, or -1 with errno
 * (ENOSPC: no room for the file there; EUSERS: every slot taken). */
int shim_ledger_attach(struct shim_ledger *l, const char *dir, const char *key, const int *nodes, int num_nodes,
                       int lends);
/* This process's use of its node i grows or shrinks by delta bytes. */
void shim_ledger_add(struct shim_ledger *l, int i, int64_t delta, uint64_t now_ns);
/* Gives the slot back; the last process removes the file. table and slot
 * are cleared before the unmap: readers that check table under the
 * caller's lock (the one held around this call) never see it unmapped. */
void shim_ledger_detach(struct shim_ledger *l);
/* Whether a slot's owner is gone (its pid dead, a zombie, or another
 * process with its pid). */
int shim_ledger_owner_gone(uint64_t owner);

/* What the ledger says of one node, seen from this process. */
struct shim_share_view {
	int users;          /* live slots using the node, this one included */
	int registered;     /* live slots */
	uint64_t other_used[SHIM_LEDGER_SLOTS]; /* per other user: bytes placed */
	int other_settled[SHIM_LEDGER_SLOTS];   /* per other user: its claim is its use */
	int num_others;
};
/* Reads the node's users from the table (dead owners are skipped). */
void shim_ledger_view(const struct shim_ledger *l, unsigned node, uint64_t now_ns, uint64_t settle_ns,
                      struct shim_share_view *v);

/* The budget arithmetic, pure. users: those counted (self included),
 * registered: live slots, local_size: the launcher's (-1 unknown). Users
 * extrapolated when not every local rank registered yet. */
int shim_share_users(int users, int registered, long local_size);
/* Static: capacity / users. */
size_t shim_share_static(size_t capacity, int users);
/* Dynamic: capacity less what the others claim: an unsettled user (or one
 * not registered yet: users beyond those seen) its share or its use if
 * more, a settled one its use; never below 0. */
size_t shim_share_dynamic(size_t capacity, int users, const struct shim_share_view *v);

#endif
