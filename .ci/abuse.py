#!/usr/bin/env python3
"""A short, bounded abuse run against a built chalk-server binary (issue #11).

Usage: .ci/abuse.py PATH/TO/chalk-server

Starts the server on a fresh data directory with short timeouts and replays what an
attacker did, failing (exit 1) when a stated bound is crossed:

1. 200 requests with 50,000-character random methods: the /metrics page may grow by at most
   METRICS_GROWTH_MAX bytes and the resident memory by at most RSS_GROWTH_MAX.
2. 300 idle, 20 half-sent-header and 10 slow-body connections, with CHALK_MAX_CONNECTIONS=100:
   the server never holds more than the cap (+ a margin for the listener and the store), every
   one of them is closed within the timeouts, and a normal request is served afterwards.
3. 300 wrong master keys as fast as they go: at most AUTH_FAILURE_LIMIT get 401; the rest 429;
   the right key is still served from that address.
4. SIGTERM while a client holds a half-sent body: the process exits within the grace + 3 s.

Takes about 20 seconds. Linux only (reads /proc).
"""

import json
import os
import random
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time

METRICS_GROWTH_MAX = 4_096  # bytes: two new series, not one per method
RSS_GROWTH_MAX = 16 * 1024 * 1024  # bytes, after 10 MB of methods went through
MAX_CONNECTIONS = 100
FD_MARGIN = 40  # listener, SQLite files and pools, the runtime's own descriptors
AUTH_FAILURE_LIMIT = 20
SHUTDOWN_GRACE = 2


