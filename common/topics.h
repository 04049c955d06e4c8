/* carewatch's Kafka topic names, the one place C code spells them
 * (docs/design.md §3; deploy/local/topics.txt creates them, with their
 * partitions and retention). Keys are noted where every reader relies on
 * them. */
#ifndef CW_TOPICS_H
#define CW_TOPICS_H

/* Reference data from the registry, keyed by entity id (compacted). */
#define CW_TOPIC_ELDERS "ref.elders"
#define CW_TOPIC_CAREGIVERS "ref.caregivers"
#define CW_TOPIC_CONTRACTS "ref.contracts"
#define CW_TOPIC_ELDER_STATUS "ref.elder_status"

/* The visit flow. orders.assigned and visit.events are keyed by caregiver
 * (one partition holds a caregiver's day); visit.checks by order. */
#define CW_TOPIC_ORDERS_ASSIGNED "orders.assigned"
#define CW_TOPIC_VISIT_EVENTS "visit.events"
#define CW_TOPIC_VISIT_CHECKS "visit.checks"
#define CW_TOPIC_ORDER_CHANGES "orders.changes"
#define CW_TOPIC_CAREGIVER_STATUS "caregiver.status"

/* Alerts. A street's own topic is made on first use. */
#define CW_TOPIC_ALERTS_ALL "alerts.all"
#define CW_TOPIC_ALERTS_COMMAND "alerts.command"
#define CW_TOPIC_ALERTS_FINANCE "alerts.finance"
#define CW_TOPIC_ALERTS_STREET_TEMPLATE "alerts.street.{street_id}"

/* Verdicts, the ledger and money. */
#define CW_TOPIC_ORDERS_FINALIZED "orders.finalized"
#define CW_TOPIC_ORDER_CORRECTIONS "orders.corrections"
#define CW_TOPIC_LEDGER_CHECKPOINTS "ledger.checkpoints"
#define CW_TOPIC_PAYMENT_STATEMENTS "payments.statements"
#define CW_TOPIC_PAYMENT_INSTRUCTIONS "payments.instructions"

/* The supervision desk's audit trail, keyed by case id. */
#define CW_TOPIC_CASE_EVENTS "cases.events"

/* A provider's notices (evidence requests): "notices.provider.<provider_id>",
 * made on first use. */
#define CW_TOPIC_PROVIDER_NOTICE_PREFIX "notices.provider."

/* Dead letters of a service: "dlq.<service>". */
#define CW_TOPIC_DEAD_LETTER_PREFIX "dlq."

#endif
