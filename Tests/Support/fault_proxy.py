"""A fault-injecting HTTP front for moto.

It forwards every request unchanged (the Host header too, so SigV4 still verifies) and, when
a rule matches, answers with a fault instead. The region and action are read from the signed
request: the Authorization header's credential scope and the form body's Action.

A rule: {"action": "DescribeInstances", "region": "eu-west-1" (optional), "skip": 0, "times": 1,
         "fault": "throttle" | "status500" | "status503" | "truncate" | "reset" | "delay", "seconds": 5}
  skip:  let this many matching calls through first
  times: then fault this many (-1: forever)
"""
import http.client
import threading
import time
import urllib.parse

from serving import QuietHandler, loopback_server

THROTTLE = (b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code>'
            b'<Message>Request limit exceeded.</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>')


class FaultProxy:
    def __init__(self, upstream, rules):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.rules = [dict(r, seen=0) for r in rules]
        self.counts = {}
        self.lock = threading.Lock()
        self.httpd = loopback_server(self._handler())

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def calls(self):
        with self.lock:
            return dict(self.counts)

    def _decide(self, region, action):
        with self.lock:
            key = "%s/%s" % (region, action)
            self.counts[key] = self.counts.get(key, 0) + 1
            for rule in self.rules:
                if rule.get("action") not in (None, action) or rule.get("region") not in (None, region):
                    continue
                rule["seen"] += 1
                skip, times = rule.get("skip", 0), rule.get("times", 1)
                if rule["seen"] > skip and (times < 0 or rule["seen"] <= skip + times):
                    return rule["fault"], rule.get("seconds", 5)
        return None, 0

    def _handler(proxy):
        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
                auth = self.headers.get("Authorization", "")
                region = ""
                if "Credential=" in auth:
                    scope = auth.split("Credential=")[1].split(",")[0].split("/")
                    region = scope[2] if len(scope) > 2 else ""
                fault, seconds = proxy._decide(region, action)
                if fault == "delay":
                    time.sleep(seconds)
                if fault == "reset":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault in ("throttle", "status503"):
                    return self._send(503, THROTTLE)
                if fault == "status500":
                    return self._send(500, b"<Response><Errors><Error><Code>InternalError</Code><Message>boom</Message></Error></Errors></Response>")
                status, headers, data = self._forward(body)
                if fault == "truncate":
                    data = data[: len(data) // 2]
                self._send(status, data, headers)

            def _forward(self, body):
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=60)
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in ("content-length", "connection"):
                        conn.putheader(name, value)
                conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
                response = conn.getresponse()
                data = response.read()
                headers = [(k, v) for k, v in response.getheaders() if k.lower() in ("content-type", "x-amzn-requestid")]
                conn.close()
                return response.status, headers, data

            def _send(self, status, data, headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
