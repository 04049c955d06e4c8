"""Creates the topics of a topics file (deploy/local/topics.txt) that the
cluster does not have yet, all in one admin request, and sets the configs
the file lists on topics that already exist, so that a cluster made before
a line got its configs (say retention.ms=-1) is brought up to date. Configs
not listed are left as they are (incremental alter), and so are partition
counts (a listed count that differs is warned about).

The one creator of the listed topics, in every deployment: the local stack
(`deploy/local/stack create-topics`, with the checkout's virtualenv),
compose's kafka-init and the Kubernetes topics Job (both with the tools
image, deploy/docker/tools.Dockerfile). Topics made on first use
(alerts.street.<id>, notices.provider.<id>) are the services' own
(common/topic_maker.c).

usage: python -m carewatch_py.create_topics [--brokers HOST:PORT]
           [--replication-factor N] [--wait SECONDS] [TOPICS_FILE]
Exit status: 0 every topic is there with its configs, 1 a topic could not
be created or configured (or no broker answered), 2 a malformed file."""

import argparse
import os
import sys
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   NewTopic)

from .deployment import TOPICS_TXT, read_topic_list


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="carewatch-create-topics",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("topics_file", nargs="?", default=TOPICS_TXT,
                    help="the topics file (default: the checkout's deploy/local/topics.txt)")
    ap.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"),
                    help="bootstrap servers (default $KAFKA_BROKERS or 127.0.0.1:9092)")
    ap.add_argument("--replication-factor", type=int, default=1,
                    help="replicas of every topic created (default 1: one broker)")
    ap.add_argument("--wait", type=float, default=60.0,
                    help="seconds to wait for the cluster to answer (default 60)")
    args = ap.parse_args(argv)
    if args.replication_factor < 1:
        ap.error("--replication-factor must be at least 1")
    return args


def list_topics(admin, wait):
    """The cluster's topics; retries until a broker answers or wait seconds
    have passed (a cluster still starting)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return admin.list_topics(timeout=max(1.0, min(15.0, deadline - time.monotonic()))
                                     ).topics
        except KafkaException:
            if time.monotonic() >= deadline:
                raise
            time.sleep(2)


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
            print("cannot read the configs of %s: %s" % (resource.name, e), file=sys.stderr)
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
                print("%s: set %s" % (resource.name, ",".join(
                    "%s=%s" % (e.name, e.value) for e in resource.incremental_configs)))
            except KafkaException as e:
                print("cannot set the configs of %s: %s" % (resource.name, e), file=sys.stderr)
                failed += 1
    return changed, failed


def main(argv=None):
    args = parse_args(argv)
    try:
        wanted = read_topic_list(args.topics_file)
    except (OSError, ValueError) as e:
        print("create-topics: %s" % e, file=sys.stderr)
        return 2
    # A cluster still starting refuses connections: retry them every second
    # or two, not every 50 ms (each refusal is logged).
    admin = AdminClient({"bootstrap.servers": args.brokers, "reconnect.backoff.ms": 1000,
                         "reconnect.backoff.max.ms": 2000})
    try:
        existing = list_topics(admin, args.wait)
    except KafkaException as e:
        print("create-topics: no answer from %s: %s" % (args.brokers, e), file=sys.stderr)
        return 1

    for name, partitions, _ in wanted:
        if name in existing and len(existing[name].partitions) != partitions:
            print("warning: %s has %d partitions, %s says %d (recreate it to change that)"
                  % (name, len(existing[name].partitions), os.path.basename(args.topics_file),
                     partitions), file=sys.stderr)

    new = [NewTopic(name, num_partitions=partitions, replication_factor=args.replication_factor,
                    config=config)
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
                    print("cannot create %s: %s" % (name, e), file=sys.stderr)
                    failed.add(name)

    # A topic created above has its configs already; any other listed topic
    # may predate them (the broker's default 7-day retention where state is
    # rebuilt from the topic, for one).
    changed, config_failed = update_configs(
        admin, {name: config for name, _, config in wanted
                if config and name not in created and name not in failed})
    print("topics: %d created, %d already present, configs updated on %d"
          % (len(created), len(wanted) - len(new), changed))
    return 1 if failed or config_failed else 0


if __name__ == "__main__":
    sys.exit(main())
