"""The deployment's two lists, as the checkout holds them: the services with
their local ports (deploy/services.txt) and the Kafka topics
(deploy/local/topics.txt). deploy/local/services and deploy/local/stack read
the same files; the tests check compose, Kubernetes and the build against
them.

The paths are the checkout's (this package installed editable, as
deploy/local/install-deps does); every reader also takes a path."""

import collections
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICES_TXT = os.path.join(REPO, "deploy", "services.txt")
TOPICS_TXT = os.path.join(REPO, "deploy", "local", "topics.txt")

# A service of deploy/services.txt: its admin port on the local stack and
# its HTTP API's port (None: it serves none).
Service = collections.namedtuple("Service", "name admin_port http_port")


def _lines(path):
    """(line number, fields) of every line that is not blank or a comment."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split("#", 1)[0].split()
            if fields:
                yield lineno, fields


def _port(text, path, lineno):
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError("%s:%d: %r is not a port" % (path, lineno, text))
    return int(text)


def read_services(path=SERVICES_TXT):
    """[Service] in the file's order (the order they start in). ValueError
    names the file and line of a malformed line or a repeated name or port."""
    services = []
    for lineno, fields in _lines(path):
        if len(fields) != 3:
            raise ValueError("%s:%d: expected 'name admin-port http-port|-'" % (path, lineno))
        name, admin, http = fields
        svc = Service(name, _port(admin, path, lineno),
                      None if http == "-" else _port(http, path, lineno))
        ports = [p for s in services for p in (s.admin_port, s.http_port) if p]
        if name in [s.name for s in services]:
            raise ValueError("%s:%d: %s is listed twice" % (path, lineno, name))
        for port in (svc.admin_port, svc.http_port):
            if port in ports:
                raise ValueError("%s:%d: port %d is taken already" % (path, lineno, port))
        services.append(svc)
    if not services:
        raise ValueError("%s: no service listed" % path)
    return services


def service_names(path=SERVICES_TXT):
    return [s.name for s in read_services(path)]


def read_topic_list(path=TOPICS_TXT):
    """[(name, partitions, {config: value})] in the file's order: one topic a
    line, 'name partitions [config=value,...]'. ValueError names the file and
    line of a malformed line."""
    topics = []
    for lineno, fields in _lines(path):
        if len(fields) not in (2, 3) or not fields[1].isdigit() or int(fields[1]) < 1:
            raise ValueError("%s:%d: expected 'name partitions [k=v,...]'" % (path, lineno))
        config = {}
        if len(fields) == 3:
            for item in fields[2].split(","):
                key, sep, value = item.partition("=")
                if not sep or not key:
                    raise ValueError("%s:%d: bad config item %r" % (path, lineno, item))
                config[key] = value
        if fields[0] in [t[0] for t in topics]:
            raise ValueError("%s:%d: %s is listed twice" % (path, lineno, fields[0]))
        topics.append((fields[0], int(fields[1]), config))
    return topics
