/*
 * The variadic (and va_list) functions of libevent's C API, which stable
 * Rust cannot define. They format with the C library into room reserved
 * in the buffer (evbuffer_reserve_space / _commit_space, exported by the
 * same library), as libevent does: the NUL vsnprintf writes stays in the
 * room after the data, where callers that treat evbuffer_pullup's result
 * as a C string (libevent's regress `callbacks`) find it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct evbuffer;
struct evbuffer_iovec {
	void *iov_base;
	size_t iov_len;
};
int evbuffer_reserve_space(struct evbuffer *buf, ptrdiff_t size,
    struct evbuffer_iovec *vec, int n_vec);
int evbuffer_commit_space(struct evbuffer *buf,
    struct evbuffer_iovec *vec, int n_vecs);

int evbuffer_add_vprintf(struct evbuffer *buf, const char *fmt, va_list ap);
int evbuffer_add_printf(struct evbuffer *buf, const char *fmt, ...);
int evutil_vsnprintf(char *buf, size_t buflen, const char *format, va_list ap);
int evutil_snprintf(char *buf, size_t buflen, const char *format, ...);

int
evbuffer_add_vprintf(struct evbuffer *buf, const char *fmt, va_list ap)
{
	char small[512];
	struct evbuffer_iovec v;
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(small, sizeof(small), fmt, copy);
	va_end(copy);
	if (n < 0)
		return -1;
	if (evbuffer_reserve_space(buf, (ptrdiff_t)n + 1, &v, 1) != 1)
		return -1;
	if ((size_t)n < sizeof(small)) {
		memcpy(v.iov_base, small, (size_t)n + 1);
	} else {
		va_copy(copy, ap);
		vsnprintf(v.iov_base, (size_t)n + 1, fmt, copy);
		va_end(copy);
	}
	v.iov_len = (size_t)n;
	return evbuffer_commit_space(buf, &v, 1) == 0 ? n : -1;
}

int
evbuffer_add_printf(struct evbuffer *buf, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = evbuffer_add_vprintf(buf, fmt, ap);
	va_end(ap);
	return r;
}

/* As libevent: always NUL-terminates, returns what vsnprintf returns. */
int
evutil_vsnprintf(char *buf, size_t buflen, const char *format, va_list ap)
{
	int r;

	if (buflen == 0)
		return 0;
	r = vsnprintf(buf, buflen, format, ap);
	buf[buflen - 1] = '\0';
	return r;
}

int
evutil_snprintf(char *buf, size_t buflen, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = evutil_vsnprintf(buf, buflen, format, ap);
	va_end(ap);
	return r;
}
