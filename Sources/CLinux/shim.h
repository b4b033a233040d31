// Linux calls that Swift's Glibc module hides behind _GNU_SOURCE. Declarations only.
#include <fcntl.h>
extern int pipe2(int pipefd[2], int flags);
#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif
