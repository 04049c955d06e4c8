/* The desk's context (desk.h): made from the configuration with its
 * settings and metrics, connected to Kafka once the admin listener is up,
 * and freed with everything it holds. */
#include <stdio.h>
#include <stdlib.h>

#include "admin_http.h"
#include "log.h"
#include "shutdown.h"
#include "supervision-desk/desk.h"

#define INIT_TIMEOUT_MS 30000
#define RETRY_PAUSE_MS 1000

/* The settings and metrics of d. 0, or -1 (logged) on a bad auth.keys. */
static int configure(desk *d, const cw_config *cfg)
{
    size_t n;
    char err[256];
    const char *const *entries = cw_config_list(cfg, "auth.keys", &n);
    if (cw_key_table_load(&d->keys, entries, n, err, sizeof(err)) != 0) {
        cw_log_error("bad auth.keys", "error", err, NULL);
        return -1;
    }
    d->cfg = cfg;
    d->deadlines.ack_ms[CW_CASE_COLOUR_RED] = cw_config_int(cfg, "desk.ack_minutes.red") * 60000;
    d->deadlines.ack_ms[CW_CASE_COLOUR_ORANGE] =
        cw_config_int(cfg, "desk.ack_minutes.orange") * 60000;
    d->deadlines.ack_ms[CW_CASE_COLOUR_YELLOW] =
        cw_config_int(cfg, "desk.ack_minutes.yellow") * 60000;
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
    d->inputs =
        cw_metrics_counter("carewatch_desk_inputs_total",
                           "Input records by topic and what became of them", "topic,outcome");
    d->open_cases = cw_metrics_gauge("carewatch_desk_cases", "Cases by status", "status");
    return 0;
}

desk *desk_new(const cw_config *cfg, int *bad_config)
{
    *bad_config = 0;
    desk *d = calloc(1, sizeof(*d));
    if (d != NULL && pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        d = NULL;
    }
    if (d != NULL && desk_live_feed_init(&d->feed) != 0) {
        pthread_mutex_destroy(&d->lock);
        free(d);
        d = NULL;
    }
    if (d == NULL) {
        cw_log_error("out of memory", NULL);
        return NULL;
    }
    desk_case_book_init(&d->book);
    if (configure(d, cfg) != 0) {
        *bad_config = 1;
        desk_free(d);
        return NULL;
    }
    return d;
}

void desk_free(desk *d)
{
    if (d == NULL)
        return;
    desk_books_free(d);
    cw_outbox_free(&d->out);
    cw_key_table_free(&d->keys);
    free(d->applied);
    desk_live_feed_free(&d->feed);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int desk_connect(desk *d)
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
        return -1;
    d->consumer = cw_txn_consumer_new(d->cfg, d->group_id, err, sizeof(err));
    if (d->consumer == NULL) {
        cw_log_error("cannot create the consumer", "error", err, NULL);
        return -1;
    }
    return 0;
}

void desk_disconnect(desk *d)
{
    if (d->consumer) {
        rd_kafka_consumer_close(d->consumer);
        rd_kafka_destroy(d->consumer);
        d->consumer = NULL;
    }
    cw_txn_producer_free(d->producer);
    d->producer = NULL;
}

int desk_ready_probe(void *user_data, char *reason, size_t len)
{
    desk *d = user_data;
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
