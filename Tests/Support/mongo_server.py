#!/usr/bin/env python3
"""A MongoDB wire-protocol server for tests: MongoDB Inc.'s mockupdb speaks the protocol
(OP_MSG and the legacy handshake), mongomock stores the data.

    mongo_server.py --port-file FILE [--port N] [--no-unique-checks]

--no-unique-checks is for the benchmark only: mongomock checks a unique index by scanning the
collection on every write, which makes a 10,000-instance poll take many minutes; the benchmark
counts round trips, not mongomock's index enforcement.

Writes the port to FILE once listening; runs until stdin closes or SIGTERM.
SIGUSR1 takes the server down (connections refused), SIGUSR2 brings it back on the same port
with its data intact: a database outage and recovery.

A find or aggregate with a batchSize gets that many documents and a cursor id, and getMore the
next batch, as from a server, so a client that streams its results is tested as one.

Besides the commands libmongoc and pymongo need, it answers two test-only commands:
    {"testCommandLog": 1}                  -> {"log": [{"command", "collection", "count"}...]}
    {"testFaults": 1, "hangupOn": "update", "times": 1}
                                           -> the next matching command gets its connection
                                              closed without a reply (a drop mid-bulk)
    {"testFaults": 1, "rejectMarker": "POISON"}
                                           -> every insert/update whose documents contain the
                                              marker gets a write error (code 121, document
                                              failed validation): a permanent refusal
"""
import argparse

import bson
import signal
import threading

import mongomock
from mockupdb import MockupDB

from serving import announce, serve_until_stopped

WRITE_COMMANDS = {"insert": "documents", "update": "updates", "delete": "deletes"}


def _fast_iter_documents(original):
    """mongomock scans every document for every filter; look `_id` equality and `_id` $in up
    directly instead, so a 10,000-instance poll takes seconds, not many minutes. Any other
    filter takes mongomock's own path."""
    def iterate(self, filter):
        if isinstance(filter, dict) and len(filter) == 1 and "_id" in filter:
            key = filter["_id"]
            if isinstance(key, dict) and set(key) == {"$in"}:
                ids = key["$in"]
            elif not isinstance(key, dict):
                ids = [key]
            else:
                return original(self, filter)
            store = self._store
            return (store[i] for i in list(ids) if isinstance(i, (str, int)) and i in store)
        if isinstance(filter, dict) and "_id" in filter:
            # `_id` and more (a conditional write): the named documents, filtered as mongomock would.
            key = filter["_id"]
            ids = key["$in"] if isinstance(key, dict) and set(key) == {"$in"} else None if isinstance(key, dict) else [key]
            if ids is not None:
                store = self._store
                candidates = [store[i] for i in list(ids) if isinstance(i, (str, int)) and i in store]
                return (d for d in candidates if mongomock.filtering.filter_applies(filter, d))
        return original(self, filter)
    return iterate


mongomock.collection.Collection._iter_documents = _fast_iter_documents(mongomock.collection.Collection._iter_documents)


