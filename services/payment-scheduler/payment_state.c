#include "payment-scheduler/payment_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "id_set.h"
#include "timeutil.h"

typedef struct {
    int64_t service_day;
    int64_t finalized_at;
    int valid;
} pending_order;

typedef enum {
    FIX_STATEMENT = 0, /* waits for a statement (or a historical close) */
    FIX_LATE,          /* after the settlement instant: waits for its instruction */
    FIX_DONE           /* counted, instructed, or moved nothing */
} fix_state;

/* A correction of an order of the account (payment_state.h, Corrections). */
typedef struct {
    char correction_id[PAY_CORRECTION_ID_MAX + 1];
    int64_t service_day, finalized_at, ledger_index;
    int32_t valid, invalid; /* the change of the counts */
    fix_state state;
    int published; /* restart: its instruction is on the topic */
} fix;

/* One contract's account. view comes first: pointers to it are handed out
 * as const pay_account *. */
typedef struct {
    pay_account view;
    char id[PAY_ID_MAX + 1];
    pay_contract contract;
    int known;
    pay_statement *statements; /* by service day */
    size_t statement_count, statement_cap;
    pending_order *pending;
    size_t pending_count, pending_cap;
    int has_prepay, settled;   /* settled: a settlement instruction exists */
    int closed;                /* nothing more to come: settled, or historical closed */
    pay_instruction prepay, settlement;
    int64_t next_day;          /* first day not looked at yet (when known) */
    int64_t last_published;    /* INT64_MIN: none */
    int64_t sum_gross, sum_deduction;
    int64_t published_valid, published_invalid; /* counted by the statements */
    int64_t replayed_valid, replayed_invalid;   /* replay: what they should have counted */
    int64_t carry_valid, carry_invalid;         /* owed to the next statement */
    int64_t hist_valid, hist_invalid;           /* counted by a historical close */
    int64_t unsettled;
    fix *fixes; /* by finalized_at, ledger index, correction id */
    size_t fix_count, fix_cap;
    pay_instruction *corr_instr; /* the corrections' own instructions */
    size_t corr_instr_count, corr_instr_cap;
    int64_t late_net;                           /* net change the late fixes brought */
    int64_t after_valid, after_invalid;         /* count changes they brought */
    int64_t replayed_neg_valid, replayed_neg_invalid; /* replay: fixes' negative parts */
} account;

struct pay_state {
    int utc_offset;
    account **accounts; /* by id */
    size_t count, cap;
    cw_idset seen;
    /* "<order_id>@<ledger_index>" -> 1 + status (0 VALID, 1 INVALID, 2
     * CANCELLED) of an entry on the books, 0 of one refused: what a
     * correction of it changes. */
    cw_idset entries;
    cw_idset corrections; /* correction ids seen */
    cw_idset instructed;  /* correction ids whose instruction was published */
    pay_months *months; /* UNDER_SERVED; NULL: not judged */
};

/* ---- pay_contract_check, pay_output -------------------------------------- */

int pay_contract_check(const pay_contract *c, char *reason, size_t reason_len)
{
    const char *why = NULL;
    if (c->contract_id[0] == '\0')
        why = "empty contract_id";
    else if (c->provider_id[0] == '\0')
        why = "empty provider_id";
    else if (c->period_end < c->period_start)
        why = "period_end before period_start";
    else if (c->budget_cents < 0 || c->unit_price_cents < 0 || c->invalid_deduction_cents < 0)
        why = "negative amount";
    else if (c->prepay_ratio_ppm < 0 || c->prepay_ratio_ppm > PAY_PPM)
        why = "prepay_ratio_ppm outside 0..1000000";
    else if (c->publication_lag_days < 0 || c->publication_lag_days > 366)
        why = "publication_lag_days outside 0..366";
    else if (c->provider_account[0] != '\0' && !pay_account_ok(c->provider_account))
        why = "provider_account is not 1-64 printable ASCII characters";
    else if (c->treasury_account[0] != '\0' && !pay_account_ok(c->treasury_account))
        why = "treasury_account is not 1-64 printable ASCII characters";
    if (why == NULL)
        return 0;
    snprintf(reason, reason_len, "contract %s: %s", c->contract_id, why);
    return -1;
}

/* Room for one more item in an array of the state (common/grow.h). */
#define GROW(items, cap, count) cw_grow((void **)&(items), &(cap), (count), sizeof(*(items)), 16)

static int out_statement(pay_output *out, const pay_statement *s)
{
    if (GROW(out->statements, out->statement_cap, out->statement_count) != 0)
        return -1;
    out->statements[out->statement_count++] = *s;
    return 0;
}

static int out_instruction(pay_output *out, const pay_instruction *in)
{
    if (GROW(out->instructions, out->instruction_cap, out->instruction_count) != 0)
        return -1;
    out->instructions[out->instruction_count++] = *in;
    return 0;
}

static int out_budget_alert(pay_output *out, const pay_budget_alert *b)
{
    if (GROW(out->budget_alerts, out->budget_alert_cap, out->budget_alert_count) != 0)
        return -1;
    out->budget_alerts[out->budget_alert_count++] = *b;
    return 0;
}

void pay_output_clear(pay_output *out)
{
    out->statement_count = 0;
    out->instruction_count = 0;
    out->budget_alert_count = 0;
    out->month_verdict_count = 0;
}

void pay_output_free(pay_output *out)
{
    free(out->statements);
    free(out->instructions);
    free(out->budget_alerts);
    free(out->month_verdicts);
    memset(out, 0, sizeof(*out));
}

