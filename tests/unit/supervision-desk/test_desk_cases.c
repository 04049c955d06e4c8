/* The supervision desk's pure parts: the case book (the fold of case
 * events), the case rules (alerts, deadlines, escalation, deeds, who may
 * see and act), the CaseEvent record round trip and the other records
 * read into the books, the call-back draw and the event clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "ledger-writer/finalized_record.h"
#include "supervision-desk/callback_rules.h"
#include "supervision-desk/case_book.h"
#include "supervision-desk/case_record.h"
#include "supervision-desk/case_rules.h"
#include "supervision-desk/desk_clock.h"
#include "supervision-desk/desk_ops.h"

#define MIN 60000LL
#define T0 1717372800000LL /* 2024-06-03 08:00 UTC+8 */

static const desk_deadlines deadlines = {{4320 * MIN, 1440 * MIN, 60 * MIN}};

static desk_case_subject subject(const char *order, const char *street)
{
    desk_case_subject s;
    memset(&s, 0, sizeof(s));
    snprintf(s.order_id, sizeof(s.order_id), "%s", order);
    snprintf(s.street_id, sizeof(s.street_id), "%s", street);
    snprintf(s.community_id, sizeof(s.community_id), "%s-C1", street);
    snprintf(s.provider_id, sizeof(s.provider_id), "P01");
    snprintf(s.caregiver_id, sizeof(s.caregiver_id), "CG1");
    snprintf(s.elder_id, sizeof(s.elder_id), "E1");
    return s;
}

static desk_case_alert alert(const char *order, const char *rule, cw_case_colour colour, int64_t at)
{
    desk_case_alert a;
    memset(&a, 0, sizeof(a));
    snprintf(a.alert_id, sizeof(a.alert_id), "%s:%s", order, rule);
    snprintf(a.rule, sizeof(a.rule), "%s", rule);
    a.colour = colour;
    a.has_measured = 1;
    a.measured = 412.5;
    a.at = at;
    a.message_zh = (char *)"打卡位置偏离";
    a.message_en = (char *)"check-in away from home";
    return a;
}

/* Makes the alert's event and applies it; returns the case. */
static desk_case *take_alert(desk_case_book *b, const char *order, const char *street,
                             const char *rule, cw_case_colour colour, int64_t at)
{
    desk_case_alert a = alert(order, rule, colour, at);
    desk_case_subject s = subject(order, street);
    desk_case_event ev;
    assert_int_equal(desk_rules_from_alert(b, &a, &s, &deadlines, 1, &ev), 1);
    assert_int_equal(desk_case_book_apply(b, &ev), 1);
    desk_case_event_clear(&ev);
    char id[DESK_CASE_ID_MAX];
    cw_case_kind kind;
    desk_rules_case_id(rule, &s, id, sizeof(id), &kind);
    return desk_case_book_find(b, id);
}

static cw_role role(cw_role_kind kind, const char *street)
{
    cw_role r;
    memset(&r, 0, sizeof(r));
    r.kind = kind;
    snprintf(r.street_id, sizeof(r.street_id), "%s", street ? street : "");
    snprintf(r.label, sizeof(r.label), "%s", street ? street : "someone");
    return r;
}

static void an_alert_opens_a_case_and_a_redder_one_brings_its_deadline_forward(void **state)
{
    (void)state;
    desk_case_book b;
    desk_case_book_init(&b);
    desk_case *c = take_alert(&b, "O1", "S01", "SHORT_DURATION", CW_CASE_COLOUR_YELLOW, T0);
    assert_non_null(c);
    assert_int_equal(c->status, CW_CASE_STATUS_OPEN);
    assert_int_equal(c->colour, CW_CASE_COLOUR_YELLOW);
    assert_int_equal(c->deadline, T0 + 4320 * MIN);
    assert_int_equal(c->events[0].action, CW_CASE_ACTION_OPENED);
    c = take_alert(&b, "O1", "S01", "GEO_DISTANCE", CW_CASE_COLOUR_RED, T0 + 10 * MIN);
    assert_int_equal(c->colour, CW_CASE_COLOUR_RED);
    assert_int_equal(c->deadline, T0 + 70 * MIN);
    assert_int_equal(c->events[1].action, CW_CASE_ACTION_ALERT_ADDED);
    assert_string_equal(c->events[1].event_id, "O1:2");
    /* A yellow one later cannot push it back. */
    c = take_alert(&b, "O1", "S01", "LATE_SUBMISSION", CW_CASE_COLOUR_YELLOW, T0 + 20 * MIN);
    assert_int_equal(c->deadline, T0 + 70 * MIN);
    assert_int_equal(c->colour, CW_CASE_COLOUR_RED);
    /* The same alert again makes nothing. */
    desk_case_alert a = alert("O1", "GEO_DISTANCE", CW_CASE_COLOUR_RED, T0 + 10 * MIN);
    desk_case_subject s = subject("O1", "S01");
    desk_case_event ev;
    assert_int_equal(desk_rules_from_alert(&b, &a, &s, &deadlines, 1, &ev), 0);
    desk_case_book_free(&b);
}

