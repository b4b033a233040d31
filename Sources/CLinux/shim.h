// Linux calls that Swift's Glibc module hides behind _GNU_SOURCE. Declarations only.
#include <fcntl.h>
extern int pipe2(int pipefd[2], int flags);
#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif
// glibc >= 2.28; RENAME_NOREPLACE: fail with EEXIST instead of replacing the target.
extern int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
// eventfd(2): the wake-up of the directory watcher's poll.
#include <sys/eventfd.h>
// mallopt(3): the daemon caps glibc's malloc arenas and trims freed memory sooner (see DJIMediaSync.main).
#include <malloc.h>
static const int dms_m_arena_max = M_ARENA_MAX;
static const int dms_m_trim_threshold = M_TRIM_THRESHOLD;