/* ---- accounts ------------------------------------------------------------ */

pay_state *pay_state_new(int utc_offset_minutes)
{
    pay_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->utc_offset = utc_offset_minutes;
    st->months = pay_months_new(utc_offset_minutes, PAY_UNDER_SERVED_LAG_DAYS);
    if (st->months == NULL) {
        free(st);
        return NULL;
    }
    return st;
}

int pay_state_judge_months(pay_state *st, int enabled, int lag_days)
{
    pay_months_free(st->months);
    st->months = enabled ? pay_months_new(st->utc_offset, lag_days) : NULL;
    return enabled && st->months == NULL ? -1 : 0;
}

void pay_state_free(pay_state *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->count; i++) {
        free(st->accounts[i]->statements);
        free(st->accounts[i]->pending);
        free(st->accounts[i]->fixes);
        free(st->accounts[i]->corr_instr);
        free(st->accounts[i]);
    }
    free(st->accounts);
    cw_idset_free(&st->seen);
    cw_idset_free(&st->entries);
    cw_idset_free(&st->corrections);
    cw_idset_free(&st->instructed);
    pay_months_free(st->months);
    free(st);
}

/* Index of id, or where it would go (*found = 0). */
static size_t search(const pay_state *st, const char *id, int *found)
{
    size_t lo = 0, hi = st->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->accounts[mid]->id, id);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static account *find(const pay_state *st, const char *id)
{
    int found;
    size_t i = search(st, id, &found);
    return found ? st->accounts[i] : NULL;
}

/* The account of id, created empty when new; NULL out of memory or for an
 * id that is too long. */
static account *get(pay_state *st, const char *id)
{
    int found;
    size_t i = search(st, id, &found);
    if (found)
        return st->accounts[i];
    if (strlen(id) > PAY_ID_MAX ||
        GROW(st->accounts, st->cap, st->count) != 0)
        return NULL;
    account *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->last_published = INT64_MIN;
    memmove(&st->accounts[i + 1], &st->accounts[i], (st->count - i) * sizeof(*st->accounts));
    st->accounts[i] = a;
    st->count++;
    return a;
}

static int64_t publication(const pay_state *st, const account *a, int64_t day)
{
    return pay_publication_ms(day, a->contract.publication_lag_days, st->utc_offset);
}

static int64_t first_open_day(const account *a)
{
    int64_t day = a->contract.period_start;
    if (a->last_published != INT64_MIN && a->last_published + 1 > day)
        day = a->last_published + 1;
    return day;
}

/* Whether a is settled as a historical period (payment_state.h): a running
 * contract always has its PREPAY before anything else, so an account with a
 * PREPAY or a statement stays running whatever a later version says, and
 * one closed without a PREPAY was historical. */
static int historical(const account *a)
{
    if (a->has_prepay || a->statement_count > 0)
        return 0;
    return a->closed || (a->known && a->contract.historical);
}

/* An instruction of kind under a's contract as held, with its accounts;
 * the amount is the caller's. */
static pay_instruction new_instruction(const account *a, cw_payment_kind kind, int64_t created_at)
{
    const pay_contract *c = &a->contract;
    const char *payer, *payee;
    pay_instruction in;
    memset(&in, 0, sizeof(in));
    snprintf(in.contract_id, sizeof(in.contract_id), "%s", c->contract_id);
    snprintf(in.provider_id, sizeof(in.provider_id), "%s", c->provider_id);
    in.kind = kind;
    in.period_start = c->period_start;
    in.period_end = c->period_end;
    in.created_at = created_at;
    pay_accounts(kind, c->provider_account, c->treasury_account, &payer, &payee);
    snprintf(in.payer_account, sizeof(in.payer_account), "%s", payer);
    snprintf(in.payee_account, sizeof(in.payee_account), "%s", payee);
    return in;
}

/* ---- restore ------------------------------------------------------------- */

static int add_counts(account *a, const pay_statement *s)
{
    int64_t valid = (int64_t)s->valid_orders + s->late_valid_orders;
    int64_t invalid = (int64_t)s->invalid_orders + s->late_invalid_orders;
    if (pay_add_cents(a->sum_gross, s->gross_cents, &a->sum_gross) != 0 ||
        pay_add_cents(a->sum_deduction, s->deduction_cents, &a->sum_deduction) != 0)
        return -1;
    a->published_valid += valid;
    a->published_invalid += invalid;
    if (a->last_published == INT64_MIN || s->service_day > a->last_published)
        a->last_published = s->service_day;
    return 0;
}

/* Inserts s into a's statements by day: TAKEN, IGNORED when that day has
 * one already, or NOMEM. */
static pay_record_result insert_statement(account *a, const pay_statement *s)
{
    size_t i = a->statement_count;
    while (i > 0 && a->statements[i - 1].service_day > s->service_day)
        i--;
    if (i > 0 && a->statements[i - 1].service_day == s->service_day)
        return PAY_RECORD_IGNORED;
    if (GROW(a->statements, a->statement_cap, a->statement_count) != 0)
        return PAY_RECORD_NOMEM;
    memmove(&a->statements[i + 1], &a->statements[i],
            (a->statement_count - i) * sizeof(*s));
    a->statements[i] = *s;
    a->statement_count++;
    return PAY_RECORD_TAKEN;
}

