#!/usr/bin/env python3
"""A recording HTTPS proxy on loopback: stands in for every AWS endpoint a program resolves by
itself, and writes down what it asked for.

    recording_proxy.py --port-file FILE [--forward-sts http://127.0.0.1:MOTO] [--dir DIR]

FILE gets {"port", "url", "ca_bundle"} once listening. Point the program at it with
    HTTPS_PROXY=http://TAG:x@127.0.0.1:PORT  (and https_proxy, HTTP_PROXY, http_proxy)
    AWS_CA_BUNDLE=<ca_bundle>                NO_PROXY=127.0.0.1,localhost  (loopback peers direct)
TAG (the proxy user name, sent as Proxy-Authorization) files every request under that tag, so
several programs (botocore and the poller, many cases at once) can share one proxy.

What it does with a connection:
  * CONNECT host:443 -> 200, then TLS with a certificate for that host made on the fly and
    signed by the proxy's own test CA (ca_bundle, made at start with `cryptography`);
  * an absolute-form request (GET http://host/...) is handled the same way without TLS;
  * each HTTP request inside is answered here, never sent to the internet:
      - GET /federation/credentials (the SSO portal)  -> sso_portal.respond (same rules)
      - Action=AssumeRole / AssumeRoleWithWebIdentity -> forwarded as is (Host header and
        signature untouched) to --forward-sts (moto, which checks the signature and the
        caller's IAM policy); the key the answer issues is remembered (GET /_issued)
      - Action=GetCallerIdentity -> a valid STS answer (account 123456789012)
      - Action=DescribeInstances -> a valid, empty EC2 answer (root element + namespace)
      - Action=DescribeRegions   -> a valid EC2 answer listing the signing region
      - anything else            -> 400 InvalidAction (an EC2/STS-style error document)
Each request is recorded as {"tag", "scheme", "connect", "host", "method", "path", "action",
"key_id", "date", "region", "service", "signature", "status"} (AssumeRole*: also "params"
and "issued"; GetRoleCredentials: "sso_token", "role_name", "account_id"): key id and credential scope
come from the Authorization header; "signature" is "valid", "invalid", "unknown-key" (no
secret known for the key) or "unsigned".

Control (plain HTTP to the proxy itself, origin-form paths):
  GET  /_log?tag=T     the records of tag T (all records without ?tag)
  GET  /_issued        {key id: {"kind": "assume"|"webid", "role", "by" (caller key id or
                        null), "session", "external_id", "duration", "token"}} from STS answers
  POST /_secrets       {key id: secret} known secrets, for signature checks
  POST /_reset         forget every record
Runs until stdin closes or SIGTERM (serving.serve_until_stopped).
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import ssl
import sys
import tempfile
import threading
from urllib.parse import parse_qsl, quote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sso_portal  # noqa: E402
from serving import announce, serve_until_stopped  # noqa: E402

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
MAX_BODY = 1 << 20


class CertificateAuthority:
    """A test CA and a certificate per host name, made on demand and kept."""

    def __init__(self, directory):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        self.x509, self.hashes, self.serialization, self.ec, self.NameOID = x509, hashes, serialization, ec, NameOID
        self.dir = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "inventory-poller recording proxy CA")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
                     .sign(self.key, hashes.SHA256()))
        self.bundle = os.path.join(directory, "proxy-ca.pem")
        with open(self.bundle, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))
        self.contexts, self.lock = {}, threading.Lock()

    def context(self, host):
        with self.lock:
            if host not in self.contexts:
                self.contexts[host] = self._make(host)
            return self.contexts[host]

    def _make(self, host):
        import ipaddress
        x509, ec = self.x509, self.ec
        key = ec.generate_private_key(ec.SECP256R1())
        try:
            alt = x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            alt = x509.DNSName(host)
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(self.NameOID.COMMON_NAME, host[:64] or "x")]))
                .issuer_name(self.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
                .sign(self.key, self.hashes.SHA256()))
        s = self.serialization
        path = os.path.join(self.dir, "host-%s.pem" % hashlib.sha1(host.encode()).hexdigest()[:16])
        with open(path, "wb") as f:
            f.write(cert.public_bytes(s.Encoding.PEM))
            f.write(key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(path)
        return context


def read_request(stream):
    """(method, target, headers (list of pairs), body) or None at end of stream."""
    line = stream.readline(65537)
    while line in (b"\r\n", b"\n"):
        line = stream.readline(65537)
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3:
        raise ValueError("bad request line")
    headers = []
    for _ in range(200):
        h = stream.readline(65537)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return parts[0], parts[1], headers


def header(headers, name):
    for k, v in headers:
        if k.lower() == name.lower():
            return v
    return None


def send(stream, status, headers, body, close=False):
    reason = http.client.responses.get(status, "Status")
    head = "HTTP/1.1 %d %s\r\n" % (status, reason)
    for k, v in headers.items():
        head += "%s: %s\r\n" % (k, v)
    head += "Content-Length: %d\r\n" % len(body)
    if close:
        head += "Connection: close\r\n"
    stream.write(head.encode("latin-1") + b"\r\n" + body)
    stream.flush()


class Proxy:
    def __init__(self, directory, forward_sts):
        self.ca = CertificateAuthority(directory)
        self.forward = urlsplit(forward_sts) if forward_sts else None
        self.lock = threading.Lock()
        self.records = []
        self.issued = {}
        self.secrets = {}

    # MARK: connections

    def handle(self, raw):
        raw.settimeout(30)
        stream = raw.makefile("rwb")
        try:
            first = read_request(stream)
            if first is None:
                return
            method, target, headers = first
            tag = self.tag(headers)
            if method == "CONNECT":
                stream.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                stream.flush()
                host = target.rsplit(":", 1)[0]
                tls = self.ca.context(host).wrap_socket(raw, server_side=True)
                self.serve(tls.makefile("rwb"), tag, "https", target, None)
                return
            if target.startswith("/_"):
                self.control(stream, method, target, headers)
                return
            self.serve(stream, tag, "http", None, (method, target, headers))
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            try:
                raw.close()
            except OSError:
                pass

    @staticmethod
    def tag(headers):
        value = header(headers, "Proxy-Authorization") or ""
        if value.lower().startswith("basic "):
            try:
                return base64.b64decode(value[6:]).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                return "-"
        return "-"

    def serve(self, stream, tag, scheme, connect, first):
        pending = first
        for _ in range(1000):
            request = pending or read_request(stream)
            pending = None
            if request is None:
                return
            method, target, headers = request
            if scheme == "http" and target.startswith("http://"):
                u = urlsplit(target)
                target = u.path + ("?" + u.query if u.query else "")
            if (header(headers, "Expect") or "").lower() == "100-continue":
                stream.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                stream.flush()
            length = int(header(headers, "Content-Length") or 0)
            if length > MAX_BODY:
                send(stream, 413, {}, b"", close=True)
                return
            body = stream.read(length) if length else b""
            status, out_headers, out_body = self.answer(tag, scheme, connect, method, target, headers, body)
            send(stream, status, out_headers, out_body)

    # MARK: answers

    def answer(self, tag, scheme, connect, method, target, headers, body):
        auth = header(headers, "Authorization") or ""
        record = {"tag": tag, "scheme": scheme, "connect": connect, "host": header(headers, "Host"), "method": method,
                  "path": target.split("?", 1)[0], "action": None, "key_id": None, "date": None, "region": None,
                  "service": None, "signature": "unsigned", "status": None}
        m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/,]*)/([^/,]*)/([^/,]*)/([^/,]*)/aws4_request", auth)
        if m:
            record.update(key_id=m.group(1), date=m.group(2), region=m.group(3), service=m.group(4))
            record["signature"] = self.check_signature(method, target, headers, body, auth, m.group(1))
        params = dict(parse_qsl(target.split("?", 1)[1])) if "?" in target else {}
        if method == "POST" and body:
            params.update(parse_qsl(body.decode("utf-8", "replace")))
        record["action"] = params.get("Action")
        if record["path"] == "/federation/credentials":
            record["action"] = "GetRoleCredentials"
            record["sso_token"] = header(headers, "x-amz-sso_bearer_token")
            record.update({k: v for k, v in params.items() if k in ("role_name", "account_id")})
            status, out_headers, out_body = sso_portal.respond(method, target, {"x-amz-sso_bearer_token": record["sso_token"]})
            if status == 200:
                c = json.loads(out_body)["roleCredentials"]
                with self.lock:
                    self.secrets[c["accessKeyId"]] = c["secretAccessKey"]
        elif record["action"] in ("AssumeRole", "AssumeRoleWithWebIdentity") and self.forward:
            status, out_headers, out_body = self.forward_sts(method, target, headers, body, params, record)
        else:
            status, out_headers, out_body = self.canned(record, params)
        record["status"] = status
        with self.lock:
            self.records.append(record)
        return status, out_headers, out_body

    def canned(self, record, params):
        action, region = record["action"], record["region"] or "us-east-1"
        rid = "<requestId>00000000-0000-0000-0000-000000000000</requestId>"
        if action == "GetCallerIdentity":
            body = ('<GetCallerIdentityResponse xmlns="%s"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/oracle</Arn>'
                    '<UserId>AIDAORACLE</UserId><Account>123456789012</Account></GetCallerIdentityResult>'
                    '<ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></GetCallerIdentityResponse>') % STS_NS
        elif action == "DescribeInstances":
            body = '<DescribeInstancesResponse xmlns="%s">%s<reservationSet/></DescribeInstancesResponse>' % (EC2_NS, rid)
        elif action == "DescribeRegions":
            body = ('<DescribeRegionsResponse xmlns="%s">%s<regionInfo><item><regionName>%s</regionName>'
                    '<regionEndpoint>ec2.%s.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>'
                    '</regionInfo></DescribeRegionsResponse>') % (EC2_NS, rid, region, region)
        else:
            return 400, {"Content-Type": "text/xml"}, (
                '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>not served here: %s</Message>'
                '</Error><RequestId>0</RequestId></ErrorResponse>' % (action or "no action")).encode()
        return 200, {"Content-Type": "text/xml"}, body.encode()

    def forward_sts(self, method, target, headers, body, params, record):
        send_headers = {k: v for k, v in headers if k.lower() not in ("proxy-authorization", "proxy-connection", "expect")}
        if record["signature"] == "unsigned":
            # moto routes unsigned requests by Host alone; a signed one keeps its Host (it is signed).
            send_headers = {k: v for k, v in send_headers.items() if k.lower() != "host"}
            send_headers["Host"] = "sts.amazonaws.com"
        try:
            conn = http.client.HTTPConnection(self.forward.hostname, self.forward.port, timeout=30)
            conn.request(method, target, body=body, headers=send_headers)
            response = conn.getresponse()
            out = response.read()
            status, content_type = response.status, response.getheader("Content-Type") or "text/xml"
            conn.close()
        except OSError as e:
            return 502, {}, str(e).encode()
        key = re.search(rb"<AccessKeyId>([^<]*)</AccessKeyId>", out)
        secret = re.search(rb"<SecretAccessKey>([^<]*)</SecretAccessKey>", out)
        if status == 200 and key and secret:
            issued = {"kind": "webid" if params.get("Action") == "AssumeRoleWithWebIdentity" else "assume",
                      "role": params.get("RoleArn"), "by": record["key_id"], "session": params.get("RoleSessionName"),
                      "external_id": params.get("ExternalId"), "duration": params.get("DurationSeconds"),
                      "token": params.get("WebIdentityToken")}
            with self.lock:
                self.issued[key.group(1).decode()] = issued
                self.secrets[key.group(1).decode()] = secret.group(1).decode()
        record["issued"] = key.group(1).decode() if (status == 200 and key) else None
        record["params"] = {k: params[k] for k in ("RoleArn", "RoleSessionName", "ExternalId", "DurationSeconds") if k in params}
        return status, {"Content-Type": content_type}, out

    # MARK: signatures

    def check_signature(self, method, target, headers, body, auth, key_id):
        with self.lock:
            secret = self.secrets.get(key_id)
        if secret is None:
            return "unknown-key"
        try:
            fields = dict(p.strip().split("=", 1) for p in auth.split(" ", 1)[1].split(","))
            scope = fields["Credential"].split("/", 1)[1]
            signed = fields["SignedHeaders"].split(";")
            path, _, query = target.partition("?")
            pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(query, keep_blank_values=True))
            canonical_headers = ""
            for name in signed:
                values = [" ".join(v.split()) for k, v in headers if k.lower() == name]
                canonical_headers += "%s:%s\n" % (name, ",".join(values))
            payload = header(headers, "x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
            canonical = "\n".join([method, path or "/", "&".join("%s=%s" % p for p in pairs), canonical_headers,
                                   ";".join(signed), payload])
            amz_date = header(headers, "X-Amz-Date")
            to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
            k = ("AWS4" + secret).encode()
            for part in scope.split("/"):
                k = hmac.new(k, part.encode(), hashlib.sha256).digest()
            good = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
            return "valid" if hmac.compare_digest(good, fields["Signature"]) else "invalid"
        except (KeyError, ValueError, TypeError, IndexError):
            return "invalid"

    # MARK: control

    def control(self, stream, method, target, headers):
        length = int(header(headers, "Content-Length") or 0)
        body = stream.read(length) if length else b""
        path, _, query = target.partition("?")
        with self.lock:
            if path == "/_log":
                tag = dict(parse_qsl(query)).get("tag")
                out = [r for r in self.records if tag is None or r["tag"] == tag]
            elif path == "/_issued":
                out = self.issued
            elif path == "/_secrets" and method == "POST":
                self.secrets.update(json.loads(body or b"{}"))
                out = {"known": len(self.secrets)}
            elif path == "/_reset" and method == "POST":
                self.records.clear()
                out = {}
            else:
                send(stream, 404, {}, b"", close=True)
                return
            data = json.dumps(out).encode()
        send(stream, 200, {"Content-Type": "application/json"}, data, close=True)


def start(directory=None, forward_sts=None):
    """Starts a proxy in this process: returns (proxy, port)."""
    proxy = Proxy(directory or tempfile.mkdtemp(prefix="recording-proxy-"), forward_sts)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)

    def accept():
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=proxy.handle, args=(raw,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return proxy, listener.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--forward-sts", help="base URL of moto, for AssumeRole and AssumeRoleWithWebIdentity")
    parser.add_argument("--dir", help="where the CA and host certificates go (default: a new temporary directory)")
    args = parser.parse_args()
    proxy, port = start(args.dir, args.forward_sts)
    announce(args.port_file, {"port": port, "url": "http://127.0.0.1:%d" % port, "ca_bundle": proxy.ca.bundle})
    serve_until_stopped()


if __name__ == "__main__":
    main()
