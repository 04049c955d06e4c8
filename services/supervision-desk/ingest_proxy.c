#include "supervision-desk/ingest_proxy.h"

#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ANSWER_MAX (64 * 1024)

static int unreachable(json_t **answer, const char *why)
{
    *answer = json_pack("{s:s, s:s, s:s}", "error", "unavailable", "message", why, "field", "");
    return -1;
}

/* "http://host:port" -> host, port. 0 or -1. */
static int split_url(const char *url, char *host, size_t host_len, char *port, size_t port_len)
{
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7, *colon = strrchr(h, ':');
    size_t n = colon ? (size_t)(colon - h) : strcspn(h, "/");
    if (n == 0 || n >= host_len)
        return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    snprintf(port, port_len, "%.*s", colon ? (int)strcspn(colon + 1, "/") : 2,
             colon ? colon + 1 : "80");
    return 0;
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int desk_ingest_post(const char *ingest_url, const char *path, const char *authorization,
                     const json_t *body, int timeout_s, json_t **answer)
{
    char host[256], port[16];
    if (split_url(ingest_url, host, sizeof(host), port, sizeof(port)) != 0)
        return unreachable(answer, "desk.ingest_url is not http://host:port");
    char *payload = json_dumps(body, JSON_COMPACT);
    if (!payload)
        return unreachable(answer, "out of memory");
    char head[1024];
    int head_len = snprintf(head, sizeof(head),
                            "POST %s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: %s\r\n"
                            "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                            "Connection: close\r\n\r\n",
                            path, host, port, authorization, strlen(payload));
    int fd = head_len > 0 && (size_t)head_len < sizeof(head) ? connect_to(host, port) : -1;
    if (fd < 0) {
        free(payload);
        return unreachable(answer, "ingest cannot be reached");
    }
    char *in = malloc(ANSWER_MAX + 1);
    size_t got = 0;
    int ok = in && send_all(fd, head, (size_t)head_len) == 0 &&
             send_all(fd, payload, strlen(payload)) == 0;
    free(payload);
    while (ok && got < ANSWER_MAX) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_s * 1000) <= 0) {
            ok = 0;
            break;
        }
        ssize_t n = recv(fd, in + got, ANSWER_MAX - got, 0);
        if (n < 0)
            ok = 0;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    int status = 0;
    if (in)
        in[got] = '\0';
    if (!ok || got == 0 || sscanf(in, "HTTP/1.%*d %d", &status) != 1) {
        free(in);
        return unreachable(answer, "ingest did not answer");
    }
    const char *start = strstr(in, "\r\n\r\n");
    *answer = start ? json_loads(start + 4, 0, NULL) : NULL;
    if (!*answer)
        *answer = json_pack("{s:s, s:s, s:s}", "error", "bad_gateway", "message",
                            "ingest's answer is not JSON", "field", "");
    free(in);
    return status;
}
