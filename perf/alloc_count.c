// alloc_count.c: an LD_PRELOAD shim that counts calls into the C library's
// allocator, for tunnel_bench's allocations-per-GB column.
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
// Programs whose allocator is not the C library's (Go's runtime, a
// statically linked malloc) never load the shim's functions: no file
// appears, and the bench shows "-".
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void* __libc_malloc(size_t n);
extern void* __libc_calloc(size_t k, size_t n);
extern void* __libc_realloc(void* p, size_t n);
extern void* __libc_memalign(size_t align, size_t n);
extern void __libc_free(void* p);

// AllocCounts is the file's layout (the bench reads the same two words).
struct AllocCounts {
  uint64_t allocs;
  uint64_t frees;
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
