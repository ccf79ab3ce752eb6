/* Allocator settings for long-running Sibyl processes (see ckernels.h). */
#include "ckernels.h"

#if defined(__GLIBC__)
#include <malloc.h>
#include <limits.h>

void ckernels_keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);   /* glibc's maximum on 64-bit machines */
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
}
#else
void ckernels_keep_freed_memory(void) {}
#endif
