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

#include "id_set.h"

#define DESK_ID_MAX 65        /* ids: 1-64 chars */
#define DESK_CASE_ID_MAX 140  /* freeze:<street_id>:<caregiver_id> */
#define DESK_RULE_MAX 48
#define DESK_LABEL_MAX 97
#define DESK_NOTE_MAX 2000    /* bytes of a note or complaint text */

typedef enum { CASE_KIND_ORDER, CASE_KIND_FREEZE, CASE_KIND_COMPLAINT } case_kind;
typedef enum {
    CASE_OPENED,
    CASE_ALERT_ADDED,
    CASE_ACKNOWLEDGED,
    CASE_ESCALATED,
    CASE_RESOLVED,
    CASE_REOPENED,
    CASE_CALLBACK,
    CASE_COMPLAINT
} case_action;
typedef enum { CASE_OPEN, CASE_ACK, CASE_ESC, CASE_DONE } case_status;
typedef enum {
    RESOLUTION_NONE = -1,
    RESOLUTION_CONFIRMED,
    RESOLUTION_FALSE_ALARM,
    RESOLUTION_RECTIFIED,
    RESOLUTION_EVIDENCE_ACCEPTED
} case_resolution;
typedef enum { COLOUR_YELLOW, COLOUR_ORANGE, COLOUR_RED } case_colour;
typedef enum { CALLBACK_NONE = -1, CALLBACK_CONFIRMED, CALLBACK_DENIED, CALLBACK_UNREACHABLE } callback_result;

/* Who and where a case is about; every event carries it. */
typedef struct {
    char order_id[DESK_ID_MAX]; /* empty: none */
    char street_id[DESK_ID_MAX];
    char community_id[DESK_ID_MAX];
    char provider_id[DESK_ID_MAX];
    char caregiver_id[DESK_ID_MAX];
    char elder_id[DESK_ID_MAX];
} case_subject;

typedef struct {
    char alert_id[DESK_CASE_ID_MAX + DESK_RULE_MAX];
    char rule[DESK_RULE_MAX];
    case_colour colour;
    int has_measured, has_threshold;
    double measured, threshold;
    int64_t at;
    char *message_zh; /* owned by the event */
    char *message_en;
} case_alert;

typedef struct {
    char event_id[DESK_CASE_ID_MAX + 16];
    char case_id[DESK_CASE_ID_MAX];
    int seq;
    case_kind kind;
    case_action action;
    case_status status;         /* after the event */
    case_resolution resolution; /* RESOLVED only */
    case_colour colour;         /* after the event */
    int has_deadline;
    int64_t deadline;
    char actor[DESK_LABEL_MAX];
    char actor_role[16];
    char *note; /* owned; never NULL */
    int64_t at;
    int64_t recorded_at;
    case_subject subject;
    int has_alert;
    case_alert alert;
    callback_result callback;
    char channel[32]; /* COMPLAINT only */
} case_event;

typedef struct {
    char id[DESK_CASE_ID_MAX];
    case_kind kind;
    int visible;          /* opened by an alert, a denial or a complaint */
    case_status status;
    case_resolution resolution;
    case_colour colour;
    int has_deadline;
    int64_t deadline;
    int64_t opened_at;    /* event time of the first visible event */
    int64_t updated_at;   /* event time of the last event */
    case_subject subject;
    int denied;           /* a call-back was DENIED */
    int callback_done;    /* any call-back recorded */
    case_event *events;   /* owned, in seq order */
    size_t event_count, event_cap;
} desk_case;

typedef struct {
    desk_case **cases; /* owned, in order of creation */
    size_t count, cap;
    cw_idset by_id;    /* case id -> index in cases */
} case_book;

void case_book_init(case_book *b);
void case_book_free(case_book *b);

desk_case *case_book_find(const case_book *b, const char *case_id);

/* Applies one event (copied: ev stays the caller's). Returns 1 when applied,
 * 0 when the case already has its seq (a repeat), -1 when its seq skips one
 * (the log is not this book's) or memory ran out. */
int case_book_apply(case_book *b, const case_event *ev);

/* The next seq of case_id (1 for a case not in the book). */
int case_book_next_seq(const case_book *b, const char *case_id);

/* Frees the strings an event owns (not the event). */
void case_event_clear(case_event *ev);
/* Deep copy of src into dst (dst's old strings are not freed). 0 or -1. */
int case_event_copy(case_event *dst, const case_event *src);

const char *case_kind_name(case_kind k);
const char *case_action_name(case_action a);
const char *case_status_name(case_status s);
const char *case_resolution_name(case_resolution r);
const char *case_colour_name(case_colour c);
const char *callback_result_name(callback_result r);
/* Name -> value; -1 when unknown. */
int case_kind_parse(const char *s);
int case_action_parse(const char *s);
int case_status_parse(const char *s);
int case_resolution_parse(const char *s);
int case_colour_parse(const char *s);
int callback_result_parse(const char *s);

#endif
