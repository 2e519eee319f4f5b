"""An AWS Query endpoint whose every answer is an error whose message tries to forge log lines.

    forging_server.py --port-file FILE

It writes its port to FILE (as every test server does; see serving.py), then serves until
stdin closes or SIGTERM. The message holds a newline followed by a fake timestamped `inventory-poller:` line,
a carriage return, an ANSI colour escape, a C1 control (NEL, U+0085), DEL and a Unicode line
separator.
"""
import argparse

from serving import QuietHandler, announce, loopback_server, serve_until_stopped

FORGED = ("denied\n2026-01-01T00:00:00Z inventory-poller: FORGED line\r"
          "\x1b[31mred\x1b[0m \u0085nel \x7fdel \u2028sep")


def body():
    message = FORGED.replace("&", "&amp;").replace("<", "&lt;")
    # XML 1.0 cannot carry most C0 controls raw: use character references, as a server could.
    encoded = "".join(f"&#{ord(c)};" if ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f else c for c in message)
    return (f'<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>'
            f'<Message>{encoded}</Message></Error><RequestId>forging</RequestId></ErrorResponse>').encode()


class Handler(QuietHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        data = body()
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    server = loopback_server(Handler)
    announce(args.port_file, server.server_address[1])
    serve_until_stopped()
    server.shutdown()


if __name__ == "__main__":
    main()
