# The tools image: carewatch's Python package (tools/pyproject.toml,
# carewatch_py) and its dependencies, for what runs beside the services:
# the topic creator carewatch-create-topics (compose's kafka-init and the
# Kubernetes topics Job run it; the local stack runs the same module from
# the checkout's virtualenv), and carewatch-simulate, carewatch-import and
# carewatch-quality against a deployment's ingest and Kafka.
#
#   docker build -f deploy/docker/tools.Dockerfile -t carewatch-tools:0.1.0 .
#
# The context is the repository. BuildKit reads tools.Dockerfile.dockerignore
# beside this file instead of the top-level .dockerignore (which keeps
# tools/ out of the service image): only the package and schemas/ are sent.

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY tools/ /tmp/carewatch-tools/
# A plain install, not an editable one: the package is copied into the
# virtualenv, so it cannot find the checkout's schemas/ beside it; they are
# installed under /usr/share/carewatch and named by CAREWATCH_SCHEMAS_DIR.
RUN python3 -m venv /opt/carewatch-tools \
 && /opt/carewatch-tools/bin/pip install --no-cache-dir --disable-pip-version-check \
        /tmp/carewatch-tools \
 && rm -rf /tmp/carewatch-tools
COPY schemas/ /usr/share/carewatch/schemas/
ENV PATH=/opt/carewatch-tools/bin:$PATH \
    CAREWATCH_SCHEMAS_DIR=/usr/share/carewatch/schemas
# Fails the build if a command does not start.
RUN carewatch-create-topics --help >/dev/null \
 && carewatch-simulate --help >/dev/null \
 && python3 -c 'from carewatch_py.avro_single import Registry; Registry()'
USER 10001
CMD ["carewatch-create-topics", "--help"]
