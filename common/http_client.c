#include "http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"

/* ===================================================================== *
 * URL
 * ===================================================================== */

int cw_http_url_parse(const char *url, cw_http_url *out, char *err, size_t errlen)
{
    static const char scheme[] = "http://";
    memset(out, 0, sizeof(*out));
    if (url == NULL || strncasecmp(url, scheme, sizeof(scheme) - 1) != 0) {
        cw_errf(err, errlen, "URL must start with http:// (https is not supported)");
        return -1;
    }
    const char *p = url + sizeof(scheme) - 1;
    size_t authority_len = strcspn(p, "/?#");
    const char *path = p + authority_len;
    if (*path == '?' || *path == '#' || strpbrk(path, "?#") != NULL) {
        cw_errf(err, errlen, "URL must not have a query or fragment");
        return -1;
    }
    if (memchr(p, '@', authority_len) != NULL) {
        cw_errf(err, errlen, "URL must not carry user information");
        return -1;
    }
    const char *host = p, *host_end, *port = NULL;
    if (*p == '[') { /* [v6 address] */
        host = p + 1;
        host_end = memchr(host, ']', authority_len);
        if (host_end == NULL) {
            cw_errf(err, errlen, "URL has an unclosed '[' in its host");
            return -1;
        }
        if (host_end + 1 < p + authority_len) {
            if (host_end[1] != ':') {
                cw_errf(err, errlen, "URL has characters after its [host]");
                return -1;
            }
            port = host_end + 2;
        }
    } else {
        host_end = memchr(p, ':', authority_len);
        if (host_end != NULL)
            port = host_end + 1;
        else
            host_end = p + authority_len;
    }
    size_t host_len = (size_t)(host_end - host);
    if (host_len == 0 || host_len >= sizeof(out->host)) {
        cw_errf(err, errlen, "URL host is empty or longer than %zu bytes", sizeof(out->host) - 1);
        return -1;
    }
    for (size_t i = 0; i < host_len; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= ' ' || c == 0x7f || c == '/' || c == '\\' || c == '[' || c == ']') {
            cw_errf(err, errlen, "URL host has a character that is not allowed");
            return -1;
        }
    }
    memcpy(out->host, host, host_len);
    if (port != NULL) {
        size_t port_len = (size_t)(p + authority_len - port);
        unsigned long value = 0;
        if (port_len == 0 || port_len > 5) {
            cw_errf(err, errlen, "URL port must be 1 to 65535");
            return -1;
        }
        for (size_t i = 0; i < port_len; i++) {
            if (port[i] < '0' || port[i] > '9') {
                cw_errf(err, errlen, "URL port must be 1 to 65535");
                return -1;
            }
            value = value * 10 + (unsigned long)(port[i] - '0');
        }
        if (value == 0 || value > 65535) {
            cw_errf(err, errlen, "URL port must be 1 to 65535");
            return -1;
        }
        snprintf(out->port, sizeof(out->port), "%lu", value);
    } else {
        snprintf(out->port, sizeof(out->port), "80");
    }
    size_t path_len = strlen(path);
    while (path_len > 0 && path[path_len - 1] == '/')
        path_len--;
    if (path_len >= sizeof(out->base_path)) {
        cw_errf(err, errlen, "URL path is longer than %zu bytes", sizeof(out->base_path) - 1);
        return -1;
    }
    for (size_t i = 0; i < path_len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c <= ' ' || c == 0x7f) {
            cw_errf(err, errlen, "URL path has a space or control character");
            return -1;
        }
    }
    memcpy(out->base_path, path, path_len);
    return 0;
}

/* ===================================================================== *
 * Request
 * ===================================================================== */

static int is_token(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == 0x7f)
            return 0;
    }
    return 1;
}