def fail(message):
    print(f"abuse run: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def rss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def sockets(pid):
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


def request(address, raw, timeout=10.0, source="127.0.0.1"):
    """Sends raw bytes, returns (status, headers, body) of the response (connection: close)."""
    with socket.create_connection(address, timeout=timeout, source_address=(source, 0)) as s:
        s.sendall(raw)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    response = b"".join(chunks)
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def get(address, path, extra="", source="127.0.0.1"):
    return request(
        address,
        f"GET {path} HTTP/1.1\r\nHost: chalk\r\nConnection: close\r\n{extra}\r\n".encode(),
        source=source,
    )


def main():
    if len(sys.argv) != 2:
        fail("usage: abuse.py PATH/TO/chalk-server")
    binary = sys.argv[1]
    data_dir = tempfile.mkdtemp(prefix="chalk-abuse-")
    master_key = "abuse-run-master-key-" + "".join(random.choices(string.ascii_letters, k=24))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "CHALK_LISTEN": "127.0.0.1:0",
        "CHALK_DATA_DIR": data_dir,
        "CHALK_MASTER_KEY": master_key,
        "CHALK_LOG_FORMAT": "json",
        "CHALK_LOG": "warn,chalk_server=info",
        "CHALK_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "CHALK_HEADER_READ_TIMEOUT": "2s",
        "CHALK_BODY_READ_TIMEOUT": "2s",
        "CHALK_IDLE_TIMEOUT": "3s",
        "CHALK_SHUTDOWN_GRACE": f"{SHUTDOWN_GRACE}s",
    }
    server = subprocess.Popen(
        [binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    address = None
    deadline = time.time() + 30
    while address is None:
        if time.time() > deadline or server.poll() is not None:
            fail("the server did not start")
        line = server.stderr.readline()
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("message") == "chalk-server listening":
            host, port = event["address"].rsplit(":", 1)
            address = (host, int(port))
    # Keep reading the log so the pipe never fills.
    threading.Thread(target=lambda: server.stderr.read(), daemon=True).start()
    pid = server.pid
    started = time.time()

    try:
        # 1. Invented methods.
        status, _, before = get(address, "/metrics")
        assert status == 200, status
        rss_before = rss(pid)
        for _ in range(200):
            method = "".join(random.choices(string.ascii_uppercase, k=50_000))
            status, _, _ = request(
                address, f"{method} /x{random.random()} HTTP/1.1\r\nHost: chalk\r\nConnection: close\r\n\r\n".encode()
            )
            if status != 404:
                fail(f"an invented method got {status}, expected 404")
        _, _, after = get(address, "/metrics")
        growth = len(after) - len(before)
        rss_growth = rss(pid) - rss_before
        print(f"methods: metrics page {len(before)} -> {len(after)} bytes, RSS +{rss_growth // 1024} KiB")
        if growth > METRICS_GROWTH_MAX:
            fail(f"the metrics page grew by {growth} bytes (bound {METRICS_GROWTH_MAX})")
        if rss_growth > RSS_GROWTH_MAX:
            fail(f"RSS grew by {rss_growth} bytes (bound {RSS_GROWTH_MAX})")

        # 2. Idle, half-sent and slow connections. Opened in a thread: past the cap, connects
        # wait in the backlog.
        baseline = sockets(pid)
        held = []

        def open_all():
            for kind, n in (("idle", 300), ("head", 20), ("body", 10)):
                for _ in range(n):
                    try:
                        s = socket.create_connection(address, timeout=5)
                        if kind == "head":
                            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: chalk\r\n")
                        elif kind == "body":
                            s.sendall(
                                f"POST /api/v1/tenants HTTP/1.1\r\nHost: chalk\r\nX-Master-Key: {master_key}\r\n"
                                "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
                            )
                        held.append(s)
                    except OSError:
                        pass

        opener = threading.Thread(target=open_all, daemon=True)
        opener.start()
        peak = 0
        for _ in range(40):
            peak = max(peak, sockets(pid))
            time.sleep(0.1)
        print(f"connections: {len(held)} opened, server sockets peaked at {peak} (baseline {baseline})")
        if peak > MAX_CONNECTIONS + FD_MARGIN:
            fail(f"the server held {peak} sockets (cap {MAX_CONNECTIONS} + {FD_MARGIN})")
        opener.join(timeout=20)
        # Everything above is cut by the 2 s header/body timeouts, batch after batch.
        deadline = time.time() + 20
        while sockets(pid) > baseline + 2:
            if time.time() > deadline:
                fail(f"{sockets(pid)} sockets still open 20 s after the slow clients (baseline {baseline})")
            time.sleep(0.2)
        status, _, _ = get(address, "/healthz")
        if status != 200:
            fail(f"/healthz after the slow clients: {status}")
        for s in held:
            s.close()

        # 3. Brute force on the master key, from an address of its own (the throttle is per
        # address; the loopback network is all ours).
        counts = {}
        for n in range(300):
            status, headers, _ = get(
                address, "/api/v1/tenants", f"X-Master-Key: guess-{n}\r\n", source="127.0.0.3"
            )
            counts[status] = counts.get(status, 0) + 1
            if status == 429 and "retry-after" not in headers:
                fail("a 429 without Retry-After")
        print(f"brute force: {counts}")
        if counts.get(401, 0) > AUTH_FAILURE_LIMIT or set(counts) - {401, 429}:
            fail(f"wrong master keys were not throttled: {counts}")
        status, _, _ = get(address, "/api/v1/tenants", f"X-Master-Key: {master_key}\r\n")
        if status != 200:
            fail(f"another address was refused along with the attacker: {status}")
        # Issue 25: the throttle refuses only what does not verify; the right key is served
        # from the throttled address too.
        status, _, _ = get(
            address, "/api/v1/tenants", f"X-Master-Key: {master_key}\r\n", source="127.0.0.3"
        )
        if status != 200:
            fail(f"a valid credential was refused from a throttled address: {status}")

        # 4. SIGTERM with a request whose body never comes.
        stuck = socket.create_connection(address)
        stuck.sendall(
            f"POST /api/v1/tenants HTTP/1.1\r\nHost: chalk\r\nX-Master-Key: {master_key}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
        )
        time.sleep(0.2)
        stopping = time.time()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=SHUTDOWN_GRACE + 3)
        except subprocess.TimeoutExpired:
            fail("the server did not exit within the shutdown grace")
        print(f"shutdown: exited {server.returncode} after {time.time() - stopping:.1f} s")
        stuck.close()
        print(f"abuse run: ok in {time.time() - started:.0f} s")
    finally:
        if server.poll() is None:
            server.kill()
        subprocess.run(["rm", "-rf", data_dir], check=False)


if __name__ == "__main__":
    main()
