#include "alert-router/messages.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "timeutil.h"

/* Placeholders in the templates:
 *   {c} caregiver   {o} order   {m} measured   {t} threshold
 *   {r} rule code   {title} the rule's title
 *   {cause} / {cause_title}  the rule that froze (CAREGIVER_FROZEN) */
typedef struct {
    const char *rule;
    const char *title_zh, *title_en;
    /* With the measured value (and threshold); NULL when the rule has no
     * measurement. */
    const char *zh, *en;
    /* Without a measured value (only the threshold, or nothing). */
    const char *zh_bare, *en_bare;
    int needs_threshold;
} rule_text;

static const rule_text rules[] = {
    {"GEO_DISTANCE", "定位偏离住址", "location away from home",
     "护理员 {c} 在订单 {o} 的打卡定位距老人住址 {m} 米，超过 {t} 米（{title}）",
     "Caregiver {c} on order {o}: GPS fix {m} m from the elder's home, more than {t} m ({title})",
     NULL, NULL, 1},
    {"GEO_DUAL_MISMATCH", "GPS 与北斗定位不一致", "GPS and BeiDou disagree",
     "护理员 {c} 在订单 {o} 的 GPS 与北斗定位相距 {m} 米，超过 {t} 米（{title}）",
     "Caregiver {c} on order {o}: GPS and BeiDou fixes {m} m apart, more than {t} m ({title})",
     NULL, NULL, 1},
    {"EVIDENCE_REUSE", "佐证材料重复使用", "evidence reused", NULL, NULL,
     "订单 {o} 提交的佐证照片或录音已用于另一订单，不予采信（{title}）",
     "Evidence for order {o} reuses a photo or recording already used for another order and is "
     "rejected ({title})",
     0},
    {"SERVICE_MISMATCH", "服务项目与需求错配", "service not as ordered", NULL, NULL,
     "护理员 {c} 在订单 {o} 签退时登记的服务项目不含预约的服务（{title}）",
     "Caregiver {c} checked out of order {o} without the ordered service among the items done "
     "({title})",
     0},
    {"GPS_INACCURATE", "定位精度不足", "GPS fix too imprecise",
     "护理员 {c} 在订单 {o} 的打卡定位精度为 {m} 米，差于 {t} 米，无法判断是否在老人住址（{title}）",
     "Caregiver {c} on order {o}: the GPS fix is accurate to {m} m only, worse than {t} m: too "
     "poor to tell whether they were at the elder's home ({title})",
     NULL, NULL, 1},
    {"IMPOSSIBLE_TRAVEL", "不可能的行程", "impossible travel",
     "护理员 {c} 在订单 {o} 签到时移动速度 {m} km/h，超过 {t} km/h（{title}）",
     "Caregiver {c} on order {o}: travelled to the check-in at {m} km/h, faster than {t} km/h "
     "({title})",
     NULL, NULL, 1},
    {"SHORT_DURATION", "服务时长不足", "short visit",
     "护理员 {c} 在订单 {o} 的服务时长 {m} 分钟，少于 {t} 分钟（{title}）",
     "Caregiver {c} on order {o}: the visit lasted {m} min, less than {t} min ({title})", NULL,
     NULL, 1},
    {"NO_SHOW", "未上门", "no-show",
     "护理员 {c} 在订单 {o} 预约开始 {m} 分钟后才签到，超过 {t} 分钟（{title}）",
     "Caregiver {c} checked in to order {o} {m} min after the scheduled start, later than {t} "
     "min ({title})",
     "护理员 {c} 未在订单 {o} 预约开始后 {t} 分钟内签到（{title}）",
     "Caregiver {c} did not check in to order {o} within {t} min of the scheduled start "
     "({title})",
     1},
    {"NO_CHECKOUT", "未签退", "no check-out",
     "护理员 {c} 在订单 {o} 签到 {m} 分钟后才签退，超过 {t} 分钟（{title}）",
     "Caregiver {c} checked out of order {o} {m} min after the check-in, later than {t} min "
     "({title})",
     "护理员 {c} 在订单 {o} 签到后 {t} 分钟内未签退（{title}）",
     "Caregiver {c} did not check out of order {o} within {t} min of the check-in ({title})", 1},
    {"SCHEDULE_OVERLAP", "排班冲突", "schedule overlap",
     "护理员 {c} 的订单 {o} 与其另一订单的排班重叠 {m} 分钟（{title}）",
     "Caregiver {c}: order {o} overlaps another of their orders by {m} min ({title})",
     "护理员 {c} 的订单 {o} 与其另一订单的排班重叠（{title}）",
     "Caregiver {c}: order {o} overlaps another of their orders ({title})", 0},
    {"DAILY_HOURS_EXCEEDED", "单日服务时长超限", "too many visit hours in a day",
     "护理员 {c} 签退订单 {o} 时当日服务时长累计 {m} 分钟，超过 {t} 分钟（{title}）",
     "Caregiver {c} checked out of order {o} with {m} min of visits that day, more than {t} min "
     "({title})",
     NULL, NULL, 1},
    {"UNDER_SERVED", "当月服务不足", "under-served month",
     "老人当月（{o}）有效上门 {m} 次，少于约定的每月 {t} 次，或有有效上门时长不足约定（{title}）",
     "Elder's month {o}: {m} valid visits, fewer than the {t} a month agreed, or a valid visit "
     "shorter than agreed ({title})",
     "老人当月（{o}）有效上门时长不足约定（{title}）",
     "Elder's month {o}: a valid visit shorter than agreed ({title})", 1},
    {"CROSS_PROVIDER_OVERLAP", "跨机构重复派单", "one person at two providers",
     "护理员 {c} 的订单 {o} 与同一人在另一服务机构名下的订单或服务时间重叠 {m} 分钟（{title}）",
     "Caregiver {c}: order {o} overlaps by {m} min an order or visit of the same person "
     "registered at another provider ({title})",
     "护理员 {c} 的订单 {o} 与同一人在另一服务机构名下的订单或服务时间重叠（{title}）",
     "Caregiver {c}: order {o} overlaps an order or visit of the same person registered at "
     "another provider ({title})",
     0},
    {"ELDER_UNAVAILABLE", "老人住院或已故期间签到", "visit while the elder was away", NULL, NULL,
     "护理员 {c} 在老人住院或已故期间签到订单 {o}（{title}）",
     "Caregiver {c} checked in to order {o} while the elder was in hospital or deceased "
     "({title})",
     0},
    {"UNCERTIFIED", "护理员无证上岗", "uncertified caregiver", NULL, NULL,
     "护理员 {c} 无护理员证书，却被派单 {o}，该服务须持证上岗（{title}）",
     "Caregiver {c} holds no care-worker certificate but was assigned order {o}, a service "
     "that requires one ({title})",
     0},
    {"VISIT_OVERLAP", "服务时间重叠", "visit overlap",
     "护理员 {c} 在另一服务未结束时签到订单 {o}，重叠 {m} 分钟（{title}）",
     "Caregiver {c} checked in to order {o} while another visit was open, overlapping by {m} "
     "min ({title})",
     "护理员 {c} 在另一服务未结束时签到订单 {o}（{title}）",
     "Caregiver {c} checked in to order {o} while another visit was open ({title})", 0},
    {"FROZEN_CAREGIVER", "冻结期间打卡", "visit event while frozen", NULL, NULL,
     "已冻结的护理员 {c} 在订单 {o} 仍有打卡记录（{title}）",
     "Frozen caregiver {c} recorded a visit event on order {o} ({title})", 0},
    {"LATE_SUBMISSION", "补录嫌疑", "back-filled record",
     "护理员 {c} 在订单 {o} 的打卡记录发生 {m} 分钟后才提交，超过 {t} 分钟（{title}）",
     "Caregiver {c} on order {o}: the event was submitted {m} min after it happened, later than "
     "{t} min ({title})",
     NULL, NULL, 1},
    {"FACE_MISMATCH", "人脸不符", "face mismatch",
     "护理员 {c} 在订单 {o} 签到的人脸比对得分 {m}，低于 {t}（{title}）",
     "Caregiver {c} on order {o}: check-in face match score {m}, below {t} ({title})",
     "护理员 {c} 在订单 {o} 签到时缺少人脸比对得分，要求不低于 {t}（{title}）",
     "Caregiver {c} on order {o}: check-in without a face match score, at least {t} required "
     "({title})",
     1},
    {"VOICE_UNCONFIRMED", "声纹未确认", "voice unconfirmed",
     "护理员 {c} 在订单 {o} 签退的声纹比对得分 {m}，低于 {t}（{title}）",
     "Caregiver {c} on order {o}: check-out voiceprint score {m}, below {t} ({title})",
     "护理员 {c} 在订单 {o} 签退时缺少声纹比对得分，要求不低于 {t}（{title}）",
     "Caregiver {c} on order {o}: check-out without a voiceprint score, at least {t} required "
     "({title})",
     1},
    {"PHOTO_REUSE", "照片重复使用", "photo reuse", NULL, NULL,
     "护理员 {c} 在订单 {o} 使用的照片已在其他订单中出现（{title}）",
     "Caregiver {c} on order {o}: the photo was already used on another order ({title})", 0},
    {ALERT_RULE_CAREGIVER_FROZEN, "护理员已冻结", "caregiver frozen", NULL, NULL,
     "护理员 {c} 因订单 {o} {cause_title}（{cause}）已被冻结，解冻前其打卡一律标红，需管理员核实后解冻",
     "Caregiver {c} was frozen for {cause_title} ({cause}) on order {o}; every visit event is "
     "red until an admin unfreezes",
     0},
};