int cw_http_format_request(char *buf, size_t cap, size_t *len, const char *method,
                           const cw_http_url *url, const char *path, const char *content_type,
                           size_t body_len, char *err, size_t errlen)
{
    *len = 0;
    if (!is_token(method) || !is_token(path) || path[0] != '/' ||
        (content_type != NULL && content_type[strcspn(content_type, "\r\n")] != '\0')) {
        cw_errf(err, errlen, "request: bad method, path or content type");
        return -1;
    }
    /* An IPv6 address goes in brackets in Host. */
    int v6 = strchr(url->host, ':') != NULL;
    int n;
    if (content_type != NULL) {
        n = snprintf(buf, cap,
                     "%s %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: carewatch\r\n"
                     "Accept: application/json\r\nConnection: close\r\n"
                     "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                     method, url->base_path, path, v6 ? "[" : "", url->host, v6 ? "]" : "",
                     url->port, content_type, body_len);
    } else {
        n = snprintf(buf, cap,
                     "%s %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: carewatch\r\n"
                     "Accept: application/json\r\nConnection: close\r\n\r\n",
                     method, url->base_path, path, v6 ? "[" : "", url->host, v6 ? "]" : "",
                     url->port);
    }
    if (n < 0 || (size_t)n >= cap) {
        cw_errf(err, errlen, "request: the request line and headers exceed %zu bytes", cap);
        return -1;
    }
    *len = (size_t)n;
    return 0;
}

/* ===================================================================== *
 * Response parser
 * ===================================================================== */

/* The end of the header block ("\r\n\r\n" included) within buf, or 0. */
static size_t header_end(const char *buf, size_t len)
{
    for (size_t i = 3; i < len; i++) {
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    }
    return 0;
}

typedef struct {
    int status;
    int chunked;
    int has_length;
    size_t content_length;
    char content_type[128];
} head_info;

static int parse_status_line(const char *line, size_t len, head_info *h, char *err,
                             size_t errlen)
{
    /* HTTP/1.x SP 3DIGIT [SP reason] */
    if (len < 12 || memcmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
        line[8] != ' ' || line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' ||
        line[11] < '0' || line[11] > '9' || (len > 12 && line[12] != ' ')) {
        cw_errf(err, errlen, "response: malformed status line");
        return -1;
    }
    h->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    return 0;
}

static int header_is(const char *name, size_t name_len, const char *want)
{
    return strlen(want) == name_len && strncasecmp(name, want, name_len) == 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

static int parse_header(const char *line, size_t len, head_info *h, char *err, size_t errlen)
{
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line) {
        cw_errf(err, errlen, "response: malformed header line");
        return -1;
    }
    size_t name_len = (size_t)(colon - line);
    for (size_t i = 0; i < name_len; i++) {
        if (line[i] == ' ' || line[i] == '\t') {
            cw_errf(err, errlen, "response: malformed header name");
            return -1;
        }
    }
    const char *value = colon + 1;
    size_t value_len = len - name_len - 1;
    trim(&value, &value_len);
    for (size_t i = 0; i < value_len; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < ' ' && c != '\t') || c == 0x7f) {
            cw_errf(err, errlen, "response: control character in a header");
            return -1;
        }
    }
    if (header_is(line, name_len, "Content-Length")) {
        size_t n = 0;
        if (value_len == 0 || value_len > 15) {
            cw_errf(err, errlen, "response: bad Content-Length");
            return -1;
        }
        for (size_t i = 0; i < value_len; i++) {
            if (value[i] < '0' || value[i] > '9') {
                cw_errf(err, errlen, "response: bad Content-Length");
                return -1;
            }
            n = n * 10 + (size_t)(value[i] - '0');
        }
        if (h->has_length && h->content_length != n) {
            cw_errf(err, errlen, "response: two different Content-Length headers");
            return -1;
        }
        h->has_length = 1;
        h->content_length = n;
    } else if (header_is(line, name_len, "Transfer-Encoding")) {
        if (value_len != 7 || strncasecmp(value, "chunked", 7) != 0) {
            cw_errf(err, errlen, "response: unsupported Transfer-Encoding %.*s",
                    (int)(value_len > 40 ? 40 : value_len), value);
            return -1;
        }
        h->chunked = 1;
    } else if (header_is(line, name_len, "Content-Type")) {
        size_t n = value_len < sizeof(h->content_type) - 1 ? value_len : sizeof(h->content_type) - 1;
        memcpy(h->content_type, value, n);
        h->content_type[n] = '\0';
    }
    return 0;
}

