"""The deployment artefacts against the code: Dockerfile, docker-compose.yml,
deploy/docker/, deploy/k8s/, deploy/services.txt, deploy/local/config and the
topic creator (carewatch_py.create_topics).

Needs no broker, Redis or container engine. The services, their
configuration keys and environment variables are taken from the built
binaries (build/ or CW_IMAGE_BUILD_DIR, every `carewatch*` executable target CMake
configured) and their --config-keys output, and must be deploy/services.txt's;
topics from deploy/local/topics.txt; the topics read from the beginning to
rebuild state, from the services' C sources. Kubernetes objects are validated against the
Kubernetes JSON schemas of the kubernetes-validate package; the compose file
and the KEDA ScaledObjects, for which no schema is available offline here,
are checked structurally."""

import ast
import concurrent.futures
import fnmatch
import functools
import http.server
import importlib
import os
import re
import stat
import subprocess
import sys
import threading
import tomllib
import types

import kubernetes_validate
import pytest
import yaml
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry

from carewatch_py import create_topics
from carewatch_py.deployment import read_services

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The image holds a RelWithDebInfo build, like tests/run's build/ (not the
# sanitizer build the other integration tests run, which links libasan).
BUILD_DIR = os.path.abspath(os.environ.get("CW_IMAGE_BUILD_DIR", os.path.join(REPO, "build")))
DOCKER_DIR = os.path.join(REPO, "deploy", "docker")
K8S_DIR = os.path.join(REPO, "deploy", "k8s")
LOCAL_DIR = os.path.join(REPO, "deploy", "local")
TOPICS_TXT = os.path.join(LOCAL_DIR, "topics.txt")
SERVICES_TXT = os.path.join(REPO, "deploy", "services.txt")
COMPOSE_FILE = os.path.join(REPO, "docker-compose.yml")
# On top of it where containers share the host's network (podman here:
# deploy/containers/test runs both).
COMPOSE_LOCAL_FILE = os.path.join(REPO, "docker-compose.local.yml")
KUBERNETES_VERSION = "1.29"
IMAGE = "carewatch"
# The Python tools (tools/pyproject.toml), whose topic creator compose and
# Kubernetes run.
TOOLS_IMAGE = "carewatch-tools"
TOOLS_DOCKERFILE = "deploy/docker/tools.Dockerfile"
ADMIN_PORT = 9100


@pytest.fixture(scope="session")
def kafka_up():
    """Replaces conftest's broker check: nothing here talks to Kafka."""
    yield


# ---- the code's side: binaries, keys, topics ----------------------------------

@functools.lru_cache(maxsize=None)
def binaries():
    """{name: path} of every carewatch executable CMake configured: services
    by service name, the command line as 'carewatch'."""
    targets = sorted(d[:-len(".dir")] for d in os.listdir(os.path.join(BUILD_DIR, "services",
                                                                       "CMakeFiles"))
                     if d.startswith("carewatch") and d.endswith(".dir"))
    assert targets, "no carewatch targets in %s: configure the build first" % BUILD_DIR
    found = {}
    for target in targets:
        if target == "carewatch":
            name, path = "carewatch", os.path.join(BUILD_DIR, "services", "cli", "carewatch")
        else:
            name = target[len("carewatch-"):]
            path = os.path.join(BUILD_DIR, "services", name, target)
        assert os.access(path, os.X_OK), "%s is configured but not built (%s)" % (target, path)
        found[name] = path
    return found


def services():
    return sorted(n for n in binaries() if n != "carewatch")


@functools.lru_cache(maxsize=None)
def config_keys(service):
    """{key: environment variable} from `carewatch-<service> --config-keys`."""
    out = subprocess.run([binaries()[service], "--config-keys"], capture_output=True,
                         text=True, timeout=10, check=True).stdout
    keys = {}
    for line in out.splitlines():
        m = re.match(r"^\| `([a-z0-9_.]+)` \| `(CAREWATCH_[A-Z0-9_]+)` \|", line)
        if m:
            keys[m.group(1)] = m.group(2)
    assert "admin.port" in keys and "kafka.brokers" in keys, out
    return keys


def env_names(service):
    return set(config_keys(service).values())


def parse_topics(text):
    """{name: (partitions, {config: value})} from a topics file's text."""
    topics = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            config = dict(item.split("=", 1) for item in fields[2].split(",")) \
                if len(fields) == 3 else {}
            topics[fields[0]] = (int(fields[1]), config)
    assert len(topics) >= 10
    return topics


def read_topics():
    """{name: (partitions, {config: value})} from deploy/local/topics.txt."""
    with open(TOPICS_TXT, encoding="utf-8") as f:
        return parse_topics(f.read())


def flatten(tree, prefix=""):
    """Dotted keys of a nested mapping: {"a": {"b": 1}} -> {"a.b": 1}."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, prefix + key + "."))
        else:
            flat[prefix + key] = value
    return flat


def check_config(service, config_file, env):
    """Runs the binary's own --check-config on a file with an environment."""
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")}
    run_env.update(env)
    r = subprocess.run([binaries()[service], "--check-config", "--config", config_file],
                       capture_output=True, text=True, timeout=10, env=run_env)
    assert r.returncode == 0, "%s rejects %s: %s%s" % (service, config_file, r.stdout, r.stderr)


def default_group(service, config):
    return config.get("stream.group_id") or "carewatch-" + service


def listed_services():
    """{name: Service(name, admin_port, http_port)} of deploy/services.txt."""
    return {s.name: s for s in read_services(SERVICES_TXT)}


def load_flat(path):
    with open(path, encoding="utf-8") as f:
        return flatten(yaml.safe_load(f))


# ---- deploy/services.txt and the local stack ------------------------------------

