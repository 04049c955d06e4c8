/* ingest's HTTP front: libmicrohttpd with a thread per connection (a
 * request waiting for Kafka's acknowledgement holds up no other), body limits,
 * bearer auth, routing to the handlers (ingest.h), JSON responses for everything.
 *
 * Bounded: past max_in_flight requests or max_in_flight_bytes of bodies
 * being read or handled, a new request is answered 503 with Retry-After at
 * once, before its body is read; so is a request with a bad key (401) or a
 * declared body over the limit (413). A connection silent for idle_timeout
 * seconds, or still sending its body body_timeout seconds after its headers
 * ended (a slow-body client), is closed without an answer. */
#ifndef INGEST_HTTP_SERVER_H
#define INGEST_HTTP_SERVER_H

#include <stddef.h>

#include "ingest/ingest.h"

typedef struct {
    const char *bind_addr;
    int port;                /* 0 picks a free port */
    size_t max_body_bytes;   /* single-record endpoints */
    size_t max_batch_bytes;  /* /v1/batch */
    int max_in_flight;       /* requests being read or handled */
    size_t max_in_flight_bytes;
    unsigned idle_timeout_s;  /* http.idle_timeout_seconds */
    double body_timeout_s;    /* http.body_timeout_seconds */
    unsigned max_per_ip;      /* http.max_connections_per_ip, 0: no limit */
    /* Answers /livez, /healthz, /readyz and /metrics: sets *status, a
     * malloc'd *body (the server frees it) and its content type. */
    void (*probe)(const char *url, int *status, char **body, const char **content_type);
    /* Called once per answered request, for metrics. */
    void (*observe)(const char *route, int status, double seconds);
} http_settings;

typedef struct http_server http_server;

/* ctx must outlive the server; it is used from the server's threads. */
http_server *ingest_http_start(const http_settings *settings, ingest_ctx *ctx, char *err,
                               size_t errlen);
int ingest_http_port(const http_server *server);
void ingest_http_stop(http_server *server);

#endif