static int parse_head(const char *buf, size_t end, head_info *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof(*h));
    size_t pos = 0;
    int first = 1;
    while (pos < end) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', end - pos);
        if (nl == NULL || nl == line || nl[-1] != '\r') {
            cw_errf(err, errlen, "response: header line not ended by CRLF");
            return -1;
        }
        size_t line_len = (size_t)(nl - line) - 1;
        pos += line_len + 2;
        if (line_len == 0)
            break; /* the blank line */
        if (memchr(line, '\0', line_len) != NULL) {
            cw_errf(err, errlen, "response: NUL in the headers");
            return -1;
        }
        int rc = first ? parse_status_line(line, line_len, h, err, errlen)
                       : parse_header(line, line_len, h, err, errlen);
        if (rc != 0)
            return -1;
        first = 0;
    }
    if (h->chunked && h->has_length) {
        cw_errf(err, errlen, "response: both Content-Length and chunked");
        return -1;
    }
    if (h->status < 200) {
        cw_errf(err, errlen, "response: unexpected interim status %d", h->status);
        return -1;
    }
    return 0;
}

/* Walks the chunked body at buf[0..len). Returns DONE with the decoded size
 * in *decoded (and, when out is not NULL, the data copied there), MORE, or
 * ERROR. */
static int walk_chunks(const char *buf, size_t len, int at_eof, size_t max_body, char *out,
                       size_t *decoded, char *err, size_t errlen)
{
    size_t pos = 0, total = 0;
    for (;;) {
        /* chunk-size [; extensions] CRLF: at most 1 KiB */
        const char *line = buf + pos;
        size_t avail = len - pos;
        const char *nl = memchr(line, '\n', avail < 1024 ? avail : 1024);
        if (nl == NULL) {
            if (avail >= 1024) {
                cw_errf(err, errlen, "response: chunk size line too long");
                return CW_HTTP_PARSE_ERROR;
            }
            goto incomplete;
        }
        if (nl == line || nl[-1] != '\r') {
            cw_errf(err, errlen, "response: chunk size line not ended by CRLF");
            return CW_HTTP_PARSE_ERROR;
        }
        size_t size = 0, digits = 0;
        const char *p = line;
        for (; p < nl - 1; p++) {
            int v;
            if (*p >= '0' && *p <= '9')
                v = *p - '0';
            else if (*p >= 'a' && *p <= 'f')
                v = *p - 'a' + 10;
            else if (*p >= 'A' && *p <= 'F')
                v = *p - 'A' + 10;
            else
                break;
            if (++digits > 8) {
                cw_errf(err, errlen, "response: chunk size too large");
                return CW_HTTP_PARSE_ERROR;
            }
            size = size * 16 + (size_t)v;
        }
        if (digits == 0 || (p < nl - 1 && *p != ';' && *p != ' ' && *p != '\t')) {
            cw_errf(err, errlen, "response: malformed chunk size");
            return CW_HTTP_PARSE_ERROR;
        }
        pos = (size_t)(nl - buf) + 1;
        if (size == 0)
            break;
        if (size > max_body - total) {
            cw_errf(err, errlen, "response: body larger than %zu bytes", max_body);
            return CW_HTTP_PARSE_ERROR;
        }
        if (len - pos < size + 2)
            goto incomplete;
        if (buf[pos + size] != '\r' || buf[pos + size + 1] != '\n') {
            cw_errf(err, errlen, "response: chunk not followed by CRLF");
            return CW_HTTP_PARSE_ERROR;
        }
        if (out != NULL)
            memcpy(out + total, buf + pos, size);
        total += size;
        pos += size + 2;
    }
    /* Trailers, then a blank line: at most 4 KiB. */
    for (size_t trailer_bytes = 0;;) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        if (nl == NULL) {
            if (len - pos > 4096)
                goto too_long;
            goto incomplete;
        }
        if (nl == line || nl[-1] != '\r') {
            cw_errf(err, errlen, "response: trailer line not ended by CRLF");
            return CW_HTTP_PARSE_ERROR;
        }
        size_t line_len = (size_t)(nl - line) + 1;
        pos += line_len;
        if (line_len == 2)
            break;
        trailer_bytes += line_len;
        if (trailer_bytes > 4096)
            goto too_long;
    }
    *decoded = total;
    return CW_HTTP_PARSE_DONE;

too_long:
    cw_errf(err, errlen, "response: trailers longer than 4096 bytes");
    return CW_HTTP_PARSE_ERROR;
incomplete:
    if (at_eof) {
        cw_errf(err, errlen, "response: connection closed in the middle of the chunked body");
        return CW_HTTP_PARSE_ERROR;
    }
    return CW_HTTP_PARSE_MORE;
}

