#include "result.h"

const char *cw_result_name(cw_result r)
{
    switch (r) {
    case CW_OK:
        return "ok";
    case CW_REJECT:
        return "reject";
    case CW_RETRY:
        return "retry";
    case CW_FATAL:
        return "fatal";
    }
    return "unknown";
}
