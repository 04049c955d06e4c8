#!/bin/sh
# Creates the topics listed in topics.txt (deploy/local/topics.txt: one
# "name partitions [config=value,...]" a line, # comments) that the cluster
# does not have yet; existing topics are left alone. Runs in the apache/kafka
# image, as the compose file's kafka-init step and the Kubernetes topics Job.
#   KAFKA_BOOTSTRAP      bootstrap servers (kafka:19092)
#   TOPICS_FILE          the topics file (/etc/carewatch/topics.txt)
#   REPLICATION_FACTOR   replicas of every topic (1)
#   KAFKA_TOPICS         the kafka-topics tool (/opt/kafka/bin/kafka-topics.sh)
set -eu
set -f  # no globbing of the fields below
bootstrap="${KAFKA_BOOTSTRAP:-kafka:19092}"
topics_file="${TOPICS_FILE:-/etc/carewatch/topics.txt}"
replication="${REPLICATION_FACTOR:-1}"
tool="${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"

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
done <"$topics_file"
echo "create-topics: $count topics present on $bootstrap"
