/*
 * http_load.c: the libevent 2.1 side of examples/http_load.rs, for a
 * side-by-side run (written for this project in ../shared/anchor's style;
 * bench_httpclient.c's shape: each connection sends its next request from
 * the completion callback of the last).
 *
 *   cc -O2 -Wall -Wextra -o http_load_libevent benches/anchor/http_load.c -levent
 *   ./http_load_libevent -c 50 -n 100000 -k http://127.0.0.1:8080/
 *
 * Same flags and the same last line as the Rust example:
 *   <N> requests in <S> s, <R> req/s, p50 <x> ms, p99 <y> ms, <E> errors
 * Without -k every request sends "Connection: close" (a new socket each).
 */
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct event_base *base;
static const char *host, *path;
static int port, keep_alive;
static long left, done_count, total, errors;
static double *lat;
static long nlat;

struct slot {
	struct evhttp_connection *conn;
	double sent;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void next(struct slot *s);

static void done(struct evhttp_request *req, void *arg)
{
	struct slot *s = arg;
	int code = req ? evhttp_request_get_response_code(req) : 0;
	done_count++;
	if (code >= 200 && code < 300)
		lat[nlat++] = now() - s->sent;
	else
		errors++;
	if (done_count == total) {
		event_base_loopbreak(base);
		return;
	}
	next(s);
}

static void next(struct slot *s)
{
	struct evhttp_request *req;
	if (left == 0)
		return;
	left--;
	req = evhttp_request_new(done, s);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
	if (!keep_alive)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	s->sent = now();
	if (evhttp_make_request(s->conn, req, EVHTTP_REQ_GET, path) != 0) {
		errors++;
		done_count++;
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double pct(double p)
{
	long i;
	if (nlat == 0)
		return 0;
	i = (long)(nlat * p + 0.999999999);
	if (i < 1)
		i = 1;
	if (i > nlat)
		i = nlat;
	return lat[i - 1] * 1e3;
}

int main(int argc, char **argv)
{
	long conns = 10, i;
	int opt;
	struct evhttp_uri *uri;
	struct slot *slots;
	double start, secs;

	total = 1000;
	while ((opt = getopt(argc, argv, "c:n:k")) != -1) {
		switch (opt) {
		case 'c': conns = atol(optarg); break;
		case 'n': total = atol(optarg); break;
		case 'k': keep_alive = 1; break;
		default:
			fprintf(stderr, "usage: http_load [-c CONNS] [-n REQUESTS] [-k] URL\n");
			return 2;
		}
	}
	if (optind >= argc || conns < 1 || total < 1) {
		fprintf(stderr, "usage: http_load [-c CONNS] [-n REQUESTS] [-k] URL\n");
		return 2;
	}
	uri = evhttp_uri_parse(argv[optind]);
	if (!uri || !evhttp_uri_get_host(uri)) {
		fprintf(stderr, "http_load: bad URL\n");
		return 2;
	}
	host = evhttp_uri_get_host(uri);
	port = evhttp_uri_get_port(uri) < 0 ? 80 : evhttp_uri_get_port(uri);
	path = evhttp_uri_get_path(uri);
	if (!path || !*path)
		path = "/";
	if (conns > total)
		conns = total;
	left = total;
	lat = calloc(total, sizeof(double));
	slots = calloc(conns, sizeof(*slots));
	base = event_base_new();
	for (i = 0; i < conns; i++)
		slots[i].conn = evhttp_connection_base_new(base, NULL, host, port);
	start = now();
	for (i = 0; i < conns; i++)
		next(&slots[i]);
	event_base_dispatch(base);
	secs = now() - start;
	qsort(lat, nlat, sizeof(double), cmp);
	printf("%ld requests in %.3f s, %.0f req/s, p50 %.3f ms, p99 %.3f ms, %ld errors\n",
	    done_count, secs, done_count / secs, pct(0.50), pct(0.99), errors);
	for (i = 0; i < conns; i++)
		evhttp_connection_free(slots[i].conn);
	event_base_free(base);
	evhttp_uri_free(uri);
	free(slots);
	free(lat);
	return errors ? 1 : 0;
}
