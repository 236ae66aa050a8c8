/* The proxy move (libevent's sample/le-proxy.c): what one bufferevent
 * reads moves into another bufferevent's output with one
 * evbuffer_add_buffer call. 8333 bytes go in on one socketpair and must
 * come out, in order, on the other. Exit 0 on success. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define N 8333

static struct bufferevent *to;

static void relay(struct bufferevent *from, void *arg) {
  (void)arg;
  if (evbuffer_add_buffer(bufferevent_get_output(to), bufferevent_get_input(from)) != 0) {
    fprintf(stderr, "proxy: evbuffer_add_buffer between two bufferevents failed\n");
    _exit(1);
  }
}

int main(void) {
  int in[2], out[2];
  static char data[N], got[N];
  size_t have = 0;
  struct event_base *base = event_base_new();
  if (!base || socketpair(AF_UNIX, SOCK_STREAM, 0, in) || socketpair(AF_UNIX, SOCK_STREAM, 0, out))
    return 1;
  struct bufferevent *from = bufferevent_socket_new(base, in[0], BEV_OPT_CLOSE_ON_FREE);
  to = bufferevent_socket_new(base, out[0], BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(from, relay, NULL, NULL, NULL);
  bufferevent_enable(from, EV_READ);
  bufferevent_enable(to, EV_WRITE);
  for (int i = 0; i < N; i++)
    data[i] = (char)(i * 7 % 251);
  if (write(in[1], data, N) != N)
    return 1;
  for (int round = 0; round < 1000 && have < N; round++) {
    event_base_loop(base, EVLOOP_NONBLOCK);
    ssize_t n = recv(out[1], got + have, N - have, MSG_DONTWAIT);
    if (n > 0)
      have += (size_t)n;
    else
      usleep(1000);
  }
  if (have != N || memcmp(got, data, N) != 0) {
    fprintf(stderr, "proxy: %zu of %d bytes arrived\n", have, N);
    return 1;
  }
  bufferevent_free(from);
  bufferevent_free(to);
  event_base_free(base);
  printf("proxy: %d bytes relayed\n", N);
  return 0;
}