pay_record_result pay_state_restore_statement(pay_state *st, const pay_statement *s)
{
    account *a = get(st, s->contract_id);
    if (a == NULL)
        return PAY_RECORD_NOMEM;
    pay_record_result rc = insert_statement(a, s);
    if (rc != PAY_RECORD_TAKEN)
        return rc;
    /* An overflow of the sums cannot be published: as out of memory. */
    if (add_counts(a, s) != 0)
        return PAY_RECORD_NOMEM;
    if (a->known && a->next_day < first_open_day(a))
        a->next_day = first_open_day(a);
    /* The months judged with or before this statement's transaction. */
    if (st->months != NULL)
        pay_months_judged_through(st->months, s->published_at);
    return PAY_RECORD_TAKEN;
}

static int add_corr_instr(account *a, const pay_instruction *in)
{
    if (GROW(a->corr_instr, a->corr_instr_cap, a->corr_instr_count) != 0)
        return -1;
    a->corr_instr[a->corr_instr_count++] = *in;
    return 0;
}

pay_record_result pay_state_restore_instruction(pay_state *st, const pay_instruction *in)
{
    account *a = get(st, in->contract_id);
    if (a == NULL)
        return PAY_RECORD_NOMEM;
    if (in->correction_id[0] != '\0') {
        /* A correction's own: the correction is done when replayed. */
        int added = cw_idset_add(&st->instructed, in->correction_id, 0);
        if (added <= 0)
            return added < 0 ? PAY_RECORD_NOMEM : PAY_RECORD_IGNORED;
        if (add_corr_instr(a, in) != 0)
            return PAY_RECORD_NOMEM;
        if (st->months != NULL)
            pay_months_judged_through(st->months, in->created_at);
        return PAY_RECORD_TAKEN;
    }
    if (in->kind == CW_PAYMENT_KIND_PREPAY) {
        if (a->has_prepay)
            return PAY_RECORD_IGNORED;
        a->has_prepay = 1;
        a->prepay = *in;
    } else {
        if (a->settled)
            return PAY_RECORD_IGNORED;
        a->settled = 1;
        a->closed = 1;
        a->settlement = *in;
        /* Made when the watermark reached its created_at, in the
         * transaction of the months judged by then. */
        if (st->months != NULL)
            pay_months_judged_through(st->months, in->created_at);
    }
    return PAY_RECORD_TAKEN;
}

/* ---- contracts ----------------------------------------------------------- */

static int same_contract(const pay_contract *x, const pay_contract *y)
{
    return strcmp(x->contract_id, y->contract_id) == 0 &&
           strcmp(x->provider_id, y->provider_id) == 0 && x->period_start == y->period_start &&
           x->period_end == y->period_end && x->budget_cents == y->budget_cents &&
           x->unit_price_cents == y->unit_price_cents &&
           x->invalid_deduction_cents == y->invalid_deduction_cents &&
           x->prepay_ratio_ppm == y->prepay_ratio_ppm &&
           x->publication_lag_days == y->publication_lag_days && x->updated_at == y->updated_at &&
           x->historical == y->historical &&
           strcmp(x->provider_account, y->provider_account) == 0 &&
           strcmp(x->treasury_account, y->treasury_account) == 0;
}

pay_record_result pay_state_put_contract(pay_state *st, const pay_contract *c,
                                         pay_output *out)
{
    account *a = get(st, c->contract_id);
    if (a == NULL)
        return PAY_RECORD_NOMEM;
    if (a->known && (c->updated_at < a->contract.updated_at || same_contract(c, &a->contract)))
        return PAY_RECORD_IGNORED;
    int64_t before = a->known ? a->next_day : INT64_MIN;
    a->contract = *c;
    a->known = 1;
    a->next_day = first_open_day(a);
    if (before > a->next_day)
        a->next_day = before;
    /* A historical period was paid long ago; a closed account gets nothing
     * more. */
    if (a->has_prepay || a->closed || historical(a))
        return PAY_RECORD_TAKEN;
    /* The ratio was checked with the contract (pay_contract_check). */
    pay_instruction in = new_instruction(a, CW_PAYMENT_KIND_PREPAY, c->updated_at);
    if (pay_ratio_cents(c->budget_cents, c->prepay_ratio_ppm, &in.amount_cents) != 0 ||
        out_instruction(out, &in) != 0)
        return PAY_RECORD_NOMEM;
    a->has_prepay = 1;
    a->prepay = in;
    return PAY_RECORD_TAKEN;
}

/* ---- orders -------------------------------------------------------------- */

/* Checks that do not depend on what was counted; NULL when the order can
 * be counted under a. */
static const char *order_problem(const pay_state *st, const account *a, const pay_order *o,
                                 int by_settlement, char *reason, size_t len)
{
    if (!a->known)
        return NULL; /* judged once the contract is known */
    const pay_contract *c = &a->contract;
    char day[16], end[16];
    cw_date_format(o->service_day, day, sizeof(day));
    if (strcmp(o->provider_id, c->provider_id) != 0) {
        snprintf(reason, len, "order %s of provider %s under contract %s of provider %s",
                 o->order_id, o->provider_id, c->contract_id, c->provider_id);
        return reason;
    }
    if (o->service_day < c->period_start || o->service_day > c->period_end) {
        snprintf(reason, len, "order %s: service day %s outside the period of contract %s",
                 o->order_id, day, c->contract_id);
        return reason;
    }
    if (by_settlement && o->finalized_at >= publication(st, a, c->period_end)) {
        cw_date_format(c->period_end, end, sizeof(end));
        snprintf(reason, len,
                 "order %s finalized after the settlement instant of contract %s (period end "
                 "%s)",
                 o->order_id, c->contract_id, end);
        return reason;
    }
    return NULL;
}

/* An order or a correction read after its contract was settled: the
 * settlement cannot take it any more. REJECTED, with the reason. */
