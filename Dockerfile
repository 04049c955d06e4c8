# One image holding every carewatch service and the operator's command line.
# The entrypoint picks what runs: `docker run carewatch ingest`, `... geo-validator`,
# `... carewatch ledger verify ...`; `... list` prints the services it holds.
#
#   docker build -t carewatch:0.1.0 .
#
# Both stages are Debian 12 (bookworm): the binaries link against its
# librdkafka 2.0.2, avro-c 1.11.1, hiredis 0.14.1, libmicrohttpd 0.9.75,
# libyaml, jansson and OpenSSL 3.0, and the runtime stage installs exactly
# those shared libraries (tests/integration/test_deploy.py checks the list
# against what `ldd` reports for the built binaries).

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config librdkafka-dev libavro-dev libhiredis-dev \
        libmicrohttpd-dev libyaml-dev libjansson-dev libssl-dev libcmocka-dev python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY schemas/ schemas/
COPY docs/openapi/ docs/openapi/
COPY common/ common/
COPY services/ services/
COPY tests/CMakeLists.txt tests/
COPY tests/unit/ tests/unit/
# The top-level CMakeLists.txt also adds the benchmark programs and the
# fuzzing option (off here): both are needed to configure.
COPY tests/fuzz/option.cmake tests/fuzz/
COPY tools/bench/ tools/bench/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build build -j "$(nproc)" \
 && ctest --test-dir build -L unit --output-on-failure
# Every executable the build made: build/services/<name>/carewatch-<name> and
# the command line build/services/cli/carewatch.
RUN mkdir -p /out/bin \
 && find build/services -mindepth 2 -maxdepth 2 -type f -perm -u+x \
        \( -name 'carewatch-*' -o -name carewatch \) -exec install -m 0755 -t /out/bin {} + \
 && ls /out/bin

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        librdkafka1 libavro23 libhiredis0.14 libmicrohttpd12 libyaml-0-2 libjansson4 \
        libssl3 openssl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/carewatch carewatch \
 && mkdir -p /etc/carewatch /var/lib/carewatch/ledger /var/lib/carewatch/keys \
 && chown -R carewatch:carewatch /var/lib/carewatch
COPY --from=build /out/bin/ /usr/local/bin/
COPY deploy/docker/entrypoint.sh /usr/local/lib/carewatch/entrypoint
COPY deploy/docker/healthcheck.sh /usr/local/lib/carewatch/healthcheck
# Fails the build if a shared library is missing from this stage.
RUN for b in /usr/local/bin/carewatch*; do \
        if ldd "$b" | grep -q 'not found'; then ldd "$b"; exit 1; fi; \
        "$b" --version >/dev/null || exit 1; \
    done
USER carewatch
WORKDIR /var/lib/carewatch
# Inside containers every service serves /livez, /readyz and /metrics on 9100
# (the binaries' default admin.port; the configuration files under
# deploy/docker/config and deploy/k8s bind it to 0.0.0.0); ingest's API is on 8080.
EXPOSE 8080 8081 9100
ENTRYPOINT ["/usr/local/lib/carewatch/entrypoint"]
CMD ["list"]