static int fill_response(cw_http_response *resp, const head_info *h, const char *body,
                         size_t body_len, int chunked, const char *raw, size_t raw_len,
                         char *err, size_t errlen)
{
    char *copy = malloc(body_len + 1);
    if (copy == NULL) {
        cw_errf(err, errlen, "response: out of memory");
        return CW_HTTP_PARSE_ERROR;
    }
    if (chunked) {
        size_t decoded = 0;
        if (walk_chunks(raw, raw_len, 1, body_len, copy, &decoded, err, errlen) !=
            CW_HTTP_PARSE_DONE) {
            free(copy);
            return CW_HTTP_PARSE_ERROR;
        }
    } else if (body_len > 0) {
        memcpy(copy, body, body_len);
    }
    copy[body_len] = '\0';
    resp->status = h->status;
    snprintf(resp->content_type, sizeof(resp->content_type), "%s", h->content_type);
    resp->body = copy;
    resp->body_len = body_len;
    return CW_HTTP_PARSE_DONE;
}

int cw_http_parse_response(const char *buf, size_t len, int at_eof, const cw_http_limits *limits,
                           cw_http_response *resp, char *err, size_t errlen)
{
    memset(resp, 0, sizeof(*resp));
    size_t scan = len < limits->max_header_bytes ? len : limits->max_header_bytes;
    size_t end = header_end(buf, scan);
    if (end == 0) {
        if (len >= limits->max_header_bytes) {
            cw_errf(err, errlen, "response: headers longer than %zu bytes",
                    limits->max_header_bytes);
            return CW_HTTP_PARSE_ERROR;
        }
        if (at_eof) {
            cw_errf(err, errlen, len == 0 ? "response: connection closed without an answer"
                                          : "response: connection closed in the headers");
            return CW_HTTP_PARSE_ERROR;
        }
        return CW_HTTP_PARSE_MORE;
    }
    head_info h;
    if (parse_head(buf, end, &h, err, errlen) != 0)
        return CW_HTTP_PARSE_ERROR;
    const char *body = buf + end;
    size_t have = len - end;
    if (h.status == 204 || h.status == 304)
        return fill_response(resp, &h, body, 0, 0, NULL, 0, err, errlen);
    if (h.chunked) {
        size_t decoded = 0;
        int rc = walk_chunks(body, have, at_eof, limits->max_body_bytes, NULL, &decoded, err,
                             errlen);
        if (rc != CW_HTTP_PARSE_DONE)
            return rc;
        return fill_response(resp, &h, NULL, decoded, 1, body, have, err, errlen);
    }
    if (h.has_length) {
        if (h.content_length > limits->max_body_bytes) {
            cw_errf(err, errlen, "response: body of %zu bytes, more than %zu", h.content_length,
                    limits->max_body_bytes);
            return CW_HTTP_PARSE_ERROR;
        }
        if (have < h.content_length) {
            if (at_eof) {
                cw_errf(err, errlen, "response: connection closed after %zu of %zu body bytes",
                        have, h.content_length);
                return CW_HTTP_PARSE_ERROR;
            }
            return CW_HTTP_PARSE_MORE;
        }
        return fill_response(resp, &h, body, h.content_length, 0, NULL, 0, err, errlen);
    }
    /* No length: the body ends with the connection. */
    if (have > limits->max_body_bytes) {
        cw_errf(err, errlen, "response: body larger than %zu bytes", limits->max_body_bytes);
        return CW_HTTP_PARSE_ERROR;
    }
    if (!at_eof)
        return CW_HTTP_PARSE_MORE;
    return fill_response(resp, &h, body, have, 0, NULL, 0, err, errlen);
}

void cw_http_response_free(cw_http_response *resp)
{
    if (resp == NULL)
        return;
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

/* ===================================================================== *
 * The exchange
 * ===================================================================== */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline. Returns 1 ready, 0 timed out,
 * -1 error (errno). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int rc = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (rc > 0)
            return 1;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

static int connect_one(const struct addrinfo *ai, int64_t deadline, int *fd_out, char *why,
                       size_t whylen)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
    if (fd < 0) {
        snprintf(why, whylen, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            snprintf(why, whylen, "connect: %s", strerror(errno));
            close(fd);
            return -1;
        }
        int rc = wait_fd(fd, POLLOUT, deadline);
        int so_error = 0;
        socklen_t so_len = sizeof(so_error);
        if (rc == 0) {
            snprintf(why, whylen, "connect: timed out");
            close(fd);
            return -1;
        }
        if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0 ||
            so_error != 0) {
            snprintf(why, whylen, "connect: %s", strerror(rc < 0 ? errno : so_error));
            close(fd);
            return -1;
        }
    }
    *fd_out = fd;
    return 0;
}

