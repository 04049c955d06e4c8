#include "payment-scheduler/batch_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grow.h"
#include "kafka.h"
#include "kafka_reader.h"
#include "log.h"
#include "payment-scheduler/pay_config.h"
#include "payment-scheduler/payment_records.h"
#include "payment-scheduler/payment_state.h"
#include "payment-scheduler/report.h"
#include "shutdown.h"
#include "timeutil.h"
#include "topics.h"

typedef struct {
    pay_state *st;
    pay_period period;
    pay_settings set;
    pay_output discard; /* the run's outputs are read from the state */
    int64_t max_event;
    pay_unpaid *unpaid;
    size_t unpaid_count, unpaid_cap;
    long bad_records;
    int failed;
} batch;

static int note_unpaid(batch *b, const char *provider_id)
{
    for (size_t i = 0; i < b->unpaid_count; i++) {
        if (strcmp(b->unpaid[i].provider_id, provider_id) == 0) {
            b->unpaid[i].orders++;
            return 0;
        }
    }
    if (cw_grow((void **)&b->unpaid, &b->unpaid_cap, b->unpaid_count, sizeof(*b->unpaid), 16) != 0)
        return -1;
    pay_unpaid *u = &b->unpaid[b->unpaid_count++];
    snprintf(u->provider_id, sizeof(u->provider_id), "%s", provider_id);
    u->orders = 1;
    return 0;
}

static int on_contract(void *user_data, const rd_kafka_message_t *m)
{
    batch *b = user_data;
    pay_contract c;
    char reason[256];
    if (cw_shutdown_requested())
        return -1;
    if (pay_read_contract(m->payload, m->len, &c, reason, sizeof(reason)) != 0) {
        b->bad_records++;
        cw_log_warn("contract record skipped", "reason", reason, NULL);
        return 0;
    }
    if (pay_state_put_contract(b->st, &c, &b->discard) == PAY_RECORD_NOMEM) {
        b->failed = 1;
        return -1;
    }
    pay_output_clear(&b->discard);
    return 0;
}

static int on_order(void *user_data, const rd_kafka_message_t *m)
{
    batch *b = user_data;
    avro_value_t value;
    pay_order o;
    char reason[256];
    if (cw_shutdown_requested())
        return -1;
    if (pay_read_order(m->payload, m->len, &value, &o, reason, sizeof(reason)) != 0) {
        b->bad_records++;
        cw_log_warn("order record skipped", "reason", reason, NULL);
        return 0;
    }
    if (o.finalized_at > b->max_event)
        b->max_event = o.finalized_at;
    int rc = 0;
    switch (pay_state_add_order(b->st, &o, reason, sizeof(reason))) {
    case PAY_ORDER_REJECTED:
        cw_log_debug("order not paid", "reason", reason, NULL);
        if (!o.has_corrects && o.service_day >= b->period.first_day &&
            o.service_day <= b->period.last_day && note_unpaid(b, o.provider_id) != 0)
            rc = -1;
        break;
    case PAY_ORDER_ERROR:
        rc = -1;
        break;
    default:
        break;
    }
    avro_value_decref(&value);
    if (rc != 0)
        b->failed = 1;
    return rc;
}

static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Writes text to dir/name through a temporary file and a rename, so a
 * reader never sees half a report. */
static int write_file(const char *dir, const char *name, const pay_text *text)
{
    char path[4096], tmp[4160];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
        snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return -1;
    FILE *f = fopen(tmp, "wb");
    if (f == NULL)
        return -1;
    int ok = fwrite(text->data, 1, text->len, f) == text->len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

typedef int (*render_fn)(const pay_report *r, pay_text *out);

static int write_report(const pay_report *r, const char *dir)
{
    static const struct {
        const char *prefix, *suffix;
        render_fn render;
    } files[] = {
        {"payments-", ".csv", pay_report_totals_csv},
        {"payments-", ".html", pay_report_html},
        {"statements-", ".csv", pay_report_statements_csv},
        {"instructions-", ".csv", pay_report_instructions_csv},
    };
    if (make_dirs(dir) != 0) {
        cw_log_error("cannot create the report directory", "dir", dir, "error", strerror(errno),
                     NULL);
        return -1;
    }
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char name[128];
        pay_text text = {0};
        snprintf(name, sizeof(name), "%s%s%s", files[i].prefix, r->period.label, files[i].suffix);
        int rc = files[i].render(r, &text);
        if (rc == 0)
            rc = write_file(dir, name, &text);
        pay_text_free(&text);
        if (rc != 0) {
            cw_log_error("cannot write the report", "dir", dir, "file", name, NULL);
            return -1;
        }
        printf("wrote %s/%s\n", dir, name);
    }
    return 0;
}