static pay_order_result settled_before(const account *a, const pay_order *o, char *reason,
                                       size_t len)
{
    if (o->has_corrects)
        snprintf(reason, len, "correction %s of order %s arrived after contract %s was settled",
                 o->correction_id, o->order_id, a->id);
    else
        snprintf(reason, len, "order %s arrived after contract %s was settled", o->order_id,
                 a->id);
    return PAY_ORDER_REJECTED;
}

/* Replay: whether a published statement counted o (the first on or after
 * its day that was published after it was finalized). */
static int counted_by_a_statement(const account *a, const pay_order *o)
{
    for (size_t i = 0; i < a->statement_count; i++) {
        const pay_statement *s = &a->statements[i];
        if (s->service_day >= o->service_day && s->published_at > o->finalized_at)
            return 1;
    }
    return 0;
}

static int add_pending(account *a, const pay_order *o)
{
    if (GROW(a->pending, a->pending_cap, a->pending_count) != 0)
        return -1;
    a->pending[a->pending_count++] =
        (pending_order){.service_day = o->service_day, .finalized_at = o->finalized_at,
                        .valid = o->valid != 0};
    return 0;
}

static pay_order_result contract_account(pay_state *st, const pay_order *o, int by_settlement,
                                         account **out, char *reason, size_t len);

/* Dedup and the checks common to add and replay; the account in *out, or
 * a result other than PENDING. */
static pay_order_result admit(pay_state *st, const pay_order *o, account **out, char *reason,
                              size_t len)
{
    if (o->order_id == NULL || o->order_id[0] == '\0') {
        snprintf(reason, len, "order without order_id");
        return PAY_ORDER_REJECTED;
    }
    int added = cw_idset_add(&st->seen, o->order_id, 0);
    if (added < 0)
        return PAY_ORDER_ERROR;
    if (added == 0)
        return PAY_ORDER_DUPLICATE;
    /* A visit that could not happen (the elder was in hospital or had
     * died): on no statement, in no settlement or clawback. */
    if (o->cancelled)
        return PAY_ORDER_CANCELLED;
    return contract_account(st, o, 1, out, reason, len);
}

/* The account o is paid under, after the checks of its contract
 * (order_problem); PENDING and *out, or REJECTED or ERROR. */
static pay_order_result contract_account(pay_state *st, const pay_order *o, int by_settlement,
                                         account **out, char *reason, size_t len)
{
    if (o->contract_id == NULL || o->contract_id[0] == '\0') {
        char day[16];
        cw_date_format(o->service_day, day, sizeof(day));
        snprintf(reason, len, "order %s: no contract of provider %s holds service day %s",
                 o->order_id, o->provider_id, day);
        return PAY_ORDER_REJECTED;
    }
    if (strlen(o->contract_id) > PAY_ID_MAX) {
        snprintf(reason, len, "order %s: contract_id longer than %d characters", o->order_id,
                 PAY_ID_MAX);
        return PAY_ORDER_REJECTED;
    }
    account *a = get(st, o->contract_id);
    if (a == NULL)
        return PAY_ORDER_ERROR;
    if (order_problem(st, a, o, by_settlement, reason, len) != NULL)
        return PAY_ORDER_REJECTED;
    *out = a;
    return PAY_ORDER_PENDING;
}

/* An order read and kept (not a duplicate, not refused) counts for its
 * elder's month. */
static pay_order_result note_month(pay_state *st, const pay_order *o, pay_order_result r)
{
    if (st->months == NULL || o->elder_id == NULL ||
        (r != PAY_ORDER_PENDING && r != PAY_ORDER_COUNTED && r != PAY_ORDER_CANCELLED))
        return r;
    pay_month_order m = {.order_id = o->order_id,
                         .elder_id = o->elder_id,
                         .service_day = o->service_day,
                         .valid = o->valid,
                         .has_duration = o->has_duration,
                         .duration_minutes = o->duration_minutes,
                         .visits_per_month = o->visits_per_month,
                         .minutes_per_visit = o->minutes_per_visit,
                         .finalized_at = o->finalized_at};
    return pay_months_note(st->months, &m) == 0 ? r : PAY_ORDER_ERROR;
}

/* ---- corrections ----------------------------------------------------------- */

#define ENTRY_KEY_MAX (PAY_ID_MAX + 32)

/* 0 VALID, 1 INVALID, 2 CANCELLED. */
static int status_code(const pay_order *o)
{
    return o->cancelled ? 2 : o->valid ? 0 : 1;
}

