/* Power-loss simulation for the spool: an LD_PRELOAD shim that records, at every fsync,
 * fdatasync and syncfs a process makes, what that call made durable under one directory tree
 * (OUTPOST_POWERLOSS_ROOT). tests/reliability/powerloss/crash.py later puts the tree back to
 * exactly that: a file's bytes as of its last fsync/fdatasync (or a syncfs), a directory's entries
 * as of its last fsync (or a syncfs). Whatever was written, created, renamed or removed after
 * that is lost, as the page cache would be in a power cut; a plain kill -9 loses none of it,
 * which is why a crash test without this shim cannot tell a missing sync from a present one.
 *
 * The record lives in OUTPOST_POWERLOSS_STATE (outside the tree):
 *   content/<inode>.<basename>   the file's bytes at its last sync under that name
 *   dirs/<path relative to ROOT, '/' as '%'>.list   "inode name" lines at the directory's last sync
 * Writes are not intercepted at all: the file itself is read at the moment it is synced.
 *
 * Load it after anything already in LD_PRELOAD (append, never replace), so that an outside check
 * can preload a mutation of its own in front of it, e.g. one making every sync a no-op, and
 * watch the power-loss test fail. Only durability is simulated, not torn writes or reordering
 * within one file. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room for ROOT or STATE plus a relative path and a suffix, so no path is ever cut short. */
#define BUF (4 * PATH_MAX)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char root[PATH_MAX];
static char state[PATH_MAX];
static int enabled;

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);

/* A path under root, relative ("" for root itself); NULL otherwise. */
static const char *relative(const char *path) {
    size_t n = strlen(root);
    if (strncmp(path, root, n) != 0 || (path[n] != '/' && path[n] != '\0'))
        return NULL;
    return path[n] == '/' ? path + n + 1 : path + n;
}

static int copy_file(const char *from, const char *to) {
    char tmp[BUF + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", to);
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[65536];
    ssize_t got;
    int rc = 0;
    while ((got = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)got) != got) {
            rc = -1;
            break;
        }
    close(in);
    close(out);
    if (got < 0 || rc != 0 || rename(tmp, to) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void record_file(const char *path, ino_t ino) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char to[BUF];
    snprintf(to, sizeof to, "%s/content/%lu.%s", state, (unsigned long)ino, base);
    if (copy_file(path, to) != 0)
        fprintf(stderr, "powerloss shim: cannot record %s\n", path);
}

static void record_dir(const char *path, const char *rel) {
    char name[PATH_MAX], to[BUF], tmp[BUF + 8];
    snprintf(name, sizeof name, "%s", *rel ? rel : ".");
    for (char *c = name; *c; ++c)
        if (*c == '/')
            *c = '%';
    snprintf(to, sizeof to, "%s/dirs/%s.list", state, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", to);
    DIR *d = opendir(path);
    FILE *out = fopen(tmp, "we");
    if (!d || !out) {
        if (d)
            closedir(d);
        if (out)
            fclose(out);
        fprintf(stderr, "powerloss shim: cannot record directory %s\n", path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            fprintf(out, "%lu %s\n", (unsigned long)e->d_ino, e->d_name);
    closedir(d);
    fclose(out);
    rename(tmp, to);
}

/* Everything under path: every file's bytes and every directory's entries (syncfs, start). */
static void record_tree(const char *path, const char *rel) {
    record_dir(path, rel);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[BUF];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(child, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            record_tree(child, relative(child));
        else if (S_ISREG(st.st_mode))
            record_file(child, st.st_ino);
    }
    closedir(d);
}

/* What a successful sync of fd made durable. */
static void after_sync(int fd, int whole_fs) {
    if (!enabled)
        return;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0)
        return;
    path[n] = '\0';
    pthread_mutex_lock(&lock);
    if (whole_fs) {
        record_tree(root, "");
    } else {
        const char *rel = relative(path);
        struct stat st;
        if (rel && fstat(fd, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                record_dir(path, rel);
            else if (S_ISREG(st.st_mode))
                record_file(path, st.st_ino);
        }
    }
    pthread_mutex_unlock(&lock);
}

__attribute__((constructor)) static void init(void) {
    /* POSIX's way to turn dlsym's object pointer into a function pointer. */
    *(void **)(&real_fsync) = dlsym(RTLD_NEXT, "fsync");
    *(void **)(&real_fdatasync) = dlsym(RTLD_NEXT, "fdatasync");
    *(void **)(&real_syncfs) = dlsym(RTLD_NEXT, "syncfs");
    const char *r = getenv("OUTPOST_POWERLOSS_ROOT");
    const char *s = getenv("OUTPOST_POWERLOSS_STATE");
    if (!r || !s || !realpath(r, root) || !realpath(s, state))
        return;
    char sub[BUF];
    snprintf(sub, sizeof sub, "%s/content", state);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/dirs", state);
    mkdir(sub, 0700);
    enabled = 1;
    /* What is there at start was made durable by the previous run's recovery. */
    pthread_mutex_lock(&lock);
    record_tree(root, "");
    pthread_mutex_unlock(&lock);
}

int fsync(int fd) {
    int rc = real_fsync(fd);
    if (rc == 0)
        after_sync(fd, 0);
    return rc;
}

int fdatasync(int fd) {
    int rc = real_fdatasync(fd);
    if (rc == 0)
        after_sync(fd, 0);
    return rc;
}

int syncfs(int fd) {
    int rc = real_syncfs(fd);
    if (rc == 0)
        after_sync(fd, 1);
    return rc;
}
