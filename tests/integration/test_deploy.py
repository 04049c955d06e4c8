"""The deployment artefacts against the code: Dockerfile, docker-compose.yml,
deploy/docker/ and deploy/k8s/.

Needs no broker, Redis or container engine. The services, their
configuration keys and environment variables are taken from the built
binaries (build/ or CW_IMAGE_BUILD_DIR, every `carewatch*` executable target CMake
configured) and their --config-keys output; topics from
deploy/local/topics.txt; the topics read from the beginning to rebuild
state, from the services' C sources. Kubernetes objects are validated against the
Kubernetes JSON schemas of the kubernetes-validate package; the compose file
and the KEDA ScaledObjects, for which no schema is available offline here,
are checked structurally."""

import concurrent.futures
import fnmatch
import functools
import http.server
import importlib.util
import os
import re
import shlex
import stat
import subprocess
import sys
import threading
import types

import kubernetes_validate
import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The image holds a RelWithDebInfo build, like tests/run's build/ (not the
# sanitizer build the other integration tests run, which links libasan).
BUILD_DIR = os.path.abspath(os.environ.get("CW_IMAGE_BUILD_DIR", os.path.join(REPO, "build")))
DOCKER_DIR = os.path.join(REPO, "deploy", "docker")
K8S_DIR = os.path.join(REPO, "deploy", "k8s")
TOPICS_TXT = os.path.join(REPO, "deploy", "local", "topics.txt")
COMPOSE_FILE = os.path.join(REPO, "docker-compose.yml")
KUBERNETES_VERSION = "1.29"
IMAGE = "carewatch"
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
    rest = INTERPOLATION.sub(one, value)
    assert "${" not in rest, "%s: malformed substitution in %r" % (where, value)
    return rest


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
                   "stop_grace_period", "user", "working_dir", "deploy", "labels"}
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

    init = svcs["kafka-init"]
    assert init["image"] == kafka["image"]
    init_env = compose_env(init)
    assert init_env["KAFKA_BOOTSTRAP"] == internal
    mounts = {source: target for source, target, _ in compose_mounts(init)}
    assert mounts["./deploy/local/topics.txt"] == init_env["TOPICS_FILE"]
    assert mounts["./deploy/docker/create-topics.sh"] == init["entrypoint"][-1]

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


@pytest.mark.parametrize("name", ["ingest", "supervision-desk"])
def test_compose_ingest_and_the_desk_publish_their_api_ports(name):
    svc = compose()["services"][name]
    with open(os.path.join(DOCKER_DIR, "config", name + ".yaml"), encoding="utf-8") as f:
        config = flatten(yaml.safe_load(f))
    container_ports = [int(str(p).rsplit(":", 1)[1]) for p in svc["ports"]]
    assert container_ports == [config["http.port"]]
    assert config["http.bind"] == "0.0.0.0"


# ---- deploy/docker scripts -------------------------------------------------------

def write_recorder(tmp_path, name="kafka-topics.sh"):
    calls = tmp_path / (name + ".calls")
    tool = tmp_path / name
    tool.write_text('#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\n' % shlex.quote(str(calls)))
    tool.chmod(0o755)
    return tool, calls


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_create_topics_creates_exactly_topics_txt(tmp_path, shell):
    tool, calls = write_recorder(tmp_path)
    configs_tool, config_calls = write_recorder(tmp_path, "kafka-configs.sh")
    env = dict(os.environ, KAFKA_TOPICS=str(tool), KAFKA_CONFIGS=str(configs_tool),
               TOPICS_FILE=TOPICS_TXT, KAFKA_BOOTSTRAP="broker:1234", REPLICATION_FACTOR="3")
    r = subprocess.run([shell, os.path.join(DOCKER_DIR, "create-topics.sh")], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    created = {}
    for line in calls.read_text().splitlines():
        args = line.split()
        assert args[:2] == ["--bootstrap-server", "broker:1234"]
        if "--create" not in args:
            continue
        assert "--if-not-exists" in args
        opt = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i] != "--config"
               and args[i].startswith("--") and not args[i + 1].startswith("--")}
        configs = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--config")
        assert opt["--replication-factor"] == "3"
        created[opt["--topic"]] = (int(opt["--partitions"]), configs)
    assert created == read_topics()

    # --if-not-exists keeps an existing topic's old configs: every topic with
    # configs gets them set as well, so a cluster made earlier is upgraded.
    altered = {}
    for line in config_calls.read_text().splitlines():
        args = line.split()
        assert args[:5] == ["--bootstrap-server", "broker:1234", "--alter", "--entity-type",
                            "topics"], line
        assert args[5] == "--entity-name" and args[7] == "--add-config" and len(args) == 9, line
        altered[args[6]] = dict(item.split("=", 1) for item in args[8].split(","))
    assert altered == {name: config for name, (_, config) in read_topics().items() if config}


