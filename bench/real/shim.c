/* What the SQLite shell needs from libc that wasi-libc lacks. WASI preview 1 has no
 * permission bits: chmod fails as it does on a file system without them, and the
 * shell's writefile() reports it (it only calls chmod when asked for a mode). */
#include <errno.h>
#include <sys/stat.h>

int chmod(const char *path, mode_t mode)
{
    (void)path;
    (void)mode;
    errno = ENOSYS;
    return -1;
}
