"""ingest under hostile clients, against the real service: slow bodies
(slowloris on the body), slow headers, and a flood of unauthenticated large
bodies at once. The probes keep answering, memory stays within its bound,
slow bodies are cut off, and an honest request still goes through."""

import socket
import threading
import time

import requests

from conftest import PLAIN_BUILD_DIR, Ingest

MiB = 1024 * 1024
# The documented bound (docs/security.md): bodies in flight are capped by
# http.max_in_flight_bytes; each open connection adds a thread whose
# memory is small. This test's ingest allows 4 MiB of bodies in flight.
IN_FLIGHT_BYTES = 4 * MiB
RSS_GROWTH_BOUND = IN_FLIGHT_BYTES + 32 * MiB


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_by_peer(sock, wait):
    """Whether the server closed the connection within wait seconds."""
    sock.settimeout(wait)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_slow_clients_and_an_unauthenticated_flood(tmp_path, redis_server, keys, ids):
    svc = Ingest(str(tmp_path), redis_server.port, keys,
                 http_extra="  max_in_flight: 64\n  max_in_flight_bytes: %d\n"
                            "  body_timeout_seconds: 3\n  idle_timeout_seconds: 30"
                            % IN_FLIGHT_BYTES, build_dir=PLAIN_BUILD_DIR)
    slow, lazy = [], []
    stop = threading.Event()
    try:
        svc.wait_ready("http://127.0.0.1:%d/readyz" % svc.admin_port)
        base = rss_bytes(svc.proc.pid)

        # 40 clients with a valid key that send their headers and then the
        # body a byte at a time; 30 that never finish their headers.
        head = ("POST /v1/elders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n"
                % keys.registry).encode()
        for _ in range(40):
            s = connect(svc.port)
            s.sendall(head + b"{")
            slow.append(s)
        for _ in range(30):
            s = connect(svc.port)
            s.sendall(b"POST /v1/orders HTTP/1.1\r\nHost: x\r\n")
            lazy.append(s)

        def trickle():
            while not stop.wait(0.5):
                for s in slow + lazy:
                    try:
                        s.send(b" " if s in slow else b"X-Slow: 1\r\n")
                    except OSError:
                        pass

        flood_answers = []

        def flood():
            body = b"x" * MiB
            session = requests.Session()
            while not stop.is_set():
                try:
                    r = session.post(svc.url + "/v1/batch", data=body, timeout=10,
                                     headers={"Content-Type": "application/x-ndjson"})
                    flood_answers.append(r.status_code)
                except requests.RequestException:
                    flood_answers.append(None)  # closed before the body was sent: fine
                    session = requests.Session()

        workers = [threading.Thread(target=trickle)] + \
            [threading.Thread(target=flood) for _ in range(4)]
        for w in workers:
            w.start()
        probes, peak = [], base
        t_end = time.monotonic() + 8
        while time.monotonic() < t_end:
            t0 = time.monotonic()
            r = requests.get("http://127.0.0.1:%d/readyz" % svc.admin_port, timeout=5)
            probes.append((r.status_code, round(time.monotonic() - t0, 3)))
            peak = max(peak, rss_bytes(svc.proc.pid))
            time.sleep(0.2)
        stop.set()
        for w in workers:
            w.join(30)

        # Every probe answered (within its 5 s timeout), none refused.
        assert all(status == 200 for status, _ in probes), probes
        assert {a for a in flood_answers if a is not None} <= {401}, set(flood_answers)
        assert 401 in flood_answers
        print("ingest RSS %.1f MiB before, %.1f MiB at most during the attack; %d probes, "
              "slowest %.3f s" % (base / MiB, peak / MiB, len(probes), max(t for _, t in probes)))
        assert peak - base < RSS_GROWTH_BOUND, (base, peak)
        # Every slow body was cut off (3 s after its headers); the service
        # still runs and takes an honest request.
        assert all(closed_by_peer(s, 10) for s in slow)
        svc.assert_running()
        r = svc.client.submit("elder", keys.registry,
                              {"elder_id": ids + "E1", "street_id": "S1", "community_id": "C1",
                               "home": {"lat": 41.3, "lon": 123.7}})
        assert r.status_code == 202, r.text
        assert "body too slow" in svc.log_text()
    finally:
        stop.set()
        for s in slow + lazy:
            s.close()
        svc.stop()
