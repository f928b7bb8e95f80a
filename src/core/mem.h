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

#endif