static void a_freeze_is_the_caregivers_case(void **state)
{
    (void)state;
    desk_case_book b;
    desk_case_book_init(&b);
    desk_case *c = take_alert(&b, "O7", "S01", "CAREGIVER_FROZEN", CW_CASE_COLOUR_RED, T0);
    assert_string_equal(c->id, "freeze:S01:CG1");
    assert_int_equal(c->kind, CW_CASE_KIND_FREEZE);
    desk_case_book_free(&b);
}

static void escalation_is_strictly_after_the_deadline(void **state)
{
    (void)state;
    desk_case_book b;
    desk_case_book_init(&b);
    desk_case *c = take_alert(&b, "O1", "S01", "GEO_DISTANCE", CW_CASE_COLOUR_RED, T0);
    desk_case *due[4];
    assert_int_equal(desk_rules_due(&b, T0 + 60 * MIN, due, 4), 0);
    assert_int_equal(desk_rules_due(&b, T0 + 60 * MIN + 1, due, 4), 1);
    desk_case_event ev;
    assert_int_equal(desk_rules_escalation(due[0], 5, &ev), 0);
    assert_int_equal(ev.at, T0 + 60 * MIN); /* the deadline, not the clock */
    assert_int_equal(ev.status, CW_CASE_STATUS_ESCALATED);
    assert_int_equal(ev.has_deadline, 0);
    assert_int_equal(desk_case_book_apply(&b, &ev), 1);
    desk_case_event_clear(&ev);
    assert_int_equal(c->status, CW_CASE_STATUS_ESCALATED);
    assert_int_equal(desk_rules_due(&b, T0 + 600 * MIN, due, 4), 0);
    desk_case_book_free(&b);
}

static void an_acknowledged_case_does_not_escalate(void **state)
{
    (void)state;
    desk_case_book b;
    desk_case_book_init(&b);
    desk_case *c = take_alert(&b, "O1", "S01", "GEO_DISTANCE", CW_CASE_COLOUR_RED, T0);
    cw_role street = role(CW_ROLE_STREET, "S01");
    desk_case_event ev;
    const char *why = NULL;
    assert_int_equal(desk_rules_deed(c, DESK_DEED_ACKNOWLEDGE, NULL, &street, "on it", T0 + 5 * MIN,
                                     9, &ev, &why),
                     0);
    assert_string_equal(ev.actor, "S01");
    assert_string_equal(ev.actor_role, "street");
    assert_string_equal(ev.note, "on it");
    assert_int_equal(desk_case_book_apply(&b, &ev), 1);
    desk_case_event_clear(&ev);
    desk_case *due[4];
    assert_int_equal(desk_rules_due(&b, T0 + 600 * MIN, due, 4), 0);
    /* Acknowledged twice: 409. Resolve without a resolution: 400. */
    assert_int_equal(desk_rules_deed(c, DESK_DEED_ACKNOWLEDGE, NULL, &street, "", T0, 9, &ev, &why),
                     409);
    assert_int_equal(desk_rules_deed(c, DESK_DEED_RESOLVE, NULL, &street, "", T0, 9, &ev, &why),
                     400);
    assert_int_equal(desk_rules_deed(c, DESK_DEED_RESOLVE,
                                     &(cw_case_resolution){CW_CASE_RESOLUTION_FALSE_ALARM}, &street,
                                     "ok", T0, 9, &ev, &why),
                     0);
    /* A person's event is never before what the case holds already. */
    assert_true(ev.at >= T0 + 5 * MIN);
    assert_int_equal(desk_case_book_apply(&b, &ev), 1);
    desk_case_event_clear(&ev);
    assert_int_equal(c->status, CW_CASE_STATUS_RESOLVED);
    assert_int_equal(c->resolution, CW_CASE_RESOLUTION_FALSE_ALARM);
    /* A new alert reopens it. */
    c = take_alert(&b, "O1", "S01", "NO_CHECKOUT", CW_CASE_COLOUR_ORANGE, T0 + 100 * MIN);
    assert_int_equal(c->status, CW_CASE_STATUS_OPEN);
    assert_int_equal(c->events[c->event_count - 1].action, CW_CASE_ACTION_REOPENED);
    assert_int_equal(c->deadline, T0 + 100 * MIN + 1440 * MIN);
    desk_case_book_free(&b);
}

