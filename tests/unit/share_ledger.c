/* The +share ledger (shim/ledger.c) without the shim: the budget
 * arithmetic, names, and a table in a temporary directory shared by this
 * process and forked children: a child's slot and use seen by the parent,
 * its slot reclaimed once it is SIGKILLed (not left to leak), settling,
 * a process's slot from before an exec taken back, and the file removed by
 * the last one out; a hard link refused. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../shim/ledger.h"
#include "check.h"
#include "files.h"

#define MiB ((uint64_t)1 << 20)

static void arithmetic(void)
{
	/* Users: extrapolated from those seen when not all ranks joined. */
	CHECK_EQ(shim_share_users(1, 1, 4), 4);
	CHECK_EQ(shim_share_users(2, 4, 4), 2);
	CHECK_EQ(shim_share_users(1, 2, 4), 2);
	CHECK_EQ(shim_share_users(2, 3, 4), 3); /* ceil(4 * 2 / 3) */
	CHECK_EQ(shim_share_users(3, 3, -1), 3);
	CHECK_EQ(shim_share_users(0, 0, -1), 1);
	CHECK_EQ(shim_share_static(512 * MiB, 2), 256 * MiB);
	CHECK_EQ(shim_share_static(512 * MiB, 0), 512 * MiB);
	/* Dynamic: a settled user claims its use, an unsettled one its share
	 * or more, an unseen one its share. */
	struct shim_share_view v = {.users = 2, .registered = 2, .num_others = 1};
	v.other_used[0] = 64 * MiB;
	v.other_settled[0] = 1;
	CHECK_EQ(shim_share_dynamic(512 * MiB, 2, &v), 448 * MiB);
	v.other_settled[0] = 0;
	CHECK_EQ(shim_share_dynamic(512 * MiB, 2, &v), 256 * MiB);
	v.other_used[0] = 300 * MiB;
	CHECK_EQ(shim_share_dynamic(512 * MiB, 2, &v), 212 * MiB);
	v.other_used[0] = 600 * MiB;
	CHECK_EQ(shim_share_dynamic(512 * MiB, 2, &v), 0);
	v.other_used[0] = 0;
	v.other_settled[0] = 1;
	CHECK_EQ(shim_share_dynamic(512 * MiB, 4, &v), 256 * MiB); /* 2 unseen x 128 */
}

