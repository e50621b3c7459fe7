/* The virtual read-only root "/" (wasmer's WASI has one; wasmtime's does not).
 *
 * With it the guest sees, as wasmer 1.x and 2.x show it: fd 3, a preopen named
 * "/" whose entries are the directories mapped after it, each of which is also
 * a preopen of its own (fd 4, 5, ... under its own name). wasi-libc resolves
 * "/" to fd 3 and "/name/..." to the longer prefix, the mapped directory's own
 * fd, so `opendir("/")` (Rust's `fs::read_dir("/")`) lists the mapped
 * directories and everything else works as without the root.
 *
 * The root has no host directory behind it: a path relative to it names the
 * root itself ("", ".", "..": the root is its own parent), one of its entries,
 * or something below an entry, which is walked from that entry's host fd as
 * any path is (wasi_path.c), so `..` never leaves the entry. Nothing in the
 * root can change: an operation that would create, remove, rename, link or
 * retime the root or one of its entries fails with EROFS; what happens below an
 * entry is decided by that entry's preopen (its read-only flag and rights).
 *
 * Where wasabi differs from wasmer, on purpose: entries are listed by their
 * plain names ("data", not "/data"), after "." and ".." as in any directory;
 * `..` from a mapped directory does not lead back to the root (EPERM, as
 * without the root), so one preopen's rights never apply inside another's;
 * the root's entries are fixed when the context is configured (closing fd 4
 * does not unlist it); a preopen whose name has several components
 * ("a/b", "/tmp/x") is a preopen as before but no entry of the root.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi.h"

int wasi_ctx_virtual_root(wasi_ctx* c) {
    if (c->has_root)
        return -EEXIST;
    char* name = strdup("/");
    uint32_t slot;
    int err = name ? wasi_fd_alloc(c, 3, &slot) : WASI_ENOMEM;
    if (err) {
        free(name);
        return err == WASI_EMFILE ? -EMFILE : -ENOMEM;
    }
    wasi_fd* e = wasi_fd_slot(c, slot);
    e->kind = WASI_FD_VROOT;
    e->host = -1;
    e->filetype = WASI_FILETYPE_DIRECTORY;
    e->readonly = 1;
    e->is_preopen = 1;
    e->preopen_name = name;
    e->preopen_name_len = 1;
    /* a directory's rights, as a preopen reports them: what asks to change the
     * root is refused by name (EROFS), not by a missing right */
    e->rights_base = R_DIR_ALL;
    e->rights_inheriting = R_DIR_ALL | R_FILE_ALL;
    c->has_root = 1;
    return (int)slot;
}

/* the root entry a preopen's guest name gives, as wasi-libc matches prefixes
 * (leading "/" and "./" dropped, trailing "/" too): its length, 0 for none */
static size_t entry_name(const char* guest, const char** start) {
    for (;;) {
        if (guest[0] == '/')
            guest++;
        else if (guest[0] == '.' && guest[1] == '/')
            guest += 2;
        else
            break;
    }
    size_t len = strlen(guest);
    while (len && guest[len - 1] == '/')
        len--;
    *start = guest;
    if (len == 0 || memchr(guest, '/', len) || (len == 1 && guest[0] == '.') ||
        (len == 2 && guest[0] == '.' && guest[1] == '.'))
        return 0;
    return len;
}

static wasi_fd* find_entry(wasi_ctx* c, const char* name, size_t len) {
    for (uint32_t i = 0; i < c->root_count; i++) {
        wasi_fd* e = &c->root_entries[i];
        if (e->preopen_name_len == len && memcmp(e->preopen_name, name, len) == 0)
            return e;
    }
    return NULL;
}

