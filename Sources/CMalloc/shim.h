#ifndef INVENTORY_POLLER_CMALLOC_SHIM_H
#define INVENTORY_POLLER_CMALLOC_SHIM_H
/* glibc's allocator settings (mallopt), which Swift's Glibc module does not import. */
#include <malloc.h>
#endif