/* The name's checks are the policy parser's (tests/policy/parse_test.c). */
static void names(void)
{
	char key[64];
	CHECK(shim_ledger_default_key(key, sizeof(key)) == 0 && strchr(key, '-') && strcmp(strchr(key, '-'), "-0") != 0,
	      "default key '%s': the parent's pid and start time", key);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A child joins with node 2, places 100 MiB (its growth dated
 * grown_ago_ns back), says so on the pipe and waits to be killed. */
static pid_t child_joins(const char *dir, const char *key, uint64_t grown_ago_ns, int *slot)
{
	int fds[2];
	CHECK(pipe(fds) == 0, "pipe");
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct shim_ledger l;
		int node = 2;
		if (shim_ledger_attach(&l, dir, key, &node, 1, 1) != 0)
			_exit(1);
		shim_ledger_add(&l, 0, (int64_t)(100 * MiB), now_ns() - grown_ago_ns);
		if (write(fds[1], &l.slot, sizeof(l.slot)) != sizeof(l.slot))
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	CHECK(read(fds[0], slot, sizeof(*slot)) == sizeof(*slot), "the child could not join");
	close(fds[0]);
	return pid;
}

/* A ledger named by a launcher that is gone (a job whose ranks were all
 * killed) goes when a process joins any ledger; a running launcher's and
 * a named one stay. */
static void stale_files(void)
{
	char dir[256], stale[400], running[400], named[400], own[64];
	shim_test_tmpdir(dir, sizeof(dir));
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	snprintf(stale, sizeof(stale), "%s/amlshim-ledger-%u-%d-12345", dir, (unsigned)getuid(), (int)dead);
	snprintf(named, sizeof(named), "%s/amlshim-ledger-%u-myjob", dir, (unsigned)getuid());
	/* This process's parent, running: the key of its own ledger. */
	CHECK(shim_ledger_default_key(own, sizeof(own)) == 0, "default key");
	snprintf(running, sizeof(running), "%s/amlshim-ledger-%u-%s", dir, (unsigned)getuid(), own);
	const char *files[] = {stale, running, named};
	for (int i = 0; i < 3; i++) {
		int fd = open(files[i], O_CREAT | O_WRONLY, 0600);
		CHECK(fd >= 0, "create %s", files[i]);
		close(fd);
	}
	struct shim_ledger l;
	int node = 0;
	CHECK(shim_ledger_attach(&l, dir, "sweeper", &node, 1, 0) == 0, "attach");
	shim_ledger_detach(&l);
	CHECK(access(stale, F_OK) != 0, "the stale ledger %s stays", stale);
	CHECK(access(running, F_OK) == 0 && access(named, F_OK) == 0, "a running launcher's or a named ledger went");
	shim_test_remove_dir(dir);
}

/* A second name for one of the user's own private files (a hard link
 * made on a shared /tmp) is refused: the file is neither grown nor written. */
static void hard_link(void)
{
	char dir[256], mine[400], link_name[400];
	shim_test_tmpdir(dir, sizeof(dir));
	snprintf(mine, sizeof(mine), "%s/private", dir);
	snprintf(link_name, sizeof(link_name), "%s/amlshim-ledger-%u-linked", dir, (unsigned)getuid());
	int fd = open(mine, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0 && write(fd, "data", 4) == 4, "create %s", mine);
	close(fd);
	CHECK(link(mine, link_name) == 0, "link %s", link_name);
	struct shim_ledger l;
	int node = 0;
	errno = 0;
	CHECK(shim_ledger_attach(&l, dir, "linked", &node, 1, 0) != 0 && errno == EPERM,
	      "a hard link was taken as the ledger (errno %d)", errno);
	struct stat st;
	CHECK(stat(mine, &st) == 0 && st.st_size == 4, "the linked file was changed (size %lld)", (long long)st.st_size);
	shim_test_remove_dir(dir);
}

static void table(void)
{
	char dir[256], key[64], path[400];
	shim_test_tmpdir(dir, sizeof(dir));
	snprintf(key, sizeof(key), "unit-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/amlshim-ledger-%u-%s", dir, (unsigned)getuid(), key);
	struct shim_ledger me;
	int nodes[2] = {2, 0};
	CHECK(shim_ledger_attach(&me, dir, key, nodes, 2, 0) == 0, "attach");
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the file is private (mode %o)", st.st_mode & 0777);

	struct shim_share_view v;
	shim_ledger_view(&me, 2, now_ns(), 1000000000ULL, &v);
	CHECK(v.users == 1 && v.registered == 1 && v.num_others == 0, "alone: %d users", v.users);

	/* A child that grew 2 s ago: settled under a 1 s rule. */
	int slot;
	pid_t child = child_joins(dir, key, 2000000000ULL, &slot);
	CHECK(slot >= 0 && slot != me.slot, "the child's slot %d", slot);
	shim_ledger_view(&me, 2, now_ns(), 1000000000ULL, &v);
	CHECK(v.users == 2 && v.num_others == 1 && v.other_used[0] == 100 * MiB && v.other_settled[0] == 1,
	      "with the child: %d users, %llu used, settled %d", v.users, (unsigned long long)v.other_used[0],
	      v.other_settled[0]);
	shim_ledger_view(&me, 2, now_ns(), 5000000000ULL, &v);
	CHECK(v.other_settled[0] == 0, "not settled under a 5 s rule");
	shim_ledger_view(&me, 0, now_ns(), 0, &v);
	CHECK(v.users == 1 && v.registered == 2, "node 0: %d users of %d", v.users, v.registered);

	/* Killed: not counted, and its slot is free again for the next. */
	kill(child, SIGKILL);
	CHECK(waitpid(child, NULL, 0) == child, "waitpid");
	shim_ledger_view(&me, 2, now_ns(), 0, &v);
	CHECK(v.users == 1 && v.registered == 1, "after SIGKILL: %d users", v.users);
	CHECK(me.table->slots[slot].owner != 0, "the dead slot is still claimed before anyone looks");
	CHECK(shim_ledger_owner_gone(me.table->slots[slot].owner), "its owner is gone");
	int other_slot;
	pid_t second = child_joins(dir, key, 0, &other_slot);
	CHECK(other_slot == slot || me.table->slots[slot].owner == 0, "the dead slot %d was not reclaimed", slot);
	kill(second, SIGKILL);
	waitpid(second, NULL, 0);

	/* This process again, as after an exec (no exit handler ran): its old
	 * slot is its own, taken back; the last live one out removes the file
	 * (the dead child's slot with it) although the old slot never left. */
	struct shim_ledger again;
	CHECK(shim_ledger_attach(&again, dir, key, nodes, 1, 0) == 0, "attach again");
	CHECK(again.slot == me.slot || me.table->slots[me.slot].owner == 0, "the pre-exec slot %d is still held",
	      me.slot);
	shim_ledger_view(&again, 2, now_ns(), 0, &v);
	CHECK(v.users == 1 && v.registered == 1, "after the exec: %d users of %d", v.users, v.registered);
	shim_ledger_detach(&again);
	CHECK(stat(path, &st) != 0, "the last one out removes the file");
	me.slot = -1;
	shim_ledger_detach(&me);
	shim_test_remove_dir(dir);
}

int main(void)
{
	arithmetic();
	names();
	table();
	stale_files();
	hard_link();
	printf("share ledger: arithmetic, names, slots, reclaim after SIGKILL, settling, exec, removal, stale files, "
	       "hard links: ok\n");
	return 0;
}
