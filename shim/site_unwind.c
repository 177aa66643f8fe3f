/* A fast path for stack capture on x86-64: each return address's unwind
 * rule (where the caller's frame starts, where rbp was saved), read once
 * from .eh_frame (libgcc's _Unwind_Find_FDE finds the FDE: lock-free,
 * malloc-free, like _Unwind_Backtrace) and kept in a fixed table, so a
 * later capture through known code is a few loads per frame. A frame
 * whose rule is not plain (a CFA expression, a signal frame, stack
 * realignment, an undefined opcode) makes the capture return -1: the
 * caller then walks with _Unwind_Backtrace. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>

#include "site_capture.h"
#include "site_modules.h"

#if defined(__x86_64__)

struct dwarf_eh_bases {
	void *tbase, *dbase, *func;
};
extern const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

#define SLOTS 8192
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

/* A rule: ok, by rbp (else rsp), rbp saved (at cfa + rbp_off), end of stack. */
enum { RULE_OK = 1, RULE_BY_RBP = 2, RULE_RBP_SAVED = 4, RULE_END = 8 };
struct rule {
	uint32_t flags;
	int32_t cfa_off, rbp_off;
};
static struct {
	uintptr_t ip; /* 0: empty; written last */
	struct rule rule;
} cache[SLOTS];

static uint64_t uleb(const uint8_t **p, const uint8_t *end)
{
	uint64_t value = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t byte = *(*p)++;
		value |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			break;
	}
	return value;
}

static int64_t sleb(const uint8_t **p, const uint8_t *end)
{
	int64_t value = 0;
	int shift = 0;
	uint8_t byte = 0x80;
	while (*p < end && (byte & 0x80) && shift < 64) {
		byte = *(*p)++;
		value |= (int64_t)(byte & 0x7f) << shift;
		shift += 7;
	}
	if (shift < 64 && (byte & 0x40))
		value |= -((int64_t)1 << shift);
	return value;
}

/* Bytes of a pointer in encoding enc (DW_EH_PE_*), -1 when variable. */
static int encoded_size(uint8_t enc)
{
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: return 8;
	case 0x02: case 0x0a: return 2;
	case 0x03: case 0x0b: return 4;
	default: return -1;
	}
}

struct state {
	int cfa_reg;
	int64_t cfa_off;
	int rbp_saved, ra_ok;
	int64_t rbp_off;
};

/* Runs a CFA program up to (not at) target; 0, or -1 for what the fast
 * path does not follow. */
static int run(const uint8_t *p, const uint8_t *end, uintptr_t *loc, uintptr_t target, uint64_t code_align,
               int64_t data_align, struct state *s, const struct state *initial)
{
	struct state saved[4];
	int depth = 0;
	while (p < end && *loc < target) {
		uint8_t op = *p++, low = op & 0x3f;
		uint64_t reg;
		int64_t off;
		switch (op >> 6) {
		case 1: *loc += low * code_align; continue;
		case 2: reg = low; off = (int64_t)uleb(&p, end) * data_align; goto offset;
		case 3: reg = low; goto restore;
		}
		switch (op) {
		case 0x00: case 0x2e: if (op) uleb(&p, end); break; /* nop, GNU_args_size */
		case 0x02: *loc += p[0] * code_align; p += 1; break;
		case 0x03: { uint16_t d; memcpy(&d, p, 2); *loc += d * code_align; p += 2; break; }
		case 0x04: { uint32_t d; memcpy(&d, p, 4); *loc += d * code_align; p += 4; break; }
		case 0x05: reg = uleb(&p, end); off = (int64_t)uleb(&p, end) * data_align; goto offset;
		case 0x11: reg = uleb(&p, end); off = sleb(&p, end) * data_align; goto offset;
		case 0x06: reg = uleb(&p, end); goto restore;
		case 0x07: case 0x08: /* undefined, same_value */
			reg = uleb(&p, end);
			if (reg == REG_RA && op == 0x07)
				return s->ra_ok = 2, 0; /* the outermost frame */
			if (reg == REG_RBP || reg == REG_RA)
				return -1;
			break;
		case 0x09: case 0x14: case 0x15: case 0x2f: /* register, val_offset(_sf), negative offset */
			reg = uleb(&p, end);
			uleb(&p, end);
			if (reg == REG_RBP || reg == REG_RA)
				return -1;
			break;
		case 0x10: case 0x16: /* expression, val_expression */
			reg = uleb(&p, end);
			p += uleb(&p, end);
			if (reg == REG_RBP || reg == REG_RA)
				return -1;
			break;
		case 0x0a: if (depth == 4) return -1; saved[depth++] = *s; break;
		case 0x0b: if (depth == 0) return -1; *s = saved[--depth]; break;
		case 0x0c: s->cfa_reg = (int)uleb(&p, end); s->cfa_off = (int64_t)uleb(&p, end); break;
		case 0x12: s->cfa_reg = (int)uleb(&p, end); s->cfa_off = sleb(&p, end) * data_align; break;
		case 0x0d: s->cfa_reg = (int)uleb(&p, end); break;
		case 0x0e: s->cfa_off = (int64_t)uleb(&p, end); break;
		case 0x13: s->cfa_off = sleb(&p, end) * data_align; break;
		default: return -1; /* set_loc, def_cfa_expression, unknown */
		}
		continue;
	offset:
		if (reg == REG_RBP)
			s->rbp_saved = 1, s->rbp_off = off;
		else if (reg == REG_RA)
			s->ra_ok = off == -8;
		continue;
	restore:
		if (reg == REG_RBP)
			s->rbp_saved = initial->rbp_saved, s->rbp_off = initial->rbp_off;
		else if (reg == REG_RA)
			s->ra_ok = initial->ra_ok;
	}
	return 0;
}