int wasi_root_add(wasi_ctx* c, const char* guest_name, const wasi_fd* preopen) {
    const char* name;
    size_t len = entry_name(guest_name, &name);
    if (!len)
        return 0;
    wasi_fd entry = *preopen;
    entry.is_preopen = 0;
    entry.dir = NULL;
    entry.dir_index = 0;
    entry.preopen_name = strndup(name, len);
    entry.preopen_name_len = (uint32_t)len;
    if (!entry.preopen_name)
        return ENOMEM;
    if ((entry.host = fcntl(preopen->host, F_DUPFD_CLOEXEC, 3)) < 0) {
        free(entry.preopen_name);
        return errno;
    }
    /* a later preopen of the same name wins, as it does in wasi-libc's lookup */
    wasi_fd* same = find_entry(c, name, len);
    if (same) {
        wasi_fd_release(same);
        *same = entry;
        return 0;
    }
    wasi_fd* grown = realloc(c->root_entries, (c->root_count + 1) * sizeof *grown);
    if (!grown) {
        wasi_fd_release(&entry);
        return ENOMEM;
    }
    c->root_entries = grown;
    uint32_t at = c->root_count;        /* kept sorted by name */
    while (at > 0 && strcmp(grown[at - 1].preopen_name, entry.preopen_name) > 0) {
        grown[at] = grown[at - 1];
        at--;
    }
    grown[at] = entry;
    c->root_count++;
    return 0;
}

int wasi_root_resolve(wasi_ctx* c, wasi_fd* root, uint64_t right, char* path,
                      int follow_final, wasi_resolved* out, wasi_fd** dir_entry) {
    char* p = path;
    for (;;) {                           /* ".", ".." and "/" stay at the root */
        if (*p == '/')
            p++;
        else if (p[0] == '.' && (p[1] == '/' || !p[1]))
            p++;
        else if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2]))
            p += 2;
        else
            break;
    }
    int changes = (right & R_PATH_CHANGES) != 0;
    char* end = strchr(p, '/');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char* rest = p + len;
    while (*rest == '/')
        rest++;
    if (changes && !*rest)
        return WASI_EROFS;               /* the root or one of its entries */
    if (!*p) {
        out->at_root = 1;
        strcpy(out->name, ".");
        out->inheriting = root->rights_inheriting;
        if (dir_entry)
            *dir_entry = root;
        return 0;
    }
    wasi_fd* entry = find_entry(c, p, len);
    if (!entry)
        return WASI_ENOENT;
    if ((entry->rights_base & right) != right)
        return WASI_ENOTCAPABLE;
    if (!*rest) {                        /* the entry itself: "." of its directory */
        out->dirfd = entry->host;
        out->trailing_slash = end != NULL;
        strcpy(out->name, ".");
    } else {
        /* the walk may splice symlink targets into the whole buffer */
        memmove(path, rest, strlen(rest) + 1);
        int err = wasi_walk(entry->host, path, follow_final, out);
        if (err)
            return err;
    }
    out->inheriting = entry->rights_inheriting & root->rights_inheriting;
    if (dir_entry)
        *dir_entry = entry;
    return 0;
}

void wasi_root_stat(struct stat* st) {
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
}

/* fd_readdir's records for the root: "." and ".." (cookies 0 and 1), then the
 * entries; the last record may be cut short, as for a host directory */
int wasi_root_readdir(wasi_ctx* c, uint8_t* out, uint32_t room, uint64_t cookie, uint32_t* used) {
    *used = 0;
    for (uint64_t i = cookie; i < 2 + (uint64_t)c->root_count && *used < room; i++) {
        const char* name = i == 0 ? "." : i == 1 ? ".." : c->root_entries[i - 2].preopen_name;
        uint64_t ino = 0;
        struct stat st;
        if (i >= 2 && fstat(c->root_entries[i - 2].host, &st) == 0)
            ino = (uint64_t)st.st_ino;
        uint8_t header[24];
        uint32_t namlen = (uint32_t)strlen(name);
        memset(header, 0, sizeof header);
        wasi_st_u64(header, i + 1);                     /* d_next */
        wasi_st_u64(header + 8, ino);
        wasi_st_u32(header + 16, namlen);
        wasi_st_u8(header + 20, WASI_FILETYPE_DIRECTORY);
        uint32_t n = room - *used < 24 ? room - *used : 24;
        memcpy(out + *used, header, n);
        *used += n;
        n = room - *used < namlen ? room - *used : namlen;
        memcpy(out + *used, name, n);
        *used += n;
    }
    return 0;
}