static void who_may_see_and_act(void **state)
{
    (void)state;
    desk_case_book b;
    desk_case_book_init(&b);
    desk_case *red = take_alert(&b, "O1", "S01", "GEO_DISTANCE", CW_CASE_COLOUR_RED, T0);
    desk_case *yellow = take_alert(&b, "O2", "S02", "SHORT_DURATION", CW_CASE_COLOUR_YELLOW, T0);
    cw_role s01 = role(CW_ROLE_STREET, "S01"), s02 = role(CW_ROLE_STREET, "S02");
    cw_role command = role(CW_ROLE_COMMAND, NULL), admin = role(CW_ROLE_ADMIN, NULL);
    cw_role provider = role(CW_ROLE_PROVIDER, NULL);
    assert_true(desk_rules_may_read(red, &s01));
    assert_false(desk_rules_may_read(red, &s02));
    assert_false(desk_rules_may_read(red, &provider));
    assert_true(desk_rules_may_read(yellow, &command));
    assert_true(desk_rules_may_act(red, &command));
    assert_false(desk_rules_may_act(yellow, &command));
    assert_true(desk_rules_may_act(yellow, &admin));
    assert_true(desk_rules_may_act(yellow, &s02));
    desk_case_book_free(&b);
}

static void the_fold_skips_repeats_and_refuses_gaps(void **state)
{
    (void)state;
    desk_case_book b;
    desk_case_book_init(&b);
    desk_case_alert a = alert("O1", "GEO_DISTANCE", CW_CASE_COLOUR_RED, T0);
    desk_case_subject s = subject("O1", "S01");
    desk_case_event ev;
    assert_int_equal(desk_rules_from_alert(&b, &a, &s, &deadlines, 1, &ev), 1);
    assert_int_equal(desk_case_book_apply(&b, &ev), 1);
    assert_int_equal(desk_case_book_apply(&b, &ev), 0);
    ev.seq = 3;
    assert_int_equal(desk_case_book_apply(&b, &ev), -1);
    desk_case_event_clear(&ev);
    assert_int_equal(desk_case_book_next_seq(&b, "O1"), 2);
    assert_int_equal(desk_case_book_next_seq(&b, "O9"), 1);
    desk_case_book_free(&b);
}

