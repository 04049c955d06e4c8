"""Reads Kafka topics from the beginning with an independent client
(confluent-kafka) and decodes every record."""

import time
import uuid

from confluent_kafka import Consumer, KafkaException, TopicPartition

from .avro_single import Registry


def read_topics(brokers, topics, registry=None, max_seconds=60.0):
    """All records currently on the topics, as dicts with topic, key, name,
    value, partition, offset and error (None, or why the value could not be
    decoded; name and value are then None). Stops once every partition's end offset (taken
    at the start) has been reached, or after max_seconds."""
    registry = registry or Registry()
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": "carewatch-reader-" + uuid.uuid4().hex,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
    })
    try:
        ends = {}
        for topic in topics:
            md = consumer.list_topics(topic, timeout=10).topics[topic]
            if md.error is not None:
                raise KafkaException(md.error)
            for p in md.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if high > low:
                    ends[(topic, p)] = high
        consumer.assign([TopicPartition(t, p, 0) for (t, p) in ends] or
                        [TopicPartition(topics[0], 0, 0)])
        records = []
        done = set()
        deadline = time.monotonic() + max_seconds
        while len(done) < len(ends) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                # Transaction markers occupy offsets no message is returned
                # for, so the end is also reached when the position passes it.
                for tp in consumer.position([TopicPartition(t, p) for (t, p) in ends]):
                    if tp.offset >= ends[(tp.topic, tp.partition)]:
                        done.add((tp.topic, tp.partition))
                continue
            if msg.error():
                continue
            try:
                name, value = registry.decode(msg.value() or b"")
                error = None
            except ValueError as e:
                name, value, error = None, None, str(e)
            records.append({
                "topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
                "key": msg.key().decode() if msg.key() else None, "name": name, "value": value,
                "error": error,
            })
            if msg.offset() + 1 >= ends.get((msg.topic(), msg.partition()), 0):
                done.add((msg.topic(), msg.partition()))
        return records
    finally:
        consumer.close()
