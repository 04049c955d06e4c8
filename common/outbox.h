/* A growable set of encoded records waiting to be produced together.
 * The outbox owns every topic, key and value added to it; cw_outbox_clear
 * frees them and leaves the outbox empty for reuse. */
#ifndef CW_OUTBOX_H
#define CW_OUTBOX_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

#include "avro_codec.h"
#include "kafka.h"

typedef struct {
    cw_kafka_record *records; /* topic, key and value owned by the outbox */
    size_t count, capacity;
} cw_outbox;

/* Copies topic and key; takes ownership of value (malloc'd), also on
 * failure. 0 or -1 (out of memory). */
int cw_outbox_add_owned(cw_outbox *ob, const char *topic, const char *key, uint8_t *value,
                        size_t value_len);
/* Encodes value (a record of schema s) and adds it. 0, or -1 with err. */
int cw_outbox_add_avro(cw_outbox *ob, const char *topic, const char *key, avro_value_t *value,
                       const cw_avro_schema *s, char *err, size_t errlen);
/* Number of records of one topic. */
size_t cw_outbox_count_topic(const cw_outbox *ob, const char *topic);
void cw_outbox_clear(cw_outbox *ob);
/* Drops (and frees) the records after the first count. */
void cw_outbox_truncate(cw_outbox *ob, size_t count);
/* Frees the array too. */
void cw_outbox_free(cw_outbox *ob);

#endif