static void callbacks_and_complaints(void **state)
{
    (void)state;
    desk_case_book b;
    desk_case_book_init(&b);
    desk_case_subject s = subject("O5", "S01");
    cw_role s01 = role(CW_ROLE_STREET, "S01");
    desk_case_event ev;
    /* A confirmed call-back makes no case. */
    assert_int_equal(desk_rules_callback(&b, &s, CW_CALLBACK_RESULT_CONFIRMED, &s01, "yes",
                                         &deadlines, T0, 1, &ev),
                     0);
    assert_int_equal(desk_case_book_apply(&b, &ev), 1);
    desk_case_event_clear(&ev);
    desk_case *c = desk_case_book_find(&b, "O5");
    assert_false(c->visible);
    assert_false(desk_rules_may_read(c, &s01));
    /* A denied one opens it red. */
    assert_int_equal(desk_rules_callback(&b, &s, CW_CALLBACK_RESULT_DENIED, &s01, "no one came",
                                         &deadlines, T0 + MIN, 1, &ev),
                     0);
    assert_int_equal(ev.seq, 2);
    assert_int_equal(desk_case_book_apply(&b, &ev), 1);
    desk_case_event_clear(&ev);
    assert_true(c->visible && c->denied);
    assert_int_equal(c->colour, CW_CASE_COLOUR_RED);
    assert_int_equal(c->deadline, T0 + MIN + 60 * MIN);
    const char *why;
    assert_int_equal(desk_rules_deed(c, DESK_DEED_RESOLVE,
                                     &(cw_case_resolution){CW_CASE_RESOLUTION_CONFIRMED}, &s01,
                                     "confirmed", T0 + 2 * MIN, 1, &ev, &why),
                     0);
    assert_true(desk_rules_confirms_denial(c, &ev));
    desk_case_event_clear(&ev);
    assert_int_equal(desk_rules_deed(c, DESK_DEED_RESOLVE,
                                     &(cw_case_resolution){CW_CASE_RESOLUTION_FALSE_ALARM}, &s01,
                                     "", T0, 1, &ev, &why),
                     0);
    assert_false(desk_rules_confirms_denial(c, &ev));
    desk_case_event_clear(&ev);
    /* Complaints with no order get cases of their own, numbered. */
    desk_case_subject e = subject("", "S01");
    for (int i = 1; i <= 2; i++) {
        assert_int_equal(
            desk_rules_complaint(&b, &e, "hotline", "late again", &s01, &deadlines, T0, 1, &ev), 0);
        assert_string_equal(ev.case_id, i == 1 ? "complaint:E1:1" : "complaint:E1:2");
        assert_int_equal(ev.colour, CW_CASE_COLOUR_ORANGE);
        assert_int_equal(desk_case_book_apply(&b, &ev), 1);
        desk_case_event_clear(&ev);
    }
    desk_case_book_free(&b);
}

/* Encodes and decodes ev; the copy must equal it field by field. */
static void assert_round_trip(const desk_case_event *ev)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256];
    desk_case_event back;
    if (desk_record_encode(ev, &buf, &len, err, sizeof(err)) != 0)
        fail_msg("encode: %s", err);
    if (desk_record_decode(buf, len, &back, err, sizeof(err)) != 0)
        fail_msg("decode: %s", err);
    free(buf);
    assert_string_equal(back.event_id, ev->event_id);
    assert_string_equal(back.case_id, ev->case_id);
    assert_int_equal(back.seq, ev->seq);
    assert_int_equal(back.kind, ev->kind);
    assert_int_equal(back.action, ev->action);
    assert_int_equal(back.status, ev->status);
    assert_int_equal(back.has_resolution, ev->has_resolution);
    if (ev->has_resolution)
        assert_int_equal(back.resolution, ev->resolution);
    assert_int_equal(back.colour, ev->colour);
    assert_int_equal(back.has_deadline, ev->has_deadline);
    if (ev->has_deadline)
        assert_int_equal(back.deadline, ev->deadline);
    assert_string_equal(back.actor, ev->actor);
    assert_string_equal(back.actor_role, ev->actor_role);
    assert_string_equal(back.note, ev->note);
    assert_int_equal(back.at, ev->at);
    assert_int_equal(back.recorded_at, ev->recorded_at);
    assert_memory_equal(&back.subject, &ev->subject, sizeof(ev->subject));
    assert_int_equal(back.has_alert, ev->has_alert);
    if (ev->has_alert) {
        assert_string_equal(back.alert.alert_id, ev->alert.alert_id);
        assert_string_equal(back.alert.message_zh, ev->alert.message_zh);
        assert_true(back.alert.measured == ev->alert.measured);
        assert_int_equal(back.alert.has_threshold, 0);
    }
    assert_int_equal(back.has_callback, ev->has_callback);
    if (ev->has_callback)
        assert_int_equal(back.callback, ev->callback);
    assert_string_equal(back.channel, ev->channel);
    desk_case_event_clear(&back);
}

