/* poll_oneoff (clocks and fds, one ppoll) and the sock_* imports, which work
 * on host sockets (none is preopened today; other fds give ENOTSOCK). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wasi_imports.h"

#define EVENT_SIZE 32

/* where a subscription's fields are: preview1 (48 bytes) or wasi_unstable
 * (56 bytes: the clock has an extra u64 `identifier` before its id) */
typedef struct sub_layout {
    uint32_t size;
    uint32_t clock;         /* offset of the clock id; timeout +8, flags +24 */
} sub_layout;

static const sub_layout PREVIEW1 = {48, 16};
static const sub_layout SNAPSHOT0 = {56, 24};

typedef struct pending {
    uint64_t userdata;
    uint8_t type;
    int poll_index;         /* index in the pollfd array, -1 if none */
    uint64_t deadline;      /* clocks: CLOCK_MONOTONIC ns */
    uint16_t error;         /* decided before polling (bad fd, bad clock) */
    int ready;              /* decided before polling (files, in-memory streams) */
    uint64_t nbytes;
} pending;

static uint64_t now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* a clock subscription as a monotonic deadline */
static void parse_clock(const uint8_t* sub, const sub_layout* l, pending* p, uint64_t mono_now) {
    clockid_t host;
    uint32_t id = wasi_ld_u32(sub + l->clock);
    uint64_t timeout = wasi_ld_u64(sub + l->clock + 8);
    uint16_t flags = wasi_ld_u16(sub + l->clock + 24);
    if (wasi_host_clock((int32_t)id, &host)) {
        p->error = WASI_EINVAL;
        return;
    }
    uint64_t relative = timeout;
    if (flags & WASI_SUBCLOCK_ABSTIME) {
        uint64_t now = now_ns(host);
        relative = timeout > now ? timeout - now : 0;
    }
    p->deadline = relative > UINT64_MAX - mono_now ? UINT64_MAX : mono_now + relative;
}

/* an fd subscription: ready now (files, buffers), an error, or a pollfd */
static void parse_fd(wasi_ctx* c, const uint8_t* sub, pending* p, struct pollfd* pfds, int* npoll) {
    wasi_fd* e = wasi_fd_get(c, wasi_ld_u32(sub + 16));
    uint64_t right = p->type == WASI_EVENT_FD_READ ? R_FD_READ : R_FD_WRITE;
    if (!e || !(e->rights_base & right)) {
        p->error = WASI_EBADF;
        return;
    }
    if (e->kind == WASI_FD_BUF_IN) {
        p->ready = 1;
        p->nbytes = e->buffer->len - e->buffer->pos;
        return;
    }
    if (e->kind == WASI_FD_BUF_OUT || e->filetype == WASI_FILETYPE_REGULAR_FILE) {
        p->ready = 1;                        /* never blocks (poll says the same) */
        if (e->kind == WASI_FD_HOST && p->type == WASI_EVENT_FD_READ) {
            struct stat st;
            off_t pos = lseek(e->host, 0, SEEK_CUR);
            if (fstat(e->host, &st) == 0 && pos >= 0 && st.st_size > pos)
                p->nbytes = (uint64_t)(st.st_size - pos);
        }
        return;
    }
    p->poll_index = *npoll;
    pfds[*npoll].fd = e->host;
    pfds[*npoll].events = p->type == WASI_EVENT_FD_READ ? POLLIN : POLLOUT;
    pfds[*npoll].revents = 0;
    (*npoll)++;
}

static void write_event(uint8_t* out, const pending* p, uint16_t error, uint64_t nbytes,
                        uint16_t flags) {
    memset(out, 0, EVENT_SIZE);
    wasi_st_u64(out, p->userdata);
    wasi_st_u16(out + 8, error);
    wasi_st_u8(out + 10, p->type);
    if (p->type != WASI_EVENT_CLOCK) {
        wasi_st_u64(out + 16, nbytes);
        wasi_st_u16(out + 24, flags);
    }
}

/* wait until an fd is ready or the earliest clock deadline passes */
static int wait_ready(struct pollfd* pfds, int npoll, uint64_t deadline, int immediate) {
    for (;;) {
        struct timespec ts, *timeout = NULL;
        if (immediate) {
            ts.tv_sec = 0;
            ts.tv_nsec = 0;
            timeout = &ts;
        } else if (deadline != UINT64_MAX) {
            uint64_t now = now_ns(CLOCK_MONOTONIC);
            uint64_t left = deadline > now ? deadline - now : 0;
            ts.tv_sec = (time_t)(left / 1000000000u);
            ts.tv_nsec = (long)(left % 1000000000u);
            timeout = &ts;
        }
        int n = ppoll(pfds, (nfds_t)npoll, timeout, NULL);
        if (n < 0 && errno == EINTR && !wrt_eintr_retry())
            return WASI_STOPPED_BY_SIGNAL;
        if (n >= 0 || errno != EINTR)
            return n < 0 ? wasi_errno_from_host(errno) : 0;
    }
}

