#ifndef PROTON_BENCH_COLM_SHIM_H
#define PROTON_BENCH_COLM_SHIM_H
#include <olm/olm.h>
#endif
