/* The node-wide ledger: a file in /dev/shm (0600, one per user and job),
 * mapped shared and populated when a process joins, holding one slot per
 * process. Slots are claimed and updated with atomics only, so no lock is
 * ever held (none across a page fault, none a killed process could keep);
 * a slot whose process is gone is reclaimed by the next one to look. The
 * budget arithmetic at the end is pure. No malloc: it runs inside the
 * allocator (mmap through the OS layer, past the shim's own). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger.h"
#include "os.h"

#define LEDGER_VERSION 1u
#define PID_BITS 22

int shim_ledger_default_key(char *buf, size_t len)
{
	char state;
	unsigned long long start;
	long parent = (long)getppid();
	if (aml_os_process_stat(parent, &state, &start) != 0)
		return -1;
	return snprintf(buf, len, "%ld-%llu", parent, start) < (int)len ? 0 : -1;
}

static uint64_t own_owner(void)
{
	char state;
	unsigned long long start;
	long pid = (long)getpid();
	if (aml_os_process_stat(pid, &state, &start) != 0)
		start = 0;
	return (uint64_t)start << PID_BITS | (uint64_t)pid;
}

/* The cheap test, for every budget: the pid is gone (not yet reaped
 * counts as alive; the full test runs when a process joins). */
static int pid_gone(uint64_t owner)
{
	long pid = (long)(owner & ((1u << PID_BITS) - 1));
	return pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

int shim_ledger_owner_gone(uint64_t owner)
{
	long pid = (long)(owner & ((1u << PID_BITS) - 1));
	char state;
	unsigned long long start;
	if (pid_gone(owner))
		return 1;
	if (aml_os_process_stat(pid, &state, &start) != 0)
		return 0; /* hidden /proc: trust kill */
	return state == 'Z' || state == 'X' || start != owner >> PID_BITS;
}

/* A dead owner's slot: uncounted first (live), then free (owner). */
static void reclaim(struct shim_ledger_slot *s, uint64_t owner)
{
	uint64_t live = owner;
	__atomic_compare_exchange_n(&s->live, &live, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	__atomic_compare_exchange_n(&s->owner, &owner, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Ledgers of jobs that are over: named by a launcher (pid and start time)
 * that is gone, their last ranks killed before they could remove them.
 * No new rank can join them; one still running keeps its mapping. */
struct sweep {
	const char *dir;
	char prefix[48];
	size_t prefix_len;
};

static void sweep_entry(const char *name, void *ctx)
{
	const struct sweep *s = ctx;
	long pid;
	unsigned long long start, now;
	char state, end, path[128];
	if (strncmp(name, s->prefix, s->prefix_len) != 0 ||
	    sscanf(name + s->prefix_len, "%ld-%llu%c", &pid, &start, &end) != 2 || pid <= 0)
		return;
	if (aml_os_process_stat(pid, &state, &now) == 0 && now == start)
		return; /* the launcher still runs */
	if (snprintf(path, sizeof(path), "%s/%s", s->dir, name) < (int)sizeof(path))
		unlink(path);
}

static void sweep(const char *dir)
{
	struct sweep s = {.dir = dir};
	s.prefix_len = (size_t)snprintf(s.prefix, sizeof(s.prefix), "amlshim-ledger-%u-", (unsigned)getuid());
	aml_os_each_entry(dir, sweep_entry, &s);
}

static int open_table(struct shim_ledger *l)
{
	int fd = aml_os_open_private(l->path);
	if (fd < 0)
		return -1;
	struct stat st;
	/* Another user's file, a mode others could write, or a second name
	 * (a hard link to one of the user's own files): not ours. No name (a
	 * file being removed) is seen below. */
	if (fstat(fd, &st) != 0 || st.st_uid != getuid() || (st.st_mode & 077) || !S_ISREG(st.st_mode) || st.st_nlink > 1 ||
	    (st.st_size < (off_t)sizeof(struct shim_ledger_table) && ftruncate(fd, sizeof(struct shim_ledger_table)) != 0)) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	/* The blocks reserved now: on a full tmpfs ftruncate succeeds, the
	 * shared mapping's populate fails silently and the first write would
	 * raise SIGBUS. A file this process made (empty when opened) goes. */
	if (fallocate(fd, 0, 0, sizeof(struct shim_ledger_table)) != 0 && errno != EOPNOTSUPP) {
		if (st.st_size == 0 && st.st_nlink == 1)
			unlink(l->path);
		close(fd);
		errno = ENOSPC;
		return -1;
	}
	void *map = aml_os_mmap(NULL, sizeof(struct shim_ledger_table), PROT_READ | PROT_WRITE,
	                        MAP_SHARED | MAP_POPULATE, fd, 0);
	int linked = fstat(fd, &st) == 0 && st.st_nlink > 0;
	close(fd);
	if (map == MAP_FAILED)
		return -1;
	l->table = map;
	uint32_t version = 0;
	__atomic_compare_exchange_n(&l->table->version, &version, LEDGER_VERSION, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	if (!linked || (version && version != LEDGER_VERSION)) {
		aml_os_munmap(l->table, sizeof(struct shim_ledger_table));
		l->table = NULL;
		errno = linked ? EPROTO : EAGAIN;
		return -1;
	}
	return 0;
}

static int claim(struct shim_ledger *l, const int *nodes, int num_nodes, int lends)
{
	uint64_t mine = own_owner();
	for (int i = 0; i < SHIM_LEDGER_SLOTS; i++) {
		struct shim_ledger_slot *s = &l->table->slots[i];
		uint64_t owner = __atomic_load_n(&s->owner, __ATOMIC_SEQ_CST);
		/* Our own pid and start time: this process before an exec (no
		 * exit handler ran), gone as much as a dead one. */
		if (owner && (owner == mine || shim_ledger_owner_gone(owner)))
			reclaim(s, owner), owner = 0;
		if (owner || l->slot >= 0)
			continue;
		if (!__atomic_compare_exchange_n(&s->owner, &owner, mine, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			continue;
		for (int n = 0; n < SHIM_LEDGER_NODES; n++) {
			s->nodes[n] = n < num_nodes ? (uint32_t)nodes[n] + 1 : 0;
			s->used[n] = s->grown_ns[n] = 0;
		}
		s->lends = (uint32_t)lends;
		__atomic_store_n(&s->live, mine, __ATOMIC_SEQ_CST);
		l->slot = i;
	}
	return l->slot >= 0 ? 0 : -1;
}

int shim_ledger_attach(struct shim_ledger *l, const char *dir, const char *key, const int *nodes, int num_nodes,
                       int lends)
{
	l->table = NULL;
	l->slot = -1;
	sweep(dir);
	if (snprintf(l->path, sizeof(l->path), "%s/amlshim-ledger-%u-%s", dir, (unsigned)getuid(), key) >= (int)sizeof(l->path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* A file being removed by the last process of a job: wait for it to
	 * go, then make a new one (bounded: 100 tries 1 ms apart). */
	for (int tries = 0; tries < 100; tries++) {
		if (open_table(l) != 0) {
			if (errno != EAGAIN)
				return -1;
		} else if (claim(l, nodes, num_nodes, lends) != 0) {
			shim_ledger_detach(l);
			errno = EUSERS;
			return -1;
		} else if (!__atomic_load_n(&l->table->closing, __ATOMIC_SEQ_CST)) {
			return 0;
		} else {
			shim_ledger_detach(l);
		}
		usleep(1000);
	}
	errno = EAGAIN;
	return -1;
}

void shim_ledger_add(struct shim_ledger *l, int i, int64_t delta, uint64_t now_ns)
{
	if (!l->table || l->slot < 0 || i < 0 || i >= SHIM_LEDGER_NODES || delta == 0)
		return;
	struct shim_ledger_slot *s = &l->table->slots[l->slot];
	__atomic_add_fetch(&s->used[i], (uint64_t)delta, __ATOMIC_RELAXED);
	if (delta > 0)
		__atomic_store_n(&s->grown_ns[i], now_ns ? now_ns : 1, __ATOMIC_RELAXED);
}

/* No live process but this one (mine: its owner) holds a slot (dead
 * ones' are reclaimed on the way). */
static int table_empty(struct shim_ledger_table *t, uint64_t mine)
{
	for (int i = 0; i < SHIM_LEDGER_SLOTS; i++) {
		uint64_t owner = __atomic_load_n(&t->slots[i].owner, __ATOMIC_SEQ_CST);
		if (owner && (owner == mine || shim_ledger_owner_gone(owner)))
			reclaim(&t->slots[i], owner);
		else if (owner)
			return 0;
	}
	return 1;
}

void shim_ledger_detach(struct shim_ledger *l)
{
	struct shim_ledger_table *t = l->table;
	int slot = l->slot;
	/* Off the attachment before the mapping goes: a reader that checks
	 * table (under the caller's lock) never reaches an unmapped one. */
	l->table = NULL;
	l->slot = -1;
	if (!t)
		return;
	if (slot >= 0) {
		struct shim_ledger_slot *s = &t->slots[slot];
		uint64_t mine = __atomic_load_n(&s->owner, __ATOMIC_SEQ_CST);
		__atomic_store_n(&s->live, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&s->owner, 0, __ATOMIC_SEQ_CST);
		/* The last one out removes the file: closing is set before the
		 * check, a joiner checks it after claiming, so one of the two
		 * sees the other (the joiner then makes a new file). */
		uint32_t open = 0;
		if (table_empty(t, mine) && __atomic_compare_exchange_n(&t->closing, &open, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			if (table_empty(t, mine))
				unlink(l->path);
			else
				__atomic_store_n(&t->closing, 0, __ATOMIC_SEQ_CST);
		}
	}
	aml_os_munmap(t, sizeof(*t));
}

void shim_ledger_view(const struct shim_ledger *l, unsigned node, uint64_t now_ns, uint64_t settle_ns,
                      struct shim_share_view *v)
{
	memset(v, 0, sizeof(*v));
	v->users = v->registered = 1; /* this process */
	for (int i = 0; l->table && i < SHIM_LEDGER_SLOTS; i++) {
		const struct shim_ledger_slot *s = &l->table->slots[i];
		uint64_t live = __atomic_load_n(&s->live, __ATOMIC_ACQUIRE);
		if (!live || i == l->slot || pid_gone(live))
			continue;
		v->registered++;
		for (int n = 0; n < SHIM_LEDGER_NODES; n++) {
			if (__atomic_load_n(&s->nodes[n], __ATOMIC_RELAXED) != node + 1)
				continue;
			uint64_t grown = __atomic_load_n(&s->grown_ns[n], __ATOMIC_RELAXED);
			v->other_used[v->num_others] = __atomic_load_n(&s->used[n], __ATOMIC_RELAXED);
			v->other_settled[v->num_others] = s->lends && grown && now_ns - grown >= settle_ns;
			v->num_others++;
			v->users++;
			break;
		}
	}
}

int shim_share_users(int users, int registered, long local_size)
{
	if (users < 1)
		users = 1;
	/* Not every local rank has joined yet: those to come are assumed to
	 * use the node in the proportion of those seen (rounded up). */
	if (local_size > registered && registered > 0) {
		long more = (local_size * users + registered - 1) / registered;
		if (more > users)
			users = more > SHIM_LEDGER_SLOTS ? SHIM_LEDGER_SLOTS : (int)more;
	}
	return users;
}

size_t shim_share_static(size_t capacity, int users)
{
	return capacity / (size_t)(users < 1 ? 1 : users);
}

size_t shim_share_dynamic(size_t capacity, int users, const struct shim_share_view *v)
{
	size_t share = shim_share_static(capacity, users), claimed = 0;
	for (int i = 0; i < v->num_others; i++) {
		size_t used = v->other_used[i];
		claimed += v->other_settled[i] || used > share ? used : share;
	}
	/* Users counted but not seen (not registered yet) claim a share each. */
	int unseen = users - 1 - v->num_others;
	if (unseen > 0)
		claimed += (size_t)unseen * share;
	return claimed >= capacity ? 0 : capacity - claimed;
}
