"""Creates the topics listed in deploy/local/topics.txt that the broker does
not have yet, all in one admin request, and sets the configs topics.txt
lists on topics that already exist, so that a stack made before a line got
its configs (say retention.ms=-1) is brought up to date. Configs not listed
are left as they are (incremental alter), and so are partition counts.

Usage: python create_topics.py BROKERS TOPICS_FILE
Run by `deploy/local/stack create-topics` with the virtualenv's Python."""

import sys

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   NewTopic)


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


def update_configs(admin, wanted):
    """Sets, on each topic of wanted ({name: {config: value}}), the configs
    whose current value differs. Returns (topics changed, topics failed)."""
    if not wanted:
        return 0, 0
    failed = 0
    changes = []
    described = admin.describe_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, name) for name in wanted],
        request_timeout=30)
    for resource, future in described.items():
        try:
            current = future.result()
        except KafkaException as e:
            print(f"cannot read the configs of {resource.name}: {e}", file=sys.stderr)
            failed += 1
            continue
        entries = [ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
                   for key, value in sorted(wanted[resource.name].items())
                   if key not in current or current[key].value != value]
        if entries:
            changes.append(ConfigResource(ConfigResource.Type.TOPIC, resource.name,
                                          incremental_configs=entries))
    changed = 0
    if changes:
        for resource, future in admin.incremental_alter_configs(changes,
                                                                request_timeout=30).items():
            try:
                future.result()
                changed += 1
                print(f"{resource.name}: set "
                      + ",".join(f"{e.name}={e.value}" for e in resource.incremental_configs))
            except KafkaException as e:
                print(f"cannot set the configs of {resource.name}: {e}", file=sys.stderr)
                failed += 1
    return changed, failed


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
    created, failed = set(), set()
    if new:
        for name, future in admin.create_topics(new, operation_timeout=30,
                                                request_timeout=30).items():
            try:
                future.result()
                created.add(name)
            except KafkaException as e:
                # Another process may have created it in the meantime (its
                # configs are then checked below like an existing topic's).
                if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    print(f"cannot create {name}: {e}", file=sys.stderr)
                    failed.add(name)

    # A topic created above has its configs already; any other listed topic
    # may predate them (the broker's default 7-day retention where state is
    # rebuilt from the topic, for one).
    changed, config_failed = update_configs(
        admin, {name: config for name, _, config in wanted
                if config and name not in created and name not in failed})
    print(f"topics: {len(created)} created, {len(wanted) - len(new)} already present, "
          f"configs updated on {changed}")
    return 1 if failed or config_failed else 0


if __name__ == "__main__":
    sys.exit(main())