static void case_events_round_trip(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(cw_avro_init(err, sizeof(err)), 0);
    desk_case_book b;
    desk_case_book_init(&b);
    desk_case_alert a = alert("O1", "GEO_DISTANCE", CW_CASE_COLOUR_RED, T0);
    desk_case_subject s = subject("O1", "S01");
    cw_role s01 = role(CW_ROLE_STREET, "S01");
    desk_case_event ev;
    const char *why;
    assert_int_equal(desk_rules_from_alert(&b, &a, &s, &deadlines, 7, &ev), 1);
    assert_round_trip(&ev);
    assert_int_equal(desk_case_book_apply(&b, &ev), 1);
    desk_case_event_clear(&ev);
    desk_case *c = desk_case_book_find(&b, "O1");
    assert_int_equal(desk_rules_deed(c, DESK_DEED_RESOLVE,
                                     &(cw_case_resolution){CW_CASE_RESOLUTION_EVIDENCE_ACCEPTED},
                                     &s01, "photo and recording shown", T0, 8, &ev, &why),
                     0);
    assert_round_trip(&ev);
    desk_case_event_clear(&ev);
    assert_int_equal(desk_rules_callback(&b, &s, CW_CALLBACK_RESULT_UNREACHABLE, &s01, "",
                                         &deadlines, T0, 9, &ev),
                     0);
    assert_round_trip(&ev);
    desk_case_event_clear(&ev);
    desk_case_subject e = subject("", "S01");
    assert_int_equal(desk_rules_complaint(&b, &e, "family", "不满意", &s01, &deadlines, T0, 9, &ev),
                     0);
    assert_round_trip(&ev);
    /* Another record type, or garbage, is refused with a reason. */
    uint8_t junk[12] = {0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0};
    desk_case_event back;
    assert_int_equal(desk_record_decode(junk, sizeof(junk), &back, err, sizeof(err)), -1);
    assert_true(err[0] != '\0');
    desk_case_event_clear(&ev);
    desk_case_book_free(&b);
    cw_avro_shutdown();
    (void)why;
}

static desk_order order(const char *id, const char *caregiver, const char *day,
                        cw_order_status status)
{
    desk_order o;
    memset(&o, 0, sizeof(o));
    snprintf(o.subject.order_id, sizeof(o.subject.order_id), "%s", id);
    snprintf(o.subject.caregiver_id, sizeof(o.subject.caregiver_id), "%s", caregiver);
    snprintf(o.service_day, sizeof(o.service_day), "%s", day);
    o.status = status;
    return o;
}

static void the_call_back_draw(void **state)
{
    (void)state;
    assert_int_equal(desk_callback_week("2024-06-03"),
                     desk_callback_week("2024-06-09")); /* Mon..Sun */
    assert_int_not_equal(desk_callback_week("2024-06-09"), desk_callback_week("2024-06-10"));
    assert_int_equal(desk_callback_week("2024-13-01"), -1);
    double d = desk_callback_draw(1, "O1");
    assert_true(d >= 0 && d < 1);
    assert_true(d == desk_callback_draw(1, "O1"));
    assert_true(d != desk_callback_draw(2, "O1"));
    /* 2,000 orders of 100 caregivers in one week: about 5 % drawn, at least
     * one per caregiver, never an invalid one. */
    enum { N = 2000 };
    desk_order *orders = calloc(N, sizeof(*orders));
    unsigned char *picked = calloc(N, 1);
    assert_non_null(orders);
    assert_non_null(picked);
    for (int i = 0; i < N; i++) {
        char id[32], cg[32];
        snprintf(id, sizeof(id), "O%d", i);
        snprintf(cg, sizeof(cg), "CG%d", i % 100);
        orders[i] = order(id, cg, i % 2 ? "2024-06-04" : "2024-06-06",
                          i % 10 ? CW_ORDER_STATUS_VALID : CW_ORDER_STATUS_INVALID);
    }
    desk_callback_sample(orders, N, 1, 0.05, picked);
    int drawn = 0, per_caregiver[100] = {0};
    for (int i = 0; i < N; i++) {
        if (!picked[i])
            continue;
        drawn++;
        assert_int_equal(orders[i].status, CW_ORDER_STATUS_VALID);
        per_caregiver[i % 100]++;
    }
    for (int c = 0; c < 100; c++) /* c % 10 == 0: only invalid orders, none to call */
        assert_true(c % 10 == 0 ? per_caregiver[c] == 0 : per_caregiver[c] >= 1);
    assert_true(drawn >= 100 && drawn < 250);
    /* The same orders in another order: the same draw. */
    unsigned char *again = calloc(N, 1);
    desk_order *reversed = calloc(N, sizeof(*reversed));
    for (int i = 0; i < N; i++)
        reversed[i] = orders[N - 1 - i];
    desk_callback_sample(reversed, N, 1, 0.05, again);
    for (int i = 0; i < N; i++)
        assert_int_equal(again[N - 1 - i], picked[i]);
    free(orders);
    free(picked);
    free(again);
    free(reversed);
}

