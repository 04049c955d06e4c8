/* CRC-64-AVRO, the Rabin fingerprint of the Avro specification ("Schema
 * Fingerprints"): the 8 bytes that name a schema in single-object encoding.
 * Pure; safe from any thread (the table is built once). */
#ifndef CW_CRC64_AVRO_H
#define CW_CRC64_AVRO_H

#include <stddef.h>
#include <stdint.h>

uint64_t cw_avro_crc64(const uint8_t *data, size_t len);

#endif
