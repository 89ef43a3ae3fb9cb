#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A MOCK of meshd's local API (docs/localapi.md), for testing meshctl only.

It is not meshd: it answers HTTP/1.1 on a Unix socket with canned objects so
that meshctl_cli.sh can check meshctl's requests, parsing, output formats and
exit codes without a daemon, a control server or root.

Usage: fake_localapi.py SOCKET DIR
  DIR/scenario.json  read on every request (so one server serves every case):
     state     backend_state: Running, NeedsLogin, Stopped, NoState, Starting
     up        what POST /up makes the watch stream say: running, auth, error, silent
     ping      relay_then_direct, relay_only, timeouts, notfound, error
     readonly  true: writes get 403, as for an unprivileged caller
     framing   how plain answers are framed: length (default), chunked, eof,
               cut (the connection closes before the promised length)
     garbage   true: /status answers with text that is not JSON
  DIR/requests.log   one JSON line per request: {"method", "path", "body"}
"""
import json
import os
import queue
import socketserver
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler

SOCKET, DIR = sys.argv[1], sys.argv[2]
LOCK = threading.Lock()
WATCHERS = []  # one queue per open watch stream


def scenario():
    try:
        with open(os.path.join(DIR, "scenario.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def rfc3339(seconds_ago):
    t = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def status_object(sc):
    state = sc.get("state", "Running")
    st = {"backend_state": state, "auth_url": None, "version": "9.9.9"}
    if state == "NeedsLogin":
        st["auth_url"] = "https://mesh.example.com/register/abc"
        st["self"] = {"name": "laptop", "fqdn": "", "addresses": [], "state": state,
                      "user": None, "online": False}
        st["peers"] = []
        return st
    st["self"] = {"name": "laptop", "fqdn": "laptop.mesh.internal",
                  "addresses": ["100.64.0.1", "fd7a:115c:a1e0::1"], "state": state,
                  "user": "alice", "online": True, "os": "linux"}

    def peer(name, n, **kw):
        p = {"name": name, "fqdn": name + ".mesh.internal",
             "addresses": ["100.64.0.%d" % n, "fd7a:115c:a1e0::%d" % n],
             "user": "alice", "os": "linux", "online": True, "last_seen": None,
             "path": None, "endpoint": None, "relay": None, "rx_bytes": 0, "tx_bytes": 0,
             "last_handshake": None}
        p.update(kw)
        return p

    st["peers"] = [
        peer("server", 2, path="direct", endpoint="198.51.100.7:41641", rx_bytes=5678,
             tx_bytes=1234, last_handshake=rfc3339(10)),
        peer("nas", 3, path="relay", relay="home", rx_bytes=200, tx_bytes=100,
             last_handshake=rfc3339(20), user=None, tags=["tag:nas"]),
        peer("phone", 4, online=False, last_seen=rfc3339(185), os="android"),
        peer("printer", 5, path="direct", endpoint="192.168.1.9:41641",
             last_handshake=rfc3339(600), rx_bytes=10, tx_bytes=20),
    ]
    return st


NETCHECK = {"udp": True, "ipv4": True, "global_v4": "203.0.113.5:41641", "ipv6": False,
            "global_v6": None, "mapping_varies_by_dest_ip": False, "preferred_relay": "home",
            "relay_latency": [{"code": "home", "name": "Home", "latency_ms": 12.3}],
            "captive_portal": False}

PREFS = {"want_running": True, "login_server": "https://mesh.example.com",
         "hostname": "laptop", "advertise_routes": [], "advertise_exit_node": False,
         "advertise_tags": [], "accept_routes": False, "accept_dns": True, "exit_node": "",
         "exit_node_allow_lan_access": False, "shields_up": False, "snat_subnet_routes": True}


def broadcast(events, delay=0.0):
    def run():
        for ev in events:
            if delay:
                time.sleep(delay)
            with LOCK:
                for q in WATCHERS:
                    q.put(ev)
    threading.Thread(target=run, daemon=True).start()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode() if n else ""

    def record(self, body):
        with LOCK, open(os.path.join(DIR, "requests.log"), "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "body": body}) + "\n")

    def send_json(self, code, obj, raw=None):
        data = raw if raw is not None else (json.dumps(obj) + "\n").encode()
        framing = scenario().get("framing", "length")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            for i in range(0, len(data), 7):  # small chunks on purpose
                part = data[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif framing == "cut":  # promise more than is sent, then hang up
            self.send_header("Content-Length", str(len(data) + 100))
            self.end_headers()
            self.wfile.write(data)
        elif framing == "eof":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        else:
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        self.close_connection = True

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def refuse_write(self, sc):
        if sc.get("readonly"):
            self.send_json(403, {"error": "access denied: this uid may only read status"})
            return True
        return False

    def do_GET(self):
        self.record("")
        sc = scenario()
        path = self.path
        if path == "/localapi/v0/status":
            if sc.get("garbage"):
                self.send_json(200, None, raw=b"<html>not json</html>")
            else:
                self.send_json(200, status_object(sc))
        elif path == "/localapi/v0/prefs":
            self.send_json(200, PREFS)
        elif path == "/localapi/v0/netcheck":
            self.send_json(200, NETCHECK)
        elif path.startswith("/localapi/v0/whois?addr="):
            addr = path.split("=", 1)[1]
            if addr in ("100.64.0.2", "fd7a:115c:a1e0::2"):
                self.send_json(200, {"node": {"id": 2, "name": "server",
                                              "fqdn": "server.mesh.internal",
                                              "addresses": ["100.64.0.2", "fd7a:115c:a1e0::2"],
                                              "os": "linux", "tags": []},
                                     "user": "alice"})
            else:
                self.send_json(404, {"error": "no node has address " + addr})
        elif path == "/localapi/v0/watch":
            q = queue.Queue()
            with LOCK:
                WATCHERS.append(q)
            try:
                self.start_stream()
                # The current state first, as a real daemon's watch may send it.
                self.chunk({"state": sc.get("state", "Running")})
                while True:
                    try:
                        ev = q.get(timeout=0.5)
                    except queue.Empty:
                        self.wfile.write(b"1\r\n\n\r\n")  # keep-alive: an empty line
                        continue
                    self.chunk(ev)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with LOCK:
                    WATCHERS.remove(q)
                self.close_connection = True
        else:
            self.send_json(404, {"error": "no such endpoint"})

    def do_PATCH(self):
        body = self.body()
        self.record(body)
        sc = scenario()
        if self.refuse_write(sc):
            return
        if self.path != "/localapi/v0/prefs":
            self.send_json(404, {"error": "no such endpoint"})
            return
        merged = dict(PREFS)
        merged.update({k: v for k, v in json.loads(body).items() if k != "reset"})
        self.send_json(200, merged)

    def do_POST(self):
        body = self.body()
        self.record(body)
        sc = scenario()
        if self.refuse_write(sc):
            return
        path = self.path
        if path == "/localapi/v0/up":
            mode = sc.get("up", "running")
            self.send_json(202, {})
            if mode == "running":
                broadcast([{"state": "Starting"}, {"state": "Running"}], delay=0.05)
            elif mode == "auth":
                broadcast([{"state": "NeedsLogin"},
                           {"auth_url": "https://mesh.example.com/register/XYZ",
                            "register_id": "XYZ"},
                           {"state": "Starting"}, {"state": "Running"}], delay=0.1)
            elif mode == "error":
                broadcast([{"state": "Starting"}, {"error": "auth key expired"}], delay=0.05)
        elif path in ("/localapi/v0/down", "/localapi/v0/logout"):
            self.send_json(200, {})
        elif path == "/localapi/v0/ping":
            self.ping(sc, json.loads(body))
        else:
            self.send_json(404, {"error": "no such endpoint"})

    def ping(self, sc, req):
        mode = sc.get("ping", "relay_then_direct")
        count = req.get("count", 10)
        if mode == "notfound":
            self.send_json(404, {"error": "no peer called " + req.get("peer", "")})
            return
        base = {"peer": "server", "ip": "100.64.0.2"}
        relay = dict(base, via="relay", endpoint=None, relay="home")
        direct = dict(base, via="direct", endpoint="198.51.100.7:41641", relay=None)
        if mode == "relay_then_direct":
            # One line too many after the direct pong: meshctl must stop reading there.
            results = [dict(relay, latency_ms=23.4), dict(relay, latency_ms=20.6),
                       dict(direct, latency_ms=1.6), dict(direct, latency_ms=1.0)]
        elif mode == "relay_only":
            results = [dict(relay, latency_ms=30 + i) for i in range(count)]
        elif mode == "timeouts":
            results = [dict(base, timeout=True) for _ in range(count)]
        else:
            results = [dict(relay, latency_ms=5.0), {"error": "peer went away"}]
        self.start_stream()
        try:
            for r in results:
                self.chunk(r)
                time.sleep(0.02)
            self.end_stream()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if __name__ == "__main__":
    if os.path.exists(SOCKET):
        os.unlink(SOCKET)
    with Server(SOCKET, Handler) as srv:
        srv.serve_forever()