static void the_event_clock(void **state)
{
    (void)state;
    desk_clock k;
    assert_int_equal(desk_clock_init(&k, 3, 2 * MIN, 1000), 0);
    assert_true(desk_clock_watermark(&k, 0) == INT64_MIN);
    desk_clock_read(&k, 0, 0, T0 + 10 * MIN, 100);
    desk_clock_read(&k, 1, 0, T0, 100);
    /* Partition 2 has not been read and its end is unknown: it holds. */
    assert_true(desk_clock_watermark(&k, 200) == INT64_MIN);
    desk_clock_set_ends(&k, 2, 0, 0);
    assert_int_equal(desk_clock_watermark(&k, 200), T0 - 2 * MIN);
    /* Partition 1 at its end and quiet: it follows the others. */
    desk_clock_set_ends(&k, 1, 1, 1);
    assert_int_equal(desk_clock_watermark(&k, 500), T0 - 2 * MIN);
    assert_int_equal(desk_clock_watermark(&k, 1100), T0 + 10 * MIN - 2 * MIN);
    /* A verdict on an order (no event time) moves the position, not the
     * clock. */
    desk_clock_read(&k, 0, 1, INT64_MIN, 1100);
    assert_int_equal(k.clock[0], T0 + 10 * MIN);
    assert_int_equal(k.position[0], 2);
    /* More on partition 1: it holds the watermark again. */
    desk_clock_set_ends(&k, 1, -1, 5);
    assert_int_equal(desk_clock_watermark(&k, 5000), T0 - 2 * MIN);
    assert_int_equal(desk_clock_init(&k, DESK_CLOCK_MAX_PARTITIONS + 1, 0, 0), -1);
}

/* Encodes rec (schema name) through its generated writer. malloc'd. */
static uint8_t *encoded(const char *name, int (*write)(avro_value_t *, const void *),
                        const void *rec, size_t *len)
{
    const cw_avro_schema *s = cw_avro_schema_by_name(name);
    avro_value_t v;
    uint8_t *bytes = NULL;
    char err[256];
    assert_non_null(s);
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    assert_int_equal(write(&v, rec), 0);
    assert_int_equal(cw_avro_encode(&v, s, &bytes, len, err, sizeof(err)), 0);
    avro_value_decref(&v);
    return bytes;
}

static int write_alert(avro_value_t *v, const void *rec)
{
    return cw_alert_write(v, rec);
}

static int write_change(avro_value_t *v, const void *rec)
{
    return cw_order_change_write(v, rec);
}

/* The records the desk keeps read into its own structs, their enums the
 * generated ones; the list filters' names. */
