"""Posts records through ingest's POST /v1/batch in order: NDJSON batches
of bounded size, per-line results kept, a 503 (Kafka or Redis away)
retried from the first line that was not processed, an optional rate
limit. Used by the simulator's feed and by the historical import."""

import json
import time

import requests

from .ingest_client import IngestClient


# Records that are no batch line: posted on their own, in their place.
SINGLE_TYPES = ("elder-status", "cancel")


class FeedError(Exception):
    pass


class LineResult:
    """What ingest answered for one record: status (202 accepted or
    duplicate, or the error status), error code and message."""

    __slots__ = ("status", "error", "message", "field")

    def __init__(self, status, error=None, message=None, field=None):
        self.status = status
        self.error = error
        self.message = message
        self.field = field

    @property
    def ok(self):
        return self.status in (200, 202)

    def describe(self):
        if self.ok:
            return "accepted"
        text = "%d %s" % (self.status, self.error or "")
        if self.field:
            text += " (%s)" % self.field
        if self.message:
            text += ": " + self.message
        return text


def _encode(record):
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Feeder:
    """feeder.post(records) posts dicts that carry their "type"; returns one
    LineResult per record, in order. rate is records per second (None: as
    fast as ingest answers). progress, when given, is advanced per record."""

    def __init__(self, url, key, rate=None, max_lines=1000, max_bytes=900_000,
                 retry_seconds=120.0, progress=None, timeout=120):
        self.client = IngestClient(url, timeout=timeout)
        self.key = key
        self.rate = rate
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.retry_seconds = retry_seconds
        self.progress = progress
        self.started = None
        self.sent = 0

    def _chunks(self, encoded, start):
        """[start, end) ranges of at most max_lines lines and max_bytes bytes."""
        i, n = start, len(encoded)
        while i < n:
            size, j = 0, i
            limit = self.max_lines
            if self.rate:
                limit = max(1, min(limit, int(self.rate)))
            while j < n and j - i < limit and (j == i or size + len(encoded[j]) + 1 <= self.max_bytes):
                size += len(encoded[j]) + 1
                j += 1
            yield i, j
            i = j

    def _pace(self):
        if not self.rate:
            return
        if self.started is None:
            self.started = time.monotonic()
        due = self.started + self.sent / self.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _wait(self, waited, status, body):
        """Waits out one failure of ingest (503, 502/504, a lost connection);
        waited is [seconds waited, next pause]. FeedError once retry_seconds
        have passed."""
        if waited[0] >= self.retry_seconds:
            raise FeedError("ingest still unavailable after %.0f s: %s %s"
                            % (waited[0], status, body[:300]))
        time.sleep(waited[1])
        waited[0] += waited[1]
        waited[1] = min(waited[1] * 2, 5.0)

    def _post_chunk(self, lines):
        """Posts lines until every one has a final answer; returns their
        LineResults. Retries 503s and connection failures for up to
        retry_seconds; a 413 splits the chunk."""
        results = []
        pending = lines
        waited = [0.0, 0.5]
        while pending:
            try:
                r = self.client.post("/v1/batch", self.key, data=b"\n".join(pending) + b"\n",
                                     headers={"Content-Type": "application/x-ndjson"})
            except requests.RequestException as e:
                status, body = None, str(e)
            else:
                status, body = r.status_code, r.text
            if status == 413 and len(pending) > 1:
                half = len(pending) // 2
                results += self._post_chunk(pending[:half])
                results += self._post_chunk(pending[half:])
                return results
            if status in (200, 503):
                final = self._final_lines(body, len(pending))
                results += final
                pending = pending[len(final):]
                if status == 200:
                    break
                if final:
                    waited = [0.0, 0.5]
            elif status is not None and status not in (502, 504):
                raise FeedError("ingest answered %s to a batch: %s" % (status, body[:300]))
            self._wait(waited, status, body)
        return results

    @staticmethod
    def _final_lines(body, sent):
        """The LineResults of the lines a batch answer says are final: the
        lines before its resume_line (all of them when it has none). Only
        failed lines are listed; the others were accepted (or duplicates)."""
        try:
            doc = json.loads(body)
        except ValueError:
            return []
        if not isinstance(doc, dict) or "lines" not in doc:
            return []  # not a batch answer (overloaded, unavailable): nothing final
        if doc.get("failures_omitted"):
            raise FeedError("ingest left %d failed lines out of its answer; post fewer lines "
                            "per batch" % doc["failures_omitted"])
        resume = doc.get("resume_line")
        count = sent if resume is None else min(resume - 1, sent)
        failed = {x["line"]: x for x in doc.get("failures", [])}
        results = []
        for line in range(1, count + 1):
            x = failed.get(line)
            results.append(LineResult(202) if x is None else
                           LineResult(x["status"], x.get("error"), x.get("message"),
                                      x.get("field")))
        return results

    def _post_single(self, record):
        """A record with an endpoint of its own (no batch line: an elder's
        status, an order's cancel), retried like a batch on 503 and lost
        connections."""
        body = {k: v for k, v in record.items() if k != "type"}
        waited = [0.0, 0.5]
        while True:
            try:
                r = self.client.submit(record["type"], self.key, body)
            except requests.RequestException as e:
                status, text = None, str(e)
            else:
                status, text = r.status_code, r.text
            if status is not None and status not in (502, 503, 504):
                if status in (200, 202):
                    return LineResult(status)
                try:
                    doc = json.loads(text)
                except ValueError:
                    doc = {}
                return LineResult(status, doc.get("error"), doc.get("message"), doc.get("field"))
            self._wait(waited, status, text)

    def post(self, records):
        """Posts records in order: runs of batch lines as batches, the
        others (SINGLE_TYPES) one by one between them."""
        results = []
        run = []
        for r in list(records) + [None]:
            if r is not None and r.get("type") not in SINGLE_TYPES:
                run.append(r)
                continue
            results += self._post_batched(run)
            run = []
            if r is not None:
                self._pace()
                results.append(self._post_single(r))
                self.sent += 1
                if self.progress is not None:
                    self.progress.advance(1)
        return results

    def _post_batched(self, records):
        encoded = [_encode(r) for r in records]
        results = []
        for i, j in self._chunks(encoded, 0):
            self._pace()
            got = self._post_chunk(encoded[i:j])
            if len(got) != j - i:
                raise FeedError("ingest answered %d results for %d lines" % (len(got), j - i))
            results += got
            self.sent += j - i
            if self.progress is not None:
                self.progress.advance(j - i)
        return results
