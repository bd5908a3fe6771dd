"""The raw limit of the stack's broker: CloudEvents pushed and read with bare aiokafka.

No database, no outbox, no inbox, no handler: a producer and a consumer group, configured
as the services configure theirs (``shared.kafka``: acks=all, linger 5 ms, manual offset
commits after each batch of up to 200 records), moving records whose values and headers
are events the platform published in the same run.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer

from bench.common import percentiles, rate
from shared.events import CloudEvent
from shared.kafka import ensure_topics, new_consumer, new_producer

CONSUMER_BATCH = 200  # the services' consumer_batch_size
SENT_AT = "bench_sent_at"


async def _joined_consumer(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    consumer = new_consumer(
        bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        client_id="bench-baseline",
        topics=[topic],
        session_timeout_ms=2_000,
    )
    await consumer.start()
    while not consumer.assignment():  # joining is not part of what is measured
        await consumer.getmany(timeout_ms=100)
    return consumer


async def _consume(
    consumer: AIOKafkaConsumer, count: int, latencies: list[float] | None = None
) -> int:
    received = 0
    while received < count:
        batches = await consumer.getmany(timeout_ms=500, max_records=CONSUMER_BATCH)
        now = time.time()
        for records in batches.values():
            received += len(records)
            if latencies is not None:
                for record in records:
                    sent = dict(record.headers or ()).get(SENT_AT)
                    if sent is not None:
                        latencies.append(now - float(sent))
        if batches:
            await consumer.commit()
    return received


async def throughput(bootstrap: str, events: Sequence[CloudEvent], count: int) -> dict[str, Any]:
    """Produce ``count`` records (cycling through ``events``) while one consumer group
    reads them; seconds from the first send to the last record read."""
    topic = f"bench.baseline.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic])
    consumer = await _joined_consumer(bootstrap, topic)
    producer = new_producer(bootstrap, client_id="bench-baseline")
    await producer.start()
    records = [(e.value_bytes(), e.subject.encode(), e.kafka_headers()) for e in events]
    started = time.monotonic()

    async def produce() -> None:
        pending = []
        for value, key, headers in itertools.islice(itertools.cycle(records), count):
            pending.append(await producer.send(topic, value=value, key=key, headers=headers))
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)

    try:
        await asyncio.gather(produce(), _consume(consumer, count))
        seconds = time.monotonic() - started
    finally:
        await producer.stop()
        await consumer.stop()
    return {
        "events": count,
        "seconds": round(seconds, 3),
        "events_per_s": rate(count, seconds),
        "mean_event_bytes": round(
            sum(len(v) + sum(len(n) + len(h) for n, h in hs) for v, _, hs in records)
            / max(1, len(records)),
            1,
        ),
    }


async def latency(
    bootstrap: str, events: Sequence[CloudEvent], per_second: int, seconds: float
) -> dict[str, Any]:
    """Records at a fixed rate; time from each send to its read by a consumer group."""
    topic = f"bench.latency.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic])
    consumer = await _joined_consumer(bootstrap, topic)
    producer = new_producer(bootstrap, client_id="bench-baseline")
    await producer.start()
    count = int(per_second * seconds)
    latencies: list[float] = []
    started = time.monotonic()

    async def produce() -> None:
        pending = []
        for i, event in zip(range(count), itertools.cycle(events), strict=False):
            delay = started + i / per_second - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            headers = [*event.kafka_headers(), (SENT_AT, repr(time.time()).encode())]
            pending.append(
                await producer.send(
                    topic, value=event.value_bytes(), key=event.subject.encode(), headers=headers
                )
            )
        await asyncio.gather(*pending)

    try:
        received = (await asyncio.gather(produce(), _consume(consumer, count, latencies)))[1]
    finally:
        await producer.stop()
        await consumer.stop()
    return {"sent": count, "received": received, **percentiles(latencies)}
