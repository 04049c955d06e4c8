#include "ingest/settings.h"

#include <math.h>

const cw_cfg_spec ingest_config_spec[] = {
    {.key = "http.bind", .type = CW_CFG_STRING, .default_value = "127.0.0.1",
     .help = "address the API listens on"},
    {.key = "http.port", .type = CW_CFG_INT, .default_value = "8080", .min = 0, .max = 65535,
     .help = "API port (0 picks a free one)"},
    {.key = "http.max_body_bytes", .type = CW_CFG_INT, .default_value = "65536", .min = 256,
     .max = 16777216, .help = "largest body of a single-record request"},
    {.key = "http.max_batch_bytes", .type = CW_CFG_INT, .default_value = "16777216",
     .min = 1024, .max = 1073741824, .help = "largest /v1/batch body"},
    {.key = "http.max_batch_lines", .type = CW_CFG_INT, .default_value = "10000", .min = 1,
     .max = 1000000, .help = "most lines of one /v1/batch (more: 413, nothing handled)"},
    {.key = "http.max_batch_failures", .type = CW_CFG_INT, .default_value = "1000", .min = 1,
     .max = 1000000, .help = "most failed lines a /v1/batch answer lists (the rest are counted "
             "in failures_omitted)"},
    {.key = "http.max_in_flight", .type = CW_CFG_INT, .default_value = "256", .min = 1,
     .max = 65536, .help = "past this many requests being read or handled (each on a thread of its "
             "own), 503 with Retry-After"},
    {.key = "http.max_in_flight_bytes", .type = CW_CFG_INT, .default_value = "268435456",
     .min = 65536, .max = 17179869184LL,
     .help = "past this many body bytes being read or handled, 503 with Retry-After"},
    {.key = "http.idle_timeout_seconds", .type = CW_CFG_INT, .default_value = "30", .min = 1,
     .max = 3600, .help = "a connection silent this long is closed"},
    {.key = "http.body_timeout_seconds", .type = CW_CFG_DOUBLE, .default_value = "60",
     .min = 0.1, .max = 3600,
     .help = "a body still arriving this long after its headers ended is dropped (slow-body "
             "clients), the connection closed"},
    {.key = "http.max_connections_per_ip", .type = CW_CFG_INT, .default_value = "0", .min = 0,
     .max = 65536, .help = "connections one client address may hold open (0: no limit; behind a "
             "proxy every client has its address)"},
    {.key = "auth.keys", .type = CW_CFG_LIST,
     .help = "bearer keys as <sha256 hex of the key>=<role>[#<label>]; roles: registry, "
             "importer, admin, provider:<provider_id>, street:<street_id>, command"},
    {.key = "rules.late_submission_minutes", .type = CW_CFG_DOUBLE, .default_value = "10",
     .min = 0, .max = 10080, .help = "LATE_SUBMISSION when received more than this after at"},
    {.key = "rules.late_submission_enabled", .type = CW_CFG_BOOL, .default_value = "true",
     .help = "false for historical imports, where receipt time means nothing"},
    {.key = "rules.face_match_min", .type = CW_CFG_DOUBLE, .default_value = "0.80", .min = 0,
     .max = 1, .help = "FACE_MISMATCH below this score"},
    {.key = "rules.voiceprint_match_min", .type = CW_CFG_DOUBLE, .default_value = "0.80",
     .min = 0, .max = 1, .help = "VOICE_UNCONFIRMED below this score"},
    {.key = "rules.clock_skew_minutes", .type = CW_CFG_DOUBLE, .default_value = "5", .min = 0,
     .max = 1440, .help = "live mode rejects events whose at is further ahead of the clock"},
    {.key = "rules.order_final_hours", .type = CW_CFG_INT, .default_value = "24", .min = 1,
     .max = 8760,
     .help = "a change of an order (cancel, reschedule, reassign, approve-change) received more "
             "than this after its scheduled start is refused 409 order_final: the ledger-writer "
             "finalizes an unvisited order then (keep it equal to its "
             "rules.no_show_invalid_hours)"},
    {.key = NULL},
};

void ingest_thresholds_from_config(const cw_config *cfg, intake_thresholds *t)
{
    t->late_submission_ms = llround(cw_config_double(cfg, "rules.late_submission_minutes") * 60000);
    t->late_submission_enabled = cw_config_bool(cfg, "rules.late_submission_enabled");
    t->face_match_min = cw_config_double(cfg, "rules.face_match_min");
    t->voiceprint_match_min = cw_config_double(cfg, "rules.voiceprint_match_min");
}

void ingest_http_from_config(const cw_config *cfg, http_settings *s)
{
    s->bind_addr = cw_config_str(cfg, "http.bind");
    s->port = (int)cw_config_int(cfg, "http.port");
    s->max_body_bytes = (size_t)cw_config_int(cfg, "http.max_body_bytes");
    s->max_batch_bytes = (size_t)cw_config_int(cfg, "http.max_batch_bytes");
    s->max_in_flight = (int)cw_config_int(cfg, "http.max_in_flight");
    s->max_in_flight_bytes = (size_t)cw_config_int(cfg, "http.max_in_flight_bytes");
    s->idle_timeout_s = (unsigned)cw_config_int(cfg, "http.idle_timeout_seconds");
    s->body_timeout_s = cw_config_double(cfg, "http.body_timeout_seconds");
    s->max_per_ip = (unsigned)cw_config_int(cfg, "http.max_connections_per_ip");
}
