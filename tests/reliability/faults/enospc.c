/* Fault injection for the full-disk test: an LD_PRELOAD shim that makes write(2) and writev(2)
 * to files under OUTPOST_ENOSPC_ROOT fail with ENOSPC while the file OUTPOST_ENOSPC_FLAG exists.
 * A really full file system still takes small appends into the free space of a file's last
 * block, so a test that only fills the disk cannot make a result line fail to be written; this
 * can, at the moment the test chooses. Load it after anything already in LD_PRELOAD. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static char root[PATH_MAX];
static const char *root_name;
static const char *flag;

__attribute__((constructor)) static void init(void) {
    *(void **)(&real_write) = dlsym(RTLD_NEXT, "write");
    *(void **)(&real_writev) = dlsym(RTLD_NEXT, "writev");
    root_name = getenv("OUTPOST_ENOSPC_ROOT");
    flag = getenv("OUTPOST_ENOSPC_FLAG");
}

/* True when fd is a file under root and the flag is up. The root is resolved when the flag first
 * goes up: it may not exist yet when the process starts. */
static int failing(int fd) {
    if (!flag || !root_name || access(flag, F_OK) != 0)
        return 0;
    if (!root[0] && !realpath(root_name, root))
        return 0;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0)
        return 0;
    path[n] = '\0';
    size_t len = strlen(root);
    return strncmp(path, root, len) == 0 && path[len] == '/';
}

ssize_t write(int fd, const void *buf, size_t count) {
    if (failing(fd)) {
        errno = ENOSPC;
        return -1;
    }
    return real_write(fd, buf, count);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
    if (failing(fd)) {
        errno = ENOSPC;
        return -1;
    }
    return real_writev(fd, iov, iovcnt);
}
