// alloc_count.c: an LD_PRELOAD shim that counts calls into the C library's
// allocator, and the data-moving system calls and event-loop wake-ups made
// through it, for tunnel_bench's allocations, I/O calls and wake-ups per GB
// columns.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Every malloc, calloc, realloc, memalign, posix_memalign, aligned_alloc,
// valloc and pvalloc adds one to an allocation counter, every free of a
// non-null pointer one to a free counter; the work itself is done by glibc's
// __libc_* entry points, so the process's heap is glibc's as without the
// shim. operator new (libstdc++) and OPENSSL_malloc (BoringSSL) end in
// malloc, so they are counted too.
//
// The counters live in a small file, $SLUICE_ALLOC_COUNT_DIR/<pid>, mapped
// MAP_SHARED: the bench reads them at the start and end of each bulk window
// while the process runs, so only the measured transfer counts. A process
// that forks (socat's per-connection children) keeps one file: the children
// share the parent's mapping and add to the same counters. Without the
// variable, or before the constructor has run, the counters are private.
//
// System calls: each read, readv, write, writev, recv, recvfrom, recvmsg,
// recvmmsg, send, sendto, sendmsg, sendmmsg and splice made through the C
// library adds one to an I/O counter (what moves bytes: a spliced relay's
// splice calls are in it, unlike in /proc/<pid>/io's syscr/syscw), each
// epoll_wait, epoll_pwait, poll, ppoll, select and pselect one to a
// wake-up counter (an
// event loop's sleeps, whether or not they slept). The calls are forwarded
// to the next definition (glibc's), found with dlsym(RTLD_NEXT) on first
// use. Calls the C library makes internally (stdio's writes) do not go
// through the shim and are not counted; they are not on a data path.
//
// Programs whose allocator is not the C library's (Go's runtime, a
// statically linked malloc) never load the shim's functions: no file
// appears, and the bench shows "-". Go's runtime makes its system calls
// itself, so the I/O and wake-up counters do not see it either.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

extern void* __libc_malloc(size_t n);
extern void* __libc_calloc(size_t k, size_t n);
extern void* __libc_realloc(void* p, size_t n);
extern void* __libc_memalign(size_t align, size_t n);
extern void __libc_free(void* p);

// AllocCounts is the file's layout (the bench reads the same four words).
struct AllocCounts {
  uint64_t allocs;
  uint64_t frees;
  uint64_t io_calls;  // data-moving system calls (see above)
  uint64_t wakeups;   // epoll_wait / epoll_pwait / poll / ppoll / select / pselect calls
};

// The project builds with -fvisibility=hidden; the interposed functions
// must be exported.
#define SHIM_API __attribute__((visibility("default")))

static struct AllocCounts private_counts;
static struct AllocCounts* counts = &private_counts;

static inline void count_alloc(void) {
  __atomic_fetch_add(&__atomic_load_n(&counts, __ATOMIC_RELAXED)->allocs, 1, __ATOMIC_RELAXED);
}
static inline void count_free(void) {
  __atomic_fetch_add(&__atomic_load_n(&counts, __ATOMIC_RELAXED)->frees, 1, __ATOMIC_RELAXED);
}
static inline void count_io(void) {
  __atomic_fetch_add(&__atomic_load_n(&counts, __ATOMIC_RELAXED)->io_calls, 1, __ATOMIC_RELAXED);
}
static inline void count_wakeup(void) {
  __atomic_fetch_add(&__atomic_load_n(&counts, __ATOMIC_RELAXED)->wakeups, 1, __ATOMIC_RELAXED);
}

