/* Memory hooks for the checks (event_set_mem_functions): they count the
 * bytes the library holds (`held`) and poison what it frees, so a use
 * after free reads garbage instead of the old contents. */
#ifndef CHECKS_HOOKS_H
#define CHECKS_HOOKS_H

#include <stdlib.h>
#include <string.h>

static long held; /* bytes handed out by the hooks, minus those freed */

static void *hook_malloc(size_t n) {
  size_t *p = malloc(n + 16);
  if (!p)
    return NULL;
  *p = n;
  held += (long)n;
  return (char *)p + 16;
}

static void *hook_realloc(void *q, size_t n) {
  size_t *p = q ? (size_t *)((char *)q - 16) : NULL;
  size_t old = p ? *p : 0;
  size_t *r = realloc(p, n + 16);
  if (!r)
    return NULL;
  *r = n;
  held += (long)n - (long)old;
  return (char *)r + 16;
}

static void hook_free(void *q) {
  if (!q)
    return;
  size_t *p = (size_t *)((char *)q - 16);
  held -= (long)*p;
  memset(p, 0xdd, *p + 16);
  free(p);
}

#endif