#define RULE_COUNT (sizeof(rules) / sizeof(rules[0]))

/* A freeze whose reason does not start with a rule code. */
static const char frozen_zh[] =
    "护理员 {c} 因订单 {o} 已被冻结（{reason}），解冻前其打卡一律标红，需管理员核实后解冻";
static const char frozen_en[] =
    "Caregiver {c} was frozen on order {o} ({reason}); every visit event is red until an admin "
    "unfreezes";

static const char generic_zh[] = "护理员 {c} 在订单 {o} 触发规则 {r}（{title}）";
static const char generic_en[] = "Caregiver {c} on order {o}: rule {r} flagged ({title})";
static const char generic_zh_values[] = "护理员 {c} 在订单 {o} 触发规则 {r}，测得 {m}，阈值 {t}";
static const char generic_en_values[] =
    "Caregiver {c} on order {o}: rule {r} flagged, measured {m}, threshold {t}";

static const rule_text *find(const char *rule)
{
    for (size_t i = 0; rule != NULL && i < RULE_COUNT; i++)
        if (strcmp(rules[i].rule, rule) == 0)
            return &rules[i];
    return NULL;
}

int alert_rule_known(const char *rule)
{
    return find(rule) != NULL;
}

const char *alert_rule_title_zh(const char *rule)
{
    const rule_text *t = find(rule);
    return t ? t->title_zh : rule;
}