class Backend:
    def __init__(self):
        self.client = mongomock.MongoClient()
        self.log = []
        self.hangup_on = None
        self.hangup_times = 0
        self.reject_marker = None
        self.lock = threading.Lock()
        self.store_lock = threading.Lock()
        # Open cursors, as a server keeps them: id -> (namespace, iterator of what is left).
        # A find or aggregate with a batchSize answers that many and a cursor id; getMore
        # answers the next batch; so a client that streams is exercised as with a server.
        self.cursors = {}
        self.next_cursor = 1

    def handle(self, request):
        doc = request.doc
        name = next(iter(doc))
        lname = name.lower()
        db = self.client[request.namespace or doc.get("$db", "admin")]
        if lname in ("ismaster", "hello"):
            return request.reply(ismaster=True, isWritablePrimary=True, helloOk=True, minWireVersion=0, maxWireVersion=13,
                                 maxBsonObjectSize=16 * 1024 * 1024, maxMessageSizeBytes=48000000,
                                 maxWriteBatchSize=100000)
        collection = doc[name] if isinstance(doc[name], str) else None
        if lname not in ("testcommandlog", "testfaults", "ping", "buildinfo", "endsessions"):
            count = len(doc.get(WRITE_COMMANDS.get(name, ""), []) or [])
            with self.lock:
                self.log.append({"command": name, "collection": collection, "count": count})
                if self.hangup_times > 0 and self.hangup_on == name:
                    self.hangup_times -= 1
                    return request.hangup()
                marker = self.reject_marker
            if marker and name in WRITE_COMMANDS and marker in repr(doc):
                return request.reply({"ok": 1, "n": 0, "writeErrors": [
                    {"index": 0, "code": 121, "errmsg": "Document failed validation"}]})
        try:
            # One command at a time over the store, as a server applies each document write
            # atomically: mongomock is not thread-safe, and concurrent writers are tested here.
            with self.store_lock:
                reply = self.dispatch(name, doc, db, collection)
            return request.reply(reply)
        except mongomock.DuplicateKeyError as e:
            return request.reply({"ok": 0, "errmsg": str(e), "code": 11000})
        except Exception as e:  # a command this stand-in cannot serve: say so like a server would
            return request.reply({"ok": 0, "errmsg": "%s: %s" % (type(e).__name__, e), "code": 59})

    def first_batch(self, ns, results, batch_size):
        if not batch_size or len(results) <= batch_size:
            return {"ok": 1, "cursor": {"id": 0, "ns": ns, "firstBatch": results}}
        with self.lock:
            cursor_id = self.next_cursor
            self.next_cursor += 1
            self.cursors[cursor_id] = (ns, results[batch_size:], batch_size)
        return {"ok": 1, "cursor": {"id": bson.int64.Int64(cursor_id), "ns": ns, "firstBatch": results[:batch_size]}}

    def get_more(self, doc, db):
        cursor_id = int(doc["getMore"])
        with self.lock:
            entry = self.cursors.pop(cursor_id, None)
        if entry is None:
            return {"ok": 0, "errmsg": "cursor id %d not found" % cursor_id, "code": 43, "codeName": "CursorNotFound"}
        ns, left, batch_size = entry
        size = int(doc.get("batchSize") or batch_size)
        batch, rest = left[:size], left[size:]
        if rest:
            with self.lock:
                self.cursors[cursor_id] = (ns, rest, batch_size)
        return {"ok": 1, "cursor": {"id": bson.int64.Int64(cursor_id if rest else 0), "ns": ns, "nextBatch": batch}}

    @staticmethod
    def find_and_modify(doc, coll):
        """findAndModify with an update document, as the claims of `--once-per` use it:
        query, update, upsert, new; a duplicate key on upsert is the server's error 11000."""
        before = coll.find_one(doc.get("query", {}))
        if before is None and not doc.get("upsert"):
            return {"ok": 1, "value": None, "lastErrorObject": {"n": 0, "updatedExisting": False}}
        if before is None:
            result = coll.update_one(doc.get("query", {}), doc["update"], upsert=True)
            after = coll.find_one({"_id": result.upserted_id})
            return {"ok": 1, "value": after if doc.get("new") else None,
                    "lastErrorObject": {"n": 1, "updatedExisting": False, "upserted": result.upserted_id}}
        coll.update_one({"_id": before["_id"]}, doc["update"])
        after = coll.find_one({"_id": before["_id"]})
        return {"ok": 1, "value": after if doc.get("new") else before, "lastErrorObject": {"n": 1, "updatedExisting": True}}

    def dispatch(self, name, doc, db, collection):
        lname = name.lower()
        if lname in ("ping", "endsessions"):
            return {"ok": 1}
        if lname == "killcursors":
            with self.lock:
                for cursor_id in doc.get("cursors", []):
                    self.cursors.pop(cursor_id, None)
            return {"ok": 1, "cursorsKilled": doc.get("cursors", [])}
        if lname == "getmore":
            return self.get_more(doc, db)
        if lname == "buildinfo":
            return {"ok": 1, "version": "6.0.0-mockupdb", "versionArray": [6, 0, 0, 0]}
        if lname == "testcommandlog":
            with self.lock:
                return {"ok": 1, "log": list(self.log)}
        if lname == "testfaults":
            with self.lock:
                if "rejectMarker" in doc:
                    self.reject_marker = doc["rejectMarker"] or None
                else:
                    self.hangup_on = doc.get("hangupOn")
                    self.hangup_times = int(doc.get("times", 1))
            return {"ok": 1}
        coll = db[collection] if collection else None
        if name == "insert":
            errors, n = [], 0
            for i, d in enumerate(doc["documents"]):
                try:
                    coll.insert_one(d)
                    n += 1
                except mongomock.DuplicateKeyError as e:
                    errors.append({"index": i, "code": 11000, "errmsg": str(e)})
                    if doc.get("ordered", True):
                        break
            reply = {"ok": 1, "n": n}
            if errors:
                reply["writeErrors"] = errors
            return reply
        if name == "update":
            n = modified = 0
            upserted = []
            errors = []
            for i, u in enumerate(doc["updates"]):
                spec = u["u"]
                is_ops = isinstance(spec, dict) and spec and next(iter(spec)).startswith("$")
                try:
                    if u.get("multi"):
                        r = coll.update_many(u["q"], spec, upsert=u.get("upsert", False))
                    elif is_ops:
                        r = coll.update_one(u["q"], spec, upsert=u.get("upsert", False))
                    else:
                        r = coll.replace_one(u["q"], spec, upsert=u.get("upsert", False))
                except mongomock.DuplicateKeyError as e:
                    # An upsert whose filter missed an existing _id: a write error of its own,
                    # as a server reports it, and an unordered bulk goes on.
                    errors.append({"index": i, "code": 11000, "errmsg": str(e)})
                    if doc.get("ordered", True):
                        break
                    continue
                if r.upserted_id is not None:
                    upserted.append({"index": i, "_id": r.upserted_id})
                    n += 1
                else:
                    n += r.matched_count
                    modified += r.modified_count
            reply = {"ok": 1, "n": n, "nModified": modified}
            if upserted:
                reply["upserted"] = upserted
            if errors:
                reply["writeErrors"] = errors
            return reply
        if lname == "findandmodify":
            return self.find_and_modify(doc, coll)
        if name == "delete":
            n = 0
            for d in doc["deletes"]:
                n += (coll.delete_one(d["q"]) if d.get("limit") == 1 else coll.delete_many(d["q"])).deleted_count
            return {"ok": 1, "n": n}
        if name == "find":
            cursor = coll.find(doc.get("filter", {}), doc.get("projection"))
            if doc.get("sort"):
                cursor = cursor.sort(list(doc["sort"].items()))
            if doc.get("skip"):
                cursor = cursor.skip(doc["skip"])
            if doc.get("limit"):
                cursor = cursor.limit(abs(doc["limit"]))
            return self.first_batch("%s.%s" % (db.name, collection), list(cursor), doc.get("batchSize"))
        if name == "aggregate":
            size = (doc.get("cursor") or {}).get("batchSize")
            return self.first_batch("%s.%s" % (db.name, collection), list(coll.aggregate(doc["pipeline"])), size)
        if name == "count":
            return {"ok": 1, "n": coll.count_documents(doc.get("query", {}))}
        if name == "createIndexes":
            before = len(coll.index_information())
            for index in doc["indexes"]:
                coll.create_index(list(index["key"].items()), name=index.get("name"), unique=index.get("unique", False))
            return {"ok": 1, "numIndexesBefore": before, "numIndexesAfter": len(coll.index_information())}
        if name == "listIndexes":
            info = coll.index_information()
            batch = [dict(v, name=k, key=dict(v["key"]), v=2) for k, v in info.items()]
            return {"ok": 1, "cursor": {"id": 0, "ns": "%s.%s" % (db.name, collection), "firstBatch": batch}}
        if name == "listCollections":
            batch = [{"name": n, "type": "collection"} for n in db.list_collection_names()]
            return {"ok": 1, "cursor": {"id": 0, "ns": "%s.$cmd.listCollections" % db.name, "firstBatch": batch}}
        if name == "drop":
            coll.drop()
            return {"ok": 1}
        if name == "dropDatabase":
            self.client.drop_database(db.name)
            return {"ok": 1}
        raise NotImplementedError("command %s" % name)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-unique-checks", action="store_true")
    args = parser.parse_args()
    if args.no_unique_checks:
        mongomock.collection.Collection._ensure_uniques = lambda self, new_obj, **kwargs: None
    backend = Backend()

    def start(port):
        server = MockupDB(port=port, auto_ismaster=False, verbose=False)
        server.autoresponds(backend.handle)
        return server, server.run()

    server, port = start(args.port)
    holder = {"server": server}

    def down(*_):
        if holder["server"] is not None:
            holder["server"].stop()
            holder["server"] = None

    def up(*_):
        if holder["server"] is None:
            holder["server"] = start(port)[0]

    signal.signal(signal.SIGUSR1, down)
    signal.signal(signal.SIGUSR2, up)
    # A parent that spawned us from a worker thread may have left these blocked.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM])
    announce(args.port_file, port)
    # It wakes often: SIGUSR1 / SIGUSR2 are handled promptly while it waits.
    serve_until_stopped()
    down()


if __name__ == "__main__":
    main()