/* The rule at return address ip, from its FDE and CIE. */
static struct rule rule_for(uintptr_t ip)
{
	struct rule bad = {0, 0, 0}, end_rule = {RULE_OK | RULE_END, 0, 0};
	struct dwarf_eh_bases bases;
	const uint8_t *fde = _Unwind_Find_FDE((void *)(ip - 1), &bases);
	if (!fde)
		return end_rule;
	uint32_t fde_len, cie_off, cie_len;
	memcpy(&fde_len, fde, 4);
	memcpy(&cie_off, fde + 4, 4);
	if (fde_len == 0xffffffff)
		return bad;
	const uint8_t *cie = fde + 4 - cie_off, *fde_end = fde + 4 + fde_len;
	memcpy(&cie_len, cie, 4);
	if (cie_len == 0xffffffff)
		return bad;
	const uint8_t *p = cie + 9, *cie_end = cie + 4 + cie_len; /* past length, id, version */
	const char *aug = (const char *)p;
	p += strlen(aug) + 1;
	uint64_t code_align = uleb(&p, cie_end);
	int64_t data_align = sleb(&p, cie_end);
	p += cie[8] == 1 ? 1 : 0;
	if (cie[8] != 1)
		uleb(&p, cie_end);
	uint8_t fde_enc = 0;
	const uint8_t *cie_insns = p;
	if (aug[0] == 'z') {
		uint64_t len = uleb(&p, cie_end);
		cie_insns = p + len;
		for (const char *a = aug + 1; *a && p < cie_insns; a++) {
			if (*a == 'R' || *a == 'L')
				fde_enc = *a == 'R' ? *p : fde_enc, p++;
			else if (*a == 'P' && encoded_size(*p) > 0)
				p += 1 + encoded_size(*p);
			else
				return bad; /* 'S' (signal frame) and the rest */
		}
	} else if (aug[0]) {
		return bad;
	}
	int size = encoded_size(fde_enc);
	if (size < 0)
		return bad;
	const uint8_t *q = fde + 8 + 2 * size; /* past pc_begin, pc_range */
	if (aug[0] == 'z')
		q += uleb(&q, fde_end);
	struct state initial = {REG_RSP, 8, 0, 0, 0}, s;
	uintptr_t loc = (uintptr_t)bases.func;
	if (run(cie_insns, cie_end, &loc, UINTPTR_MAX, code_align, data_align, &initial, &initial) != 0)
		return bad;
	s = initial;
	loc = (uintptr_t)bases.func;
	if (run(q, fde_end, &loc, ip, code_align, data_align, &s, &initial) != 0)
		return bad;
	if (s.ra_ok == 2)
		return end_rule;
	if (!s.ra_ok || (s.cfa_reg != REG_RSP && s.cfa_reg != REG_RBP) || s.cfa_off <= 0 || s.cfa_off > (1 << 20))
		return bad;
	return (struct rule){RULE_OK | (s.cfa_reg == REG_RBP ? RULE_BY_RBP : 0) | (s.rbp_saved ? RULE_RBP_SAVED : 0),
	                     (int32_t)s.cfa_off, (int32_t)s.rbp_off};
}

/* Slots are written once (claimed with a compare-and-swap, the ip
 * published after the rule), so a reader that sees its ip has its rule.
 * An ip whose few slots are taken is read from .eh_frame each time. */
static struct rule cached_rule(uintptr_t ip)
{
	unsigned home = (unsigned)((ip * 0x9e3779b97f4a7c15ULL) >> 40);
	for (unsigned i = 0; i < 4; i++) {
		unsigned slot = (home + i) & (SLOTS - 1);
		uintptr_t seen = __atomic_load_n(&cache[slot].ip, __ATOMIC_ACQUIRE);
		if (seen == ip)
			return cache[slot].rule;
		if (seen == 0 && __atomic_compare_exchange_n(&cache[slot].ip, &seen, 1, 0, __ATOMIC_ACQUIRE,
		                                            __ATOMIC_RELAXED)) {
			cache[slot].rule = rule_for(ip);
			__atomic_store_n(&cache[slot].ip, ip, __ATOMIC_RELEASE);
			return cache[slot].rule;
		}
	}
	return rule_for(ip);
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) int shim_site_capture_fast(uintptr_t *frames, int depth)
{
	uintptr_t *fp = __builtin_frame_address(0);
	uintptr_t ip = fp[1], sp = (uintptr_t)(fp + 2), rbp = fp[0];
	int count = 0;
	for (int steps = 0; count < depth && ip && steps < depth + 32; steps++) {
		struct rule rule = cached_rule(ip);
		if (!(rule.flags & RULE_OK))
			return -1;
		if (count || !shim_site_in_self(ip))
			frames[count++] = ip;
		if (rule.flags & RULE_END)
			break;
		uintptr_t cfa = ((rule.flags & RULE_BY_RBP) ? rbp : sp) + (uintptr_t)(intptr_t)rule.cfa_off;
		if (cfa <= sp || cfa - sp > (1 << 20) || (cfa & 7))
			return -1; /* not a frame this walk trusts */
		if (rule.flags & RULE_RBP_SAVED)
			rbp = *(const uintptr_t *)(cfa + (intptr_t)rule.rbp_off);
		ip = *(const uintptr_t *)(cfa - 8);
		sp = cfa;
	}
	return count;
}

#else

int shim_site_capture_fast(uintptr_t *frames, int depth)
{
	(void)frames;
	(void)depth;
	return -1;
}

#endif
