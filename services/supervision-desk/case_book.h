/* The supervision desk's cases, as the fold of their CaseEvents.
 *
 * A case is what a street office works: the alerts of one order (case id =
 * the order id), of one caregiver's freeze in one street
 * (freeze:<street_id>:<caregiver_id>) or one complaint. Its status moves OPEN -> ACKNOWLEDGED -> RESOLVED, or to
 * ESCALATED (to the district command) when it is not acknowledged by its
 * deadline; a new alert reopens a resolved case. Every change is one
 * CaseEvent, numbered within its case (seq 1, 2, ...): applying the events
 * of cases.events in order rebuilds every case exactly, and an event whose
 * seq the case already has is a repeat and changes nothing.
 *
 * Call-back results are CaseEvents too (action CALLBACK). One that is not
 * DENIED does not make a case: it is kept in the case's history, and the
 * case stays invisible (listed nowhere) until an alert, a denial or a
 * complaint opens it.
 *
 * Pure: no I/O, no clock. Not thread-safe: the desk holds its lock around
 * every use. The book owns its cases, each case its events, each event its
 * strings. */
#ifndef DESK_CASE_BOOK_H
#define DESK_CASE_BOOK_H

#include <stddef.h>
#include <stdint.h>

#include "avro_records.h"
#include "id_set.h"

#define DESK_ID_MAX 65        /* ids: 1-64 chars */
#define DESK_CASE_ID_MAX 140  /* freeze:<street_id>:<caregiver_id> */
#define DESK_RULE_MAX 48
#define DESK_LABEL_MAX 97
#define DESK_NOTE_MAX 2000    /* bytes of a note or complaint text */

/* Who and where a case is about; every event carries it. */
typedef struct {
    char order_id[DESK_ID_MAX]; /* empty: none */
    char street_id[DESK_ID_MAX];
    char community_id[DESK_ID_MAX];
    char provider_id[DESK_ID_MAX];
    char caregiver_id[DESK_ID_MAX];
    char elder_id[DESK_ID_MAX];
} desk_case_subject;

typedef struct {
    char alert_id[DESK_CASE_ID_MAX + DESK_RULE_MAX];
    char rule[DESK_RULE_MAX];
    cw_case_colour colour;
    int has_measured, has_threshold;
    double measured, threshold;
    int64_t at;
    char *message_zh; /* owned by the event */
    char *message_en;
} desk_case_alert;

typedef struct {
    char event_id[DESK_CASE_ID_MAX + 16];
    char case_id[DESK_CASE_ID_MAX];
    int seq;
    cw_case_kind kind;
    cw_case_action action;
    cw_case_status status; /* after the event */
    int has_resolution;    /* RESOLVED only */
    cw_case_resolution resolution;
    cw_case_colour colour; /* after the event */
    int has_deadline;
    int64_t deadline;
    char actor[DESK_LABEL_MAX];
    char actor_role[16];
    char *note; /* owned; never NULL */
    int64_t at;
    int64_t recorded_at;
    desk_case_subject subject;
    int has_alert;
    desk_case_alert alert;
    int has_callback; /* CALLBACK only */
    cw_callback_result callback;
    char channel[32]; /* COMPLAINT only */
} desk_case_event;

typedef struct {
    char id[DESK_CASE_ID_MAX];
    cw_case_kind kind;
    int visible;          /* opened by an alert, a denial or a complaint */
    cw_case_status status;
    int has_resolution;
    cw_case_resolution resolution;
    cw_case_colour colour;
    int has_deadline;
    int64_t deadline;
    int64_t opened_at;    /* event time of the first visible event */
    int64_t updated_at;   /* event time of the last event */
    desk_case_subject subject;
    int denied;           /* a call-back was DENIED */
    int callback_done;    /* any call-back recorded */
    desk_case_event *events; /* owned, in seq order */
    size_t event_count, event_cap;
} desk_case;

typedef struct {
    desk_case **cases; /* owned, in order of creation */
    size_t count, cap;
    cw_idset by_id;    /* case id -> index in cases */
} desk_case_book;

void desk_case_book_init(desk_case_book *b);
void desk_case_book_free(desk_case_book *b);

desk_case *desk_case_book_find(const desk_case_book *b, const char *case_id);

/* Applies one event (copied: ev stays the caller's). Returns 1 when applied,
 * 0 when the case already has its seq (a repeat), -1 when its seq skips one
 * (the log is not this book's) or memory ran out. */
int desk_case_book_apply(desk_case_book *b, const desk_case_event *ev);

/* The next seq of case_id (1 for a case not in the book). */
int desk_case_book_next_seq(const desk_case_book *b, const char *case_id);

/* Frees the strings an event owns (not the event). */
void desk_case_event_clear(desk_case_event *ev);
/* Deep copy of src into dst (dst's old strings are not freed). 0 or -1. */
int desk_case_event_copy(desk_case_event *dst, const desk_case_event *src);

#endif