def test_services_txt_lists_exactly_the_built_services():
    """The one list of services: CMake builds exactly those (its list in
    services/CMakeLists.txt is checked here), and deploy/local/services reads
    the same names and ports as carewatch_py.deployment."""
    assert sorted(listed_services()) == services(), \
        "deploy/services.txt and the services CMake builds differ"
    r = subprocess.run([os.path.join(LOCAL_DIR, "services"), "list"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    shell = [line.split() for line in r.stdout.splitlines()]
    assert shell == [[s.name, str(s.admin_port), str(s.http_port or "-")]
                     for s in read_services(SERVICES_TXT)]


def test_services_txt_rejects_malformed_lines(tmp_path):
    for text, where in (("ingest 9101\n", ":1:"), ("a 9101 -\nb 9101 -\n", ":2:"),
                        ("a 9101 -\na 9102 -\n", ":2:"), ("a 9101 80x\n", ":1:"),
                        ("# nothing\n", "no service")):
        path = tmp_path / "services.txt"
        path.write_text(text)
        with pytest.raises(ValueError, match=where):
            read_services(str(path))


def test_local_configs_take_their_ports_from_services_txt():
    """deploy/local/config/<name>.yaml for every service, without an admin
    port (deploy/local/services passes services.txt's); an HTTP port, where
    the file still has one, is services.txt's, and the binary accepts the
    file with the environment deploy/local/services gives it."""
    names = sorted(f[:-5] for f in os.listdir(os.path.join(LOCAL_DIR, "config"))
                   if f.endswith(".yaml"))
    assert names == sorted(listed_services())
    for name, svc in listed_services().items():
        path = os.path.join(LOCAL_DIR, "config", name + ".yaml")
        config = load_flat(path)
        assert "admin.port" not in config, "%s: the admin port is deploy/services.txt's" % path
        if "http.port" in config:
            assert config["http.port"] == svc.http_port, path
        assert ("http.bind" in config) == (svc.http_port is not None), path
        env = {"CAREWATCH_ADMIN_PORT": str(svc.admin_port)}
        if svc.http_port:
            env["CAREWATCH_HTTP_PORT"] = str(svc.http_port)
        assert set(env) <= env_names(name), name
        check_config(name, path, env)
    with open(os.path.join(LOCAL_DIR, "services"), encoding="utf-8") as f:
        script = f.read()
    assert 'SERVICES_TXT="$REPO/deploy/services.txt"' in script
    assert 'CAREWATCH_ADMIN_PORT="${ADMIN_PORT[$svc]}"' in script
    assert 'CAREWATCH_HTTP_PORT="${HTTP_PORT[$svc]}"' in script


# ---- docker-compose.yml ---------------------------------------------------------

INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$\$")


def interpolate(value, where):
    """Compose's variable substitution with the variables unset: ${X:-d} and
    ${X-d} give d, ${X} gives ""; ${X?err} would stop compose, so it fails."""
    if isinstance(value, dict):
        return {k: interpolate(v, where + "." + str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, where) for v in value]
    if not isinstance(value, str):
        return value

    def one(m):
        if m.group(0) == "$$":
            return "$"
        assert m.group(2) in (None, ":-", "-"), "%s: %s needs a variable set" % (where, m.group(0))
        return m.group(3) or ""
    # Checked on the text without its substitutions and $$ escapes: "$${X}"
    # is the text ${X}, for the container's shell.
    assert "${" not in INTERPOLATION.sub("", value), \
        "%s: malformed substitution in %r" % (where, value)
    return INTERPOLATION.sub(one, value)


@functools.lru_cache(maxsize=None)
def compose():
    with open(COMPOSE_FILE, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    return interpolate(raw, "compose")


def compose_carewatch_services():
    """{compose service: document} of the services that run a carewatch binary."""
    return {name: svc for name, svc in compose()["services"].items()
            if svc.get("image", "").split(":")[0] == IMAGE and "entrypoint" not in svc}


def compose_env(svc):
    env = svc.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def compose_mounts(svc):
    """[(source, target, read_only)] of a compose service's short-syntax volumes."""
    mounts = []
    for spec in svc.get("volumes", []):
        parts = spec.split(":")
        assert len(parts) in (2, 3), spec
        mounts.append((parts[0], parts[1], len(parts) == 3 and parts[2] == "ro"))
    return mounts


COMPOSE_TOP = {"name", "services", "volumes", "networks", "configs", "secrets"}
COMPOSE_SERVICE = {"image", "build", "command", "entrypoint", "environment", "env_file",
                   "ports", "volumes", "depends_on", "healthcheck", "restart", "init",
                   "stop_grace_period", "user", "working_dir", "deploy", "labels",
                   "read_only", "tmpfs"}
RESTART = {"no", "always", "on-failure", "unless-stopped"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")


def test_compose_file_is_structurally_valid():
    doc = compose()
    assert set(k for k in doc if not k.startswith("x-")) <= COMPOSE_TOP
    named_volumes = set(doc.get("volumes") or {})
    services_ = doc["services"]
    for name, svc in services_.items():
        where = "compose service " + name
        assert re.match(r"^[a-z0-9][a-z0-9_.-]*$", name), where
        assert set(svc) <= COMPOSE_SERVICE, "%s: unknown keys %s" % (where, set(svc) - COMPOSE_SERVICE)
        assert "image" in svc or "build" in svc, where
        if "build" in svc:
            context = os.path.join(REPO, svc["build"]["context"])
            assert os.path.isfile(os.path.join(context, svc["build"].get("dockerfile",
                                                                          "Dockerfile"))), where
        assert str(svc.get("restart", "no")) in RESTART, where
        for key in ("command", "entrypoint"):
            if key in svc:
                assert isinstance(svc[key], list) and all(isinstance(a, str) for a in svc[key]), \
                    "%s: %s must be an exec-form list" % (where, key)
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services_, "%s depends on unknown %s" % (where, dep)
            assert spec["condition"] in CONDITIONS, where
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services_[dep], "%s waits for %s's health" % (where, dep)
            if spec["condition"] == "service_completed_successfully":
                assert str(services_[dep].get("restart", "no")) == "no", \
                    "%s waits for %s to finish, which restarts" % (where, dep)
        for source, target, _ in compose_mounts(svc):
            assert target.startswith("/"), where
            if source.startswith("."):
                assert os.path.exists(os.path.join(REPO, source)), "%s mounts %s" % (where, source)
            else:
                assert source in named_volumes, "%s: undeclared volume %s" % (where, source)
        for port in svc.get("ports", []):
            assert re.match(r"^((\d+\.){3}\d+:)?\d+:\d+$", str(port)), "%s: port %s" % (where, port)
        hc = svc.get("healthcheck")
        if hc and not hc.get("disable"):
            assert hc["test"][0] in ("CMD", "CMD-SHELL"), where
            for key in ("interval", "timeout", "start_period"):
                if key in hc:
                    assert DURATION.match(str(hc[key])), "%s: %s" % (where, key)
        compose_env(svc)  # a list form must be NAME=value


def test_compose_runs_every_service_with_health_checks_and_restarts():
    runs = compose_carewatch_services()
    assert sorted(runs) == services(), "compose services differ from the built services"
    for name, svc in runs.items():
        assert svc["command"][0] == name
        assert svc["restart"] == "unless-stopped", name
        assert svc["healthcheck"]["test"][1] == "/usr/local/lib/carewatch/healthcheck", name
        conditions = {dep: spec["condition"] for dep, spec in svc["depends_on"].items()}
        assert conditions["kafka-init"] == "service_completed_successfully", name
        assert conditions["redis"] == "service_healthy", name
        mounts = {target: (source, ro) for source, target, ro in compose_mounts(svc)}
        assert mounts["/etc/carewatch"] == ("./deploy/docker/config", True), name
        # As in Kubernetes (readOnlyRootFilesystem): only the volumes are written.
        assert svc["read_only"] is True, name
        # Scaled instances cannot share a fixed host port: only ingest and the
        # desk (one instance: its transactional id fences a second) publish.
        if name not in ("ingest", "supervision-desk"):
            assert "ports" not in svc, name


def test_compose_kafka_redis_and_topic_creation():
    svcs = compose()["services"]
    kafka = svcs["kafka"]
    assert re.match(r"^apache/kafka:3\.9\.\d+$", kafka["image"]), kafka["image"]
    env = compose_env(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert re.match(r"^[A-Za-z0-9_-]{22}$", env["CLUSTER_ID"])
    listeners = dict(item.split("://") for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    internal = listeners[env["KAFKA_INTER_BROKER_LISTENER_NAME"]]
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "/var/lib/kafka/data" in [t for _, t, _ in compose_mounts(kafka)]

    redis = svcs["redis"]
    command = redis["command"]
    assert command[:1] == ["redis-server"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert "/data" in [t for _, t, _ in compose_mounts(redis)]

    # The topics: carewatch-create-topics of the tools image, on topics.txt.
    init = svcs["kafka-init"]
    assert init["image"].split(":")[0] == TOOLS_IMAGE
    assert init["build"] == {"context": ".", "dockerfile": TOOLS_DOCKERFILE}
    args = create_topics_args(init["command"])
    assert args.brokers == internal and args.replication_factor == 1
    mounts = {source: target for source, target, _ in compose_mounts(init)}
    assert mounts["./deploy/local/topics.txt"] == args.topics_file

    # Every carewatch service reaches Kafka on the internal listener and Redis
    # by its service name (from its configuration file or environment); the
    # supervision desk keeps no state in Redis.
    for name, svc in compose_carewatch_services().items():
        with open(os.path.join(DOCKER_DIR, "config", name + ".yaml"), encoding="utf-8") as f:
            config = flatten(yaml.safe_load(f))
        env = compose_env(svc)
        brokers = env.get(config_keys(name)["kafka.brokers"], config.get("kafka.brokers"))
        assert brokers == internal, name
        if name == "supervision-desk":
            assert "redis.host" not in config, name
            continue
        assert env.get("CAREWATCH_REDIS_HOST", config.get("redis.host")) == "redis", name


def test_compose_config_files_and_environment_are_accepted_by_the_binaries():
    runs = compose_carewatch_services()
    config_dir = os.path.join(DOCKER_DIR, "config")
    assert sorted(f[:-5] for f in os.listdir(config_dir) if f.endswith(".yaml")) == services()
    for name in services():
        path = os.path.join(config_dir, name + ".yaml")
        with open(path, encoding="utf-8") as f:
            config = flatten(yaml.safe_load(f))
        unknown = set(config) - set(config_keys(name))
        assert not unknown, "%s: keys %s are not %s's" % (path, unknown, name)
        assert config["admin.port"] == ADMIN_PORT and config["admin.bind"] == "0.0.0.0", path
        env = compose_env(runs[name])
        unknown_env = set(env) - env_names(name)
        assert not unknown_env, "compose sets %s for %s, which reads none of them" % (unknown_env,
                                                                                        name)
        check_config(name, path, env)


def test_compose_ledger_writer_has_its_volume_and_key():
    svcs = compose()["services"]
    with open(os.path.join(DOCKER_DIR, "config", "ledger-writer.yaml"), encoding="utf-8") as f:
        config = flatten(yaml.safe_load(f))
    mounts = {target: (source, ro) for source, target, ro in compose_mounts(svcs["ledger-writer"])}
    assert config["ledger.dir"] in mounts and not mounts[config["ledger.dir"]][1]
    assert mounts[config["ledger.dir"]][0] in compose()["volumes"]
    key_dir = os.path.dirname(config["ledger.signing_key"])
    assert mounts[key_dir][1], "the key volume is mounted read-only"
    keygen = svcs["ledger-key"]
    assert {t: s for s, t, _ in compose_mounts(keygen)}[key_dir] == mounts[key_dir][0]
    assert config["ledger.signing_key"] in keygen["command"][0]
    assert svcs["ledger-writer"]["depends_on"]["ledger-key"]["condition"] == \
        "service_completed_successfully"


def test_compose_publishes_the_api_port_of_every_service_with_one():
    """Ingest and the desk, the services deploy/services.txt gives an HTTP
    port: the same port in the container as on the local stack."""
    with_api = {n: s.http_port for n, s in listed_services().items() if s.http_port}
    assert sorted(with_api) == ["ingest", "supervision-desk"]
    for name, port in with_api.items():
        svc = compose()["services"][name]
        config = load_flat(os.path.join(DOCKER_DIR, "config", name + ".yaml"))
        container_ports = [int(str(p).rsplit(":", 1)[1]) for p in svc["ports"]]
        assert container_ports == [config["http.port"]] == [port], name
        assert config["http.bind"] == "0.0.0.0"


# ---- docker-compose.local.yml: the stack on the host's network -------------------

class ComposeTag(str):
    """A value tagged !reset or !override in a compose file."""


def _compose_tag(tag):
    def construct(loader, node):
        if isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        elif isinstance(node, yaml.MappingNode):
            value = loader.construct_mapping(node, deep=True)
        else:
            value = loader.construct_scalar(node)
        t = ComposeTag(tag)
        t.value = value
        return t
    return construct


class ComposeLoader(yaml.SafeLoader):
    pass


ComposeLoader.add_constructor("!reset", _compose_tag("!reset"))
ComposeLoader.add_constructor("!override", _compose_tag("!override"))

# The local stack's ports (deploy/local/env.sh and deploy/services.txt),
# which the stack on the host's network must keep clear of.
LOCAL_STACK_PORTS = {9092, 9093, 6379}


@functools.lru_cache(maxsize=None)
def compose_local():
    with open(COMPOSE_LOCAL_FILE, encoding="utf-8") as f:
        raw = yaml.load(f, Loader=ComposeLoader)  # noqa: S506 (SafeLoader with two tags)
    return interpolate(raw, "compose.local")


def test_compose_local_puts_every_service_on_the_host_network():
    main, local = compose()["services"], compose_local()["services"]
    assert set(local) == set(main), "docker-compose.local.yml names other services"
    assert set(k for k in compose_local() if not k.startswith("x-")) == {"services"}
    for name, svc in local.items():
        # One network for all: a service left on the project's network
        # would not reach 127.0.0.1 of the others.
        assert svc["network_mode"] == "host", name
        assert sorted(svc["extra_hosts"]) == ["kafka:127.0.0.1", "redis:127.0.0.1"], name
        assert set(svc) <= COMPOSE_SERVICE | {"network_mode", "extra_hosts"}, name
        # Published ports mean nothing on the host's network: taken away.
        if "ports" in main[name]:
            assert svc.get("ports") == "!reset", name


def test_compose_local_ports_are_distinct_and_clear_of_the_local_stack():
    listed = listed_services()
    local = compose_local()["services"]
    used = {}

    def use(port, what):
        port = int(port)
        assert port not in used, "%s and %s both on %d" % (used.get(port), what, port)
        assert port not in LOCAL_STACK_PORTS, "%s on the local stack's port %d" % (what, port)
        assert port not in {s.admin_port for s in listed.values()} | \
            {s.http_port for s in listed.values() if s.http_port}, \
            "%s on a port of deploy/services.txt (%d)" % (what, port)
        used[port] = what

    for name, svc in compose_carewatch_services().items():
        env = compose_env(local[name])
        assert env["CAREWATCH_ADMIN_BIND"] == "127.0.0.1", name
        # services.txt's admin port plus 20000, in services.txt's order.
        assert int(env["CAREWATCH_ADMIN_PORT"]) == listed[name].admin_port + 20000, name
        use(env["CAREWATCH_ADMIN_PORT"], name + " admin")
        if listed[name].http_port:
            assert env["CAREWATCH_HTTP_BIND"] == "127.0.0.1", name
            use(env["CAREWATCH_HTTP_PORT"], name + " http")
    kafka = compose_env(local["kafka"])
    listeners = dict(item.split("://") for item in kafka["KAFKA_LISTENERS"].split(","))
    for listener, address in listeners.items():
        host, port = address.rsplit(":", 1)
        assert host == "127.0.0.1", listener
        use(port, "kafka " + listener)
    redis = local["redis"]["command"]
    assert redis[redis.index("--bind") + 1] == "127.0.0.1"
    use(redis[redis.index("--port") + 1], "redis")


def test_compose_local_kafka_redis_and_services_meet():
    """The ports each side is given agree: Kafka's listeners and advertised
    addresses, the controller, Redis's port for the services and for its
    health check, ingest's port for the desk."""
    local = compose_local()["services"]
    main = compose()["services"]
    kafka = dict(compose_env(main["kafka"]), **compose_env(local["kafka"]))
    listeners = dict(item.split("://") for item in kafka["KAFKA_LISTENERS"].split(","))
    advertised = dict(item.split("://") for item in kafka["KAFKA_ADVERTISED_LISTENERS"].split(","))
    for name, address in advertised.items():
        assert address.rsplit(":", 1)[1] == listeners[name].rsplit(":", 1)[1], name
    assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@" + listeners["CONTROLLER"]
    # The containers' listener keeps docker-compose.yml's address (kafka is
    # 127.0.0.1 in every container), which the configuration files name.
    internal = advertised[kafka["KAFKA_INTER_BROKER_LISTENER_NAME"]]
    assert internal == dict(item.split("://") for item in compose_env(
        main["kafka"])["KAFKA_ADVERTISED_LISTENERS"].split(","))[
            compose_env(main["kafka"])["KAFKA_INTER_BROKER_LISTENER_NAME"]]
    redis_cmd = local["redis"]["command"]
    redis_port = redis_cmd[redis_cmd.index("--port") + 1]
    assert redis_cmd[0] == "redis-server" and \
        redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    assert compose_env(local["redis"])["REDIS_PORT"] == redis_port
    assert "REDIS_PORT" in main["redis"]["healthcheck"]["test"][1]
    http = {}
    for name in compose_carewatch_services():
        env = compose_env(local[name])
        if name != "supervision-desk":
            assert env["CAREWATCH_REDIS_PORT"] == redis_port, name
        if "CAREWATCH_HTTP_PORT" in env:
            http[name] = env["CAREWATCH_HTTP_PORT"]
    assert compose_env(local["supervision-desk"])["CAREWATCH_DESK_INGEST_URL"] == \
        "http://127.0.0.1:%s" % http["ingest"]


def test_compose_local_environment_is_accepted_by_the_binaries():
    """Each service's configuration file with docker-compose.yml's
    environment and docker-compose.local.yml's on top passes the binary's
    --check-config, and every variable set is one of its keys."""
    local = compose_local()["services"]
    config_dir = os.path.join(DOCKER_DIR, "config")
    for name, svc in compose_carewatch_services().items():
        env = dict(compose_env(svc), **compose_env(local[name]))
        unknown = set(env) - env_names(name)
        assert not unknown, "docker-compose.local.yml sets %s for %s" % (unknown, name)
        check_config(name, os.path.join(config_dir, name + ".yaml"), env)


def test_compose_images_of_kafka_and_redis_are_variables():
    """Where apache/kafka and redis cannot be pulled, local images stand in
    (deploy/containers/kafka and redis): the compose file names them
    through CAREWATCH_KAFKA_IMAGE and CAREWATCH_REDIS_IMAGE."""
    with open(COMPOSE_FILE, encoding="utf-8") as f:
        raw = yaml.safe_load(f)["services"]
    assert raw["kafka"]["image"] == "${CAREWATCH_KAFKA_IMAGE:-apache/kafka:3.9.1}"
    assert raw["redis"]["image"] == "${CAREWATCH_REDIS_IMAGE:-redis:7.2-bookworm}"
    with open(os.path.join(REPO, "deploy", "containers", "kafka", "entrypoint.sh"),
              encoding="utf-8") as f:
        entrypoint = f.read()
    assert "CLUSTER_ID" in entrypoint and "KAFKA_HEAP_OPTS" in entrypoint
    hc = compose()["services"]["kafka"]["healthcheck"]["test"]
    assert hc[1] == "/opt/kafka/bin/kafka-broker-api-versions.sh"
    assert os.access(os.path.join(REPO, "deploy", "containers", "kafka",
                                  "kafka-broker-api-versions.sh"), os.X_OK)


# ---- the topic creator (carewatch_py.create_topics) -------------------------------
# The one creator of topics.txt's topics: the local stack runs it from the
# checkout's virtualenv, compose's kafka-init and the Kubernetes Job from the
# tools image. Run here against a stand-in for confluent-kafka's AdminClient.

def create_topics_args(command):
    """The parsed arguments of a carewatch-create-topics command line."""
    assert command[0] == "carewatch-create-topics", command
    return create_topics.parse_args(command[1:])


def done(value):
    future = concurrent.futures.Future()
    future.set_result(value)
    return future


def failed(code):
    future = concurrent.futures.Future()
    future.set_exception(KafkaException(KafkaError(code)))
    return future


BROKER_DEFAULTS = {"cleanup.policy": "delete", "retention.ms": "604800000",
                   "retention.bytes": "-1"}


class FakeAdmin:
    """A cluster holding `topics` ({name: partitions}) with the broker's
    default configs; records what is created and altered. list_topics fails
    `down` times first (a broker still starting)."""

    def __init__(self, topics=None, down=0, exists_already=()):
        self.topics = dict(topics or {})
        self.down = down
        self.exists_already = set(exists_already)
        self.created = {}
        self.altered = {}
        self.conf = None

    def __call__(self, conf):
        self.conf = conf
        return self

    def list_topics(self, timeout):
        if self.down:
            self.down -= 1
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        return types.SimpleNamespace(topics={
            name: types.SimpleNamespace(partitions=dict.fromkeys(range(partitions)))
            for name, partitions in self.topics.items()})

    def create_topics(self, new, **kwargs):
        result = {}
        for t in new:
            if t.topic in self.exists_already:
                result[t.topic] = failed(KafkaError.TOPIC_ALREADY_EXISTS)
                continue
            self.created[t.topic] = (t.num_partitions, t.replication_factor, dict(t.config))
            result[t.topic] = done(None)
        return result

    def describe_configs(self, resources, **kwargs):
        return {r: done({k: ConfigEntry(k, v) for k, v in BROKER_DEFAULTS.items()})
                for r in resources}

    def incremental_alter_configs(self, resources, **kwargs):
        for r in resources:
            assert all(e.incremental_operation == AlterConfigOpType.SET
                       for e in r.incremental_configs)
            self.altered[r.name] = {e.name: e.value for e in r.incremental_configs}
        return {r: done(None) for r in resources}


def run_create_topics(monkeypatch, admin, *args):
    monkeypatch.setattr(create_topics, "AdminClient", admin)
    monkeypatch.setattr(create_topics.time, "sleep", lambda s: None)
    return create_topics.main(["--brokers", "broker:1234", *args])


def test_create_topics_creates_exactly_topics_txt(monkeypatch, capsys):
    admin = FakeAdmin()
    assert run_create_topics(monkeypatch, admin, "--replication-factor", "3", TOPICS_TXT) == 0
    assert admin.conf["bootstrap.servers"] == "broker:1234"
    assert {name: (partitions, config) for name, (partitions, _, config)
            in admin.created.items()} == read_topics()
    assert {rf for _, rf, _ in admin.created.values()} == {3}
    # Created with their configs: nothing to alter.
    assert admin.altered == {}
    assert "topics: %d created, 0 already present" % len(read_topics()) in capsys.readouterr().out


def test_create_topics_sets_the_configs_of_existing_topics(monkeypatch):
    """On a cluster made before topics.txt listed any config (every topic
    there with the broker's defaults), the configs topics.txt lists that
    differ are set with an incremental alter (nothing else is touched), and
    nothing is created; a topic another process created meanwhile is
    configured the same way."""
    wanted = read_topics()
    expected = {name: {k: v for k, v in config.items() if BROKER_DEFAULTS.get(k) != v}
                for name, (_, config) in wanted.items()}
    expected = {name: config for name, config in expected.items() if config}
    assert "visit.events" in expected

    admin = FakeAdmin({name: partitions for name, (partitions, _) in wanted.items()})
    assert run_create_topics(monkeypatch, admin, TOPICS_TXT) == 0
    assert admin.created == {} and admin.altered == expected

    racing = FakeAdmin({name: partitions for name, (partitions, _) in wanted.items()
                        if name != "visit.events"}, exists_already={"visit.events"})
    assert run_create_topics(monkeypatch, racing, TOPICS_TXT) == 0
    assert racing.created == {} and racing.altered == expected


def test_create_topics_waits_for_the_cluster(monkeypatch, capsys):
    admin = FakeAdmin(down=3)
    assert run_create_topics(monkeypatch, admin, "--wait", "60", TOPICS_TXT) == 0
    assert len(admin.created) == len(read_topics())
    gone = FakeAdmin(down=10 ** 6)
    assert run_create_topics(monkeypatch, gone, "--wait", "0", TOPICS_TXT) == 1
    assert "no answer from broker:1234" in capsys.readouterr().err


def test_create_topics_rejects_a_malformed_line(tmp_path):
    """Checked before any broker is asked: the command fails at once."""
    for text in ("visit.events six\n", "visit.events 0\n", "a 1 retention.ms\n",
                 "a 1\na 2\n"):
        bad = tmp_path / "topics.txt"
        bad.write_text(text)
        r = subprocess.run([sys.executable, "-m", "carewatch_py.create_topics", "--brokers",
                            "127.0.0.1:1", "--wait", "0", str(bad)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and "topics.txt:" in r.stderr, (text, r.stderr)


def test_the_tools_package_declares_the_topic_creator_and_its_dependencies():
    """tools/pyproject.toml: the console scripts compose and Kubernetes run
    exist, and every third-party module carewatch_py imports is a declared
    dependency."""
    with open(os.path.join(REPO, "tools", "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    scripts = project["scripts"]
    assert scripts["carewatch-create-topics"] == "carewatch_py.create_topics:main"
    for script in scripts.values():
        module, func = script.split(":")
        assert callable(getattr(importlib.import_module(module), func)), script
    declared = {re.split(r"[<>=!~ \[]", d, 1)[0].lower() for d in project["dependencies"]}
    dist_of = {"confluent_kafka": "confluent-kafka", "fastavro": "fastavro", "yaml": "pyyaml",
               "requests": "requests"}
    imported = set()
    package = os.path.join(REPO, "tools", "carewatch_py")
    for name in os.listdir(package):
        if name.endswith(".py"):
            with open(os.path.join(package, name), encoding="utf-8") as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    imported.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"carewatch_py"}
    assert third_party <= set(dist_of), "undeclared imports: %s" % (third_party - set(dist_of))
    assert {dist_of[m] for m in third_party} <= declared


# ---- deploy/docker scripts -------------------------------------------------------

@pytest.fixture()
def bin_dir(tmp_path):
    """The image's /usr/local/bin: every built binary under its own name."""
    d = tmp_path / "bin"
    d.mkdir()
    for path in binaries().values():
        os.symlink(path, d / os.path.basename(path))
    return d


def run_entrypoint(bin_dir, *args, **env):
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")}
    run_env.update(CAREWATCH_BIN_DIR=str(bin_dir), **env)
    return subprocess.run(["sh", os.path.join(DOCKER_DIR, "entrypoint.sh"), *args],
                          capture_output=True, text=True, timeout=10, env=run_env)


def test_entrypoint_runs_each_service_with_its_config_file(bin_dir):
    r = run_entrypoint(bin_dir, "list")
    assert r.returncode == 0 and r.stdout.split() == services()
    config_dir = os.path.join(DOCKER_DIR, "config")
    for name in services():
        r = run_entrypoint(bin_dir, name, "--config-keys")
        assert r.returncode == 0 and "`admin.port`" in r.stdout, name
        r = run_entrypoint(bin_dir, name, "--check-config", CAREWATCH_CONFIG_DIR=config_dir)
        assert r.returncode == 0, r.stderr
        assert os.path.join(config_dir, name + ".yaml") in r.stdout + r.stderr, r.stdout
    r = run_entrypoint(bin_dir, "no-such-service")
    assert r.returncode == 2 and services()[0] in r.stderr
    if "carewatch" in binaries():
        assert run_entrypoint(bin_dir, "carewatch", "--version").returncode == 0


class _Admin(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        code = 200 if self.path == "/readyz" else 503
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_healthcheck_is_200_only():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Admin)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    script = os.path.join(DOCKER_DIR, "healthcheck.sh")
    env = dict(os.environ, CAREWATCH_ADMIN_PORT=str(port))
    try:
        assert subprocess.run(["bash", script, "/readyz"], env=env, timeout=10).returncode == 0
        assert subprocess.run(["bash", script], env=env, timeout=10).returncode == 0
        assert subprocess.run(["bash", script, "/livez"], env=env, timeout=10).returncode != 0
    finally:
        server.shutdown()
        server.server_close()
    # Nobody listening any more.
    assert subprocess.run(["bash", script], env=env, timeout=10,
                          stderr=subprocess.DEVNULL).returncode != 0


# ---- Dockerfile --------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def dockerfile_stages():
    """[(from line, [instructions])], continuation lines joined, comments dropped."""
    with open(os.path.join(REPO, "Dockerfile"), encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"\\\n", " ", "\n".join(l for l in text.splitlines()
                                          if not l.lstrip().startswith("#")))
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.upper().startswith("FROM "):
            stages.append((line, []))
        else:
            stages[-1][1].append(line)
    return stages


def apt_packages(instructions):
    pkgs = []
    for ins in instructions:
        m = re.search(r"apt-get install ((?:-\S+\s+)*)([^&;]+)", ins)
        if m:
            pkgs += m.group(2).split()
    return pkgs


def this_debian():
    with open("/etc/os-release", encoding="utf-8") as f:
        return dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)["VERSION_CODENAME"]


def test_dockerfile_stages_are_this_debian_release():
    stages = dockerfile_stages()
    assert len(stages) == 2
    (build_from, build), (run_from, run) = stages
    codename = this_debian()
    assert re.match(r"^FROM debian:%s AS build$" % codename, build_from, re.I), build_from
    assert re.match(r"^FROM debian:%s-slim$" % codename, run_from), run_from
    runtime = apt_packages(run)
    assert runtime and not [p for p in runtime if p.endswith("-dev") or p == "build-essential"]
    assert "--no-install-recommends" in " ".join(run)


def test_dockerfile_collects_every_built_binary(tmp_path):
    """Runs the build stage's own `find` over this build tree: it must pick
    every carewatch executable CMake builds, and the runtime stage copies
    what it collected."""
    build = dockerfile_stages()[0][1]
    collect = [i for i in build if "find build/services" in i]
    assert len(collect) == 1, collect
    m = re.search(r"(find build/services .*?) -exec install -m 0755 -t (\S+) \{\} \+", collect[0])
    assert m, collect[0]
    find_cmd, out_dir = m.group(1), m.group(2)
    root = tmp_path / "src"
    root.mkdir()
    os.symlink(BUILD_DIR, root / "build")
    r = subprocess.run(find_cmd.replace("find build/services", "find -L build/services", 1),
                       shell=True, cwd=root, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    picked = sorted(os.path.basename(p) for p in r.stdout.split())
    assert picked == sorted(os.path.basename(p) for p in binaries().values())
    run = dockerfile_stages()[1][1]
    assert "COPY --from=build %s/ /usr/local/bin/" % out_dir in run


def test_dockerfile_copies_scripts_and_sources_docker_may_send():
    instructions = [i for _, ins in dockerfile_stages() for i in ins]
    copies = [i.split()[1:] for i in instructions if i.startswith("COPY ")
              and "--from=" not in i]
    sources = [args[0] for args in copies]
    for src in sources:
        assert os.path.exists(os.path.join(REPO, src)), src
    with open(os.path.join(REPO, ".dockerignore"), encoding="utf-8") as f:
        rules = [l.strip() for l in f if l.strip() and not l.startswith("#")]

    def ignored(path):
        result = False
        for rule in rules:
            negate = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern + "/*") \
                    or fnmatch.fnmatch(path, "*/" + pattern):
                result = not negate
        return result
    for src in sources:
        assert not ignored(src.rstrip("/")), ".dockerignore drops %s" % src
    assert ignored("build-x/services") and ignored(".venv") and ignored("var")

    dests = {args[0]: args[1] for args in copies}
    entry = dests["deploy/docker/entrypoint.sh"]
    health = dests["deploy/docker/healthcheck.sh"]
    assert 'ENTRYPOINT ["%s"]' % entry in instructions
    for svc in compose_carewatch_services().values():
        assert svc["healthcheck"]["test"][1] == health
    for script in ("entrypoint.sh", "healthcheck.sh"):
        mode = os.stat(os.path.join(DOCKER_DIR, script)).st_mode
        assert mode & stat.S_IXUSR, script


def dpkg_owner(path):
    """The Debian package holding a library path (usrmerge: /lib or /usr/lib)."""
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):
        if p.startswith("/usr/lib/"):
            candidates.append(p[len("/usr"):])
        elif p.startswith("/lib"):
            candidates.append("/usr" + p)
    for p in candidates:
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":", 1)[0].split(",")[0].strip()
    raise AssertionError("no Debian package holds %s" % path)


def dependency_closure(packages):
    """The packages apt installs for `apt-get install packages`: their
    Depends and Pre-Depends, recursively, as installed on this machine."""
    seen, todo = set(), list(packages)
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        r = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", pkg],
                           capture_output=True, text=True)
        assert r.returncode == 0, "package %s of the Dockerfile is unknown here" % pkg
        for clause in r.stdout.split(","):
            for alternative in clause.split("|"):
                name = alternative.strip().split(" ")[0].split(":")[0]
                if name and subprocess.run(["dpkg-query", "-W", name],
                                           capture_output=True).returncode == 0:
                    todo.append(name)
    return seen


def test_runtime_packages_hold_every_shared_library():
    runtime = apt_packages(dockerfile_stages()[1][1])
    closure = dependency_closure(runtime)
    missing = {}
    for name, path in binaries().items():
        out = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            m = re.match(r"^\s*(\S+) => (/\S+) \(", line)
            if not m:
                assert "not found" not in line, line
                continue
            owner = dpkg_owner(m.group(2))
            if owner not in closure:
                missing.setdefault(owner, set()).add("%s (%s)" % (m.group(1), name))
    assert not missing, "the runtime stage lacks: %s" % missing


# ---- deploy/k8s ------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def k8s_files():
    return sorted(f for f in os.listdir(K8S_DIR) if f.endswith(".yaml"))


@functools.lru_cache(maxsize=None)
def k8s_objects():
    objs = []
    for name in k8s_files():
        if name == "kustomization.yaml":
            continue
        with open(os.path.join(K8S_DIR, name), encoding="utf-8") as f:
            objs += [(name, o) for o in yaml.safe_load_all(f) if o]
    return objs


def k8s_by_kind(kind):
    return {o["metadata"]["name"]: o for _, o in k8s_objects() if o["kind"] == kind}


def workloads():
    """{service: (kind, object)} of the carewatch Deployments and StatefulSets."""
    found = {}
    for _, o in k8s_objects():
        if o["kind"] in ("Deployment", "StatefulSet"):
            found[o["metadata"]["name"]] = (o["kind"], o)
    return found


def main_container(obj):
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def test_every_yaml_file_parses():
    paths = [COMPOSE_FILE]
    paths += [os.path.join(DOCKER_DIR, "config", f) for f in os.listdir(os.path.join(DOCKER_DIR,
                                                                                      "config"))]
    paths += [os.path.join(K8S_DIR, f) for f in k8s_files()]
    for path in paths:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        assert docs and all(isinstance(d, dict) for d in docs), path
    for name, data in k8s_by_kind("ConfigMap")["carewatch-config"]["data"].items():
        assert isinstance(yaml.safe_load(data), dict), name


def test_kustomization_lists_every_manifest():
    with open(os.path.join(K8S_DIR, "kustomization.yaml"), encoding="utf-8") as f:
        kust = yaml.safe_load(f)
    assert kust["kind"] == "Kustomization"
    assert sorted(kust["resources"]) == [f for f in k8s_files() if f != "kustomization.yaml"]
    assert [i["name"] for i in kust["images"]] == [IMAGE, TOOLS_IMAGE]


def test_k8s_objects_match_the_kubernetes_schemas():
    validated = 0
    for name, obj in k8s_objects():
        if obj["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: checked in test_k8s_autoscaling_follows_consumer_lag
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail("%s %s/%s: %s at %s" % (name, obj["kind"], obj["metadata"]["name"],
                                                e.message, ".".join(map(str, e.path))))
        validated += 1
    assert validated >= len(services()) + 4


def test_k8s_runs_every_service_with_probes_and_resources():
    found = workloads()
    assert sorted(found) == services()
    for name, (kind, obj) in found.items():
        assert kind == ("StatefulSet" if name == "ledger-writer" else "Deployment"), name
        labels = obj["spec"]["template"]["metadata"]["labels"]
        assert obj["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        c = main_container(obj)
        assert c["image"].split(":")[0] == IMAGE and c["args"][0] == name, name
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports["admin"] == ADMIN_PORT, name
        assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "admin"}, name
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}, name
        assert {"cpu", "memory"} <= set(c["resources"]["requests"]), name
        assert obj["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in obj["spec"]["template"]["spec"]["volumes"]}
        assert volumes[mounts["/etc/carewatch"]]["configMap"]["name"] == "carewatch-config"


def k8s_service_config(service):
    data = k8s_by_kind("ConfigMap")["carewatch-config"]["data"]
    return flatten(yaml.safe_load(data[service + ".yaml"]))


def k8s_env(obj, secret_values):
    """The CAREWATCH_* environment of a workload's container: envFrom
    ConfigMaps, literal values, fieldRefs as a pod name, Secrets from
    secret_values."""
    c = main_container(obj)
    configmaps = k8s_by_kind("ConfigMap")
    env = {}
    for src in c.get("envFrom", []):
        env.update(configmaps[src["configMapRef"]["name"]]["data"])
    for var in c.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "fieldRef" in var["valueFrom"]:
            env[var["name"]] = "pod-0"
        elif "configMapKeyRef" in var["valueFrom"]:
            ref = var["valueFrom"]["configMapKeyRef"]
            env[var["name"]] = configmaps[ref["name"]]["data"][ref["key"]]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secret_values[(ref["name"], ref["key"])]
    return env


# Stand-ins for the Secrets an operator creates (docs/deploy.md), valid values.
SECRETS = {("carewatch-auth", "auth-keys"): "%s=registry" % ("ab" * 32),
           ("carewatch-redis", "password"): "secret"}


def test_k8s_config_and_environment_are_accepted_by_the_binaries(tmp_path):
    data = k8s_by_kind("ConfigMap")["carewatch-config"]["data"]
    assert sorted(f[:-5] for f in data) == services()
    for name, (_, obj) in workloads().items():
        config = k8s_service_config(name)
        unknown = set(config) - set(config_keys(name))
        assert not unknown, "carewatch-config %s.yaml: keys %s are not %s's" % (name, unknown, name)
        assert config["admin.port"] == ADMIN_PORT and config["admin.bind"] == "0.0.0.0", name
        env = k8s_env(obj, SECRETS)
        unknown_env = {v for v in env if v not in env_names(name)}
        assert not unknown_env, "%s gets %s, which it does not read" % (name, unknown_env)
        path = tmp_path / (name + ".yaml")
        path.write_text(data[name + ".yaml"])
        check_config(name, str(path), env)


def test_k8s_api_ports_are_services_txt_ones():
    for name, svc in listed_services().items():
        c = main_container(workloads()[name][1])
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        config = k8s_service_config(name)
        if svc.http_port is None:
            assert "http" not in ports and "http.port" not in config, name
        else:
            assert ports["http"] == config["http.port"] == svc.http_port, name


def test_k8s_ingest_service_and_ledger_writer_volume():
    ingest = workloads()["ingest"][1]
    config = k8s_service_config("ingest")
    ports = {p["name"]: p["containerPort"] for p in main_container(ingest)["ports"]}
    assert ports["http"] == config["http.port"] and config["http.bind"] == "0.0.0.0"
    svc = k8s_by_kind("Service")["ingest"]
    assert svc["spec"]["selector"].items() <= ingest["spec"]["template"]["metadata"]["labels"].items()
    assert {p["targetPort"] for p in svc["spec"]["ports"]} <= set(ports)
    assert "http" in {p["targetPort"] for p in svc["spec"]["ports"]}

    kind, ledger = workloads()["ledger-writer"]
    config = k8s_service_config("ledger-writer")
    assert ledger["spec"]["replicas"] == 1, "one Merkle log, one writer"
    assert ledger["spec"]["serviceName"] in k8s_by_kind("Service")
    claims = {t["metadata"]["name"]: t for t in ledger["spec"]["volumeClaimTemplates"]}
    mounts = {m["mountPath"]: m for m in main_container(ledger)["volumeMounts"]}
    assert mounts[config["ledger.dir"]]["name"] in claims
    assert not mounts[config["ledger.dir"]].get("readOnly")
    key_dir, key_file = os.path.split(config["ledger.signing_key"])
    volumes = {v["name"]: v for v in ledger["spec"]["template"]["spec"]["volumes"]}
    secret = volumes[mounts[key_dir]["name"]]["secret"]
    assert mounts[key_dir]["readOnly"] is True
    with open(os.path.join(REPO, "docs", "deploy.md"), encoding="utf-8") as f:
        docs = f.read()
    # The operator makes the Secret: the docs say how, under the key the file is read by.
    assert re.search(r"create secret generic %s[\s\\]+--from-file=%s=" % (
        secret["secretName"], re.escape(key_file)), docs)
    for name, key in SECRETS:
        assert re.search(r"create secret generic %s[\s\\]+--from-literal=%s=" % (name, key),
                         docs), name


def test_k8s_autoscaling_follows_consumer_lag():
    """KEDA ScaledObjects (a CRD, so no schema here): each scales a checker's
    Deployment on the lag of the consumer group the checker really joins, up
    to the partition count of its input topics."""
    inputs = {"geo-validator": ["visit.events"],
              "duration-timer": ["orders.assigned", "visit.events"],
              "overlap-detector": ["visit.events"]}
    topics = read_topics()
    scaled = k8s_by_kind("ScaledObject")
    assert sorted(scaled) == sorted(inputs)
    for name, obj in scaled.items():
        assert obj["apiVersion"] == "keda.sh/v1alpha1"
        assert set(obj["spec"]) <= {"scaleTargetRef", "minReplicaCount", "maxReplicaCount",
                                    "pollingInterval", "cooldownPeriod", "triggers"}
        target = obj["spec"]["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
        kind, deployment = workloads()[target["name"]]
        assert kind == "Deployment" and target["name"] == name
        config = k8s_service_config(name)
        partitions = max(topics[t][0] for t in inputs[name])
        assert 1 <= obj["spec"]["minReplicaCount"] <= obj["spec"]["maxReplicaCount"] == partitions
        (trigger,) = obj["spec"]["triggers"]
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        assert set(meta) <= {"bootstrapServersFromEnv", "consumerGroup", "lagThreshold",
                             "offsetResetPolicy", "topic", "allowIdleConsumers"}
        assert meta["consumerGroup"] == default_group(name, config)
        assert meta["bootstrapServersFromEnv"] == config_keys(name)["kafka.brokers"]
        assert meta["bootstrapServersFromEnv"] in k8s_env(deployment, SECRETS)
        assert isinstance(meta["lagThreshold"], str) and int(meta["lagThreshold"]) > 0
        assert meta["offsetResetPolicy"] in ("earliest", "latest")
        # Two replicas to start with, as the scaling integration test runs them.
        assert deployment["spec"]["replicas"] >= 2


def k8s_expand(arg, env):
    """Kubernetes' $(NAME) in a container's args, from its env."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env[m.group(1)], arg)


def test_k8s_topics_job_uses_the_same_topics_and_creator():
    cm = k8s_by_kind("ConfigMap")["carewatch-topics"]["data"]
    assert set(cm) == {"topics.txt"}
    with open(TOPICS_TXT, encoding="utf-8") as f:
        assert cm["topics.txt"] == f.read(), "deploy/k8s/topics.yaml: topics.txt differs"
    job = k8s_by_kind("Job")["carewatch-topics"]
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["image"].split(":")[0] == TOOLS_IMAGE
    env = {e["name"]: e for e in c["env"]}
    assert env["KAFKA_BROKERS"]["valueFrom"]["configMapKeyRef"] == {
        "name": "carewatch-env", "key": "CAREWATCH_KAFKA_BROKERS"}
    values = {"KAFKA_BROKERS": "kafka:9092",
              "REPLICATION_FACTOR": env["REPLICATION_FACTOR"]["value"]}
    args = create_topics_args(c["command"] + [k8s_expand(a, values) for a in c["args"]])
    assert args.brokers == "kafka:9092" and args.replication_factor == 3
    (mount,) = c["volumeMounts"]
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mount["name"]]["configMap"]["name"] == "carewatch-topics"
    assert args.topics_file == mount["mountPath"] + "/topics.txt"


# ---- the tools image (deploy/docker/tools.Dockerfile) -------------------------------

def test_tools_dockerfile_installs_the_package_docker_may_send():
    """The tools image: this Debian release, the package installed from the
    tools/ it copies, the schemas where CAREWATCH_SCHEMAS_DIR says; its own
    ignore file (BuildKit's <Dockerfile>.dockerignore) sends what it
    copies, and only tools/pyproject.toml, carewatch_py and schemas/."""
    path = os.path.join(REPO, TOOLS_DOCKERFILE)
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"\\\n", " ", "\n".join(l for l in f.read().splitlines()
                                             if not l.lstrip().startswith("#")))
    instructions = [l.strip() for l in text.splitlines() if l.strip()]
    assert instructions[0] == "FROM debian:%s-slim" % this_debian()
    assert not [i for i in instructions[1:] if i.upper().startswith("FROM ")]
    copies = {i.split()[1]: i.split()[2] for i in instructions if i.startswith("COPY ")}
    assert set(copies) == {"tools/", "schemas/"}
    assert any(re.search(r"pip install .*%s( |$)" % re.escape(copies["tools/"].rstrip("/")), i)
               for i in instructions), "the image does not install the tools it copies"
    env = " ".join(i for i in instructions if i.startswith("ENV "))
    assert "CAREWATCH_SCHEMAS_DIR=" + copies["schemas/"].rstrip("/") in env
    assert re.search(r"^USER \d+$", "\n".join(instructions), re.M)

    with open(path + ".dockerignore", encoding="utf-8") as f:
        rules = [l.strip() for l in f if l.strip() and not l.startswith("#")]

    def sent(rel):
        """Docker's rule: the last rule matching the path, or one of the
        folders it is in, decides; **/ matches in any folder."""
        excluded = False
        parts = rel.split("/")
        for rule in rules:
            pattern = rule.lstrip("!").rstrip("/")
            if pattern.startswith("**/"):
                hit = any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
            else:
                hit = any(fnmatch.fnmatch("/".join(parts[:n]), pattern)
                          for n in range(1, len(parts) + 1))
            if hit:
                excluded = not rule.startswith("!")
        return not excluded
    assert sent("tools/pyproject.toml") and sent("tools/carewatch_py/create_topics.py")
    assert all(sent("schemas/" + name) for name in os.listdir(os.path.join(REPO, "schemas")))
    assert not sent("tools/demo.py") and not sent("services/ingest/main.c")
    assert not sent(".venv/bin/python") and not sent("tools/carewatch_py/__pycache__/x.pyc")


# ---- retention of the topics state is rebuilt from ------------------------------

# Every topic a service reads from the beginning to rebuild its state, and
# who does. A record that time- or size-based retention deleted is state
# lost at the next rebuild, so each must keep its records in every
# deployment: kept for ever, or compacted when keyed by entity.
REBUILT_FROM = {
    "ref.elders": "reference data: ingest, geo-validator, ledger-writer, alert-router, "
                  "supervision desk",
    "ref.caregivers": "reference data: ingest, alert-router",
    "ref.contracts": "reference data: ingest, ledger-writer; the payment-scheduler's restore",
    "ref.elder_status": "the elders' availability periods: ingest, overlap-detector, "
                        "ledger-writer",
    "orders.assigned": "orders: ingest, alert-router, overlap-detector; input replay: "
                       "duration-timer, ledger-writer",
    "visit.events": "input replay: geo-validator, duration-timer, overlap-detector, "
                    "ledger-writer",
    "visit.checks": "input replay: ledger-writer (the dossiers)",
    "orders.corrections": "input replay: ledger-writer (corrections held for orders not final)",
    "alerts.all": "the alert-router's alert claims",
    "orders.finalized": "the payment-scheduler's restore; the supervision desk's orders",
    "payments.statements": "the payment-scheduler's restore",
    "payments.instructions": "the payment-scheduler's restore",
    "dlq.payment-scheduler": "the payment-scheduler's restore",
    "ledger.checkpoints": "the payment-scheduler's restore (the ledger's finalized_through)",
    "cases.events": "the supervision desk's cases (its audit trail)",
    "caregiver.status": "the supervision desk's freeze histories",
    "orders.changes": "the supervision desk's maintenance requests",
}

C_STRING_ARRAY = re.compile(r"static const char \*const (\w+)\[\] = \{([^}]*)\};")
C_DEFINE = re.compile(r"^#define ([A-Z][A-Z0-9_]*) +((?:\"[^\"]*\"|[A-Z][A-Z0-9_]*)"
                      r"(?: +(?:\"[^\"]*\"|[A-Z][A-Z0-9_]*))*) *$", re.M)
C_TOKEN = re.compile(r'"[^"]*"|\b[A-Z][A-Z0-9_]*\b')
# The readers of a whole topic from its beginning, and their arguments.
C_WHOLE_TOPIC_READ = re.compile(
    r"\b(?:cw_state_replay_topic|cw_kafka_read_topic|cw_kafka_read_to_end|read_all)"
    r"\(((?:[^()]|\([^()]*\))*)\)")


def c_topic_names(text, defines, literals=True):
    """The topic names a piece of C spells: string literals (unless
    literals is false: a table's labels), and macros (common/topics.h's
    CW_TOPIC_*, or a service's own, concatenations included) that stand for
    one."""
    names = set()
    for token in C_TOKEN.findall(text):
        if token.startswith('"') and not literals:
            continue
        value = c_string(token, defines)
        if value is not None and re.match(r"^[a-z][a-z0-9._-]*$", value):
            names.add(value)
    return names


def c_string(token, defines, depth=0):
    """A string literal's or a string macro's value; None for anything else."""
    if token.startswith('"'):
        return token[1:-1]
    if token not in defines or depth > 8:
        return None
    parts = [c_string(t, defines, depth + 1) for t in C_TOKEN.findall(defines[token])]
    return None if None in parts else "".join(parts)


def code_rebuild_topics():
    """The topics the C sources read from the beginning: in services/*/main.c
    the reload lists (bootstrap, reference, ingest's topics) and a checker's
    input topics (common/checker.c replays them after a Redis loss, unless
    main.c turns that off with handlers.redis = NULL), the lists handed to
    cw_state_bootstrap, and everywhere the topic arguments of the
    whole-topic readers: names, macros, a table's
    entries (BOOKS[i].topic) or a list's (topics[i])."""
    sources = {}
    for dirpath, _, files in os.walk(os.path.join(REPO, "services")):
        for name in files:
            if name.endswith((".c", ".h")):
                with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                    sources[os.path.join(dirpath, name)] = f.read()
    defines = {}
    common = os.path.join(REPO, "common")
    for name in sorted(os.listdir(common)):
        if name.endswith(".h"):
            with open(os.path.join(common, name), encoding="utf-8") as f:
                defines.update(C_DEFINE.findall(f.read()))
    for text in sources.values():
        defines.update(C_DEFINE.findall(text))
    found = set()
    for path, text in sources.items():
        arrays = dict(C_STRING_ARRAY.findall(text))
        if os.path.basename(path) == "main.c":
            for array, items in arrays.items():
                if array in ("bootstrap", "reference") or (
                        array == "topics" and "handlers.redis = NULL" not in text):
                    found.update(c_topic_names(items, defines))
        # A list handed to the reference rebuild (cw_state_bootstrap), in
        # whichever file makes it.
        for array in re.findall(r"\bcw_state_bootstrap\([^,]+,[^,]+,\s*(\w+)\s*,", text):
            if array in arrays:
                found.update(c_topic_names(arrays[array], defines))
        for args in C_WHOLE_TOPIC_READ.findall(text):
            # A topic taken from a table (BOOKS[i].topic): every topic the
            # table names; from a list (topics[i]): every topic it holds.
            for table in re.findall(r"\b(\w+)\[\w+\]\.topic\b", args):
                body = re.search(r"\b%s\[\] = \{(.*?)\n\};" % table, text, re.S)
                assert body, "%s: no table %s" % (path, table)
                found.update(c_topic_names(body.group(1), defines, literals=False))
            for array in re.findall(r"\b(\w+)\[\w+\](?!\.)", args):
                assert array in arrays, "%s: no list %s" % (path, array)
                found.update(c_topic_names(arrays[array], defines))
            found.update(c_topic_names(args, defines))
    return found


def deployed_topics():
    """{deployment: {name: (partitions, {config: value})}} from the topics
    file each deployment hands its topic creator."""
    found = {}
    with open(os.path.join(REPO, "deploy", "local", "stack"), encoding="utf-8") as f:
        assert re.search(r'-m carewatch_py\.create_topics --brokers "\$KAFKA_BROKERS" '
                         r'--replication-factor 1 \\\n\s+"\$HERE/topics\.txt"', f.read()), \
            "deploy/local/stack no longer creates topics.txt's topics"
    found["local"] = read_topics()
    init = compose()["services"]["kafka-init"]
    target = create_topics_args(init["command"]).topics_file
    source = {t: s for s, t, _ in compose_mounts(init)}[target]
    with open(os.path.join(REPO, source), encoding="utf-8") as f:
        found["compose"] = parse_topics(f.read())
    found["k8s"] = parse_topics(k8s_by_kind("ConfigMap")["carewatch-topics"]["data"]["topics.txt"])
    return found


def keeps_every_record(config):
    """Compacted (the latest record per key, for ever), or neither a time
    nor a size limit. compact,delete still deletes by retention."""
    if set(config.get("cleanup.policy", "delete").split(",")) == {"compact"}:
        return True
    return config.get("retention.ms") == "-1" and config.get("retention.bytes") == "-1"


def test_rebuilt_from_lists_what_the_services_read_from_the_beginning():
    assert code_rebuild_topics() == set(REBUILT_FROM)


def test_topics_state_is_rebuilt_from_keep_every_record_in_every_deployment():
    for deployment, topics in deployed_topics().items():
        for name, why in sorted(REBUILT_FROM.items()):
            assert name in topics, "%s: no topic %s" % (deployment, name)
            config = topics[name][1]
            assert keeps_every_record(config), (
                "%s: %s (%s) would lose records the rebuild needs with %s; set "
                "retention.ms=-1,retention.bytes=-1 or cleanup.policy=compact"
                % (deployment, name, why, config or "the broker's default retention"))