static uint32_t collect_events(pending* subs, uint32_t n, struct pollfd* pfds, uint8_t* out) {
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    uint32_t count = 0;
    for (uint32_t i = 0; i < n; i++) {
        pending* p = &subs[i];
        uint8_t* ev = out + EVENT_SIZE * (uint64_t)count;
        if (p->error) {
            write_event(ev, p, p->error, 0, 0);
        } else if (p->type == WASI_EVENT_CLOCK) {
            if (now < p->deadline)
                continue;
            write_event(ev, p, 0, 0, 0);
        } else if (p->ready) {
            write_event(ev, p, 0, p->nbytes, 0);
        } else {
            struct pollfd* pf = &pfds[p->poll_index];
            if (!pf->revents)
                continue;
            int avail = 0;
            if (p->type == WASI_EVENT_FD_READ && ioctl(pf->fd, FIONREAD, &avail) != 0)
                avail = 0;
            uint16_t err = (pf->revents & POLLNVAL) ? WASI_EBADF : 0;
            uint16_t flags = (pf->revents & POLLHUP) ? WASI_EVENTRW_HANGUP : 0;
            write_event(ev, p, err, avail > 0 ? (uint64_t)avail : 0, flags);
        }
        count++;
    }
    return count;
}

static int32_t poll_oneoff(wasi_ctx* c, int32_t in, int32_t out, int32_t nsubs, int32_t nevents,
                           const sub_layout* l) {
    uint32_t n = (uint32_t)nsubs;
    if (n == 0)
        return WASI_EINVAL;
    const uint8_t* subs_in = wasi_mem(c, (uint32_t)in, (uint64_t)l->size * n);
    uint8_t* events = wasi_mem(c, (uint32_t)out, (uint64_t)EVENT_SIZE * n);
    if (!subs_in || !events || !wasi_mem(c, (uint32_t)nevents, 4))
        return WASI_EFAULT;
    pending* subs = calloc(n, sizeof *subs);
    struct pollfd* pfds = calloc(n, sizeof *pfds);
    if (!subs || !pfds) {
        free(subs);
        free(pfds);
        return WASI_ENOMEM;
    }
    uint64_t mono_now = now_ns(CLOCK_MONOTONIC), deadline = UINT64_MAX;
    int npoll = 0, immediate = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t* sub = subs_in + (uint64_t)l->size * i;
        pending* p = &subs[i];
        p->userdata = wasi_ld_u64(sub);
        p->type = sub[8];
        p->poll_index = -1;
        if (p->type == WASI_EVENT_CLOCK) {
            parse_clock(sub, l, p, mono_now);
            if (!p->error && p->deadline < deadline)
                deadline = p->deadline;
        } else if (p->type == WASI_EVENT_FD_READ || p->type == WASI_EVENT_FD_WRITE) {
            parse_fd(c, sub, p, pfds, &npoll);
        } else {
            p->error = WASI_EINVAL;
        }
        immediate |= p->error != 0 || p->ready;
    }
    int err = wait_ready(pfds, npoll, deadline, immediate);
    if (!err) {
        uint32_t count = collect_events(subs, n, pfds, events);
        wasi_put_u32(c, (uint32_t)nevents, count);
    }
    free(subs);
    free(pfds);
    return err;
}

int32_t wasi_poll_oneoff(wasi_ctx* c, int32_t in, int32_t out, int32_t n, int32_t nevents) {
    return poll_oneoff(c, in, out, n, nevents, &PREVIEW1);
}

int32_t wasi_poll_oneoff_snapshot0(wasi_ctx* c, int32_t in, int32_t out, int32_t n,
                                   int32_t nevents) {
    return poll_oneoff(c, in, out, n, nevents, &SNAPSHOT0);
}

/* ---- sockets ---- */

static wasi_fd* socket_fd(wasi_ctx* c, int32_t fd, uint64_t right, int* err) {
    wasi_fd* e = wasi_fd_get(c, (uint32_t)fd);
    if (!e) {
        *err = WASI_EBADF;
        return NULL;
    }
    if (e->kind != WASI_FD_HOST || (e->filetype != WASI_FILETYPE_SOCKET_STREAM &&
                                    e->filetype != WASI_FILETYPE_SOCKET_DGRAM)) {
        *err = WASI_ENOTSOCK;
        return NULL;
    }
    if ((e->rights_base & right) != right) {
        *err = WASI_ENOTCAPABLE;
        return NULL;
    }
    return e;
}

