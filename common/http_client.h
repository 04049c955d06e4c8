/* A small, bounded HTTP/1.1 client over a TCP socket: what the schema
 * registry client needs (common/schema_registry.h), nothing more.
 *
 *   cw_http_url u;
 *   cw_http_response resp;
 *   const cw_http_limits limits = CW_HTTP_DEFAULT_LIMITS;
 *   if (cw_http_url_parse("http://127.0.0.1:8085/apis/ccompat/v7", &u, err, sizeof err) != 0 ||
 *       cw_http_request(&u, "GET", "/subjects", NULL, NULL, 0, &limits, &resp, err,
 *                       sizeof err) != 0)
 *       -> err says what failed
 *   ... resp.status, resp.body (NUL-terminated), resp.body_len ...
 *   cw_http_response_free(&resp);
 *
 * One request per connection (Connection: close), plain http only (no TLS:
 * a registry reached over TLS needs a proxy beside the service). Every
 * request is bounded: one deadline for the whole exchange (connect, send,
 * receive), a limit on the status line and headers and one on the body, so a
 * slow, silent or hostile server costs at most timeout_ms and the limits'
 * memory. The host name is resolved with getaddrinfo, which the deadline
 * does not cover: use a numeric address where that matters.
 *
 * Responses with Content-Length, chunked transfer coding, or a body that
 * ends with the connection are read; other transfer codings are refused.
 * The parser (cw_http_parse_response) is pure and unit-tested. */
#ifndef CW_HTTP_CLIENT_H
#define CW_HTTP_CLIENT_H

#include <stddef.h>

#define CW_HTTP_HOST_MAX 256
#define CW_HTTP_PATH_MAX 512

/* http://host[:port][/base/path] */
typedef struct {
    char host[CW_HTTP_HOST_MAX];      /* a name or an address, IPv6 without brackets */
    char port[8];                     /* decimal, "80" when the URL has none */
    char base_path[CW_HTTP_PATH_MAX]; /* "" or "/apis/ccompat/v7": no trailing slash */
} cw_http_url;

typedef struct {
    int timeout_ms;          /* the whole exchange */
    size_t max_header_bytes; /* status line and headers, with their CRLFs */
    size_t max_body_bytes;   /* the body after any chunked coding is removed */
} cw_http_limits;

#define CW_HTTP_DEFAULT_LIMITS {5000, 16384, 1u << 20}

typedef struct {
    int status;             /* 100..599 */
    char content_type[128]; /* "" if none; cut to fit */
    char *body;             /* malloc'd, NUL-terminated (the NUL is not counted) */
    size_t body_len;
} cw_http_response;

/* Parses url (scheme http only; userinfo, query and fragment refused). The
 * port defaults to 80. Returns 0, or -1 with a message in err. */
int cw_http_url_parse(const char *url, cw_http_url *out, char *err, size_t errlen);

/* Sends one request: method ("GET", "POST", "PUT"), the base path of url
 * followed by path (which starts with '/'), and, when body is not NULL, the
 * body with content_type. On success returns 0 with resp filled (any status:
 * the caller judges it) and the caller frees it with cw_http_response_free.
 * On failure (name resolution, connect, send, timeout, a response over the
 * limits or malformed) returns -1 with resp empty and a message in err that
 * names the host, port and what failed. */
int cw_http_request(const cw_http_url *url, const char *method, const char *path,
                    const char *content_type, const char *body, size_t body_len,
                    const cw_http_limits *limits, cw_http_response *resp, char *err,
                    size_t errlen);

void cw_http_response_free(cw_http_response *resp);

/* Writes the request line and headers (no body) into buf: at most cap bytes
 * with a NUL after them; *len gets their length. Method and path must be
 * plain tokens (no spaces or control characters). Returns 0, or -1 with a
 * message in err. */
int cw_http_format_request(char *buf, size_t cap, size_t *len, const char *method,
                           const cw_http_url *url, const char *path, const char *content_type,
                           size_t body_len, char *err, size_t errlen);

/* Parsing a response held in buf[0..len): */
enum {
    CW_HTTP_PARSE_DONE = 0,  /* complete: *resp is filled (free it) */
    CW_HTTP_PARSE_MORE = 1,  /* incomplete: read more and call again with all the bytes */
    CW_HTTP_PARSE_ERROR = -1 /* malformed or over the limits: message in err */
};
/* at_eof: the peer closed the connection after these bytes (a body without
 * length then ends there; anything else incomplete is an error). */
int cw_http_parse_response(const char *buf, size_t len, int at_eof, const cw_http_limits *limits,
                           cw_http_response *resp, char *err, size_t errlen);

#endif