static void records_read_into_the_books(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(cw_avro_init(err, sizeof(err)), 0);
    size_t len;

    const cw_alert a = {.alert_id = "O1:SHORT_DURATION",
                        .order_id = "O1",
                        .rule = "SHORT_DURATION",
                        .colour = CW_COLOUR_ORANGE,
                        .street_id = "S01",
                        .community_id = "C1",
                        .provider_id = "P01",
                        .caregiver_id = "CG01",
                        .elder_id = "E001",
                        .has_measured = 1,
                        .measured = 40,
                        .at = T0,
                        .raised_at = T0 + 1,
                        .message_zh = "短",
                        .message_en = "short"};
    uint8_t *bytes = encoded("Alert", write_alert, &a, &len);
    desk_case_alert al;
    desk_case_subject s;
    char *zh = NULL, *en = NULL;
    assert_int_equal(desk_record_decode_alert(bytes, len, &al, &s, &zh, &en, err, sizeof(err)), 0);
    assert_int_equal(al.colour, CW_CASE_COLOUR_ORANGE);
    assert_string_equal(al.rule, "SHORT_DURATION");
    assert_true(al.has_measured && !al.has_threshold);
    assert_string_equal(s.order_id, "O1");
    assert_string_equal(s.community_id, "C1");
    assert_string_equal(en, "short");
    free(zh);
    free(en);
    /* Another record where an Alert is expected. */
    desk_order o;
    assert_int_equal(desk_record_decode_finalized(bytes, len, &o, err, sizeof(err)), -1);
    free(bytes);

    const char *reasons[] = {"EVIDENCE_EXPIRED", "SHORT_DURATION"};
    ledger_finalized_order f = {.order_id = "O1",
                                .provider_id = "P01",
                                .caregiver_id = "CG01",
                                .elder_id = "E001",
                                .street_id = "S01",
                                .service_day = 19849,
                                .status = LEDGER_FIN_INVALID,
                                .reasons = reasons,
                                .reason_count = 2,
                                .has_in = 1,
                                .in_at = T0,
                                .finalized_at = T0 + 24 * 60 * MIN,
                                .ledger_index = 3};
    assert_int_equal(ledger_finalized_encode(&f, &bytes, &len, err, sizeof(err)), 0);
    assert_int_equal(desk_record_decode_finalized(bytes, len, &o, err, sizeof(err)), 0);
    assert_int_equal(o.status, CW_ORDER_STATUS_INVALID);
    assert_string_equal(o.service_day, "2024-05-06");
    assert_string_equal(o.reasons, "EVIDENCE_EXPIRED,SHORT_DURATION");
    assert_true(o.has_check_in && !o.has_duration);
    assert_int_equal(o.check_out_at, 0);
    assert_int_equal(o.corrects_index, -1);
    free(bytes);

    const cw_order_change c = {.change_id = "CH1",
                               .order_id = "O1",
                               .provider_id = "P01",
                               .street_id = "S01",
                               .kind = CW_ORDER_CHANGE_KIND_RESCHEDULE,
                               .reason_code = "ELDER_REQUEST",
                               .requested_at = T0,
                               .requested_by = "provider:P01",
                               .scheduled_start = T0 + 24 * 60 * MIN,
                               .caregiver_id = "CG01",
                               .state = CW_ORDER_CHANGE_STATE_PENDING,
                               .has_new_scheduled_start = 1,
                               .new_scheduled_start = T0 + 48 * 60 * MIN};
    bytes = encoded("OrderChange", write_change, &c, &len);
    desk_change dc;
    assert_int_equal(desk_record_decode_change(bytes, len, &dc, err, sizeof(err)), 0);
    assert_int_equal(dc.kind, CW_ORDER_CHANGE_KIND_RESCHEDULE);
    assert_int_equal(dc.state, CW_ORDER_CHANGE_STATE_PENDING);
    assert_true(dc.has_new_start);
    assert_string_equal(dc.approved_by, "");
    free(bytes);

    assert_int_equal(desk_filter_status("ESCALATED"), CW_CASE_STATUS_ESCALATED);
    assert_int_equal(desk_filter_status("CLOSED"), -1);
    assert_int_equal(desk_filter_colour("RED"), CW_CASE_COLOUR_RED);
    assert_int_equal(desk_filter_colour(NULL), -1);
    assert_int_equal(desk_filter_kind("FREEZE"), CW_CASE_KIND_FREEZE);
    cw_avro_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_alert_opens_a_case_and_a_redder_one_brings_its_deadline_forward),
        cmocka_unit_test(a_freeze_is_the_caregivers_case),
        cmocka_unit_test(escalation_is_strictly_after_the_deadline),
        cmocka_unit_test(an_acknowledged_case_does_not_escalate),
        cmocka_unit_test(who_may_see_and_act),
        cmocka_unit_test(the_fold_skips_repeats_and_refuses_gaps),
        cmocka_unit_test(callbacks_and_complaints),
        cmocka_unit_test(case_events_round_trip),
        cmocka_unit_test(the_call_back_draw),
        cmocka_unit_test(the_event_clock),
        cmocka_unit_test(records_read_into_the_books),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
