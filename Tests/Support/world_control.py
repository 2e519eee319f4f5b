"""The control API of world.py (see its docstring for the paths): per-test IMDS servers with
faults, seeding and changing regions of a test's own, and fault-injecting proxies for moto."""
import json

from fault_proxy import FaultProxy
from serving import QuietHandler


def control_handler(world):
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"{}")

        def do_GET(self):
            parts = self.path.strip("/").split("/")
            if parts[0] == "imds" and len(parts) == 3 and parts[2] == "requests" and parts[1] in world.imds:
                self._reply(200, world.imds[parts[1]].state.requests)
            elif parts[0] == "proxy" and len(parts) == 3 and parts[2] == "calls" and parts[1] in world.proxies:
                self._reply(200, world.proxies[parts[1]].calls())
            else:
                self._reply(404, {"error": "no such path"})

        def do_POST(self):
            parts = self.path.strip("/").split("/")
            body = self._body()
            try:
                if parts == ["imds"]:
                    ident, server = world.new_imds(body.get("faults"))
                    self._reply(200, {"id": ident, "url": server.url})
                elif parts == ["ec2", "seed"]:
                    self._reply(200, {"ids": world.seed_region(body["region"], int(body["count"]))})
                elif parts == ["ec2", "change"]:
                    self._reply(200, world.change(body))
                elif parts == ["proxy"]:
                    proxy = FaultProxy(world.moto_url, body.get("rules", []))
                    ident = world.register(world.proxies, proxy)
                    self._reply(200, {"id": ident, "url": proxy.url})
                elif parts[0] == "imds" and len(parts) == 3 and parts[1] in world.imds:
                    server = world.imds[parts[1]]
                    if parts[2] == "faults":
                        server.state.faults.update(body)
                    elif parts[2] == "expire":
                        server.state.expire_tokens()
                    else:
                        raise KeyError(parts[2])
                    self._reply(200, {"ok": True})
                else:
                    self._reply(404, {"error": "no such path"})
            except Exception as e:  # a bad control request is the test's bug: say so
                self._reply(400, {"error": repr(e)})

    return Handler
