/* ingest's HTTP front: libmicrohttpd on one internal thread, body limits,
 * bearer auth, routing to api.c, JSON responses for everything. */
#ifndef INGEST_HTTP_SERVER_H
#define INGEST_HTTP_SERVER_H

#include <stddef.h>

#include "api.h"

typedef struct {
    const char *bind_addr;
    int port;                /* 0 picks a free port */
    size_t max_body_bytes;   /* single-record endpoints */
    size_t max_batch_bytes;  /* /v1/batch */
    /* Answers /livez, /healthz, /readyz and /metrics: sets *status, a
     * malloc'd *body (the server frees it) and its content type. */
    void (*probe)(const char *url, int *status, char **body, const char **content_type);
    /* Called once per answered request, for metrics. */
    void (*observe)(const char *route, int status, double seconds);
} http_settings;

typedef struct http_server http_server;

/* ctx must outlive the server; it is used from the server's thread only. */
http_server *http_server_start(const http_settings *settings, ingest_ctx *ctx, char *err,
                               size_t errlen);
int http_server_port(const http_server *server);
void http_server_stop(http_server *server);

#endif
