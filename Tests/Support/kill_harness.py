"""The kill test's servers and world (Tests/Support/kill_test.py): the AWS world and the
database as child processes, random changes to the world, and the database read back."""
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from serving import HarnessError, wait_for_file

HERE = os.path.dirname(os.path.abspath(__file__))


class Servers:
    """The world (unless given) and the database, as child processes that die with us."""

    def __init__(self, tmp, world_state):
        self.children = []
        if world_state is None:
            world_state = os.path.join(tmp, "world.json")
            self.spawn([os.path.join(HERE, "world.py"), "--state", world_state, "--size", "demo"])
            wait_for_file(world_state, 300, self.children[-1])
        self.world = json.load(open(world_state))
        port_file = os.path.join(tmp, "mongo.port")
        self.mongo = self.spawn([os.path.join(HERE, "mongo_server.py"), "--port-file", port_file])
        self.port = int(wait_for_file(port_file, 60, self.mongo))
        self.db_up = True

    def spawn(self, args):
        p = subprocess.Popen([sys.executable] + args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=sys.stderr)
        self.children.append(p)
        return p

    def accepts(self):
        with socket.socket() as s:
            s.settimeout(1)
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def set_db(self, up):
        """SIGUSR2 brings the database back with its data, SIGUSR1 takes it down."""
        self.mongo.send_signal(signal.SIGUSR2 if up else signal.SIGUSR1)
        for _ in range(300):
            if self.accepts() == up:
                self.db_up = up
                return
            time.sleep(0.05)
        raise HarnessError("the database did not go %s" % ("up" if up else "down"))

    def control(self, path, body):
        request = urllib.request.Request(self.world["control_url"] + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=60) as reply:
            return json.load(reply)

    def close(self):
        for p in self.children:
            try:
                p.stdin.close()
                p.terminate()
                p.wait(10)
            except Exception:
                p.kill()


class World:
    """Changes the world at random and reads it back with boto3, never through the poller."""

    def __init__(self, servers, regions, rng):
        import boto3
        creds = servers.world["admin_credentials"]
        self.ec2 = {r: boto3.client("ec2", region_name=r, endpoint_url=servers.world["moto_url"],
                                    aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
                    for r in regions}
        self.servers, self.regions, self.rng = servers, regions, rng
        self.changes = 0

    def snapshot(self):
        out = {}
        for region, ec2 in self.ec2.items():
            out[region] = {}
            for page in ec2.get_paginator("describe_instances").paginate():
                for reservation in page["Reservations"]:
                    for instance in reservation["Instances"]:
                        doc = json.loads(json.dumps(instance, default=lambda o: o.isoformat() if isinstance(o, datetime.datetime) else str(o)))
                        out[region][instance["InstanceId"]] = doc
        return out

    def mutate(self, snapshot):
        """One to three random changes: the kinds of change a poll must turn into events."""
        for _ in range(self.rng.randint(1, 3)):
            region = self.rng.choice(self.regions)
            by_state = {}
            for iid, inst in sorted(snapshot[region].items()):
                by_state.setdefault(inst["State"]["Name"], []).append(iid)
            pick = lambda ids, k: self.rng.sample(ids, min(k, len(ids)))
            kind = self.rng.choice(["stop", "start", "terminate", "tag", "tag", "launch", "vanish", "none"])
            body = {"region": region}
            if kind == "stop":
                body["stop"] = pick(by_state.get("running", []), self.rng.randint(1, 3))
            elif kind == "start":
                body["start"] = pick(by_state.get("stopped", []), self.rng.randint(1, 3))
            elif kind == "terminate":
                body["terminate"] = pick(by_state.get("running", []) + by_state.get("stopped", []), 1)
            elif kind == "tag":
                ids = pick(sorted(snapshot[region]), self.rng.randint(1, 4))
                body["tag"] = {i: {"env": self.rng.choice(["prod", "staging", "dev"]), "rev": str(self.rng.randint(0, 99))} for i in ids}
            elif kind == "launch":
                body["launch"] = self.rng.randint(1, 3)
            elif kind == "vanish":
                body["vanish"] = pick(by_state.get("terminated", []), 1)
            if len(body) > 1 and any(body[k] for k in body if k != "region"):
                self.servers.control("/ec2/change", body)
                self.changes += 1


def read_database(servers, database):
    import pymongo
    client = pymongo.MongoClient("mongodb://127.0.0.1:%d/" % servers.port, serverSelectionTimeoutMS=10000)
    try:
        db = client[database]
        return {c: list(db[c].find({})) for c in ("instances", "events", "polls")}
    finally:
        client.close()


class SpoolWatch:
    """Every name created in a directory while it is watched (inotify, through ctypes): a
    poll's spool file appears (`<poll id>.seq<k>.ndjson.tmp`) before the poll writes
    anything to the database, so the names say which writer made which poll, also when the
    file is removed at the end of a poll the database took whole."""
    IN_CREATE, IN_MOVED_TO, IN_NONBLOCK, IN_CLOEXEC = 0x100, 0x80, 0o4000, 0o2000000

    def __init__(self, directory):
        import ctypes
        import ctypes.util
        import threading
        os.makedirs(directory, exist_ok=True)
        self.libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self.fd = self.libc.inotify_init1(self.IN_NONBLOCK | self.IN_CLOEXEC)
        if self.fd < 0 or self.libc.inotify_add_watch(self.fd, directory.encode(), self.IN_CREATE | self.IN_MOVED_TO) < 0:
            raise HarnessError("inotify on %s failed (errno %d)" % (directory, ctypes.get_errno()))
        self.names, self.stopping = [], False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _drain(self):
        import struct
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            at = 0
            while at + 16 <= len(data):
                _, _, _, length = struct.unpack_from("iIII", data, at)
                self.names.append(data[at + 16:at + 16 + length].split(b"\0", 1)[0].decode(errors="replace"))
                at += 16 + length

    def _read(self):
        import select
        while not self.stopping:
            select.select([self.fd], [], [], 0.05)
            self._drain()

    def stop(self):
        """Stops watching; returns every name seen, in order."""
        self.stopping = True
        self.thread.join(5)
        self._drain()
        os.close(self.fd)
        return list(self.names)
