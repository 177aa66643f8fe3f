/* fork (fork.c): the shim's locks across it, the child's reset. */
#ifndef AMLSHIM_FORK_H
#define AMLSHIM_FORK_H

void shim_fork_install(void);
extern int shim_in_forked_child;

#endif
