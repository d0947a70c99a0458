#!/usr/bin/env python3
"""Measures the function binaries against a bare lambda_http function (bench/hello) on this
machine, with a Lambda Runtime API emulator on loopback. Run through scripts/bench, which builds
the release binaries and prepares the database.

Figures (all traffic on 127.0.0.1; every loop bounded):
  size     native x86_64 release binary; arm64 target/lambda/<fn>/bootstrap when built
  init     process start (just before exec) -> first GET .../runtime/invocation/next; median
  rss      VmRSS of the process at that first poll; median
  warm     for the routes of WARM: invocation time as the runtime sees it (event handed out on
           /next -> response POST received), p50/p99 after one discarded first request
  RSS      after the warm requests, VmRSS of the process
  rt       database round trips per warm request: a TCP proxy between the function and
           PostgreSQL counts client->server bursts that follow a server reply (a pipelined batch
           is one round trip), and the Sync/Query messages the client sent (statements)
"""

import argparse
import json
import math
import os
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Warm requests to time, one line per route worth watching: (function, method, path, expected status).
WARM = [
    ("categorias", "GET", "/api/categorias", 200),
]
BASELINE = "hello"
COOKIE = "__Secure-neon-auth.session_token"


# --- Lambda Runtime API emulator --------------------------------------------------------------
class Runtime:
    """One function process at a time: hands out queued events on /next, collects responses."""

    def __init__(self):
        self.events = queue.Queue()
        self.responses = queue.Queue()
        self.first_poll = queue.Queue()
        self.pid = None
        self.polls = 0
        self.sent_at = {}
        self.lock = threading.Lock()
        runtime = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self._reply(404, b"{}")
                now = time.perf_counter()
                with runtime.lock:
                    runtime.polls += 1
                    first = runtime.polls == 1
                    events = runtime.events  # this process's queue, even after a reset()
                if first:
                    # Popen may not have returned yet in the driver thread: wait for the pid.
                    for _ in range(200):
                        if runtime.pid is not None:
                            break
                        time.sleep(0.001)
                    runtime.first_poll.put((now, rss_kib(runtime.pid)))
                try:
                    ev = events.get(timeout=30)
                except queue.Empty:
                    ev = None
                if ev is None:
                    # Shutting down: the process is killed right after; answer something valid.
                    return self._reply(500, b'{"errorMessage":"bench finished"}')
                rid, body = ev
                headers = {
                    "Lambda-Runtime-Aws-Request-Id": rid,
                    "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 29000),
                    "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:bench",
                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                }
                runtime.sent_at[rid] = time.perf_counter()
                self._reply(200, body, headers)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                now = time.perf_counter()
                parts = self.path.split("/")
                self._reply(202, b'{"status":"OK"}')
                if "/invocation/" in self.path and len(parts) >= 6:
                    rid, kind = parts[4], parts[5]
                    runtime.responses.put((rid, kind, now, body))
                elif self.path.endswith("/init/error"):
                    runtime.responses.put((None, "init-error", now, body))

            def _reply(self, status, body, headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a killed function leaves a broken connection behind: expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self):
        """Fresh queues for the next process: a handler thread of a killed process keeps its
        own queue and can never take the new process's events."""
        with self.lock:
            self.events = queue.Queue()
            self.responses = queue.Queue()
            self.first_poll = queue.Queue()
            self.polls = 0
            self.sent_at = {}
            self.pid = None

    def invoke(self, event, timeout=30):
        rid = str(uuid.uuid4())
        self.events.put((rid, json.dumps(event).encode()))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got, kind, at, body = self.responses.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if got == rid:
                return kind, at - self.sent_at[rid], body
            if kind == "init-error":
                raise RuntimeError(f"init error: {body[:300]!r}")
        raise RuntimeError(f"no response to invocation {rid} within {timeout}s")


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# --- round-trip counting proxy ----------------------------------------------------------------
class PgProxy:
    """Loopback TCP proxy to PostgreSQL that counts round trips and statements."""

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.lock = threading.Lock()
        self.turns = 0
        self.statements = 0
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def snapshot(self):
        with self.lock:
            return self.turns, self.statements, self.connections

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream, timeout=10)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.settimeout(None)
            conn = {"last": None, "buf": b"", "startup": True}
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server, conn, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, conn, False), daemon=True).start()

    def _pump(self, src, dst, conn, from_client):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    if from_client:
                        if conn["last"] != "c":
                            self.turns += 1
                        conn["last"] = "c"
                        self.statements += self._count(conn, data)
                    else:
                        conn["last"] = "s"
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    @staticmethod
    def _count(conn, data):
        """Sync ('S') and simple Query ('Q') messages in the client stream."""
        buf = conn["buf"] + data
        n = 0
        while True:
            if conn["startup"]:
                if len(buf) < 8:
                    break
                length = int.from_bytes(buf[:4], "big")
                code = int.from_bytes(buf[4:8], "big")
                if len(buf) < length:
                    break
                buf = buf[length:]
                if code != 80877103:  # SSLRequest comes before the real startup message
                    conn["startup"] = False
                continue
            if len(buf) < 5:
                break
            length = int.from_bytes(buf[1:5], "big")
            if len(buf) < 1 + length:
                break
            if buf[0:1] in (b"S", b"Q"):
                n += 1
            buf = buf[1 + length:]
        conn["buf"] = buf
        return n


# --- measurements -----------------------------------------------------------------------------
def lambda_env(name, runtime_port, extra):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime_port}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_REGION": "us-east-1",
    }
    env.update(extra)
    return env


def start(binary, env):
    return subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(proc, rt):
    rt.events.put(None)
    proc.kill()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    return err


def measure_init(binary, name, rt, env_extra, runs):
    times, rss = [], []  # ms, KiB
    for _ in range(runs):
        rt.reset()
        env = lambda_env(name, rt.port, env_extra)
        t0 = time.perf_counter()
        proc = start(binary, env)
        rt.pid = proc.pid
        try:
            at, kib = rt.first_poll.get(timeout=10)
        except queue.Empty:
            err = stop(proc, rt)
            raise RuntimeError(f"{name}: no poll of the runtime API within 10 s\n{err[-2000:]}")
        stop(proc, rt)
        times.append((at - t0) * 1000)
        if kib is not None:
            rss.append(kib)
    return statistics.median(times), min(times), int(statistics.median(rss)) if rss else None


def api_event(method, path, token):
    rid = str(uuid.uuid4())
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "cookies": [f"{COOKIE}={token}.bench"] if token else [],
        "headers": {"accept": "application/json", "host": "bench.local", "user-agent": "bench",
                    "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "https"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "bench.local",
            "domainPrefix": "bench",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": rid, "routeKey": "$default", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }


def percentile(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, math.ceil(p / 100 * len(xs)) - 1))  # nearest rank
    return xs[k]


