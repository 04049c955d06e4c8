/* The one call the desk passes on to ingest: an admin's unfreeze from the
 * console (ingest owns caregivers' state; the desk only shows it). A plain
 * HTTP/1.1 POST over a socket to desk.ingest_url (http://host:port), with
 * the admin's own key, so ingest judges it as any of its requests.
 *
 * Returns ingest's HTTP status and sets *answer to its JSON body (a new
 * reference the caller owns; an {"error"...} object when the body is not
 * JSON), or -1 when ingest cannot be reached (*answer says why). */
#ifndef DESK_INGEST_PROXY_H
#define DESK_INGEST_PROXY_H

#include <jansson.h>

int desk_ingest_post(const char *ingest_url, const char *path, const char *authorization,
                     const json_t *body, int timeout_s, json_t **answer);

#endif
