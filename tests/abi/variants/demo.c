/* demo.c: the library demo.h declares (see there). */
#include "demo.h"

int sluice_demo_new(const sluice_demo_options *options, int *out) {
  *out = (int)options->mtu;
  return 0;
}
#ifdef CHANGE_PARAM
int sluice_demo_move(sluice_demo_point *point, int64_t dx) {
#else
int sluice_demo_move(sluice_demo_point *point, int32_t dx) {
#endif
  point->x += (int32_t)dx;
  return 0;
}
#ifdef CHANGE_RETURN
int64_t sluice_demo_count(void) { return 1; }
#else
int32_t sluice_demo_count(void) { return 1; }
#endif
#ifndef REMOVE_FUNCTION
int sluice_demo_old(void) { return 0; }
#endif
#ifdef ADD_FUNCTION
int sluice_demo_extra(int value) { return value; }
#endif