static int entry_key(char *buf, size_t len, const char *order_id, int64_t ledger_index)
{
    int n = snprintf(buf, len, "%s@%lld", order_id, (long long)ledger_index);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Records what a correction of entry o will find: on the books with its
 * status, or refused. */
static pay_order_result note_entry(pay_state *st, const pay_order *o, pay_order_result r)
{
    char key[ENTRY_KEY_MAX];
    if (r == PAY_ORDER_DUPLICATE || r == PAY_ORDER_ERROR ||
        entry_key(key, sizeof(key), o->order_id, o->ledger_index) != 0)
        return r;
    uint64_t v = r == PAY_ORDER_REJECTED ? 0 : (uint64_t)(1 + status_code(o));
    return cw_idset_add(&st->entries, key, v) < 0 ? PAY_ORDER_ERROR : r;
}

/* Dedup, the entry corrected and the contract's checks of a correcting
 * entry: the account in *out and the change of the counts, or a result
 * other than PENDING. */
static pay_order_result admit_correction(pay_state *st, const pay_order *o, account **out,
                                         int32_t *valid, int32_t *invalid, char *reason,
                                         size_t len)
{
    const char *id = o->correction_id;
    if (id == NULL || id[0] == '\0' || strlen(id) > PAY_CORRECTION_ID_MAX) {
        snprintf(reason, len, "order %s: a correcting entry needs a correction_id of 1 to %d "
                 "characters", o->order_id, PAY_CORRECTION_ID_MAX);
        return PAY_ORDER_REJECTED;
    }
    int added = cw_idset_add(&st->corrections, id, 0);
    if (added <= 0)
        return added < 0 ? PAY_ORDER_ERROR : PAY_ORDER_DUPLICATE;
    char key[ENTRY_KEY_MAX];
    uint64_t was;
    if (entry_key(key, sizeof(key), o->order_id, o->corrects_index) != 0 ||
        !cw_idset_get(&st->entries, key, &was) || was == 0) {
        snprintf(reason, len, "correction %s of order %s: the entry it corrects (%lld) was %s",
                 id, o->order_id, (long long)o->corrects_index,
                 cw_idset_contains(&st->entries, key) ? "not paid" : "not read");
        return PAY_ORDER_REJECTED;
    }
    int before = (int)was - 1, after = status_code(o);
    *valid = (after == 0) - (before == 0);
    *invalid = (after == 1) - (before == 1);
    if (*valid == 0 && *invalid == 0)
        return PAY_ORDER_CANCELLED; /* no count changes */
    return contract_account(st, o, 0, out, reason, len);
}

/* Whether fix x comes before (at, index, id): finalized_at, then ledger
 * index, then correction id. */
static int fix_before(const fix *x, int64_t at, int64_t index, const char *id)
{
    if (x->finalized_at != at)
        return x->finalized_at < at;
    if (x->ledger_index != index)
        return x->ledger_index < index;
    return strcmp(x->correction_id, id) < 0;
}

/* Adds o's fix to a in its place; NULL out of memory. */
static fix *add_fix(account *a, const pay_order *o, int32_t valid, int32_t invalid,
                    fix_state state)
{
    if (GROW(a->fixes, a->fix_cap, a->fix_count) != 0)
        return NULL;
    size_t i = a->fix_count;
    while (i > 0 && !fix_before(&a->fixes[i - 1], o->finalized_at, o->ledger_index,
                                o->correction_id))
        i--;
    memmove(&a->fixes[i + 1], &a->fixes[i], (a->fix_count - i) * sizeof(*a->fixes));
    fix *x = &a->fixes[i];
    memset(x, 0, sizeof(*x));
    snprintf(x->correction_id, sizeof(x->correction_id), "%s", o->correction_id);
    x->service_day = o->service_day;
    x->finalized_at = o->finalized_at;
    x->ledger_index = o->ledger_index;
    x->valid = valid;
    x->invalid = invalid;
    x->state = state;
    a->fix_count++;
    return x;
}

/* Whether a correction finalized at is past a's settlement instant (it
 * gets an instruction of its own). */
static int after_settlement(const pay_state *st, const account *a, int64_t at)
{
    return a->known && at >= publication(st, a, a->contract.period_end);
}

/* A correcting entry, newly consumed or (replay) replayed at start-up.
 * New, it waits for its statement or, past the settlement instant, for
 * its instruction. Replayed, it is done when its instruction is on the
 * topic or a published statement (or a historical close) counted it. */
static pay_order_result take_correction(pay_state *st, const pay_order *o, int replay,
                                        char *reason, size_t len)
{
    account *a = NULL;
    int32_t valid = 0, invalid = 0;
    pay_order_result r = admit_correction(st, o, &a, &valid, &invalid, reason, len);
    if (r != PAY_ORDER_PENDING)
        return r;
    if (replay && cw_idset_contains(&st->instructed, o->correction_id)) {
        /* Taken again in its turn by process_late, which instructs
         * nothing for it. */
        fix *x = add_fix(a, o, valid, invalid, FIX_LATE);
        if (x == NULL)
            return PAY_ORDER_ERROR;
        x->published = 1;
        return PAY_ORDER_COUNTED;
    }
    if (after_settlement(st, a, o->finalized_at))
        return add_fix(a, o, valid, invalid, FIX_LATE) ? PAY_ORDER_PENDING : PAY_ORDER_ERROR;
    if (replay && a->closed && historical(a)) {
        a->hist_valid += valid;
        a->hist_invalid += invalid;
        return add_fix(a, o, valid, invalid, FIX_DONE) ? PAY_ORDER_COUNTED : PAY_ORDER_ERROR;
    }
    if (replay && counted_by_a_statement(a, o)) {
        a->replayed_valid += valid;
        a->replayed_invalid += invalid;
        a->replayed_neg_valid += valid < 0 ? valid : 0;
        a->replayed_neg_invalid += invalid < 0 ? invalid : 0;
        return add_fix(a, o, valid, invalid, FIX_DONE) ? PAY_ORDER_COUNTED : PAY_ORDER_ERROR;
    }
    if (a->closed)
        return settled_before(a, o, reason, len);
    return add_fix(a, o, valid, invalid, FIX_STATEMENT) ? PAY_ORDER_PENDING : PAY_ORDER_ERROR;
}

/* An order's first entry, newly consumed or (replay) replayed at start-up:
 * replayed, it is counted when its historical contract's close or a
 * published statement counted it. */
static pay_order_result take_order(pay_state *st, const pay_order *o, int replay, char *reason,
                                   size_t len)
{
    account *a = NULL;
    pay_order_result r = admit(st, o, &a, reason, len);
    if (r != PAY_ORDER_PENDING)
        return r;
    if (replay && a->closed && historical(a)) {
        /* Its CLAWBACK counted it: the orders read after the close were
         * dead-lettered, and the scheduler does not replay those. */
        *(o->valid ? &a->hist_valid : &a->hist_invalid) += 1;
        return PAY_ORDER_COUNTED;
    }
    if (replay && counted_by_a_statement(a, o)) {
        *(o->valid ? &a->replayed_valid : &a->replayed_invalid) += 1;
        return PAY_ORDER_COUNTED;
    }
    if (a->closed)
        return settled_before(a, o, reason, len);
    return add_pending(a, o) == 0 ? PAY_ORDER_PENDING : PAY_ORDER_ERROR;
}

static pay_order_result take_entry(pay_state *st, const pay_order *o, int replay, char *reason,
                                   size_t len)
{
    if (o->has_corrects)
        return note_entry(st, o, take_correction(st, o, replay, reason, len));
    return note_entry(st, o, note_month(st, o, take_order(st, o, replay, reason, len)));
}

pay_order_result pay_state_add_order(pay_state *st, const pay_order *o, char *reason,
                                     size_t reason_len)
{
    return take_entry(st, o, 0, reason, reason_len);
}

pay_order_result pay_state_replay_order(pay_state *st, const pay_order *o, char *reason,
                                        size_t reason_len)
{
    return take_entry(st, o, 1, reason, reason_len);
}

int pay_state_mark_seen(pay_state *st, const char *order_id)
{
    return cw_idset_add(&st->seen, order_id, 0) < 0 ? -1 : 0;
}

int pay_state_mark_refused(pay_state *st, const pay_order *o)
{
    int rc = 0;
    if (!o->has_corrects)
        rc = cw_idset_add(&st->seen, o->order_id, 0);
    else if (o->correction_id != NULL)
        rc = cw_idset_add(&st->corrections, o->correction_id, 0);
    if (rc < 0)
        return -1;
    return note_entry(st, o, PAY_ORDER_REJECTED) == PAY_ORDER_ERROR ? -1 : 0;
}

int pay_state_finish_replay(pay_state *st)
{
    for (size_t i = 0; i < st->count; i++) {
        account *a = st->accounts[i];
        if (!a->closed) {
            /* Fewer replayed than published happens when old records have
             * left the input topic (retention): nothing is owed then,
             * beyond what the replayed corrections take back. */
            int64_t v = a->replayed_valid - a->published_valid;
            int64_t n = a->replayed_invalid - a->published_invalid;
            a->carry_valid += v > a->replayed_neg_valid ? v : a->replayed_neg_valid;
            a->carry_invalid += n > a->replayed_neg_invalid ? n : a->replayed_neg_invalid;
        }
        a->replayed_valid = a->replayed_invalid = 0;
        a->replayed_neg_valid = a->replayed_neg_invalid = 0;
    }
    return 0;
}

/* ---- time ---------------------------------------------------------------- */

/* The budget levels the statement s took the contract across. */
static int budget_alerts(const account *a, const pay_statement *s, int64_t before,
                         pay_output *out)
{
    const pay_contract *c = &a->contract;
    int64_t after = a->sum_gross - a->sum_deduction;
    static const pay_budget_level levels[] = {PAY_BUDGET_80, PAY_BUDGET_EXCEEDED};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (!pay_budget_crossed(before, after, c->budget_cents, levels[i]))
            continue;
        pay_budget_alert b;
        memset(&b, 0, sizeof(b));
        snprintf(b.contract_id, sizeof(b.contract_id), "%s", c->contract_id);
        snprintf(b.provider_id, sizeof(b.provider_id), "%s", c->provider_id);
        b.level = levels[i];
        b.consumed_cents = after;
        b.threshold_cents = pay_budget_threshold(c->budget_cents, levels[i]);
        b.budget_cents = c->budget_cents;
        b.service_day = s->service_day;
        b.at = s->published_at;
        if (out_budget_alert(out, &b) != 0)
            return -1;
    }
    return 0;
}

