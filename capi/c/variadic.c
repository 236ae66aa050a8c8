/*
 * The variadic (and va_list) functions of libevent's C API, which stable
 * Rust cannot define. They format with the C library and hand the bytes to
 * the Rust side (evbuffer_add, exported by the same library); a long
 * result takes a block from the memory functions (event_mm_malloc_).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct evbuffer;
int evbuffer_add(struct evbuffer *buf, const void *data, size_t len);
void *event_mm_malloc_(size_t sz);
void event_mm_free_(void *p);

int evbuffer_add_vprintf(struct evbuffer *buf, const char *fmt, va_list ap);
int evbuffer_add_printf(struct evbuffer *buf, const char *fmt, ...);
int evutil_vsnprintf(char *buf, size_t buflen, const char *format, va_list ap);
int evutil_snprintf(char *buf, size_t buflen, const char *format, ...);

int
evbuffer_add_vprintf(struct evbuffer *buf, const char *fmt, va_list ap)
{
	char small[512];
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(small, sizeof(small), fmt, copy);
	va_end(copy);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return evbuffer_add(buf, small, (size_t)n) == 0 ? n : -1;
	{
		char *big = event_mm_malloc_((size_t)n + 1);
		int r;

		if (big == NULL)
			return -1;
		va_copy(copy, ap);
		vsnprintf(big, (size_t)n + 1, fmt, copy);
		va_end(copy);
		r = evbuffer_add(buf, big, (size_t)n) == 0 ? n : -1;
		event_mm_free_(big);
		return r;
	}
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
