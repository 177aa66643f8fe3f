/* Names the frames of a profile, outside the profiled program: the
 * function from the module's ELF symbol table (elf_symbols.c) once the
 * file's build-id matches the profile's, and file:line from its debug
 * information through binutils' addr2line when the file has some. A frame
 * is a return address, so both look at the byte before it (the call). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elf_symbols.h"
#include "profile.h"

#define ADDR2LINE_BATCH 256

/* "file:line" (maybe " (discriminator N)" after) into the frame. */
static void take_line(struct prof_frame *f, char *text)
{
	char *cut = strstr(text, " (discriminator");
	if (cut)
		*cut = '\0';
	text[strcspn(text, "\n")] = '\0';
	char *colon = strrchr(text, ':');
	if (!colon || colon == text || strncmp(text, "??", 2) == 0)
		return;
	*colon = '\0';
	long line = strtol(colon + 1, NULL, 10);
	if (line <= 0)
		return;
	free(f->file);
	f->file = strdup(text);
	f->line = line;
}

/* One addr2line run over frames[0..n): 0, or -1 when it could not run. */
static int addr2line_batch(const char *path, struct prof_frame **frames, int n)
{
	char *argv[ADDR2LINE_BATCH + 4], addrs[ADDR2LINE_BATCH][24];
	int fds[2], argc = 0;
	argv[argc++] = "addr2line";
	argv[argc++] = "-e";
	argv[argc++] = (char *)path;
	for (int i = 0; i < n; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "0x%llx", frames[i]->offset ? frames[i]->offset - 1 : 0);
		argv[argc++] = addrs[i];
	}
	argv[argc] = NULL;
	if (pipe(fds) != 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	FILE *in = fdopen(fds[0], "r");
	char line[4096];
	for (int i = 0; in && i < n && fgets(line, sizeof(line), in); i++)
		take_line(frames[i], line);
	if (in)
		fclose(in);
	else
		close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* names: the file whose symbol table names the frames; lines: the file
 * addr2line reads (the module, or its detached debug file). */
static void name_frames(struct profile *p, struct prof_module *m, const struct elf_file *elf,
                        const char *lines, int has_lines)
{
	struct prof_frame *batch[ADDR2LINE_BATCH];
	int n = 0, lines_ok = has_lines;
	for (int s = 0; s < p->num_sites; s++)
		for (int i = 0; i < p->sites[s].num_frames; i++) {
			struct prof_frame *f = &p->sites[s].frames[i];
			if (strcmp(f->module, m->name) != 0)
				continue;
			const struct elf_symbol *sym = elf_lookup(elf, f->offset ? f->offset - 1 : 0);
			free(f->function);
			f->function = sym ? strdup(sym->name) : NULL;
			if (!lines_ok)
				continue;
			batch[n++] = f;
			if (n == ADDR2LINE_BATCH) {
				lines_ok = addr2line_batch(lines, batch, n) == 0;
				n = 0;
			}
		}
	if (lines_ok && n)
		lines_ok = addr2line_batch(lines, batch, n) == 0;
	m->has_lines = lines_ok;
	if (has_lines && !lines_ok)
		m->warning = "no file:line: addr2line (binutils) could not run";
}

/* A stripped module's detached debug file, as Debian's -dbgsym packages
 * install them: DIR/.build-id/ab/cdef....debug with the same build-id. */
static int open_debug_file(const char *dir, const char *build_id, struct elf_file *dbg, char *path, size_t len)
{
	char why[256];
	if (!dir || strlen(build_id) < 4)
		return -1;
	snprintf(path, len, "%s/.build-id/%.2s/%s.debug", dir, build_id, build_id + 2);
	if (access(path, R_OK) != 0 || elf_open(path, dbg, why, sizeof(why)) != 0)
		return -1;
	if (strcmp(dbg->build_id, build_id) == 0)
		return 0;
	elf_close(dbg);
	return -1;
}

/* Names the frames of m from elf (its file, build-id checked), or from
 * its debug file when elf lacks a full symbol table or debug info. */
static void name_module(struct profile *p, struct prof_module *m, const struct elf_file *elf, const char *debug_dir)
{
	struct elf_file dbg;
	char path[4096];
	if ((!elf->table || strcmp(elf->table, ".symtab") != 0 || !elf->has_debug_info) &&
	    open_debug_file(debug_dir, elf->build_id, &dbg, path, sizeof(path)) == 0) {
		const struct elf_file *names = dbg.table ? &dbg : elf;
		m->debug_file = strdup(path);
		m->table = names->table;
		name_frames(p, m, names, path, dbg.has_debug_info);
		elf_close(&dbg);
		return;
	}
	if (!elf->table) {
		m->warning = "no symbol table";
		return;
	}
	m->table = elf->table;
	name_frames(p, m, elf, m->path, elf->has_debug_info);
}

void profile_symbolize(struct profile *p, FILE *err, const char *debug_dir)
{
	for (int i = 0; i < p->num_modules; i++) {
		struct prof_module *m = &p->modules[i];
		struct elf_file elf;
		char why[256];
		if (!m->path || m->path[0] != '/') {
			m->warning = "no absolute path in the profile";
		} else if (elf_open(m->path, &elf, why, sizeof(why)) != 0) {
			m->warning = "cannot read the file";
			fprintf(err, "amlshim profile: %s (%s): %s; its frames are not named\n", m->name, m->path, why);
			continue;
		} else {
			if (m->build_id && strcasecmp(m->build_id, elf.build_id) != 0)
				m->warning = "build-id differs: the file changed since the run";
			else
				name_module(p, m, &elf, debug_dir);
			elf_close(&elf);
		}
		if (m->warning)
			fprintf(err, "amlshim profile: %s (%s): %s; its frames are not %s\n", m->name,
			        m->path ? m->path : "no path", m->warning, m->table ? "located by line" : "named");
	}
}
