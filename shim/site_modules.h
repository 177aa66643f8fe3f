/* The loaded modules for call sites (site_modules.c): address ranges,
 * load bias, base name, build-id, gathered with dl_iterate_phdr at
 * start-up and again when a frame falls outside every known module (a
 * dlopen since); function names to address ranges (site_symbols.c). */
#ifndef AMLSHIM_SITE_MODULES_H
#define AMLSHIM_SITE_MODULES_H

#include <stdint.h>

#include "shim.h"
#include "sites.h"

#define SHIM_SITE_MAX_MODULES 512

struct shim_site_module {
	uintptr_t bias, lo, hi; /* load bias; the PT_LOAD segments' span */
	char name[AMLSHIM_SITE_NAME_MAX];
	char path[256];
	char build_id[41];      /* hex; "" when there is none */
	int symbols_read;       /* site_symbols.c has scanned it */
};

struct shim_site_modules {
	struct shim_site_module list[SHIM_SITE_MAX_MODULES];
	int count;        /* published with release; entries never change after */
	int lock;
	int self;         /* the shim's own module, -1 before the first scan */
};
extern struct shim_site_modules shim_site_modules;

/* Adds the modules loaded since the last scan; returns how many. */
int shim_site_modules_scan(void);
/* The module holding addr (newest first), or -1. */
int shim_site_module_of(uintptr_t addr);
/* Whether addr lies in the shim itself. */
int shim_site_in_self(uintptr_t addr);

/* Function names of the rules to address ranges: scans the symbols of
 * modules not scanned yet (.symtab when the file has one, else .dynsym). */
void shim_site_symbols_scan(void);
/* fork (fork.c): both scans' locks held across it, so the child never
 * inherits one a thread that is not there holds mid-scan. */
void shim_site_scans_before_fork(void);
void shim_site_scans_after_fork(void);
/* Bit i set: addr is in a function named by name i of shim_site_names. */
uint64_t shim_site_names_at(uintptr_t addr);
/* Whether name `index` was found in a module scanned so far. */
int shim_site_name_found(int index);
/* The function names the rules use, each once (at most 64). */
int shim_site_name_index(const char *name);

#endif
