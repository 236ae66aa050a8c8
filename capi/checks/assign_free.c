/* A caller's struct event may be freed once libevent no longer holds it:
 * after event_del, or after a non-persistent event fired. Nothing may stay
 * behind for it. 20000 structs are malloc'd, event_assign'ed, then either
 * fired (a zero timeout) and freed, or added and event_del'ed and freed;
 * the bytes the library holds through the memory functions must not grow
 * with the count. A negative signal number is accepted at event_assign
 * and refused at event_add, as in libevent. Exit 0 on success. */
#include <event2/event.h>
#include <event2/event_struct.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 20000

#include "hooks.h"

static int fired;
static void on_timeout(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  (void)arg;
  fired++;
}

static void cycle(struct event_base *base, int i) {
  struct event *ev = malloc(sizeof *ev);
  struct timeval zero = {0, 0};
  event_assign(ev, base, -1, 0, on_timeout, NULL);
  if (i % 2 == 0) {
    event_add(ev, &zero);
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  } else {
    event_add(ev, NULL);
    event_del(ev);
  }
  /* No event_free: the struct is the caller's, and its memory goes on to
   * other uses (wiped here — explicit_bzero, which the compiler keeps —
   * so a struct at the same address is not mistaken for this one). */
  explicit_bzero(ev, sizeof *ev);
  free(ev);
}

int main(void) {
  event_set_mem_functions(hook_malloc, hook_realloc, hook_free);
  struct event_base *base = event_base_new();
  if (!base)
    return 1;
  for (int i = 0; i < 1000; i++)
    cycle(base, i);
  long before = held;
  for (int i = 0; i < ROUNDS; i++)
    cycle(base, i);
  long grown = held - before;
  if (fired != (1000 + ROUNDS) / 2) {
    fprintf(stderr, "assign_free: %d timeouts fired, want %d\n", fired, (1000 + ROUNDS) / 2);
    return 1;
  }
  if (grown > 4096) {
    fprintf(stderr, "assign_free: %ld bytes more held after %d freed structs\n", grown, ROUNDS);
    return 1;
  }
  struct event sig;
  if (event_assign(&sig, base, -5, EV_SIGNAL, on_timeout, NULL) != 0 || event_add(&sig, NULL) != -1) {
    fprintf(stderr, "assign_free: a negative signal must fail at event_add, not event_assign\n");
    return 1;
  }
  event_base_free(base);
  printf("assign_free: %d caller structs freed, %ld bytes grown\n", ROUNDS, grown);
  return 0;
}
