"""Python helpers for carewatch's tools and tests: Avro single-object
decoding with the project's .avsc files, a small ingest HTTP client, and a
topic reader."""
