#ifndef INVENTORY_POLLER_CSPAWN_SHIM_H
#define INVENTORY_POLLER_CSPAWN_SHIM_H
/* What starting a child without leaking descriptors into it needs: a pipe made close-on-exec
   in one step (pipe2, glibc 2.9) and posix_spawn's close-every-descriptor-from action (glibc
   2.34). glibc declares both only under _GNU_SOURCE, which Swift's Glibc module is not built
   with, so they are declared here with glibc's own signatures. */
#include <spawn.h>
#include <unistd.h>
int pipe2(int fds[2], int flags);
int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
#endif
