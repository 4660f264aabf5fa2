#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A Kubernetes API server for bpfnetd's tests.

It serves the part of the API the agent uses, as the Kubernetes API
documentation ("API Concepts": efficient detection of changes, retrieving
large results in chunks, watch bookmarks, 410 Gone) describes it:

  GET /api/v1/services, /apis/discovery.k8s.io/v1/endpointslices,
      /api/v1/nodes
    list:  limit / continue (pages of one consistent snapshot, continue
           tokens expire with compaction -> 410 Expired), metadata.
           resourceVersion; items carry no kind/apiVersion, as in the
           real API.
    watch: watch=true&resourceVersion=R: every change after R as a stream
           of {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object"}
           lines in a chunked response; R="" or "0" starts with ADDED for
           every object; R older than the compaction point -> one ERROR
           event carrying a 410 Expired Status (or HTTP 410, a knob);
           allowWatchBookmarks -> periodic BOOKMARKs; timeoutSeconds ends
           the stream.
  Bearer-token auth (401 Status), TLS with an optional client-CA.

Test controls on a second, plain-HTTP port (never the API port):
  POST   /objects            an object or a List: create or update each
  DELETE /objects/KIND/NS/NAME   (NS "-" for cluster-scoped)
  POST   /compact            forget history up to now
  POST   /drop               cut every open watch (and keep serving)
  POST   /knobs              {"chunk": bytes per write, "delay": s between
                              writes, "page_max": n, "hang": bool,
                              "fail_next": n, "gone_as_http": bool,
                              "bookmark_s": s, "raw_event": "text",
                              "throttle_next": n, "retry_after": s (429s with it),
                              "expire_continue": bool (the next continue)}
  POST   /tokens             ["t1", ...]  (empty: no auth)
  GET    /requests           every API request seen, in order
  GET    /state              {"rv", "watches", "objects"}
"""
import argparse
import base64
import copy
import json
import socket
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

KINDS = {
    "/api/v1/services": ("Service", "v1", True),
    "/apis/discovery.k8s.io/v1/endpointslices": ("EndpointSlice", "discovery.k8s.io/v1", True),
    "/api/v1/nodes": ("Node", "v1", False),
}
KIND_PATH = {v[0]: k for k, v in KINDS.items()}


class State:
    def __init__(self, start_rv):
        self.lock = threading.Condition()
        self.rv = start_rv
        self.compacted = start_rv  # history before this is gone
        self.objects = {k: {} for k in KIND_PATH}  # kind -> key -> object
        self.history = []  # (rv, kind, type, object)
        # rv -> {kind: [list items, encoded, sorted by key]}; like the real
        # API server's watch cache, objects are encoded once, not per list
        self.snapshots = {}
        self.encoded = {k: {} for k in KIND_PATH}  # kind -> key -> list item bytes
        self.tokens = set()
        self.knobs = {"chunk": 0, "delay": 0.0, "page_max": 0, "hang": False,
                      "fail_next": 0, "gone_as_http": False, "bookmark_s": 1.0,
                      "raw_event": None, "expire_continue": False,
                      "throttle_next": 0, "retry_after": 1}
        self.requests = []
        self.watches = set()  # open watch sockets
        self.generation = 0  # bumped by /drop

    def key(self, obj):
        meta = obj.get("metadata", {})
        return "%s/%s" % (meta.get("namespace", ""), meta.get("name", ""))

    def put(self, obj):
        kind = obj.get("kind")
        if kind not in self.objects:
            raise ValueError("unsupported kind %r" % kind)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        with self.lock:
            self.rv += 1
            key = self.key(obj)
            old = self.objects[kind].get(key)
            meta["resourceVersion"] = str(self.rv)
            meta.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
            meta.setdefault("creationTimestamp",
                            old["metadata"]["creationTimestamp"] if old else
                            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            self.objects[kind][key] = obj
            self.encoded[kind].pop(key, None)
            self.history.append((self.rv, kind, "MODIFIED" if old else "ADDED", obj))
            self.lock.notify_all()
            return self.rv

    def delete(self, kind, ns, name):
        with self.lock:
            key = "%s/%s" % ("" if ns == "-" else ns, name)
            obj = self.objects.get(kind, {}).pop(key, None)
            if obj is None:
                return None
            self.encoded[kind].pop(key, None)
            self.rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.history.append((self.rv, kind, "DELETED", obj))
            self.lock.notify_all()
            return self.rv

    def compact(self):
        with self.lock:
            self.compacted = self.rv
            self.history = []
            self.snapshots = {}

    def snapshot(self, kind):
        with self.lock:
            snap = self.snapshots.setdefault(self.rv, {})
            if kind not in snap:
                snap[kind] = [self.encode_item(kind, k, o)
                              for k, o in sorted(self.objects[kind].items())]
            return self.rv, snap[kind]

    def encode_item(self, kind, key, obj):
        """A list item: the object without kind/apiVersion, as the real API
        sends them. Stored objects are never mutated (put and delete copy)."""
        enc = self.encoded[kind].get(key)
        if enc is None:
            enc = json.dumps({k: v for k, v in obj.items()
                              if k not in ("kind", "apiVersion")}).encode()
            self.encoded[kind][key] = enc
        return enc


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class JsonHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive, chunked) answering JSON; no access log."""
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):
        pass

    def send_json(self, code, doc):
        self.send_body(code, json.dumps(doc).encode())

    def send_body(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class ApiHandler(JsonHandler):

    def write_chunked(self, data):
        """Write @data as chunks of knobs.chunk bytes, knobs.delay apart."""
        st = self.state
        size = st.knobs["chunk"] or len(data)
        for i in range(0, len(data), size):
            piece = data[i:i + size]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            if st.knobs["delay"]:
                time.sleep(st.knobs["delay"])

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_GET(self):
        st = self.state
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        auth = self.headers.get("Authorization", "")
        with st.lock:
            st.requests.append({"path": url.path, "query": q, "auth": auth,
                                "user_agent": self.headers.get("User-Agent", ""),
                                "t": time.monotonic()})
            fail = st.knobs["fail_next"] > 0
            if fail:
                st.knobs["fail_next"] -= 1
            throttle = st.knobs["throttle_next"] > 0
            if throttle:
                st.knobs["throttle_next"] -= 1
        if st.tokens and auth not in {"Bearer " + t for t in st.tokens}:
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        if url.path not in KINDS:
            return self.send_json(404, status(404, "NotFound", "the server could not find "
                                              "the requested resource"))
        if fail:
            return self.send_json(500, status(500, "InternalError", "injected failure"))
        if throttle:
            body = json.dumps(status(429, "TooManyRequests", "injected throttling")).encode()
            self.send_response(429)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Retry-After", str(st.knobs["retry_after"]))
            self.end_headers()
            self.wfile.write(body)
            return None
        kind = KINDS[url.path][0]
        if q.get("watch") in ("true", "1"):
            return self.watch(kind, q)
        return self.list(kind, q)

    def list(self, kind, q):
        st = self.state
        _, api_version, _ = KINDS[KIND_PATH[kind]]
        limit = int(q.get("limit") or 0)
        if st.knobs["page_max"] and (not limit or limit > st.knobs["page_max"]):
            limit = st.knobs["page_max"]  # the server may return fewer than asked
        start = 0
        if q.get("continue"):
            try:
                tok = json.loads(base64.urlsafe_b64decode(q["continue"]))
                rv, start = int(tok["rv"]), int(tok["start"])
            except (ValueError, KeyError):
                return self.send_json(400, status(400, "BadRequest", "invalid continue token"))
            with st.lock:
                items = st.snapshots.get(rv, {}).get(kind)
                if st.knobs["expire_continue"]:
                    st.knobs["expire_continue"], items = False, None
            if items is None:
                return self.send_json(410, status(
                    410, "Expired", "The provided continue parameter is too old to display a "
                    "consistent list result. You can start a new list without the continue "
                    "parameter."))
        else:
            rv, items = st.snapshot(kind)
        end = start + limit if limit else len(items)
        meta = {"resourceVersion": str(rv)}
        if end < len(items):
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"rv": rv, "start": end}).encode()).decode()
            meta["remainingItemCount"] = len(items) - end
        head = json.dumps({"kind": kind + "List", "apiVersion": api_version,
                           "metadata": meta})
        body = head[:-1].encode() + b', "items": [' + b", ".join(items[start:end]) + b"]}"
        if st.knobs["chunk"]:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.write_chunked(body)
            return self.end_chunked()
        return self.send_body(200, body)

    def watch(self, kind, q):
        st = self.state
        rv_text = q.get("resourceVersion", "")
        timeout = float(q.get("timeoutSeconds") or 1800)
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        with st.lock:
            too_old = rv_text not in ("", "0") and int(rv_text) < st.compacted
            gen = st.generation
        if too_old and st.knobs["gone_as_http"]:
            return self.send_json(410, status(410, "Gone", "too old resource version"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if too_old:
            self.write_chunked(json.dumps({"type": "ERROR", "object": status(
                410, "Expired", "too old resource version: %s (%d)" % (rv_text, st.compacted))
            }).encode() + b"\n")
            return self.end_chunked()
        with st.lock:
            if rv_text in ("", "0"):
                pending = [("ADDED", o) for _, o in sorted(st.objects[kind].items())]
                since = st.rv
            else:
                since = int(rv_text)
                pending = []
            st.watches.add(self.connection)
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + st.knobs["bookmark_s"]
        try:
            while True:
                for typ, obj in pending:
                    self.write_chunked(json.dumps({"type": typ, "object": obj}).encode() + b"\n")
                pending = []
                with st.lock:
                    while True:
                        if st.generation != gen:
                            return  # dropped
                        if st.knobs["raw_event"] is not None:
                            raw, st.knobs["raw_event"] = st.knobs["raw_event"], None
                            break
                        raw = None
                        new = [(r, t, o) for r, k, t, o in st.history if k == kind and r > since]
                        now = time.monotonic()
                        if (new or now >= deadline or (bookmarks and now >= next_bookmark)) \
                                and not st.knobs["hang"]:
                            break
                        st.lock.wait(0.1)
                    cur = st.rv
                if raw is not None:
                    self.write_chunked(raw.encode())
                    continue
                if new:
                    pending = [(t, o) for _, t, o in new]
                    since = new[-1][0]
                    continue
                if time.monotonic() >= deadline:
                    return self.end_chunked()
                next_bookmark = time.monotonic() + st.knobs["bookmark_s"]
                since = max(since, cur)
                self.write_chunked(json.dumps({"type": "BOOKMARK", "object": {
                    "kind": kind, "apiVersion": KINDS[KIND_PATH[kind]][1],
                    "metadata": {"resourceVersion": str(since)}}}).encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            return
        finally:
            with st.lock:
                st.watches.discard(self.connection)
            self.close_connection = True


class ControlHandler(JsonHandler):

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"null")

    def do_GET(self):
        st = self.state
        with st.lock:
            if self.path == "/requests":
                return self.send_json(200, st.requests)
            if self.path == "/state":
                return self.send_json(200, {"rv": st.rv, "watches": len(st.watches),
                                        "objects": {k: len(v) for k, v in st.objects.items()}})
        self.send_json(404, {"error": "no such control"})

    def do_POST(self):
        st = self.state
        try:
            doc = self.body()
            if self.path == "/objects":
                items = doc["items"] if doc.get("kind") == "List" else [doc]
                rv = 0
                for o in items:
                    rv = st.put(o)
                return self.send_json(200, {"rv": rv})
            if self.path == "/compact":
                st.compact()
                return self.send_json(200, {"compacted": st.compacted})
            if self.path == "/drop":
                with st.lock:
                    st.generation += 1
                    for conn in list(st.watches):
                        try:
                            conn.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                    st.lock.notify_all()
                return self.send_json(200, {"dropped": True})
            if self.path == "/knobs":
                with st.lock:
                    for k, v in doc.items():
                        if k not in st.knobs:
                            raise ValueError("unknown knob " + k)
                        st.knobs[k] = v
                    st.lock.notify_all()
                return self.send_json(200, st.knobs)
            if self.path == "/tokens":
                with st.lock:
                    st.tokens = set(doc)
                return self.send_json(200, sorted(st.tokens))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            return self.send_json(400, {"error": str(e)})
        self.send_json(404, {"error": "no such control"})

    def do_DELETE(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "objects":
            return self.send_json(404, {"error": "DELETE /objects/KIND/NS/NAME"})
        rv = self.state.delete(parts[1], parts[2], parts[3])
        self.send_json(200 if rv else 404, {"rv": rv})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:6443")
    ap.add_argument("--control", default="127.0.0.1:6444")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client-ca", help="require client certificates signed by this CA")
    ap.add_argument("--token", action="append", default=[])
    ap.add_argument("--objects", help="a JSON List to start with")
    ap.add_argument("--start-rv", type=int, default=1000)
    ap.add_argument("--ready-file", help="written once both ports listen")
    args = ap.parse_args()

    st = State(args.start_rv)
    st.tokens = set(args.token)
    if args.objects:
        with open(args.objects) as f:
            doc = json.load(f)
        for o in doc["items"] if doc.get("kind") == "List" else [doc]:
            st.put(o)
        st.compact()  # a fresh server has no history before its start
        for kind in KIND_PATH:  # encoded before it serves, as a warm cache is
            st.snapshot(kind)

    def server(addr, handler):
        host, port = addr.rsplit(":", 1)
        cls = type(handler.__name__, (handler,), {"state": st})
        srv = ThreadingHTTPServer((host, int(port)), cls)
        srv.daemon_threads = True
        return srv

    api = server(args.listen, ApiHandler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            ctx.load_verify_locations(args.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        api.socket = ctx.wrap_socket(api.socket, server_side=True)
    control = server(args.control, ControlHandler)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    api.serve_forever()


if __name__ == "__main__":
    main()
