"""Creates the topics listed in deploy/local/topics.txt that the broker does
not have yet, all in one admin request; existing topics are left alone.

Usage: python create_topics.py BROKERS TOPICS_FILE
Run by `deploy/local/stack create-topics` with the virtualenv's Python."""

import sys

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic


def read_topics(path):
    """[(name, partitions, {config: value})] from the topics file."""
    topics = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            if len(fields) not in (2, 3) or not fields[1].isdigit():
                sys.exit(f"{path}:{lineno}: expected 'name partitions [k=v,...]'")
            config = {}
            if len(fields) == 3:
                for item in fields[2].split(","):
                    key, sep, value = item.partition("=")
                    if not sep:
                        sys.exit(f"{path}:{lineno}: bad config item {item!r}")
                    config[key] = value
            topics.append((fields[0], int(fields[1]), config))
    return topics


def main():
    brokers, path = sys.argv[1:3]
    wanted = read_topics(path)
    admin = AdminClient({"bootstrap.servers": brokers})
    existing = admin.list_topics(timeout=15).topics

    for name, partitions, _ in wanted:
        if name in existing and len(existing[name].partitions) != partitions:
            print(f"warning: {name} has {len(existing[name].partitions)} partitions, "
                  f"topics.txt says {partitions} (reset the stack to recreate it)",
                  file=sys.stderr)

    new = [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config)
           for name, partitions, config in wanted if name not in existing]
    failed = 0
    if new:
        for name, future in admin.create_topics(new, operation_timeout=30,
                                                request_timeout=30).items():
            try:
                future.result()
            except KafkaException as e:
                # Another process may have created it in the meantime.
                if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    print(f"cannot create {name}: {e}", file=sys.stderr)
                    failed += 1
    print(f"topics: {len(new) - failed} created, {len(wanted) - len(new)} already present")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