def measure_warm(binary, name, method, path, expect, rt, env_extra, requests, token, proxy=None):
    rt.reset()
    proc = start(binary, lambda_env(name, rt.port, env_extra))
    rt.pid = proc.pid
    try:
        first = None
        lat, turns, stmts = [], [], []
        for i in range(requests + 1):
            before = proxy.snapshot() if proxy else None
            kind, secs, body = rt.invoke(api_event(method, path, token))
            after = proxy.snapshot() if proxy else None
            if kind != "response":
                raise RuntimeError(f"{name} {method} {path}: {kind} {body[:300]!r}")
            status = json.loads(body).get("statusCode")
            if expect is not None and status != expect:
                raise RuntimeError(f"{name} {method} {path}: status {status}, expected {expect}: {body[:300]!r}")
            if i == 0:
                first = (secs * 1000, (after[0] - before[0]) if proxy else None)
                continue
            lat.append(secs * 1000)
            if proxy:
                turns.append(after[0] - before[0])
                stmts.append(after[1] - before[1])
        return {"first_ms": first[0], "first_rt": first[1], "lat": lat, "turns": turns, "stmts": stmts,
                "rss_kib": rss_kib(proc.pid)}
    finally:
        err = stop(proc, rt)
        if proc.returncode not in (0, -9) and err:
            print(err[-2000:], file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--lambda-dir", required=True)
    ap.add_argument("--functions", required=True, help="comma-separated binary names")
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--pg-port", type=int, required=True)
    ap.add_argument("--db-name", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()
    a.runs = max(1, min(a.runs, 500))
    a.requests = max(2, min(a.requests, 20000))

    names = a.functions.split(",")
    rt = Runtime()
    base_env = {"DATABASE_URL": a.database_url, "APP_ENV": "development", "DB_POOL_MAX": "2",
                "RATE_LIMIT_MAX": "1000000", "RUST_LOG": "info"}
    rows = {}
    for name in [BASELINE] + names:
        binary = os.path.join(a.bin_dir, name)
        arm = os.path.join(a.lambda_dir, name, "bootstrap")
        init_ms, init_min, rss = measure_init(binary, name, rt, base_env, a.runs)
        rows[name] = {"size": os.path.getsize(binary),
                      "arm64": os.path.getsize(arm) if os.path.exists(arm) else None,
                      "init_ms": init_ms, "init_min_ms": init_min, "rss_kib": rss}
        print(f"  {name}: init {init_ms:.2f} ms (min {init_min:.2f}), rss {rss} KiB", file=sys.stderr)

    warm = []
    hello = measure_warm(os.path.join(a.bin_dir, BASELINE), BASELINE, "GET", "/", 200, rt, base_env,
                         a.requests, None)
    warm.append((BASELINE, "GET /", hello))
    proxy = PgProxy(a.pg_port)
    u = urllib.parse.urlsplit(a.database_url)
    userinfo = u.netloc.rsplit("@", 1)[0] + "@" if "@" in u.netloc else ""
    # The counting proxy reads the protocol messages: no TLS through it (the timed runs keep the
    # URL's own sslmode).
    query = [(k, v) for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True)
             if k not in ("sslmode", "sslrootcert", "sslnegotiation", "channel_binding", "hostaddr")]
    query.append(("sslmode", "disable"))
    proxied_url = urllib.parse.urlunsplit(u._replace(netloc=f"{userinfo}127.0.0.1:{proxy.port}",
                                                     query=urllib.parse.urlencode(query)))
    for name, method, path, expect in WARM:
        if name not in names:
            continue
        binary = os.path.join(a.bin_dir, name)
        timed = measure_warm(binary, name, method, path, expect, rt, base_env, a.requests, a.token)
        counted = measure_warm(binary, name, method, path, expect, rt,
                               dict(base_env, DATABASE_URL=proxied_url), min(a.requests, 50), a.token, proxy)
        if proxy.snapshot()[2] == 0:
            raise RuntimeError(f"{name}: no connection went through the counting proxy")
        timed["turns"], timed["stmts"], timed["first_rt"] = counted["turns"], counted["stmts"], counted["first_rt"]
        warm.append((name, f"{method} {path}", timed))

    base = rows[BASELINE]
    print()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (figures are noisy on a busy machine)")
    print(f"{'binary':<12} {'x86_64 B':>10} {'arm64 B':>10} {'init ms':>8} {'min':>6} {'Δinit':>7} {'RSS KiB':>8} {'×hello':>7}")
    for name, r in rows.items():
        arm = f"{r['arm64']:>10}" if r["arm64"] else f"{'-':>10}"
        d = r["init_ms"] - base["init_ms"]
        ratio = r["rss_kib"] / base["rss_kib"]
        print(f"{name:<12} {r['size']:>10} {arm} {r['init_ms']:>8.2f} {r['init_min_ms']:>6.2f} {d:>+7.2f} "
              f"{r['rss_kib']:>8} {ratio:>7.2f}")
    print()
    print(f"{'warm request':<32} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'first ms':>9} {'DB rt':>6} {'stmts':>6} {'RSS KiB':>8}")
    for name, label, w in warm:
        rtc = f"{statistics.median(w['turns']):>6.0f}" if w["turns"] else f"{'-':>6}"
        st = f"{statistics.median(w['stmts']):>6.0f}" if w["stmts"] else f"{'-':>6}"
        print(f"{name + ' ' + label:<32} {len(w['lat']):>5} {percentile(w['lat'], 50):>8.3f} "
              f"{percentile(w['lat'], 99):>8.3f} {w['first_ms']:>9.2f} {rtc} {st} {w['rss_kib'] or 0:>8}")

    print()
    print("targets:")
    ok_all = True
    for name, r in rows.items():
        if name == BASELINE:
            continue
        checks = [
            (f"init ≤ hello + 4 ms ({r['init_ms'] - base['init_ms']:+.2f} ms)", r["init_ms"] - base["init_ms"] <= 4),
            (f"RSS ≤ 4× hello ({r['rss_kib'] / base['rss_kib']:.2f}×)", r["rss_kib"] <= 4 * base["rss_kib"]),
        ]
        if r["arm64"]:
            checks.append((f"arm64 bootstrap ≤ 5 MB ({r['arm64'] / 1e6:.2f} MB)", r["arm64"] <= 5_000_000))
        else:
            checks.append(("arm64 bootstrap: not built (scripts/build-arm64)", True))
        for label, ok in checks:
            ok_all &= ok
            print(f"  {'ok  ' if ok else 'MISS'} {name}: {label}")
    for name, label, w in warm:
        if w["turns"]:
            worst = max(w["turns"])
            ok = worst <= 2
            ok_all &= ok
            print(f"  {'ok  ' if ok else 'MISS'} {name} {label}: ≤ 2 DB round trips (max {worst}, "
                  f"first request {w['first_rt']} incl. connection setup)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"binaries": rows, "warm": [
                {"function": n, "request": l, "p50_ms": percentile(w["lat"], 50),
                 "p99_ms": percentile(w["lat"], 99), "first_ms": w["first_ms"],
                 "db_round_trips": max(w["turns"]) if w["turns"] else None,
                 "db_statements": max(w["stmts"]) if w["stmts"] else None,
                 "rss_after_kib": w["rss_kib"]} for n, l, w in warm]}, f, indent=2)
    rt.server.shutdown()
    return 0 if ok_all else 3


if __name__ == "__main__":
    sys.exit(main())
