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

#if defined(__linux__)
#include <stdint.h>
#include <sys/mman.h>

void ckernels_advise_huge_pages(void *p, size_t bytes) {
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1), end = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
}
#else
void ckernels_advise_huge_pages(void *p, size_t bytes) { (void)p; (void)bytes; }
#endif
