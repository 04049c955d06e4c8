#!/bin/sh
# Creates the topics listed in topics.txt (deploy/local/topics.txt: one
# "name partitions [config=value,...]" a line, # comments) that the cluster
# does not have yet, and sets the listed configs on every listed topic, so
# that a topic made before its line got them (say retention.ms=-1) is
# brought up to date; configs not listed and partition counts are left
# alone. Runs in the apache/kafka image, as the compose file's kafka-init
# step and the Kubernetes topics Job.
#   KAFKA_BOOTSTRAP      bootstrap servers (kafka:19092)
#   TOPICS_FILE          the topics file (/etc/carewatch/topics.txt)
#   REPLICATION_FACTOR   replicas of every topic (1)
#   KAFKA_TOPICS         the kafka-topics tool (/opt/kafka/bin/kafka-topics.sh)
#   KAFKA_CONFIGS        the kafka-configs tool (/opt/kafka/bin/kafka-configs.sh)
set -eu
set -f  # no globbing of the fields below
bootstrap="${KAFKA_BOOTSTRAP:-kafka:19092}"
topics_file="${TOPICS_FILE:-/etc/carewatch/topics.txt}"
replication="${REPLICATION_FACTOR:-1}"
tool="${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"
configs_tool="${KAFKA_CONFIGS:-/opt/kafka/bin/kafka-configs.sh}"

# The broker may still be starting: wait up to 60 s for it to answer.
tries=0
until "$tool" --bootstrap-server "$bootstrap" --list >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
        echo "create-topics: no answer from $bootstrap" >&2
        exit 1
    fi
    sleep 2
done

count=0
configured=0
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    line="${line%%#*}"
    # shellcheck disable=SC2086  # split the line into its fields
    set -- $line
    [ $# -eq 0 ] && continue
    if [ $# -gt 3 ] || [ $# -lt 2 ] || ! [ "$2" -ge 1 ] 2>/dev/null; then
        echo "create-topics: $topics_file:$lineno: expected 'name partitions [k=v,...]'" >&2
        exit 1
    fi
    name="$1" partitions="$2" configs="${3:-}"
    set -- --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$name" \
        --partitions "$partitions" --replication-factor "$replication"
    old_ifs="$IFS"
    IFS=,
    for item in $configs; do
        set -- "$@" --config "$item"
    done
    IFS="$old_ifs"
    "$tool" "$@" >/dev/null
    count=$((count + 1))
    # --if-not-exists leaves an existing topic's configs as they were: set
    # them here on every run (the same values again change nothing). Only
    # the configs listed are touched (incremental alter).
    if [ -n "$configs" ]; then
        "$configs_tool" --bootstrap-server "$bootstrap" --alter --entity-type topics \
            --entity-name "$name" --add-config "$configs" >/dev/null
        configured=$((configured + 1))
    fi
done <"$topics_file"
echo "create-topics: $count topics present on $bootstrap, configs set on $configured"
