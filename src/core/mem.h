/* SPDX-License-Identifier: MIT */
/*
 * Allocation wrappers that never return NULL: running out of memory is logged and aborts, so
 * callers carry no NULL checks after allocations. Free with plain free().
 */
#ifndef SB_CORE_MEM_H
#define SB_CORE_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/*
 * Large blocks straight from the kernel (anonymous mmap), for data sets that are built, used and
 * dropped whole: freeing one gives its pages back at once, where malloc() may keep them in an
 * arena for good. Unlike the x* functions these return NULL when memory runs out, so that a
 * reload that does not fit can fail without taking the daemon down. Blocks start zeroed.
 */
void *mem_map(size_t n);
/** mem_remap() - resize a mem_map() block (it may move); NULL on failure (@p stays valid). */
void *mem_remap(void *p, size_t old, size_t n);
/** mem_unmap() - free a mem_map() block of @n bytes (NULL is fine). */
void mem_unmap(void *p, size_t n);

#endif