static int publish_day(pay_state *st, account *a, int64_t day, pay_output *out)
{
    const pay_contract *c = &a->contract;
    int64_t at = publication(st, a, day);
    int64_t valid = 0, invalid = 0, late_valid = a->carry_valid, late_invalid = a->carry_invalid;
    size_t kept = 0;
    for (size_t i = 0; i < a->pending_count; i++) {
        pending_order p = a->pending[i];
        int due = p.service_day >= c->period_start && p.service_day <= day &&
                  p.finalized_at < at;
        if (!due) {
            a->pending[kept++] = p;
            continue;
        }
        if (p.service_day == day)
            *(p.valid ? &valid : &invalid) += 1;
        else
            *(p.valid ? &late_valid : &late_invalid) += 1;
    }
    a->pending_count = kept;
    /* Corrections count like orders, by their change of the counts. */
    for (size_t i = 0; i < a->fix_count; i++) {
        fix *x = &a->fixes[i];
        if (x->state != FIX_STATEMENT || x->service_day < c->period_start ||
            x->service_day > day || x->finalized_at >= at)
            continue;
        *(x->service_day == day ? &valid : &late_valid) += x->valid;
        *(x->service_day == day ? &invalid : &late_invalid) += x->invalid;
        x->state = FIX_DONE;
    }
    if (valid == 0 && invalid == 0 && late_valid == 0 && late_invalid == 0) {
        a->carry_valid = a->carry_invalid = 0;
        return 0;
    }
    if (valid > INT32_MAX || invalid > INT32_MAX || late_valid > INT32_MAX ||
        late_invalid > INT32_MAX || valid < INT32_MIN || invalid < INT32_MIN ||
        late_valid < INT32_MIN || late_invalid < INT32_MIN)
        return -1;
    pay_statement s;
    memset(&s, 0, sizeof(s));
    snprintf(s.contract_id, sizeof(s.contract_id), "%s", c->contract_id);
    snprintf(s.provider_id, sizeof(s.provider_id), "%s", c->provider_id);
    s.service_day = day;
    s.valid_orders = (int32_t)valid;
    s.invalid_orders = (int32_t)invalid;
    s.late_valid_orders = (int32_t)late_valid;
    s.late_invalid_orders = (int32_t)late_invalid;
    s.published_at = at;
    if (pay_signed_times_cents(valid + late_valid, c->unit_price_cents, &s.gross_cents) != 0 ||
        pay_signed_times_cents(invalid + late_invalid, c->invalid_deduction_cents,
                               &s.deduction_cents) != 0)
        return -1;
    int64_t before = a->sum_gross - a->sum_deduction;
    if (insert_statement(a, &s) != PAY_RECORD_TAKEN || add_counts(a, &s) != 0 ||
        out_statement(out, &s) != 0)
        return -1;
    if (budget_alerts(a, &s, before, out) != 0)
        return -1;
    a->carry_valid = a->carry_invalid = 0;
    return 0;
}