def test_create_topics_rejects_a_malformed_line(tmp_path):
    tool, _ = write_recorder(tmp_path)
    bad = tmp_path / "topics.txt"
    bad.write_text("visit.events six\n")
    r = subprocess.run(["sh", os.path.join(DOCKER_DIR, "create-topics.sh")],
                       env=dict(os.environ, KAFKA_TOPICS=str(tool), TOPICS_FILE=str(bad)),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "topics.txt:1" in r.stderr


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
    for script in ("entrypoint.sh", "healthcheck.sh", "create-topics.sh"):
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
    assert [i["name"] for i in kust["images"]] == [IMAGE]


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


def test_k8s_topics_job_uses_the_same_topics_and_script():
    cm = k8s_by_kind("ConfigMap")["carewatch-topics"]["data"]
    with open(TOPICS_TXT, encoding="utf-8") as f:
        assert cm["topics.txt"] == f.read(), "deploy/k8s/topics.yaml: topics.txt differs"
    with open(os.path.join(DOCKER_DIR, "create-topics.sh"), encoding="utf-8") as f:
        assert cm["create-topics.sh"] == f.read(), "deploy/k8s/topics.yaml: script differs"
    job = k8s_by_kind("Job")["carewatch-topics"]
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == compose()["services"]["kafka"]["image"]
    env = {e["name"]: e for e in c["env"]}
    mount = c["volumeMounts"][0]["mountPath"]
    assert c["command"][-1] == mount + "/create-topics.sh"
    assert env["TOPICS_FILE"]["value"] == mount + "/topics.txt"
    assert env["KAFKA_BOOTSTRAP"]["valueFrom"]["configMapKeyRef"] == {
        "name": "carewatch-env", "key": "CAREWATCH_KAFKA_BROKERS"}


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
C_TOPIC_DEFINE = re.compile(r'^#define (\w*TOPIC\w*) "([^"]+)"', re.M)
# The readers of a whole topic from its beginning, and their arguments.
C_WHOLE_TOPIC_READ = re.compile(
    r"\b(?:cw_state_replay_topic|cw_kafka_read_topic|cw_kafka_read_to_end|read_all)"
    r"\(((?:[^()]|\([^()]*\))*)\)")


def code_rebuild_topics():
    """The topics the C sources read from the beginning: in services/*/main.c
    the reload lists (bootstrap, reference, ingest's topics) and a checker's
    input topics (common/stream.c replays them after a Redis loss, unless
    main.c turns that off with handlers.redis = NULL), and everywhere the
    topic arguments of the whole-topic readers."""
    sources = {}
    for dirpath, _, files in os.walk(os.path.join(REPO, "services")):
        for name in files:
            if name.endswith((".c", ".h")):
                with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                    sources[os.path.join(dirpath, name)] = f.read()
    defines = {}
    for text in sources.values():
        defines.update(C_TOPIC_DEFINE.findall(text))
    found = set()
    for path, text in sources.items():
        if os.path.basename(path) == "main.c":
            for array, items in C_STRING_ARRAY.findall(text):
                if array in ("bootstrap", "reference") or (
                        array == "topics" and "handlers.redis = NULL" not in text):
                    found.update(re.findall(r'"([^"]+)"', items))
        for args in C_WHOLE_TOPIC_READ.findall(text):
            # A topic taken from a table (BOOKS[i].topic): every topic
            # define the table names.
            for table in re.findall(r"\b(\w+)\[\w+\]\.topic\b", args):
                body = re.search(r"\b%s\[\] = \{(.*?)\n\};" % table, text, re.S)
                assert body, "%s: no table %s" % (path, table)
                found.update(defines[m] for m in re.findall(r"\b[A-Z][A-Z0-9_]*\b",
                                                             body.group(1)) if m in defines)
            found.update(defines[m] for m in re.findall(r"\b[A-Z][A-Z0-9_]*\b", args)
                         if m in defines)
            found.update(re.findall(r'"([a-z][a-z0-9.-]*)"', args))
    return found


def deployed_topics():
    """{deployment: {name: (partitions, {config: value})}} from the topics
    file each deployment hands its topic creator."""
    found = {}
    with open(os.path.join(REPO, "deploy", "local", "stack"), encoding="utf-8") as f:
        assert re.search(r'"\$HERE/create_topics\.py" "\$KAFKA_BROKERS" "\$HERE/topics\.txt"',
                         f.read()), "deploy/local/stack no longer creates topics.txt's topics"
    found["local"] = read_topics()
    init = compose()["services"]["kafka-init"]
    source = {t: s for s, t, _ in compose_mounts(init)}[compose_env(init)["TOPICS_FILE"]]
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


def test_local_create_topics_sets_the_configs_of_existing_topics(monkeypatch):
    """deploy/local/create_topics.py on a stack made before topics.txt listed
    any config: every topic is there with the broker's defaults. The configs
    topics.txt lists that differ are set, with an incremental alter (nothing
    else is touched), and nothing is created."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry

    spec = importlib.util.spec_from_file_location(
        "create_topics", os.path.join(REPO, "deploy", "local", "create_topics.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    wanted = read_topics()
    defaults = {"cleanup.policy": "delete", "retention.ms": "604800000", "retention.bytes": "-1"}

    def done(value):
        future = concurrent.futures.Future()
        future.set_result(value)
        return future

    class Admin:
        altered = {}

        def __init__(self, conf):
            assert conf == {"bootstrap.servers": "broker:1234"}

        def list_topics(self, timeout):
            return types.SimpleNamespace(topics={
                name: types.SimpleNamespace(partitions=dict.fromkeys(range(partitions)))
                for name, (partitions, _) in wanted.items()})

        def create_topics(self, new, **kwargs):
            raise AssertionError("every topic exists: nothing to create")

        def describe_configs(self, resources, **kwargs):
            return {r: done({k: ConfigEntry(k, v) for k, v in defaults.items()})
                    for r in resources}

        def incremental_alter_configs(self, resources, **kwargs):
            for r in resources:
                assert all(e.incremental_operation == AlterConfigOpType.SET
                           for e in r.incremental_configs)
                Admin.altered[r.name] = {e.name: e.value for e in r.incremental_configs}
            return {r: done(None) for r in resources}

    monkeypatch.setattr(module, "AdminClient", Admin)
    monkeypatch.setattr(sys, "argv", ["create_topics.py", "broker:1234", TOPICS_TXT])
    assert module.main() == 0
    expected = {name: {k: v for k, v in config.items() if defaults.get(k) != v}
                for name, (_, config) in wanted.items()}
    assert Admin.altered == {name: config for name, config in expected.items() if config}
    assert "visit.events" in Admin.altered