const char *alert_rule_title_en(const char *rule)
{
    const rule_text *t = find(rule);
    return t ? t->title_en : rule;
}

/* A buffer being written; `over` once something did not fit. */
typedef struct {
    char *buf;
    size_t len, used;
    int over;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->over || t->used + n >= t->len) {
        t->over = 1;
        return;
    }
    memcpy(t->buf + t->used, s, n);
    t->used += n;
    t->buf[t->used] = '\0';
}

static void put_str(text *t, const char *s)
{
    put(t, s, strlen(s));
}

/* Measured values: scores to two decimals, the rest to one (120.0 km/h). */
static void format_measured(char *buf, size_t len, double v, const char *unit)
{
    int score = unit != NULL && strcmp(unit, "score") == 0;
    snprintf(buf, len, score ? "%.2f" : "%.1f", v);
}

/* Thresholds as configured: 80, 0.8, 55. */
static void format_threshold(char *buf, size_t len, double v)
{
    snprintf(buf, len, "%.6g", v);
}

typedef struct {
    const alert_message_input *in;
    const char *title;
    const char *cause;
    const char *cause_title;
    char measured[32], threshold[32];
} fill_values;

static void fill(text *t, const char *tmpl, const fill_values *v)
{
    static const struct {
        const char *name;
        size_t len;
    } names[] = {{"{c}", 3},     {"{o}", 3},     {"{m}", 3},
                 {"{t}", 3},     {"{r}", 3},     {"{title}", 7},
                 {"{cause}", 7}, {"{cause_title}", 13}, {"{reason}", 8}};
    for (const char *s = tmpl; *s;) {
        const char *open = strchr(s, '{');
        if (open == NULL) {
            put_str(t, s);
            return;
        }
        put(t, s, (size_t)(open - s));
        size_t k = 0;
        while (k < sizeof(names) / sizeof(names[0]) && strncmp(open, names[k].name, names[k].len))
            k++;
        const char *value;
        switch (k) {
        case 0: value = v->in->caregiver_id; break;
        case 1: value = v->in->order_id; break;
        case 2: value = v->measured; break;
        case 3: value = v->threshold; break;
        case 4: value = v->in->rule; break;
        case 5: value = v->title; break;
        case 6: value = v->cause; break;
        case 7: value = v->cause_title; break;
        case 8: value = v->in->reason; break;
        default: value = "{"; break; /* not a placeholder: the brace itself */
        }
        put_str(t, value ? value : "");
        s = open + (k < sizeof(names) / sizeof(names[0]) ? names[k].len : 1);
    }
}

