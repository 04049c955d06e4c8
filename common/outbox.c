#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cw_outbox_add_owned(cw_outbox *ob, const char *topic, const char *key, uint8_t *value,
                        size_t value_len)
{
    if (ob->count == ob->capacity) {
        size_t cap = ob->capacity ? ob->capacity * 2 : 16;
        cw_kafka_record *grown = realloc(ob->records, cap * sizeof(*grown));
        if (grown == NULL) {
            free(value);
            return -1;
        }
        ob->records = grown;
        ob->capacity = cap;
    }
    char *topic_copy = strdup(topic);
    char *key_copy = key ? strdup(key) : NULL;
    if (topic_copy == NULL || (key != NULL && key_copy == NULL)) {
        free(topic_copy);
        free(key_copy);
        free(value);
        return -1;
    }
    cw_kafka_record *r = &ob->records[ob->count++];
    memset(r, 0, sizeof(*r));
    r->topic = topic_copy;
    r->key = key_copy;
    r->key_len = key_copy ? strlen(key_copy) : 0;
    r->value = value;
    r->value_len = value_len;
    return 0;
}

int cw_outbox_add_avro(cw_outbox *ob, const char *topic, const char *key, avro_value_t *value,
                       const cw_avro_schema *s, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t len;
    if (cw_avro_encode(value, s, &buf, &len, err, errlen) != 0)
        return -1;
    if (cw_outbox_add_owned(ob, topic, key, buf, len) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

size_t cw_outbox_count_topic(const cw_outbox *ob, const char *topic)
{
    size_t n = 0;
    for (size_t i = 0; i < ob->count; i++)
        n += strcmp(ob->records[i].topic, topic) == 0;
    return n;
}

void cw_outbox_truncate(cw_outbox *ob, size_t count)
{
    while (ob->count > count) {
        cw_kafka_record *r = &ob->records[--ob->count];
        free((char *)r->topic);
        free((void *)r->key);
        free((void *)r->value);
    }
}

void cw_outbox_clear(cw_outbox *ob)
{
    cw_outbox_truncate(ob, 0);
}

void cw_outbox_free(cw_outbox *ob)
{
    cw_outbox_clear(ob);
    free(ob->records);
    ob->records = NULL;
    ob->capacity = 0;
}
