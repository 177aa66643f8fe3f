/* How much memory a NUMA node can still take, for areas that must not
 * overfill one: a preferred area spills to its next node before the kernel
 * does, and a bind area refuses what its nodes cannot hold (the kernel would
 * OOM-kill a process instead, not always this one).
 *
 * The reserve (what the kernel keeps free on a node) is read once from
 * /proc/zoneinfo, at area creation; the free memory is read from sysfs at
 * every call. Both through the OS layer's readers (no stdio, no malloc:
 * mmap runs inside allocator hooks). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/area/linux.h>
#include "internal.h"
#include "os.h"

#define MIN_RESERVE ((uint64_t)4 << 20)

/* Bytes each node keeps free; 0: unknown (zoneinfo unreadable or no such
 * node), then 1/64 of the node's memory serves. */
static uint64_t node_reserve[AML_MAX_NODES];
static pthread_once_t reserves_once = PTHREAD_ONCE_INIT;

/* Below a zone's low watermark the kernel takes pages from another node or
 * reclaims (and THP raises watermarks to several percent of a node), so
 * each zone's high watermark plus its largest lowmem protection is kept. */
static int add_reserve(char *line, void *ctx)
{
	uint64_t **reserve = ctx;
	const uint64_t page = aml_os_page_size();
	unsigned node;
	unsigned long pages;
	int at = 0;
	if (sscanf(line, "Node %u, zone", &node) == 1) {
		*reserve = node < AML_MAX_NODES ? &node_reserve[node] : NULL;
	} else if (!*reserve) {
		return 0;
	} else if (sscanf(line, " high %lu", &pages) == 1) {
		**reserve += pages * page;
	} else if (sscanf(line, " protection: (%n", &at) == 0 && at > 0) {
		unsigned long most = 0;
		for (char *p = line + at, *end; *p && *p != ')'; p = end + (*end == ',')) {
			unsigned long value = strtoul(p, &end, 10);
			if (end == p)
				break;
			most = value > most ? value : most;
		}
		**reserve += most * page;
	}
	return 0;
}

static void read_reserves(void)
{
	char buf[512];
	uint64_t *reserve = NULL;
	if (aml_os_read_lines(AML_OS_ZONEINFO, buf, sizeof(buf), add_reserve, &reserve) != 0)
		return;
	for (unsigned node = 0; node < AML_MAX_NODES; node++)
		if (node_reserve[node] && node_reserve[node] < MIN_RESERVE)
			node_reserve[node] = MIN_RESERVE;
}

void aml_node_reserves_load(void)
{
	pthread_once(&reserves_once, read_reserves);
}

/* The "N kB" value after name in a node meminfo text, in bytes. */
static int meminfo_field(const char *text, const char *name, uint64_t *bytes)
{
	const char *at = strstr(text, name);
	if (!at)
		return 0;
	at += strlen(name);
	while (*at == ' ')
		at++;
	if (*at < '0' || *at > '9')
		return 0;
	uint64_t value = 0;
	while (*at >= '0' && *at <= '9')
		value = value * 10 + (uint64_t)(*at++ - '0');
	*bytes = value * 1024; /* the kernel writes kB */
	return 1;
}

size_t aml_node_room(unsigned node, enum aml_node_room_kind kind)
{
	char path[64], text[4096];
	if (node >= AML_MAX_NODES)
		return 0;
	snprintf(path, sizeof(path), AML_OS_NODE_DIR "/node%u/meminfo", node);
	if (aml_os_read_file(path, text, sizeof(text)) < 0)
		return SIZE_MAX;
	uint64_t total, free_bytes, active_file = 0, inactive_file = 0;
	if (!meminfo_field(text, "MemTotal:", &total) || !meminfo_field(text, "MemFree:", &free_bytes))
		return SIZE_MAX;
	if (kind == AML_NODE_ROOM_RECLAIM) {
		/* Page cache the kernel would drop before failing a bound
		 * allocation; the active half is the harder half to take. */
		meminfo_field(text, "Active(file):", &active_file);
		meminfo_field(text, "Inactive(file):", &inactive_file);
		free_bytes += inactive_file + active_file / 2;
	}
	uint64_t reserve = __atomic_load_n(&node_reserve[node], __ATOMIC_RELAXED);
	if (!reserve)
		reserve = total / 64 > MIN_RESERVE ? total / 64 : MIN_RESERVE;
	if (free_bytes <= reserve)
		return 0;
	uint64_t room = (free_bytes - reserve) & ~(uint64_t)(aml_os_page_size() - 1);
	return room > SIZE_MAX ? SIZE_MAX : (size_t)room;
}

size_t aml_os_node_total(unsigned node)
{
	char path[64], text[4096];
	uint64_t total;
	if (node >= AML_MAX_NODES)
		return 0;
	snprintf(path, sizeof(path), AML_OS_NODE_DIR "/node%u/meminfo", node);
	if (aml_os_read_file(path, text, sizeof(text)) < 0 || !meminfo_field(text, "MemTotal:", &total))
		return 0;
	return total > SIZE_MAX ? SIZE_MAX : (size_t)total;
}

int aml_nodes_fit(const unsigned long *raw_mask, size_t size)
{
	size_t room = 0;
	for (unsigned word = 0; word < AML_MASK_WORDS; word++) {
		for (unsigned long bits = raw_mask[word]; bits; bits &= bits - 1) {
			unsigned node = word * AML_MASK_BITS + (unsigned)__builtin_ctzl(bits);
			size_t more = aml_node_room(node, AML_NODE_ROOM_RECLAIM);
			room = more > SIZE_MAX - room ? SIZE_MAX : room + more;
			if (room >= size)
				return 1;
		}
	}
	return 0;
}
