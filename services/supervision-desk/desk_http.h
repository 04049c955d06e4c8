/* The desk's HTTP API (libmicrohttpd, a thread per connection). Keys are
 * judged from the headers before any body is read: no key or an unknown one
 * is 401, a key of another role (provider, registry, importer) 403, a case
 * the key may not see 404 — all at once, the connection closed. Bodies are
 * JSON objects of at most 16 KiB (a larger declared one is refused 413
 * unread). Routes:
 *
 *   GET  /v1/cases?status=&colour=&street_id=&kind=&since=&attention=&overdue=&limit=&cursor=
 *   GET  /v1/cases/{id}
 *   POST /v1/cases/{id}/acknowledge | resolve | escalate   {note?, resolution?}
 *   GET  /v1/callbacks?street_id=&day=
 *   POST /v1/callbacks/{order_id}                          {result, note?}
 *   POST /v1/complaints                                    {elder_id, order_id?, channel?, text}
 *   GET  /v1/stats?street_id=&from=&to=&by=street|community|provider|caregiver
 *   GET  /v1/orders/{id}
 *   GET  /livez, /readyz (no key)
 *
 * The server borrows the desk; desk_http_stop frees the server. */
#ifndef DESK_HTTP_H
#define DESK_HTTP_H

#include <stddef.h>

#include "supervision-desk/desk.h"

typedef struct desk_http desk_http;

desk_http *desk_http_start(desk *d, const char *bind_addr, int port, int idle_timeout_s,
                           unsigned max_connections, char *err, size_t errlen);
/* The port listened on (the one chosen when 0 was asked). */
int desk_http_port(const desk_http *h);
void desk_http_stop(desk_http *h);

#endif
