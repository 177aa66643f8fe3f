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

static void name_frames(struct profile *p, struct prof_module *m, const struct elf_file *elf)
{
	struct prof_frame *batch[ADDR2LINE_BATCH];
	int n = 0, lines_ok = elf->has_debug_info;
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
				lines_ok = addr2line_batch(m->path, batch, n) == 0;
				n = 0;
			}
		}
	if (lines_ok && n)
		lines_ok = addr2line_batch(m->path, batch, n) == 0;
	m->has_lines = lines_ok;
	if (elf->has_debug_info && !lines_ok)
		m->warning = "no file:line: addr2line (binutils) could not run";
}

void profile_symbolize(struct profile *p, FILE *err)
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
			else if (!elf.table)
				m->warning = "no symbol table";
			else {
				m->table = elf.table;
				name_frames(p, m, &elf);
			}
			elf_close(&elf);
		}
		if (m->warning)
			fprintf(err, "amlshim profile: %s (%s): %s; its frames are not %s\n", m->name,
			        m->path ? m->path : "no path", m->warning, m->table ? "located by line" : "named");
	}
}
