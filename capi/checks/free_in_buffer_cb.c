/* A callback on a bufferevent's output buffer frees the bufferevent.
 * libevent's evbuffer callbacks hold a reference on the parent
 * bufferevent for this, yet libevent 2.1.12 itself crashes on this
 * program (SIGSEGV in event_base_loop, with these poisoning hooks); rvent
 * holds the bufferevent across the callback and frees it from the loop.
 * The library must neither touch freed memory nor keep anything once the
 * loop ran: freed blocks are poisoned by the memory hooks, and the bytes
 * they hold must come back to where they were. Exit 0 on success. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hooks.h"

static int calls;

static void free_on_change(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg) {
  (void)buf;
  if (info->n_added == 0)
    return;
  calls++;
  bufferevent_free(arg);
}

int main(void) {
  event_set_mem_functions(hook_malloc, hook_realloc, hook_free);
  struct event_base *base = event_base_new();
  if (!base)
    return 1;
  long before = 0;
  /* 20 rounds warm the base's tables up, then 100 are measured. */
  for (int i = 0; i < 120; i++) {
    if (i == 20) {
      event_base_loop(base, EVLOOP_NONBLOCK);
      before = held;
    }
    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s))
      return 1;
    struct bufferevent *bev = bufferevent_socket_new(base, s[0], BEV_OPT_CLOSE_ON_FREE);
    evbuffer_add_cb(bufferevent_get_output(bev), free_on_change, bev);
    /* The write runs the callback, which frees the bufferevent. */
    if (bufferevent_write(bev, "hello", 5) != 0) {
      fprintf(stderr, "free_in_buffer_cb: bufferevent_write failed\n");
      return 1;
    }
    event_base_loop(base, EVLOOP_NONBLOCK);
    close(s[1]);
  }
  event_base_loop(base, EVLOOP_NONBLOCK);
  if (calls != 120) {
    fprintf(stderr, "free_in_buffer_cb: %d callbacks, want 120\n", calls);
    return 1;
  }
  if (held != before) {
    fprintf(stderr, "free_in_buffer_cb: %ld bytes more held after 100 freed bufferevents\n", held - before);
    return 1;
  }
  event_base_free(base);
  printf("free_in_buffer_cb: 100 bufferevents freed from their output's callback\n");
  return 0;
}
