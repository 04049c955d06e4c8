/* carewatch-supervision-desk: the street offices' and the district
 * command's desk. Every alert opens a case or joins its order's open case;
 * cases are acknowledged, resolved or escalated by people through the HTTP
 * API (desk_http.h), and escalated by the desk itself when not acknowledged
 * by their deadline in event time (case_rules.h). Call-backs are sampled
 * from the finalized orders (callback_rules.h); a denied one confirmed by
 * the street corrects the order's verdict (orders.corrections).
 *
 * Input:  alerts.all (Alert), visit.checks (CheckResult: the event clock
 *         only), and, as books to show and judge by, orders.finalized
 *         (OrderFinalized), ref.elders (Elder), orders.changes
 *         (OrderChange), caregiver.status (CaregiverStatusChanged) and
 *         visit.events (assignments, fixes, evidence).
 * Output: cases.events (CaseEvent, keyed by case id), orders.corrections
 *         (OrderCorrection), dead letters on dlq.supervision-desk.
 * State:  in memory, the fold of cases.events (read from the beginning at
 *         every start, with the books); alerts.all and visit.checks resume
 *         from the group's offsets, which every transaction commits with
 *         the events it publishes (desk.h says which file does what). */
#include <stdio.h>

#include "admin_http.h"
#include "log.h"
#include "service.h"
#include "shutdown.h"
#include "supervision-desk/desk.h"
#include "supervision-desk/desk_http.h"

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

/* The admin listener, Kafka, the books rebuilt, the API, then the input
 * loop until shutdown. The process exit code. */
static int serve(desk *d)
{
    char err[256];
    if (cw_admin_start(cw_config_str(d->cfg, "admin.bind"),
                       (int)cw_config_int(d->cfg, "admin.port"), desk_ready_probe, d, err,
                       sizeof(err)) != 0) {
        cw_log_error("cannot start the admin listener", "error", err, NULL);
        return 1;
    }
    int rc = desk_connect(d) == 0 ? 0 : 1;
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
    desk_disconnect(d);
    cw_admin_stop();
    return rc;
}

int main(int argc, char **argv)
{
    static const cw_cfg_spec *const specs[] = {desk_spec, NULL};
    cw_service svc;
    int start = cw_service_start(&svc, "supervision-desk", argc, argv, specs);
    if (start != CW_SERVICE_RUN)
        return start == CW_SERVICE_EXIT_OK ? 0 : 2;
    int bad_config;
    desk *d = desk_new(svc.cfg, &bad_config);
    int rc = d == NULL ? (bad_config ? 2 : 1) : serve(d);
    desk_free(d);
    cw_service_finish(&svc);
    return rc;
}
