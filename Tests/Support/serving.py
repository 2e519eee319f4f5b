"""What every local test server shares: a quiet handler, a loopback listener, the ready signal
(an atomically written port file) and the lifetime rule (stop when stdin closes or on SIGTERM).

The Swift side (Tests/CloudInventoryTests/Support/PythonServer.swift), kill_test.py and
bench/run.py start servers with a pipe as stdin and wait for the port file with
`wait_for_file`; closing that pipe (or the parent dying) stops the server, so none outlives
its test run.
"""
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HarnessError(Exception):
    """A server did not start: the harness's fault, not the program's."""


class QuietHandler(BaseHTTPRequestHandler):
    """No access log: a test's own output stays readable."""

    def log_message(self, *args):
        pass


def loopback_server(handler, port=0):
    """A threading HTTP server on 127.0.0.1 (never a public interface), already serving."""
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def reply(handler, status, headers, body):
    """Writes one whole answer on a BaseHTTPRequestHandler: status, headers, length, body."""
    handler.send_response(status)
    for k, v in headers.items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def recording_handler(respond, header):
    """A handler class that answers GET with `respond(method, path, headers)` and notes each
    request as [path, the value of `header`]; GET /_requests lists what was noted (a test
    support route, not the served API's)."""
    import json
    import threading
    seen, lock = [], threading.Lock()

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path == "/_requests":
                with lock:
                    status, headers, body = 200, {"Content-Type": "application/json"}, json.dumps(seen).encode()
            else:
                with lock:
                    seen.append([self.path, self.headers.get(header)])
                status, headers, body = respond("GET", self.path, self.headers)
            reply(self, status, headers, body)

    return Handler


def announce(port_file, payload):
    """Writes `payload` (a port, a string, or anything JSON) to `port_file` in one step: the
    reader polls for the file and must never see it half written."""
    if isinstance(payload, (dict, list)):
        text = json.dumps(payload, indent=2)
    else:
        text = str(payload)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, port_file)


def serve_until_stopped():
    """Blocks until stdin closes (the parent went away) or SIGTERM / SIGINT arrives."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    # Wake up often: a signal the kernel delivers to another thread runs its Python handler
    # only when the main thread next runs, and an untimed wait could leave it unhandled.
    while not stop.wait(0.1):
        pass


def wait_for_file(path, seconds, process):
    """The contents of `path` once `process` (a Popen) has written it; HarnessError if the
    process exits first or `seconds` pass."""
    name = os.path.basename(process.args[1]) if len(process.args) > 1 else str(process.args[0])
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                return f.read()
        if process.poll() is not None:
            raise HarnessError("%s exited %s before it was ready" % (name, process.returncode))
        time.sleep(0.05)
    raise HarnessError("%s not ready within %d s" % (name, seconds))
