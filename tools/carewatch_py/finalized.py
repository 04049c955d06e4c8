"""Reads orders.finalized (keyed by order_id) for a set of orders: one
consumer from the beginning of every partition, records of other orders
skipped by key before decoding, until every wanted order is final or the
time is up."""

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from .avro_single import Registry

TOPIC = "orders.finalized"


class FinalizedReader:
    def __init__(self, brokers, order_ids, registry=None, topic=TOPIC):
        self.wanted = set(order_ids)
        self.finals = {}
        self.registry = registry or Registry()
        self.consumer = Consumer({
            "bootstrap.servers": brokers,
            "group.id": "carewatch-finalized-" + uuid.uuid4().hex,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        })
        md = self.consumer.list_topics(topic, timeout=10).topics[topic]
        if md.error is not None:
            raise KafkaException(md.error)
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in md.partitions])

    def poll(self, seconds):
        """Reads what arrives within seconds; returns how many wanted orders
        became final."""
        before = len(self.finals)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msgs = self.consumer.consume(5000, max(0.05, min(0.5, deadline - time.monotonic())))
            for msg in msgs:
                if msg.error() or msg.key() is None:
                    continue
                key = msg.key().decode("utf-8", "replace")
                if key not in self.wanted or key in self.finals:
                    continue
                name, value = self.registry.decode(msg.value() or b"")
                if name == "OrderFinalized":
                    # An order is finalized once; a republished copy is equal.
                    self.finals[key] = value
            if not msgs and len(self.finals) == len(self.wanted):
                break
        return len(self.finals) - before

    def missing(self):
        return self.wanted - set(self.finals)

    def wait(self, timeout, progress=None, idle_timeout=None):
        """Reads until every wanted order is final, timeout seconds pass, or
        (idle_timeout) nothing new came for that long. Returns the finals."""
        deadline = time.monotonic() + timeout
        last_new = time.monotonic()
        while len(self.finals) < len(self.wanted) and time.monotonic() < deadline:
            if self.poll(1.0):
                last_new = time.monotonic()
            elif idle_timeout is not None and time.monotonic() - last_new > idle_timeout:
                break
            if progress is not None:
                progress.update(len(self.finals))
        if progress is not None:
            progress.update(len(self.finals))
        return self.finals

    def close(self):
        self.consumer.close()


def read_finals(brokers, order_ids, timeout, progress=None, idle_timeout=None):
    reader = FinalizedReader(brokers, order_ids)
    try:
        return reader.wait(timeout, progress, idle_timeout)
    finally:
        reader.close()