static int open_connection(const cw_http_url *url, int64_t deadline, int *fd, char *why,
                           size_t whylen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(url->host, url->port, &hints, &res);
    if (gai != 0) {
        snprintf(why, whylen, "cannot resolve the host: %s", gai_strerror(gai));
        return -1;
    }
    int rc = -1;
    for (struct addrinfo *ai = res; ai != NULL && rc != 0; ai = ai->ai_next)
        rc = connect_one(ai, deadline, fd, why, whylen);
    freeaddrinfo(res);
    return rc;
}

static int send_all(int fd, const char *data, size_t len, int64_t deadline, char *why,
                    size_t whylen)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(fd, POLLOUT, deadline);
            if (rc == 0) {
                snprintf(why, whylen, "send: timed out");
                return -1;
            }
            if (rc > 0)
                continue;
        }
        snprintf(why, whylen, "send: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads until the parser has a whole response. The raw bytes may exceed
 * the body limit by the chunked coding's framing: allowed up to twice the
 * body limit plus 4 KiB. */
static int receive(int fd, const cw_http_limits *limits, int64_t deadline,
                   cw_http_response *resp, char *why, size_t whylen)
{
    size_t raw_max = limits->max_header_bytes + 2 * limits->max_body_bytes + 4096;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    int rc = -1;
    for (;;) {
        if (len == cap) {
            if (cap >= raw_max) {
                snprintf(why, whylen, "response larger than %zu bytes", raw_max);
                break;
            }
            size_t grown_cap = cap * 2 > raw_max ? raw_max : cap * 2;
            char *grown = realloc(buf, grown_cap);
            if (grown == NULL) {
                snprintf(why, whylen, "out of memory");
                break;
            }
            buf = grown;
            cap = grown_cap;
        }
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = wait_fd(fd, POLLIN, deadline);
            if (w > 0)
                continue;
            snprintf(why, whylen, "%s", w == 0 ? "timed out waiting for the response"
                                               : "poll failed");
            break;
        }
        if (n < 0) {
            snprintf(why, whylen, "recv: %s", strerror(errno));
            break;
        }
        len += (size_t)n;
        int parsed = cw_http_parse_response(buf, len, n == 0, limits, resp, why, whylen);
        if (parsed == CW_HTTP_PARSE_DONE) {
            rc = 0;
            break;
        }
        if (parsed == CW_HTTP_PARSE_ERROR)
            break;
        if (n == 0) { /* the parser errs on an incomplete response at EOF */
            snprintf(why, whylen, "connection closed early");
            break;
        }
    }
    free(buf);
    return rc;
}

int cw_http_request(const cw_http_url *url, const char *method, const char *path,
                    const char *content_type, const char *body, size_t body_len,
                    const cw_http_limits *limits, cw_http_response *resp, char *err,
                    size_t errlen)
{
    memset(resp, 0, sizeof(*resp));
    int64_t deadline = now_ms() + (limits->timeout_ms > 0 ? limits->timeout_ms : 1);
    char head[CW_HTTP_PATH_MAX * 2 + CW_HTTP_HOST_MAX + 512];
    size_t head_len;
    char why[256] = "";
    if (cw_http_format_request(head, sizeof(head), &head_len, method, url, path,
                               body != NULL ? (content_type ? content_type : "application/json")
                                            : NULL,
                               body != NULL ? body_len : 0, why, sizeof(why)) != 0) {
        cw_errf(err, errlen, "%s http://%s:%s: %s", method ? method : "?", url->host, url->port,
                why);
        return -1;
    }
    int fd = -1;
    int rc = open_connection(url, deadline, &fd, why, sizeof(why));
    if (rc == 0)
        rc = send_all(fd, head, head_len, deadline, why, sizeof(why));
    if (rc == 0 && body != NULL && body_len > 0)
        rc = send_all(fd, body, body_len, deadline, why, sizeof(why));
    if (rc == 0)
        rc = receive(fd, limits, deadline, resp, why, sizeof(why));
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        cw_http_response_free(resp);
        cw_errf(err, errlen, "%s http://%s%s%s:%s%s%s: %s", method, strchr(url->host, ':') ? "[" : "",
                url->host, strchr(url->host, ':') ? "]" : "", url->port, url->base_path, path,
                why);
        return -1;
    }
    return 0;
}
