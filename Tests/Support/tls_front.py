"""A TLS front on loopback: terminates HTTPS and forwards the bytes to a plain HTTP backend
(moto, IMDS), so tests can talk HTTPS to real peers.

    tls_front.py --backend 127.0.0.1:PORT --cert CERT.pem:KEY.pem [--cert ...] --port-file FILE

One listener per --cert, each on a free 127.0.0.1 port. Writes {"ports": [...]} to FILE when
listening, and runs until stdin closes or SIGTERM (so it dies with the test process). The
certificates are made by the test (openssl) in a temporary directory.
"""
import argparse
import select
import socket
import ssl
import threading

from serving import announce, serve_until_stopped


def pump(client, backend):
    """Copies both ways until either side closes. Bounded by the sockets, not by a count."""
    sockets = [client, backend]
    try:
        while True:
            readable, _, errored = select.select(sockets, [], sockets, 30)
            if errored or not readable:
                return
            for s in readable:
                try:
                    data = s.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                if not data:
                    return
                # TLS may hold decrypted bytes that select() cannot see: drain them too.
                while s is client and client.pending():
                    data += client.recv(client.pending())
                (backend if s is client else client).sendall(data)
    except (OSError, ssl.SSLError):
        return
    finally:
        for s in sockets:
            try:
                s.close()
            except OSError:
                pass


def serve(listener, context, backend_address):
    while True:
        try:
            raw, _ = listener.accept()
        except OSError:
            return

        def handle(raw=raw):
            raw.settimeout(10)
            try:
                client = context.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                # The client refused our certificate (the point of several tests), or hung up.
                raw.close()
                return
            client.settimeout(None)
            try:
                backend = socket.create_connection(backend_address, timeout=10)
                backend.settimeout(None)
            except OSError:
                client.close()
                return
            pump(client, backend)

        threading.Thread(target=handle, daemon=True).start()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", required=True)
    parser.add_argument("--cert", action="append", required=True, help="CERT.pem:KEY.pem")
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    host, port = args.backend.rsplit(":", 1)
    backend_address = (host, int(port))
    ports = []
    for pair in args.cert:
        cert, key = pair.split(":", 1)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        ports.append(listener.getsockname()[1])
        threading.Thread(target=serve, args=(listener, context, backend_address), daemon=True).start()
    announce(args.port_file, {"ports": ports})
    serve_until_stopped()


if __name__ == "__main__":
    main()
