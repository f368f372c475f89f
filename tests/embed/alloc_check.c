/* alloc_check.c: loading libsluice must not replace the host's allocator.
 *
 *   alloc_check_linked          (linked with libsluice: loaded at startup)
 *   alloc_check_dlopen LIBSLUICE (dlopen()ed with RTLD_NOW | RTLD_GLOBAL, as a
 *                                plugin host or ctypes with RTLD_GLOBAL would)
 *
 * After libsluice is loaded and has run an engine and an instance, the C
 * allocator entry points must resolve (dlsym + dladdr) to glibc's libc.so.6
 * and the C++ operator new/delete to libstdc++.so.6: both in the process's
 * global scope (RTLD_DEFAULT, what the host's own calls bind to) and as seen
 * from libsluice's own dependency order. A libsluice with a NEEDED entry on
 * Debian's libmimalloc.so.2 fails here: that library defines malloc and
 * operator new, and ld.so binds the host's calls to it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <sluice/sluice.h>

/* Where the allocator must come from (a sanitizer build passes its runtime). */
#ifndef ALLOC_CHECK_LIBC
#define ALLOC_CHECK_LIBC "libc.so.6"
#endif
#ifndef ALLOC_CHECK_LIBSTDCXX
#define ALLOC_CHECK_LIBSTDCXX "libstdc++.so.6"
#endif

typedef int (*engine_new_fn)(const sluice_engine_options*, sluice_engine**);
typedef int (*instance_new_fn)(sluice_engine*, const char*, size_t, sluice_instance**);
typedef void (*engine_free_fn)(sluice_engine*);

static const char kConfig[] =
    "{\"inbounds\":[{\"type\":\"socks\",\"tag\":\"socks-in\",\"listen\":\"127.0.0.1\","
    "\"listen_port\":0}],\"outbounds\":[{\"type\":\"direct\",\"tag\":\"direct\"}]}";

static const char* const kLibc[] = {
    "malloc", "free", "calloc", "realloc", "posix_memalign", "aligned_alloc", "malloc_usable_size"};
/* operator new(size_t), new[](size_t), new(size_t, nothrow_t const&),
 * delete(void*), delete[](void*), delete(void*, size_t). */
static const char* const kLibstdcxx[] = {"_Znwm",  "_Znam",  "_ZnwmRKSt9nothrow_t",
                                         "_ZdlPv", "_ZdaPv", "_ZdlPvm"};

/* check resolves |name| in |handle| and fails unless the defining object's
 * file name begins with |want| (after the last '/'). */
static int check(void* handle, const char* scope, const char* name, const char* want) {
  Dl_info info;
  const char* base;
  void* sym = dlsym(handle, name);
  if (sym == NULL) {
    fprintf(stderr, "FAIL %s: %s does not resolve: %s\n", scope, name, dlerror());
    return 1;
  }
  if (dladdr(sym, &info) == 0 || info.dli_fname == NULL) {
    fprintf(stderr, "FAIL %s: %s at %p is in no loaded object\n", scope, name, sym);
    return 1;
  }
  base = strrchr(info.dli_fname, '/');
  base = base ? base + 1 : info.dli_fname;
  if (strncmp(base, want, strlen(want)) != 0) {
    fprintf(stderr, "FAIL %s: %s resolves to %s, not %s\n", scope, name, info.dli_fname, want);
    return 1;
  }
  printf("ok   %s: %s -> %s\n", scope, name, base);
  return 0;
}

int main(int argc, char** argv) {
  engine_new_fn engine_new;
  instance_new_fn instance_new;
  engine_free_fn engine_free;
  sluice_engine* engine = NULL;
  sluice_instance* instance = NULL;
  void* self; /* libsluice's handle: lookups in its dependency order */
  size_t i;
  int failed = 0;

#ifdef ALLOC_CHECK_DLOPEN
  if (argc != 2) {
    fprintf(stderr, "usage: %s LIBSLUICE\n", argv[0]);
    return 2;
  }
  self = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (self == NULL) {
    fprintf(stderr, "FAIL dlopen %s: %s\n", argv[1], dlerror());
    return 1;
  }
  engine_new = (engine_new_fn)dlsym(self, "sluice_engine_new");
  instance_new = (instance_new_fn)dlsym(self, "sluice_instance_new");
  engine_free = (engine_free_fn)dlsym(self, "sluice_engine_free");
  if (engine_new == NULL || instance_new == NULL || engine_free == NULL) {
    fprintf(stderr, "FAIL %s lacks the C ABI: %s\n", argv[1], dlerror());
    return 1;
  }
#else
  Dl_info info;
  (void)argc;
  (void)argv;
  engine_new = sluice_engine_new;
  instance_new = sluice_instance_new;
  engine_free = sluice_engine_free;
  if (dladdr((void*)sluice_engine_new, &info) == 0 || info.dli_fname == NULL ||
      (self = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD)) == NULL) {
    fprintf(stderr, "FAIL cannot find the loaded libsluice: %s\n", dlerror());
    return 1;
  }
#endif

  /* Run sluice first: its static constructors, BoringSSL and pool init. */
  if (engine_new(NULL, &engine) != SLUICE_OK ||
      instance_new(engine, kConfig, sizeof kConfig - 1, &instance) != SLUICE_OK) {
    fprintf(stderr, "FAIL sluice could not start an engine and an instance\n");
    engine_free(engine);
    return 1;
  }
  engine_free(engine);

  for (i = 0; i < sizeof kLibc / sizeof kLibc[0]; ++i) {
    failed |= check(RTLD_DEFAULT, "host", kLibc[i], ALLOC_CHECK_LIBC);
    failed |= check(self, "libsluice", kLibc[i], ALLOC_CHECK_LIBC);
  }
  for (i = 0; i < sizeof kLibstdcxx / sizeof kLibstdcxx[0]; ++i) {
    failed |= check(RTLD_DEFAULT, "host", kLibstdcxx[i], ALLOC_CHECK_LIBSTDCXX);
    failed |= check(self, "libsluice", kLibstdcxx[i], ALLOC_CHECK_LIBSTDCXX);
  }
  dlclose(self);
  return failed;
}
