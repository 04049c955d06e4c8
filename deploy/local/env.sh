# shellcheck shell=bash
# Defaults shared by the local scripts (install-deps, stack, services, run)
# and by tests/run. Source it; do not run it. Every CAREWATCH_* value may be
# set in the environment beforehand.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export REPO

# Data, logs and pid files of the local stack and services.
export CAREWATCH_VAR="${CAREWATCH_VAR:-$REPO/var}"
# Downloaded Kafka jars. Unquoted so that ~ expands (even when HOME is unset).
CAREWATCH_CACHE=${CAREWATCH_CACHE:-~/.cache/carewatch}
export CAREWATCH_CACHE
# Python virtualenv with the test tools (tests/integration/requirements.txt).
export CAREWATCH_VENV="${CAREWATCH_VENV:-$REPO/.venv}"

# Ports of the local stack. Not CAREWATCH_*: those names override the
# services' configuration keys (CAREWATCH_REDIS_PORT is redis.port).
export CW_LOCAL_KAFKA_PORT="${CW_LOCAL_KAFKA_PORT:-9092}"
export CW_LOCAL_CONTROLLER_PORT="${CW_LOCAL_CONTROLLER_PORT:-9093}"
export CW_LOCAL_REDIS_PORT="${CW_LOCAL_REDIS_PORT:-6379}"
# The optional schema registry (deploy/registry/registry).
export CW_LOCAL_REGISTRY_PORT="${CW_LOCAL_REGISTRY_PORT:-8085}"
export KAFKA_BROKERS="127.0.0.1:$CW_LOCAL_KAFKA_PORT"
export REDIS_HOST=127.0.0.1
export REDIS_PORT="$CW_LOCAL_REDIS_PORT"

# Kafka broker versions in order of preference. 3.9.x, not 4.x: Kafka 4.0
# dropped old protocol versions that Debian 12's librdkafka 2.0.2 relies on.
# install-deps fetches the first one Maven Central serves; KAFKA_VERSION and
# KAFKA_LIBS name the first one already in the cache (empty if none is).
export CAREWATCH_KAFKA_VERSIONS="${CAREWATCH_KAFKA_VERSIONS:-3.9.1 3.9.0}"
KAFKA_VERSION=""
KAFKA_LIBS=""
for _v in $CAREWATCH_KAFKA_VERSIONS; do
    if [ -f "$CAREWATCH_CACHE/kafka-$_v/complete" ]; then
        KAFKA_VERSION="$_v"
        KAFKA_LIBS="$CAREWATCH_CACHE/kafka-$_v/libs"
        break
    fi
done
unset _v
export KAFKA_VERSION KAFKA_LIBS
