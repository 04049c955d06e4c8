/* CRC-64-AVRO, table-driven (crc64_avro.h). */
#include "crc64_avro.h"

#include <pthread.h>

#define CRC64_AVRO_EMPTY UINT64_C(0xc15d213aa4d7a795)

static uint64_t crc64_table[256];
static pthread_once_t crc64_table_once = PTHREAD_ONCE_INIT;

static void build_crc64_table(void)
{
    for (uint64_t i = 0; i < 256; i++) {
        uint64_t fp = i;
        for (int bit = 0; bit < 8; bit++)
            fp = (fp >> 1) ^ (CRC64_AVRO_EMPTY & (0 - (fp & 1)));
        crc64_table[i] = fp;
    }
}

uint64_t cw_avro_crc64(const uint8_t *data, size_t len)
{
    pthread_once(&crc64_table_once, build_crc64_table);
    uint64_t fp = CRC64_AVRO_EMPTY;
    for (size_t i = 0; i < len; i++)
        fp = (fp >> 8) ^ crc64_table[(fp ^ data[i]) & 0xff];
    return fp;
}
