#include "order_revision.h"

#include <stdio.h>
#include <string.h>

#include "avro_fields.h"

int cw_order_revision_of(avro_value_t *v, cw_order_revision *out)
{
    const char *caregiver, *person, *previous, *previous_person;
    int has_revision, has_change;
    int32_t revision;
    avro_value_t change;
    memset(out, 0, sizeof(*out));
    if (cw_av_get_str(v, "caregiver_id", &caregiver) ||
        cw_av_get_opt_str(v, "person_id", &person) ||
        cw_av_get_long(v, "received_at", &out->received_at) ||
        cw_av_get_opt_int(v, "revision", &has_revision, &revision) ||
        cw_av_get_present(v, "change", &has_change, &change))
        return -1;
    out->revision = has_revision ? (int)revision : 0;
    out->stream_key = person != NULL && person[0] != '\0' ? person : caregiver;
    if (out->revision < 0)
        return -1;
    if (out->revision == 0)
        return 0;
    if (!has_change || cw_av_get_enum(&change, "kind", &out->kind) ||
        cw_av_get_str(&change, "reason_code", &out->reason_code) ||
        cw_av_get_opt_str(&change, "previous_caregiver_id", &previous) ||
        cw_av_get_opt_str(&change, "previous_person_id", &previous_person) || previous == NULL)
        return -1;
    out->previous_stream_key =
        previous_person != NULL && previous_person[0] != '\0' ? previous_person : previous;
    return 0;
}

int cw_order_revision_is_cancel(const cw_order_revision *r)
{
    return r->kind != NULL && strcmp(r->kind, "CANCEL") == 0;
}

int cw_order_revision_subject(const char *order_id, int revision, char *buf, size_t len)
{
    int n = revision == 0 ? snprintf(buf, len, "%s", order_id)
                          : snprintf(buf, len, "%s@%d", order_id, revision);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

cw_revision_copy cw_order_revision_copy(const cw_order_revision *r, const char *message_key)
{
    cw_revision_copy c;
    c.leave = r->previous_stream_key != NULL && strcmp(message_key, r->previous_stream_key) == 0;
    c.arrive = strcmp(message_key, r->stream_key) == 0 && !cw_order_revision_is_cancel(r);
    return c;
}
