#ifndef PROTON_CSODIUM_SHIM_H
#define PROTON_CSODIUM_SHIM_H
#include <sodium.h>
#endif
