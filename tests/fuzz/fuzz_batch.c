/* Fuzzes the NDJSON body of POST /v1/batch through ingest_post_batch
 * (services/ingest/batch.c): the split into lines, each line's JSON and
 * "type" envelope, the per-line role check, the 413 line limit and the
 * answer built from every line's outcome.
 *
 * The line splitter itself (next_chunk, parse_line, count_remaining_lines)
 * is static in batch.c, so the target goes through the public function
 * with the I/O made to fail deterministically: Redis is a local port this
 * process bound and never listens on (every connection is refused at
 * once, and no other process can take the port), and there is no Kafka
 * producer. A batch whose lines name a valid id then stops at the Redis
 * prefetch (503); lines without one are validated as ingest_submit would
 * (parse_*, 400) and never reach Redis or Kafka. If a line ever got as far
 * as producing, the missing producer would crash: a finding too.
 *
 * Input: byte 0 picks the role of the caller (modulo 4: registry,
 * importer, admin, provider P001); the rest is the body.
 *
 * Ownership: the config, the Redis connection and the context live for the
 * process and are freed at exit; each answer is json_decref'd here. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "config.h"
#include "log.h"
#include "ingest/settings.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ingest_ctx ctx;
static cw_config *cfg;
static int refusing_fd = -1;

static int64_t fixed_now_ms(void)
{
    return 1714521600000LL; /* 2024-05-01T00:00:00Z */
}

/* A TCP port on 127.0.0.1 bound by this process without listen(). */
static int refusing_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    refusing_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (refusing_fd < 0 || bind(refusing_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        getsockname(refusing_fd, (struct sockaddr *)&addr, &len) != 0) {
        perror("fuzz_batch: refusing port");
        abort();
    }
    return ntohs(addr.sin_port);
}

static void cleanup(void)
{
    ingest_ctx_destroy(&ctx);
    cw_config_free(cfg);
    close(refusing_fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char host[] = "CAREWATCH_REDIS_HOST=127.0.0.1";
    static char timeout[] = "CAREWATCH_REDIS_TIMEOUT_MS=100";
    static char port[64];
    char *env[] = {host, port, timeout, NULL};
    const cw_cfg_spec *specs[] = {cw_config_common_spec, ingest_config_spec, NULL};
    char err[512];

    cw_log_set_level(CW_LOG_ERROR);
    snprintf(port, sizeof(port), "CAREWATCH_REDIS_PORT=%d", refusing_port());
    cfg = cw_config_load(specs, NULL, env, err, sizeof(err));
    if (cfg == NULL || ingest_ctx_init(&ctx, cfg) != 0) {
        fprintf(stderr, "fuzz_batch: set-up failed: %s\n", cfg ? "ingest_ctx_init" : err);
        abort();
    }
    atomic_init(&ctx.rebuilding, 0);
    ingest_thresholds_from_config(cfg, &ctx.thresholds);
    ctx.now_ms = fixed_now_ms;
    ctx.max_batch_lines = (size_t)cw_config_int(cfg, "http.max_batch_lines");
    ctx.max_batch_failures = (size_t)cw_config_int(cfg, "http.max_batch_failures");
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const cw_role roles[] = {
        {.kind = CW_ROLE_REGISTRY}, {.kind = CW_ROLE_IMPORTER}, {.kind = CW_ROLE_ADMIN},
        {.kind = CW_ROLE_PROVIDER, .provider_id = "P001"}};
    if (size < 1)
        return 0;
    int status = 0;
    json_t *answer = ingest_post_batch(&ctx, (const char *)data + 1, size - 1,
                                       &roles[data[0] % 4u], &status);
    json_decref(answer);
    return 0;
}