static void print_summary(const pay_report *r)
{
    size_t contracts = 0, statements = 0;
    for (size_t i = 0; i < pay_state_account_count(r->state); i++) {
        const pay_account *a = pay_state_account(r->state, i);
        if (a->contract == NULL || !pay_period_holds(&r->period, a->contract))
            continue;
        contracts++;
        statements += a->statement_count;
        size_t n = 2 + a->correction_count;
        for (size_t k = 0; k < n; k++) {
            const pay_instruction *in = k == 0   ? (a->has_prepay ? &a->prepay : NULL)
                                        : k == 1 ? (a->settled ? &a->settlement : NULL)
                                                 : &a->corrections[k - 2];
            char id[PAY_INSTRUCTION_ID_MAX];
            if (in == NULL || pay_instruction_record_id(in, id, sizeof(id)) != 0)
                continue;
            printf("instruction %s %s %lld\n", id, cw_payment_kind_name(in->kind),
                   (long long)in->amount_cents);
        }
    }
    char wm[40] = "none";
    if (r->watermark != INT64_MIN)
        cw_time_format_rfc3339(r->watermark, pay_state_utc_offset(r->state), wm, sizeof(wm));
    printf("payment run %s: %zu contracts, %zu statements, watermark %s\n", r->period.label,
           contracts, statements, wm);
}

int pay_batch_run(const cw_config *cfg, const char *period, const char *out_dir)
{
    batch b;
    char err[512];
    memset(&b, 0, sizeof(b));
    if (pay_period_parse(period, &b.period) != 0) {
        fprintf(stderr, "carewatch-payment-scheduler: --run wants YYYY-MM or "
                        "YYYY-MM-DD..YYYY-MM-DD, not '%s'\n", period);
        return 2;
    }
    pay_settings_load(cfg, &b.set);
    b.st = pay_state_new(b.set.utc_offset_minutes);
    if (b.st == NULL)
        return 1;
    b.max_event = INT64_MIN;
    int rc = 1;
    long contracts = cw_kafka_read_topic(cfg, CW_TOPIC_CONTRACTS, on_contract, &b, err,
                                         sizeof(err));
    if (contracts < 0 || b.failed) {
        cw_log_error("cannot read the contracts", "error", err, NULL);
        goto out;
    }
    long orders = cw_kafka_read_topic(cfg, CW_TOPIC_ORDERS_FINALIZED, on_order, &b, err, sizeof(err));
    if (orders < 0 || b.failed) {
        cw_log_error("cannot read the finalized orders", "error", err, NULL);
        goto out;
    }
    pay_partition_clock clock = {.max_event_ms = b.max_event, .caught_up = 1};
    int64_t now = cw_now_ms();
    int64_t wm = pay_watermark(&clock, 1, now, b.set.live, b.set.lateness_ms);
    if (pay_state_advance(b.st, wm, &b.discard) != 0) {
        cw_log_error("payment run failed: amounts overflow", NULL);
        goto out;
    }
    char n_contracts[24], n_orders[24], n_bad[24];
    snprintf(n_contracts, sizeof(n_contracts), "%ld", contracts);
    snprintf(n_orders, sizeof(n_orders), "%ld", orders);
    snprintf(n_bad, sizeof(n_bad), "%ld", b.bad_records);
    cw_log_info("payment run read the streams", "contract_records", n_contracts,
                "order_records", n_orders, "skipped_records", n_bad, NULL);
    pay_report report = {.state = b.st, .period = b.period, .watermark = wm,
                         .generated_at = now, .unpaid = b.unpaid,
                         .unpaid_count = b.unpaid_count};
    if (write_report(&report, out_dir) == 0) {
        print_summary(&report);
        rc = 0;
    }
out:
    pay_output_free(&b.discard);
    pay_state_free(b.st);
    free(b.unpaid);
    return rc;
}
