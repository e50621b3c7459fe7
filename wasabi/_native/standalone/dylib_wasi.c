/* The WASI configuration of a shared library's C API (<name>_wasi_new, ...; the
 * generated wrappers in wasabi/aot/dylib_c.py call these).
 *
 * A configuration is the wasi_ctx the instance will use, set up in place (as
 * wasmtime's wasi_config_t, which the store takes over): preopened directories
 * are opened when named, so a missing one is reported by that call, not by
 * instantiation. Every setter returns 0 or WSA_ERROR_WASI with errno set (a
 * setting replaces the previous one; preopens add up). Defaults: no
 * arguments, no environment, no standard streams (fds 0-2 are not open, as
 * wasmtime's default), nothing preopened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wasi.h"
#include "dylib.h"

extern char** environ;

/* 0, or WSA_ERROR_WASI with errno = -negative_errno */
static int status_of(int negative_errno) {
    if (negative_errno >= 0)
        return 0;
    errno = -negative_errno;
    return WSA_ERROR_WASI;
}

static int invalid(void) {
    errno = EINVAL;
    return WSA_ERROR_WASI;
}

/* strings[0..count) (each `first[i]`, or "first[i]=second[i]" when `second`) back to
 * back, NUL-terminated, as wasi_ctx_set_args/set_env take them: its size, -1 for a
 * NULL string or too much, -2 out of memory */
static long pack(const char* const* first, const char* const* second, int count, char** out) {
    size_t size = 0;
    for (int i = 0; i < count; i++) {
        if (!first[i] || (second && !second[i]))
            return -1;
        size += strlen(first[i]) + (second ? strlen(second[i]) + 1 : 0) + 1;
    }
    if (size > UINT32_MAX)
        return -1;
    char* buf = malloc(size ? size : 1);
    if (!buf)
        return -2;
    char* p = buf;
    for (int i = 0; i < count; i++) {
        p = stpcpy(p, first[i]);
        if (second) {
            *p++ = '=';
            p = stpcpy(p, second[i]);
        }
        p++;
    }
    *out = buf;
    return (long)size;
}

wasi_ctx* wsa_dl_wasi_new(void) { return wasi_ctx_new(); }

void wsa_dl_wasi_free(wasi_ctx* wasi) { wasi_ctx_free(wasi); }

static int set_strings(wasi_ctx* wasi, int env, const char* const* first,
                       const char* const* second, int count) {
    if (!wasi || count < 0 || (count && !first))
        return invalid();
    char* buf = NULL;
    long size = pack(first, second, count, &buf);
    if (size < 0)
        return size == -2 ? status_of(-ENOMEM) : invalid();
    int err = env ? wasi_ctx_set_env(wasi, buf, (uint32_t)size, (uint32_t)count)
                  : wasi_ctx_set_args(wasi, buf, (uint32_t)size, (uint32_t)count);
    free(buf);
    return status_of(err);
}

int wsa_dl_wasi_args(wasi_ctx* wasi, int argc, const char* const* argv) {
    return set_strings(wasi, 0, argv, NULL, argc);
}

int wsa_dl_wasi_env(wasi_ctx* wasi, int count, const char* const* names,
                    const char* const* values) {
    if (count && !values)
        return invalid();
    return set_strings(wasi, 1, names, values, count);
}

int wsa_dl_wasi_inherit_env(wasi_ctx* wasi) {
    int count = 0;
    while (environ && environ[count])
        count++;
    return set_strings(wasi, 1, (const char* const*)environ, NULL, count);
}

int wsa_dl_wasi_stdio(wasi_ctx* wasi, int slot, int host_fd) {
    if (!wasi)
        return invalid();
    return status_of(wasi_ctx_set_stdio_host(wasi, slot, host_fd));
}

int wsa_dl_wasi_inherit_stdio(wasi_ctx* wasi) {
    for (int slot = 0; slot < 3; slot++) {
        int status = wsa_dl_wasi_stdio(wasi, slot, slot);
        if (status != 0)
            return status;
    }
    return 0;
}

int wsa_dl_wasi_stdin_bytes(wasi_ctx* wasi, const uint8_t* bytes, size_t len) {
    if (!wasi || (len && !bytes))
        return invalid();
    return status_of(wasi_ctx_set_stdio_buffer(wasi, 0, bytes, len));
}

int wsa_dl_wasi_preopen(wasi_ctx* wasi, const char* host, const char* guest, int readonly) {
    if (!wasi || !host || !guest || !*host || !*guest)
        return invalid();
    return status_of(wasi_ctx_preopen(wasi, host, guest, readonly));
}
