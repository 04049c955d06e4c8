"""carewatch's Python tools (the package carewatch-tools, tools/pyproject.toml):
Avro single-object decoding with the project's .avsc files, a small ingest
HTTP client, a topic reader and the topic creator of every deployment, the
deployment's lists (deploy/services.txt, deploy/local/topics.txt), the
district simulator and the historical import behind `carewatch simulate`
and `carewatch import`, the benchmark and the determinism suite.

Installed editable (pip install -e tools, as deploy/local/install-deps
does), it reads those files from the checkout it lives in."""