/* Corrections not counted by the time the account closes get an
 * instruction of their own. */
static void fixes_to_late(account *a)
{
    for (size_t i = 0; i < a->fix_count; i++)
        if (a->fixes[i].state == FIX_STATEMENT)
            a->fixes[i].state = FIX_LATE;
}

static int settle(pay_state *st, account *a, pay_output *out)
{
    const pay_contract *c = &a->contract;
    int64_t prepaid = a->has_prepay ? a->prepay.amount_cents : 0;
    cw_payment_kind kind;
    int64_t amount;
    if (pay_settlement(a->sum_gross, a->sum_deduction, prepaid, c->budget_cents, &kind,
                       &amount) != 0)
        return -1;
    pay_instruction in = new_instruction(a, kind, publication(st, a, c->period_end));
    in.amount_cents = amount;
    if (out_instruction(out, &in) != 0)
        return -1;
    a->settled = 1;
    a->closed = 1;
    a->settlement = in;
    /* Left over: orders outside the period, or of a contract first seen
     * after its settlement instant. They are not paid; the report shows
     * them. */
    a->unsettled += (int64_t)a->pending_count;
    a->pending_count = 0;
    fixes_to_late(a);
    return 0;
}

/* A historical period at T(period_end): one CLAWBACK of its invalid
 * orders × the deduction, not capped by the budget (the budget caps what a
 * contract is paid; this is owed back); valid orders are counted, not paid. With no invalid
 * order there is nothing to claw back and no instruction: the account is
 * closed all the same. Orders outside the period or finalized from
 * T(period_end) on (read before their contract) are left unsettled, as a
 * running contract's settlement leaves them. */
static int close_historical(pay_state *st, account *a, pay_output *out)
{
    const pay_contract *c = &a->contract;
    int64_t end = publication(st, a, c->period_end);
    int64_t valid = 0, invalid = 0, left = 0, amount = 0;
    for (size_t i = 0; i < a->pending_count; i++) {
        pending_order p = a->pending[i];
        if (p.service_day < c->period_start || p.service_day > c->period_end ||
            p.finalized_at >= end)
            left++;
        else
            *(p.valid ? &valid : &invalid) += 1;
    }
    for (size_t i = 0; i < a->fix_count; i++) {
        fix *x = &a->fixes[i];
        if (x->state != FIX_STATEMENT || x->service_day < c->period_start ||
            x->service_day > c->period_end || x->finalized_at >= end)
            continue;
        valid += x->valid;
        invalid += x->invalid;
        x->state = FIX_DONE;
    }
    fixes_to_late(a);
    if (invalid > 0 && pay_times_cents(invalid, c->invalid_deduction_cents, &amount) != 0)
        return -1;
    if (invalid > 0) {
        pay_instruction in = new_instruction(a, CW_PAYMENT_KIND_CLAWBACK, end);
        in.amount_cents = amount;
        if (out_instruction(out, &in) != 0)
            return -1;
        a->settled = 1;
        a->settlement = in;
    }
    a->closed = 1;
    a->hist_valid += valid;
    a->hist_invalid += invalid;
    a->unsettled += left;
    a->pending_count = 0;
    return 0;
}

/* The instruction of the next late correction x of the closed account a
 * (payment_state.h, Corrections), into out unless it was published before;
 * nothing when it moves no money. 0 or -1 (overflow, memory). */