/* guest iovecs (the first 64 at most: a short transfer is allowed) */
static int socket_iovs(wasi_ctx* c, int32_t iovs, int32_t count, struct iovec* out, int* n) {
    uint32_t k = (uint32_t)count < 64 ? (uint32_t)count : 64;
    const uint8_t* arr = wasi_mem(c, (uint32_t)iovs, 8 * (uint64_t)(uint32_t)count);
    if (!arr)
        return WASI_EFAULT;
    for (uint32_t i = 0; i < k; i++) {
        uint32_t ptr = wasi_ld_u32(arr + 8 * i), len = wasi_ld_u32(arr + 8 * i + 4);
        uint8_t* host = wasi_mem(c, ptr, len);
        if (!host)
            return WASI_EFAULT;
        out[i].iov_base = host;
        out[i].iov_len = len;
    }
    *n = (int)k;
    return 0;
}

int32_t wasi_sock_accept(wasi_ctx* c, int32_t fd, int32_t flags, int32_t fd_out) {
    int err;
    wasi_fd* e = socket_fd(c, fd, R_SOCK_ACCEPT, &err);
    if (!e)
        return err;
    if (flags & ~WASI_FDFLAG_NONBLOCK)
        return WASI_EINVAL;
    if (!wasi_mem(c, (uint32_t)fd_out, 4))
        return WASI_EFAULT;
    int conn = accept4(e->host, NULL, NULL,
                       SOCK_CLOEXEC | ((flags & WASI_FDFLAG_NONBLOCK) ? SOCK_NONBLOCK : 0));
    if (conn < 0)
        return wasi_errno_from_host(errno);
    uint32_t slot;
    if ((err = wasi_fd_alloc(c, 0, &slot)) != 0) {
        close(conn);
        return err;
    }
    wasi_fd* s = wasi_fd_slot(c, slot);
    s->kind = WASI_FD_HOST;
    s->host = conn;
    s->filetype = WASI_FILETYPE_SOCKET_STREAM;
    s->rights_base = R_SOCKET_ALL & ~R_SOCK_ACCEPT;
    return wasi_put_u32(c, (uint32_t)fd_out, slot);
}

int32_t wasi_sock_recv(wasi_ctx* c, int32_t fd, int32_t ri_data, int32_t ri_len,
                       int32_t ri_flags, int32_t ro_datalen, int32_t ro_flags) {
    int err, n;
    wasi_fd* e = socket_fd(c, fd, R_FD_READ, &err);
    if (!e)
        return err;
    if (ri_flags & ~3)
        return WASI_EINVAL;
    struct iovec iov[64];
    if ((err = socket_iovs(c, ri_data, ri_len, iov, &n)) != 0)
        return err;
    if (!wasi_mem(c, (uint32_t)ro_datalen, 4) || !wasi_mem(c, (uint32_t)ro_flags, 2))
        return WASI_EFAULT;
    struct msghdr msg = {0};
    msg.msg_iov = iov;
    msg.msg_iovlen = (size_t)n;
    int host_flags = ((ri_flags & 1) ? MSG_PEEK : 0) | ((ri_flags & 2) ? MSG_WAITALL : 0);
    ssize_t got = recvmsg(e->host, &msg, host_flags);
    if (got < 0)
        return wasi_errno_from_host(errno);
    wasi_put_u32(c, (uint32_t)ro_datalen, (uint32_t)got);
    wasi_st_u16(wasi_mem(c, (uint32_t)ro_flags, 2), (msg.msg_flags & MSG_TRUNC) ? 1 : 0);
    return 0;
}

int32_t wasi_sock_send(wasi_ctx* c, int32_t fd, int32_t si_data, int32_t si_len,
                       int32_t si_flags, int32_t so_datalen) {
    int err, n;
    wasi_fd* e = socket_fd(c, fd, R_FD_WRITE, &err);
    if (!e)
        return err;
    if (si_flags != 0)
        return WASI_EINVAL;        /* preview1 defines no send flags */
    struct iovec iov[64];
    if ((err = socket_iovs(c, si_data, si_len, iov, &n)) != 0)
        return err;
    if (!wasi_mem(c, (uint32_t)so_datalen, 4))
        return WASI_EFAULT;
    struct msghdr msg = {0};
    msg.msg_iov = iov;
    msg.msg_iovlen = (size_t)n;
    ssize_t sent = sendmsg(e->host, &msg, MSG_NOSIGNAL);
    if (sent < 0)
        return wasi_errno_from_host(errno);
    return wasi_put_u32(c, (uint32_t)so_datalen, (uint32_t)sent);
}

int32_t wasi_sock_shutdown(wasi_ctx* c, int32_t fd, int32_t how) {
    static const int host_how[4] = {-1, SHUT_RD, SHUT_WR, SHUT_RDWR};
    int err;
    wasi_fd* e = socket_fd(c, fd, R_SOCK_SHUTDOWN, &err);
    if (!e)
        return err;
    if (how < 1 || how > 3)
        return WASI_EINVAL;
    return shutdown(e->host, host_how[how]) == 0 ? 0 : wasi_errno_from_host(errno);
}
