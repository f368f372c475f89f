/* hidden_hooks.h: force-included into every BoringSSL C file of the static
 * build (third_party/boringssl/meson.build).
 *
 * crypto/mem.c declares four weak functions that a program may define to take
 * over BoringSSL's allocation: OPENSSL_memory_alloc / _free / _get_size and
 * jemalloc's sdallocx. Undefined weak references keep default visibility under
 * -fvisibility=hidden, so libsluice.so would import them dynamically and any
 * host (or library in its global scope) defining one of those names would
 * replace the allocator of sluice's private BoringSSL. Declared hidden first,
 * they can only bind inside libsluice.so, where nothing defines them: the
 * linker resolves them to null and BoringSSL uses malloc/free. */
#ifndef SLUICE_THIRD_PARTY_BORINGSSL_HIDDEN_HOOKS_H
#define SLUICE_THIRD_PARTY_BORINGSSL_HIDDEN_HOOKS_H
/* c_args reach the .S files too, which have nothing to declare. */
#ifndef __ASSEMBLER__
#include <stddef.h>

__attribute__((visibility("hidden"))) void* OPENSSL_memory_alloc(size_t size);
__attribute__((visibility("hidden"))) void OPENSSL_memory_free(void* ptr);
__attribute__((visibility("hidden"))) size_t OPENSSL_memory_get_size(void* ptr);
__attribute__((visibility("hidden"))) void sdallocx(void* ptr, size_t size, int flags);
#endif

#endif
