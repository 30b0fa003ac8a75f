#ifndef PROTON_CQRENCODE_SHIM_H
#define PROTON_CQRENCODE_SHIM_H
#include <qrencode.h>
#endif