// map_counts runs before main: it creates the file named after the pid and
// switches the counters to it. No allocation happens here.
__attribute__((constructor)) static void map_counts(void) {
  const char* dir = getenv("SLUICE_ALLOC_COUNT_DIR");
  if (!dir || !*dir) return;
  char path[4096];
  size_t n = 0;
  while (dir[n] && n < sizeof path - 32) {
    path[n] = dir[n];
    ++n;
  }
  path[n++] = '/';
  char digits[24];
  int k = 0;
  for (unsigned long v = (unsigned long)getpid(); v > 0 || k == 0; v /= 10)
    digits[k++] = (char)('0' + v % 10);
  while (k > 0) path[n++] = digits[--k];
  path[n] = '\0';
  const int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (ftruncate(fd, (off_t)sizeof(struct AllocCounts)) != 0) {
    close(fd);
    return;
  }
  void* m = mmap(NULL, sizeof(struct AllocCounts), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return;
  struct AllocCounts* shared = (struct AllocCounts*)m;
  shared->allocs = __atomic_load_n(&private_counts.allocs, __ATOMIC_RELAXED);
  shared->frees = __atomic_load_n(&private_counts.frees, __ATOMIC_RELAXED);
  shared->io_calls = __atomic_load_n(&private_counts.io_calls, __ATOMIC_RELAXED);
  shared->wakeups = __atomic_load_n(&private_counts.wakeups, __ATOMIC_RELAXED);
  __atomic_store_n(&counts, shared, __ATOMIC_RELEASE);
}

SHIM_API void* malloc(size_t n) {
  count_alloc();
  return __libc_malloc(n);
}

SHIM_API void* calloc(size_t k, size_t n) {
  count_alloc();
  return __libc_calloc(k, n);
}

SHIM_API void* realloc(void* p, size_t n) {
  count_alloc();
  return __libc_realloc(p, n);
}

SHIM_API void free(void* p) {
  if (p) count_free();
  __libc_free(p);
}

SHIM_API void* memalign(size_t align, size_t n) {
  count_alloc();
  return __libc_memalign(align, n);
}

SHIM_API void* aligned_alloc(size_t align, size_t n) {
  count_alloc();
  return __libc_memalign(align, n);
}

SHIM_API int posix_memalign(void** out, size_t align, size_t n) {
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return EINVAL;
  count_alloc();
  void* p = __libc_memalign(align, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

SHIM_API void* valloc(size_t n) {
  count_alloc();
  return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

SHIM_API void* pvalloc(size_t n) {
  count_alloc();
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return __libc_memalign(page, (n + page - 1) & ~(page - 1));
}

SHIM_API void* reallocarray(void* p, size_t k, size_t n) {
  size_t bytes;
  if (__builtin_mul_overflow(k, n, &bytes)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(p, bytes);
}

// --- system calls -----------------------------------------------------------

// NEXT(name) is the next definition of |name| (glibc's), looked up once; a
// benign race may look it up twice.
#define NEXT(ret, name, params)                         \
  static ret(*next_##name) params;                      \
  if (!__atomic_load_n(&next_##name, __ATOMIC_RELAXED)) \
  __atomic_store_n(&next_##name, (ret(*) params)dlsym(RTLD_NEXT, #name), __ATOMIC_RELAXED)

SHIM_API ssize_t read(int fd, void* buf, size_t n) {
  NEXT(ssize_t, read, (int, void*, size_t));
  count_io();
  return next_read(fd, buf, n);
}

SHIM_API ssize_t write(int fd, const void* buf, size_t n) {
  NEXT(ssize_t, write, (int, const void*, size_t));
  count_io();
  return next_write(fd, buf, n);
}

SHIM_API ssize_t readv(int fd, const struct iovec* iov, int n) {
  NEXT(ssize_t, readv, (int, const struct iovec*, int));
  count_io();
  return next_readv(fd, iov, n);
}

SHIM_API ssize_t writev(int fd, const struct iovec* iov, int n) {
  NEXT(ssize_t, writev, (int, const struct iovec*, int));
  count_io();
  return next_writev(fd, iov, n);
}

SHIM_API ssize_t recv(int fd, void* buf, size_t n, int flags) {
  NEXT(ssize_t, recv, (int, void*, size_t, int));
  count_io();
  return next_recv(fd, buf, n, flags);
}

SHIM_API ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* from,
                          socklen_t* len) {
  NEXT(ssize_t, recvfrom, (int, void*, size_t, int, struct sockaddr*, socklen_t*));
  count_io();
  return next_recvfrom(fd, buf, n, flags, from, len);
}

SHIM_API ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  NEXT(ssize_t, recvmsg, (int, struct msghdr*, int));
  count_io();
  return next_recvmsg(fd, msg, flags);
}

SHIM_API int recvmmsg(int fd, struct mmsghdr* v, unsigned int n, int flags, struct timespec* t) {
  NEXT(int, recvmmsg, (int, struct mmsghdr*, unsigned int, int, struct timespec*));
  count_io();
  return next_recvmmsg(fd, v, n, flags, t);
}

SHIM_API ssize_t send(int fd, const void* buf, size_t n, int flags) {
  NEXT(ssize_t, send, (int, const void*, size_t, int));
  count_io();
  return next_send(fd, buf, n, flags);
}

SHIM_API ssize_t sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* to,
                        socklen_t len) {
  NEXT(ssize_t, sendto, (int, const void*, size_t, int, const struct sockaddr*, socklen_t));
  count_io();
  return next_sendto(fd, buf, n, flags, to, len);
}

SHIM_API ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  NEXT(ssize_t, sendmsg, (int, const struct msghdr*, int));
  count_io();
  return next_sendmsg(fd, msg, flags);
}

SHIM_API int sendmmsg(int fd, struct mmsghdr* v, unsigned int n, int flags) {
  NEXT(int, sendmmsg, (int, struct mmsghdr*, unsigned int, int));
  count_io();
  return next_sendmmsg(fd, v, n, flags);
}

SHIM_API ssize_t splice(int in, loff_t* in_off, int out, loff_t* out_off, size_t n,
                        unsigned int flags) {
  NEXT(ssize_t, splice, (int, loff_t*, int, loff_t*, size_t, unsigned int));
  count_io();
  return next_splice(in, in_off, out, out_off, n, flags);
}

SHIM_API int epoll_wait(int ep, struct epoll_event* ev, int n, int timeout) {
  NEXT(int, epoll_wait, (int, struct epoll_event*, int, int));
  count_wakeup();
  return next_epoll_wait(ep, ev, n, timeout);
}

SHIM_API int epoll_pwait(int ep, struct epoll_event* ev, int n, int timeout, const sigset_t* mask) {
  NEXT(int, epoll_pwait, (int, struct epoll_event*, int, int, const sigset_t*));
  count_wakeup();
  return next_epoll_pwait(ep, ev, n, timeout, mask);
}

SHIM_API int poll(struct pollfd* fds, nfds_t n, int timeout) {
  NEXT(int, poll, (struct pollfd*, nfds_t, int));
  count_wakeup();
  return next_poll(fds, n, timeout);
}

SHIM_API int ppoll(struct pollfd* fds, nfds_t n, const struct timespec* t, const sigset_t* mask) {
  NEXT(int, ppoll, (struct pollfd*, nfds_t, const struct timespec*, const sigset_t*));
  count_wakeup();
  return next_ppoll(fds, n, t, mask);
}

SHIM_API int select(int n, fd_set* r, fd_set* w, fd_set* x, struct timeval* t) {
  NEXT(int, select, (int, fd_set*, fd_set*, fd_set*, struct timeval*));
  count_wakeup();
  return next_select(n, r, w, x, t);
}

SHIM_API int pselect(int n, fd_set* r, fd_set* w, fd_set* x, const struct timespec* t,
                     const sigset_t* mask) {
  NEXT(int, pselect, (int, fd_set*, fd_set*, fd_set*, const struct timespec*, const sigset_t*));
  count_wakeup();
  return next_pselect(n, r, w, x, t, mask);
}