static int instruct_late(pay_state *st, account *a, fix *x, pay_output *out)
{
    const pay_contract *c = &a->contract;
    int64_t gross, deduction, change, before, after, amount, end;
    cw_payment_kind kind;
    pay_due moves;
    if (pay_signed_times_cents(x->valid, c->unit_price_cents, &gross) != 0 ||
        pay_signed_times_cents(x->invalid, c->invalid_deduction_cents, &deduction) != 0 ||
        __builtin_sub_overflow(gross, deduction, &change))
        return -1;
    if (historical(a)) {
        /* Its close clawed back invalid orders × deduction, uncapped. */
        moves = pay_correction_due(0, -deduction, INT64_MAX, &kind, &amount);
    } else {
        if (__builtin_sub_overflow(a->sum_gross, a->sum_deduction, &before) ||
            __builtin_add_overflow(before, a->late_net, &before) ||
            __builtin_add_overflow(before, change, &after))
            return -1;
        moves = pay_correction_due(before, after, c->budget_cents, &kind, &amount);
        a->late_net += change;
    }
    if (moves == PAY_DUE_OVERFLOW)
        return -1;
    a->after_valid += x->valid;
    a->after_invalid += x->invalid;
    x->state = FIX_DONE;
    if (moves == PAY_DUE_NOTHING || x->published)
        return 0;
    end = publication(st, a, c->period_end);
    pay_instruction in = new_instruction(a, kind, x->finalized_at > end ? x->finalized_at : end);
    in.amount_cents = amount;
    snprintf(in.correction_id, sizeof(in.correction_id), "%s", x->correction_id);
    return add_corr_instr(a, &in) == 0 && out_instruction(out, &in) == 0 ? 0 : -1;
}

/* A closed account's late corrections due at the watermark, in order: one
 * published before is taken whatever the watermark (it was taken in its
 * turn), so the budget cap splits the money as it did. */
static int process_late(pay_state *st, account *a, int64_t watermark, pay_output *out)
{
    for (size_t i = 0; i < a->fix_count; i++) {
        fix *x = &a->fixes[i];
        if (x->state != FIX_LATE)
            continue;
        if (!x->published && x->finalized_at > watermark)
            break;
        if (instruct_late(st, a, x, out) != 0)
            return -1;
    }
    return 0;
}

/* The statements, settlement or historical close of an open account due at
 * the watermark. 0 or -1. */
static int advance_account(pay_state *st, account *a, int64_t watermark, pay_output *out)
{
    const pay_contract *c = &a->contract;
    if (historical(a))
        return publication(st, a, c->period_end) <= watermark ? close_historical(st, a, out) : 0;
    while (a->next_day <= c->period_end && publication(st, a, a->next_day) <= watermark) {
        if (publish_day(st, a, a->next_day, out) != 0)
            return -1;
        a->next_day++;
    }
    if (a->next_day > c->period_end && publication(st, a, c->period_end) <= watermark)
        return settle(st, a, out);
    return 0;
}

int pay_state_advance(pay_state *st, int64_t watermark, pay_output *out)
{
    if (watermark < pay_state_next_due(st))
        return 0;
    for (size_t i = 0; i < st->count; i++) {
        account *a = st->accounts[i];
        if (!a->known)
            continue;
        if (!a->closed && advance_account(st, a, watermark, out) != 0)
            return -1;
        if (a->closed && process_late(st, a, watermark, out) != 0)
            return -1;
    }
    if (st->months != NULL &&
        pay_months_advance(st->months, watermark, &out->month_verdicts, &out->month_verdict_count,
                           &out->month_verdict_cap) != 0)
        return -1;
    return 0;
}

/* When a closed account's next late correction is due, or INT64_MAX. */
static int64_t next_late(const account *a)
{
    for (size_t i = 0; i < a->fix_count; i++)
        if (a->fixes[i].state == FIX_LATE)
            return a->fixes[i].finalized_at;
    return INT64_MAX;
}

int64_t pay_state_next_due(const pay_state *st)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < st->count; i++) {
        const account *a = st->accounts[i];
        if (!a->known)
            continue;
        int64_t at;
        if (a->closed) {
            at = next_late(a);
        } else {
            int64_t day = a->next_day <= a->contract.period_end && !historical(a)
                              ? a->next_day
                              : a->contract.period_end;
            at = publication(st, a, day);
        }
        if (at < next)
            next = at;
    }
    if (st->months != NULL) {
        int64_t at = pay_months_next_due(st->months);
        if (at < next)
            next = at;
    }
    return next;
}

/* ---- reading ------------------------------------------------------------- */

size_t pay_state_account_count(const pay_state *st)
{
    return st->count;
}

static const pay_account *view(account *a)
{
    pay_account *v = &a->view;
    v->contract_id = a->id;
    v->contract = a->known ? &a->contract : NULL;
    v->statements = a->statements;
    v->statement_count = a->statement_count;
    v->has_prepay = a->has_prepay;
    v->prepay = a->prepay;
    v->settled = a->settled;
    v->settlement = a->settlement;
    v->closed = a->closed;
    v->historical = historical(a);
    v->historical_valid = a->hist_valid;
    v->historical_invalid = a->hist_invalid;
    v->pending_orders = a->pending_count;
    v->unsettled_orders = a->unsettled;
    v->corrections = a->corr_instr;
    v->correction_count = a->corr_instr_count;
    v->corrected_valid = a->after_valid;
    v->corrected_invalid = a->after_invalid;
    v->pending_corrections = 0;
    for (size_t i = 0; i < a->fix_count; i++)
        v->pending_corrections += a->fixes[i].state != FIX_DONE;
    return v;
}

const pay_account *pay_state_account(const pay_state *st, size_t i)
{
    return i < st->count ? view(st->accounts[i]) : NULL;
}

const pay_account *pay_state_find_account(const pay_state *st, const char *contract_id)
{
    account *a = find(st, contract_id);
    return a ? view(a) : NULL;
}

int pay_state_utc_offset(const pay_state *st)
{
    return st->utc_offset;
}

int pay_instruction_record_id(const pay_instruction *in, char *buf, size_t len)
{
    if (in->correction_id[0] != '\0')
        return pay_correction_instruction_id(buf, len, in->contract_id, in->kind,
                                             in->correction_id);
    return pay_instruction_id(buf, len, in->contract_id, in->kind, in->period_end);
}
