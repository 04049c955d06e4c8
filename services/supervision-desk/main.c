/* carewatch-supervision-desk: the street offices' and the district
 * command's desk. Every alert opens a case or joins its order's open case;
 * cases are acknowledged, resolved or escalated by people through the HTTP
 * API (desk_http.h), and escalated by the desk itself when not acknowledged
 * by their deadline in event time (case_rules.h). Call-backs are sampled
 * from the finalized orders (callback_rules.h); a denied one confirmed by
 * the street corrects the order's verdict (orders.corrections).
 *
 * Input:  alerts.all (Alert), visit.checks (CheckResult: the event clock
 *         only), orders.finalized (OrderFinalized), ref.elders (Elder).
 * Output: cases.events (CaseEvent, keyed by case id), orders.corrections
 *         (OrderCorrection), dead letters on dlq.supervision-desk.
 * State:  in memory, the fold of cases.events (read from the beginning at
 *         every start, with orders.finalized and ref.elders); alerts.all and
 *         visit.checks resume from the group's offsets, which every
 *         transaction commits with the events it publishes (desk.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_http.h"
#include "desk.h"
#include "desk_http.h"
#include "log.h"
#include "service.h"
#include "shutdown.h"

#define SERVICE "supervision-desk"
#define INIT_TIMEOUT_MS 30000
#define RETRY_PAUSE_MS 1000

static const cw_cfg_spec desk_spec[] = {
    {.key = "http.bind", .type = CW_CFG_STRING, .default_value = "127.0.0.1",
     .help = "address the desk's API listens on"},
    {.key = "http.port", .type = CW_CFG_INT, .default_value = "8081", .min = 0, .max = 65535,
     .help = "port of the desk's API (0: any free port)"},
    {.key = "http.idle_timeout_seconds", .type = CW_CFG_INT, .default_value = "30", .min = 1,
     .max = 3600, .help = "a connection idle this long is closed"},
    {.key = "http.max_connections", .type = CW_CFG_INT, .default_value = "64", .min = 1,
     .max = 4096, .help = "connections served at once (a thread each)"},
    {.key = "auth.keys", .type = CW_CFG_LIST, .secret = 1,
     .help = "bearer keys as <sha256 hex of the key>=<role>[#<label>]; the desk serves street:"
             "<street_id>, command and admin keys"},
    {.key = "desk.ack_minutes.red", .type = CW_CFG_INT, .default_value = "60", .min = 1,
     .max = 525600, .help = "event-time minutes to acknowledge a red case before it escalates"},
    {.key = "desk.ack_minutes.orange", .type = CW_CFG_INT, .default_value = "1440", .min = 1,
     .max = 525600, .help = "the same for an orange case"},
    {.key = "desk.ack_minutes.yellow", .type = CW_CFG_INT, .default_value = "4320", .min = 1,
     .max = 525600, .help = "the same for a yellow case"},
    {.key = "desk.callback_share", .type = CW_CFG_DOUBLE, .default_value = "0.05", .min = 0,
     .max = 1, .help = "share of VALID finalized orders drawn for a telephone call-back"},
    {.key = "desk.callback_seed", .type = CW_CFG_INT, .default_value = "1", .min = 0,
     .max = 9007199254740991.0, .help = "seed of the call-back draw (the same seed, the same list)"},
    {.key = "desk.ledger_dir", .type = CW_CFG_STRING, .default_value = "",
     .help = "the ledger-writer's ledger directory, read only, for inclusion proofs (empty: "
             "GET /v1/orders/{id}/proof answers 503)"},
    {.key = "desk.ledger_public_key", .type = CW_CFG_STRING, .default_value = "",
     .help = "the ledger's public key (PEM): proofs are checked against it before they are "
             "served (empty: checked without the signature)"},
    {.key = "desk.ingest_url", .type = CW_CFG_STRING, .default_value = "http://127.0.0.1:8080",
     .help = "ingest's API, to which an admin's unfreeze from the console is passed on (empty: "
             "none)"},
    {.key = "stream.group_id", .type = CW_CFG_STRING,
     .default_value = "carewatch-supervision-desk",
     .help = "consumer group whose offsets the desk's transactions commit"},
    {.key = "stream.transactional_id", .type = CW_CFG_STRING,
     .default_value = "carewatch-supervision-desk",
     .help = "transactional id: one desk per id (a new one fences the old)"},
    {.key = "stream.allowed_lateness_minutes", .type = CW_CFG_INT, .default_value = "2", .min = 0,
     .max = 1440, .help = "how far the desk's watermark stays behind its slowest clock"},
    {.key = "stream.quiet_partition_ms", .type = CW_CFG_INT, .default_value = "2000", .min = 0,
     .max = 3600000,
     .help = "a visit.checks partition read to its end and quiet this long follows the others"},
    {.key = NULL},
};

static int ready_probe(void *ud, char *reason, size_t len)
{
    desk *d = ud;
    if (!atomic_load(&d->ready)) {
        snprintf(reason, len, "rebuilding from Kafka");
        return 1;
    }
    if (cw_txn_ping(d->producer, 2000) != 0) {
        snprintf(reason, len, "kafka unreachable");
        return 1;
    }
    return 0;
}

static int load_settings(desk *d, const cw_config *cfg)
{
    size_t n;
    char err[256];
    const char *const *entries = cw_config_list(cfg, "auth.keys", &n);
    if (cw_key_table_load(&d->keys, entries, n, err, sizeof(err)) != 0) {
        cw_log_error("bad auth.keys", "error", err, NULL);
        return -1;
    }
    d->cfg = cfg;
    d->deadlines.ack_ms[COLOUR_RED] = cw_config_int(cfg, "desk.ack_minutes.red") * 60000;
    d->deadlines.ack_ms[COLOUR_ORANGE] = cw_config_int(cfg, "desk.ack_minutes.orange") * 60000;
    d->deadlines.ack_ms[COLOUR_YELLOW] = cw_config_int(cfg, "desk.ack_minutes.yellow") * 60000;
    d->callback_share = cw_config_double(cfg, "desk.callback_share");
    d->callback_seed = (uint64_t)cw_config_int(cfg, "desk.callback_seed");
    d->utc_offset_minutes = (int)cw_config_int(cfg, "time.utc_offset_minutes");
    d->ledger_dir = cw_config_str(cfg, "desk.ledger_dir");
    d->ledger_key = cw_config_str(cfg, "desk.ledger_public_key");
    d->ingest_url = cw_config_str(cfg, "desk.ingest_url");
    d->group_id = cw_config_str(cfg, "stream.group_id");
    d->transactional_id = cw_config_str(cfg, "stream.transactional_id");
    d->clock.lateness_ms = cw_config_int(cfg, "stream.allowed_lateness_minutes") * 60000;
    d->clock.quiet_ms = cw_config_int(cfg, "stream.quiet_partition_ms");
    d->watermark = INT64_MIN;
    d->events_out = cw_metrics_counter("carewatch_desk_case_events_total",
                                       "Case events published, by action", "action");
    d->inputs = cw_metrics_counter("carewatch_desk_inputs_total",
                                   "Input records by topic and what became of them",
                                   "topic,outcome");
    d->open_cases = cw_metrics_gauge("carewatch_desk_cases", "Cases by status", "status");
    return 0;
}

/* Kafka clients, retried until the broker answers or shutdown. 0 or 1. */
static int connect_kafka(desk *d)
{
    char err[512];
    while (d->producer == NULL && !cw_shutdown_requested()) {
        cw_admin_heartbeat();
        d->producer =
            cw_txn_producer_new(d->cfg, d->transactional_id, INIT_TIMEOUT_MS, err, sizeof(err));
        if (d->producer == NULL) {
            cw_log_warn("cannot initialise transactions; retrying", "error", err, NULL);
            cw_shutdown_sleep_ms(RETRY_PAUSE_MS);
        }
    }
    if (d->producer == NULL)
        return 1;
    d->consumer = cw_txn_consumer_new(d->cfg, d->group_id, err, sizeof(err));
    if (d->consumer == NULL) {
        cw_log_error("cannot create the consumer", "error", err, NULL);
        return 1;
    }
    return 0;
}