/* The schedule sentence after the rule's own. */
static void schedule(text *zh, text *en, const alert_message_input *in)
{
    char when[40] = "", iso[40];
    if (in->scheduled_start != 0) {
        cw_time_format_rfc3339(in->scheduled_start, in->utc_offset_minutes, iso, sizeof(iso));
        /* "2024-07-08T10:15:00.000+08:00" -> "2024-07-08 10:15" */
        snprintf(when, sizeof(when), "%.10s %.5s", iso, iso + 11);
    }
    char minutes[16];
    snprintf(minutes, sizeof(minutes), "%d", in->scheduled_minutes);
    put_str(zh, "。老人 ");
    put_str(zh, in->elder_id ? in->elder_id : "");
    put_str(en, ". Elder ");
    put_str(en, in->elder_id ? in->elder_id : "");
    if (when[0]) {
        put_str(zh, "，预约 ");
        put_str(zh, when);
        put_str(en, ", scheduled ");
        put_str(en, when);
        if (in->scheduled_minutes > 0) {
            put_str(zh, "，");
            put_str(zh, minutes);
            put_str(zh, " 分钟");
            put_str(en, " for ");
            put_str(en, minutes);
            put_str(en, " min");
        }
    }
    put_str(zh, "。");
    put_str(en, ".");
}

/* The cause of a freeze: the reason's first word, when it is a rule code. */
static void cause_of(const char *reason, char *buf, size_t len)
{
    size_t n = 0;
    while (reason != NULL && reason[n] != '\0' && reason[n] != ' ' && n + 1 < len)
        n++;
    memcpy(buf, reason ? reason : "", n);
    buf[n] = '\0';
}

int alert_messages(const alert_message_input *in, char *zh, size_t zh_len, char *en,
                   size_t en_len)
{
    text tz = {zh, zh_len, 0, zh_len == 0}, te = {en, en_len, 0, en_len == 0};
    if (zh_len > 0)
        zh[0] = '\0';
    if (en_len > 0)
        en[0] = '\0';
    const rule_text *r = find(in->rule);
    char cause[64];
    cause_of(in->reason, cause, sizeof(cause));
    fill_values v = {.in = in, .cause = cause};
    format_measured(v.measured, sizeof(v.measured), in->measured, in->unit);
    format_threshold(v.threshold, sizeof(v.threshold), in->threshold);

    const char *tzh, *ten;
    int thresholds_ok = r == NULL || !r->needs_threshold || in->has_threshold;
    int frozen = r != NULL && strcmp(r->rule, ALERT_RULE_CAREGIVER_FROZEN) == 0;
    if (frozen && !alert_rule_known(cause)) {
        tzh = frozen_zh;
        ten = frozen_en;
    } else if (r != NULL && in->has_measured && r->zh != NULL && thresholds_ok) {
        tzh = r->zh;
        ten = r->en;
    } else if (r != NULL && r->zh_bare != NULL && thresholds_ok) {
        tzh = r->zh_bare;
        ten = r->en_bare;
    } else if (in->has_measured && in->has_threshold) {
        tzh = generic_zh_values;
        ten = generic_en_values;
    } else {
        tzh = generic_zh;
        ten = generic_en;
    }
    v.title = r ? r->title_zh : in->rule;
    v.cause_title = alert_rule_title_zh(cause);
    fill(&tz, tzh, &v);
    v.title = r ? r->title_en : in->rule;
    v.cause_title = alert_rule_title_en(cause);
    fill(&te, ten, &v);
    schedule(&tz, &te, in);
    if (tz.over || te.over) {
        if (zh_len > 0)
            zh[0] = '\0';
        if (en_len > 0)
            en[0] = '\0';
        return -1;
    }
    return 0;
}
