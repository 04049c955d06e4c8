#!/bin/sh
# Entrypoint of the local Kafka image (deploy/containers/kafka/Dockerfile):
# starts one broker configured like apache/kafka's image does it, from the
# environment. Every KAFKA_<NAME> variable (other than the JVM's
# KAFKA_HEAP_OPTS, KAFKA_OPTS and KAFKA_JVM_PERFORMANCE_OPTS) is the
# property <name> lower-cased with "_" as ".", "__" as "_" and "___" as "-"
# (KAFKA_NODE_ID=1 is node.id=1). CLUSTER_ID formats KAFKA_LOG_DIRS on the
# first start.
set -eu
conf="${KAFKA_CONFIG_FILE:-/tmp/kafka/server.properties}"
mkdir -p "$(dirname "$conf")"
: "${KAFKA_LOG_DIRS:=/var/lib/kafka/data}"
export KAFKA_LOG_DIRS
env | LC_ALL=C sort | while IFS='=' read -r name value; do
    case "$name" in
        KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_CONFIG_FILE) continue ;;
        KAFKA_*) ;;
        *) continue ;;
    esac
    key="$(printf '%s' "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' |
        sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')"
    printf '%s=%s\n' "$key" "$value"
done >"$conf"
grep -q '^process\.roles=' "$conf" || { echo "carewatch-kafka: KAFKA_PROCESS_ROLES is not set" >&2; exit 2; }

cp="/opt/kafka/libs/*"
tools_log="-Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties"
first_dir="${KAFKA_LOG_DIRS%%,*}"
if [ ! -f "$first_dir/meta.properties" ]; then
    : "${CLUSTER_ID:?CLUSTER_ID is needed to format $first_dir}"
    java "$tools_log" -cp "$cp" kafka.tools.StorageTool format --ignore-formatted \
        -t "$CLUSTER_ID" -c "$conf" >/dev/null
    echo "carewatch-kafka: formatted $first_dir (cluster $CLUSTER_ID)"
fi
# shellcheck disable=SC2086  # options are words
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC ${KAFKA_JVM_PERFORMANCE_OPTS:-} \
    ${KAFKA_OPTS:-} -Dlog4j.configuration=file:/opt/kafka/config/log4j.properties \
    -cp "$cp" kafka.Kafka "$conf"