static int serve(desk *d)
{
    char err[256];
    if (cw_admin_start(cw_config_str(d->cfg, "admin.bind"), (int)cw_config_int(d->cfg, "admin.port"),
                       ready_probe, d, err, sizeof(err)) != 0) {
        cw_log_error("cannot start the admin listener", "error", err, NULL);
        return 1;
    }
    int rc = connect_kafka(d);
    while (rc == 0 && !cw_shutdown_requested()) {
        pthread_mutex_lock(&d->lock);
        int restored = desk_restore(d);
        pthread_mutex_unlock(&d->lock);
        if (restored == 0)
            break;
        cw_admin_heartbeat();
        cw_shutdown_sleep_ms(RETRY_PAUSE_MS);
    }
    desk_http *http = NULL;
    if (rc == 0 && !cw_shutdown_requested()) {
        http = desk_http_start(d, cw_config_str(d->cfg, "http.bind"),
                               (int)cw_config_int(d->cfg, "http.port"),
                               (int)cw_config_int(d->cfg, "http.idle_timeout_seconds"),
                               (unsigned)cw_config_int(d->cfg, "http.max_connections"), err,
                               sizeof(err));
        if (!http) {
            cw_log_error("cannot start the API", "error", err, NULL);
            rc = 1;
        } else {
            char port[16];
            snprintf(port, sizeof(port), "%d", desk_http_port(http));
            cw_log_info("serving", "port", port, NULL);
            rc = desk_stream_run(d);
        }
    }
    desk_http_stop(http);
    if (d->consumer) {
        rd_kafka_consumer_close(d->consumer);
        rd_kafka_destroy(d->consumer);
    }
    cw_txn_producer_free(d->producer);
    cw_admin_stop();
    return rc;
}

int main(int argc, char **argv)
{
    static const cw_cfg_spec *const specs[] = {desk_spec, NULL};
    cw_service svc;
    int start = cw_service_start(&svc, SERVICE, argc, argv, specs);
    if (start != CW_SERVICE_RUN)
        return start == CW_SERVICE_EXIT_OK ? 0 : 2;
    desk *d = calloc(1, sizeof(*d));
    int rc = 1;
    if (d && pthread_mutex_init(&d->lock, NULL) == 0 && live_feed_init(&d->feed) == 0) {
        case_book_init(&d->book);
        if (load_settings(d, svc.cfg) != 0)
            rc = 2;
        else
            rc = serve(d);
        desk_books_free(d);
        cw_outbox_free(&d->out);
        cw_key_table_free(&d->keys);
        free(d->applied);
        live_feed_free(&d->feed);
        pthread_mutex_destroy(&d->lock);
    }
    free(d);
    cw_service_finish(&svc);
    return rc;
}
