/* carewatch-payment-scheduler: pays only for valid visits, exactly once,
 * as a streaming service or, with --run, as a batch job over a period.
 * payment_scheduler.h describes the scheme and which file does what. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payment-scheduler/batch_run.h"
#include "payment-scheduler/pay_config.h"
#include "payment-scheduler/payment_scheduler.h"
#include "service.h"

/* ---- options ------------------------------------------------------------- */

typedef struct {
    const char *run; /* --run PERIOD */
    const char *out; /* --out DIR */
    int help;
} batch_args;

/* Takes --run and --out out of argv (the rest goes to cw_service_start).
 * 0, or -1 for an option without its value. */
static int split_args(int argc, char **argv, int *kept_argc, char **kept, batch_args *b)
{
    int n = 0;
    kept[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        const char *name = NULL;
        if (strcmp(argv[i], "--run") == 0 || strncmp(argv[i], "--run=", 6) == 0) {
            slot = &b->run;
            name = "--run";
        } else if (strcmp(argv[i], "--out") == 0 || strncmp(argv[i], "--out=", 6) == 0) {
            slot = &b->out;
            name = "--out";
        }
        if (slot == NULL) {
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                b->help = 1;
            kept[n++] = argv[i];
            continue;
        }
        const char *eq = strchr(argv[i], '=');
        if (eq != NULL) {
            *slot = eq + 1;
        } else if (i + 1 < argc) {
            *slot = argv[++i];
        } else {
            fprintf(stderr, "carewatch-" PAY_SERVICE ": %s needs a value\n", name);
            return -1;
        }
    }
    kept[n] = NULL;
    *kept_argc = n;
    return 0;
}

int main(int argc, char **argv)
{
    batch_args b = {0};
    int kept_argc;
    char **kept = calloc((size_t)argc + 1, sizeof(*kept));
    if (kept == NULL)
        return 1;
    if (split_args(argc, argv, &kept_argc, kept, &b) != 0) {
        free(kept);
        return 2;
    }
    static const cw_cfg_spec *const specs[] = {pay_config_spec, NULL};
    cw_service svc;
    int start = cw_service_start(&svc, PAY_SERVICE, kept_argc, kept, specs);
    free(kept);
    if (start != CW_SERVICE_RUN) {
        if (start == CW_SERVICE_EXIT_OK && b.help)
            printf("  --run PERIOD     the payment run of PERIOD (YYYY-MM or\n"
                   "                   YYYY-MM-DD..YYYY-MM-DD) as a batch job over the\n"
                   "                   whole finalized stream: writes its report and\n"
                   "                   instruction files, publishes nothing\n"
                   "  --out DIR        where --run writes (default: report.dir)\n");
        return start == CW_SERVICE_EXIT_OK ? 0 : 2;
    }
    int rc;
    if (b.run != NULL) {
        rc = pay_batch_run(svc.cfg, b.run, b.out ? b.out : cw_config_str(svc.cfg, "report.dir"));
    } else {
        rc = pay_serve(svc.cfg);
    }
    cw_service_finish(&svc);
    return rc;
}
