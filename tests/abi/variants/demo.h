/* demo.h: a small library in the shape of sluice.h (a versioned options
 * struct, a plain struct, functions), built as the baseline and as each
 * variant by check_abi.sh selftest to prove the guard's verdicts. */
#ifndef SLUICE_ABI_DEMO_H
#define SLUICE_ABI_DEMO_H
#include <stdint.h>

typedef struct sluice_demo_options {
  uint32_t version;
#ifdef INSERT_OPTION
  uint32_t flags;
#endif
#ifdef RETYPE_OPTION
  int32_t mtu;
#else
  uint32_t mtu;
#endif
#ifdef APPEND_OPTION
  uint64_t idle_timeout_ms; /* since v2 */
#endif
} sluice_demo_options;

typedef struct sluice_demo_point {
  int32_t x;
  int32_t y;
#ifdef GROW_PLAIN
  int32_t z;
#endif
} sluice_demo_point;

int sluice_demo_new(const sluice_demo_options *options, int *out);
#ifdef CHANGE_PARAM
int sluice_demo_move(sluice_demo_point *point, int64_t dx);
#else
int sluice_demo_move(sluice_demo_point *point, int32_t dx);
#endif
#ifdef CHANGE_RETURN
int64_t sluice_demo_count(void);
#else
int32_t sluice_demo_count(void);
#endif
#ifndef REMOVE_FUNCTION
int sluice_demo_old(void);
#endif
#ifdef ADD_FUNCTION
int sluice_demo_extra(int value);
#endif

#endif
