#!/usr/bin/env python3
"""(Re)builds the fuzzing seed corpus in Tests/Fuzz/corpus/<target>/ from real test data.

Run with the test venv: `.build-venv/bin/python Tests/Fuzz/build-corpus.py`.

- XML: responses recorded from moto (the tests' EC2/STS peer) through botocore, so every
  seed is a body a real client accepted: DescribeInstances pages, DescribeRegions,
  GetCallerIdentity, AssumeRole and error documents; plus a page from bench/replay_server.py,
  the benchmark's richest instance.
- JSON: IMDS replies, botocore's parsed instances as JSON, and escape/number edge cases.
- BSON: documents shaped like what the store writes and reads back, encoded by pymongo's bson.

Seeds are kept small (libFuzzer mutates them; size only slows it). Files are named by content
hash, so rebuilding is idempotent; stale seeds are removed.
"""
import hashlib, json, logging, os, shutil, sys, datetime

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(ROOT))
sys.path.insert(0, os.path.join(REPO, "bench"))


def save(corpus, target, data):
    if isinstance(data, str):
        data = data.encode()
    corpus.setdefault(target, set()).add(bytes(data))


def record_moto(corpus):
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import botocore.session
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = "http://%s:%d" % (host, port)
    session = botocore.session.get_session()
    bodies = []

    def capture(http_response, **_):
        bodies.append(http_response.content)

    def client(service):
        c = session.create_client(service, region_name="us-east-1", endpoint_url=endpoint,
                                  aws_access_key_id="AKIDFUZZ", aws_secret_access_key="fuzz")
        c.meta.events.register("after-call", lambda http_response, **kw: capture(http_response))
        return c

    try:
        ec2, sts = client("ec2"), client("sts")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        bodies.clear()
        for i, itype in enumerate(["t3.micro", "m5.large", "c5.xlarge"]):
            ec2.run_instances(ImageId=image, MinCount=1 + i % 2, MaxCount=1 + i % 2, InstanceType=itype,
                              TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-%d" % i},
                                                                                     {"Key": "env", "Value": "prod & <test>"}]}])
        bodies.clear()
        ec2.stop_instances(InstanceIds=[ec2.describe_instances()["Reservations"][0]["Instances"][0]["InstanceId"]])
        bodies.clear()
        page = ec2.describe_instances(MaxResults=5)
        if "NextToken" in page:
            ec2.describe_instances(MaxResults=5, NextToken=page["NextToken"])
        ec2.describe_instances(Filters=[{"Name": "instance-type", "Values": ["none"]}])
        for b in bodies:
            save(corpus, "xml-instances", b)
            save(corpus, "xml-render", b)
        bodies.clear()
        ec2.describe_regions(AllRegions=True)
        sts.get_caller_identity()
        sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/inventory-poller", RoleSessionName="fuzz")
        regions, identity, assumed = bodies[:3]
        # DescribeRegions is long (every region); a few regions keep the seed small.
        save(corpus, "xml-regions", regions[:1500].rsplit(b"</item>", 1)[0] + b"</item></regionInfo></DescribeRegionsResponse>")
        for b in (identity, assumed):
            save(corpus, "xml-query", b)
        bodies.clear()
        for call in (lambda: ec2.describe_instances(InstanceIds=["i-nonexistent"]),
                     lambda: sts.assume_role(RoleArn="bad", RoleSessionName="x")):
            try:
                call()
            except Exception:
                pass
        for b in bodies:
            save(corpus, "xml-query", b)
        return [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    finally:
        server.stop()


def add_bench(corpus):
    import replay_server
    pages, _ = replay_server.render_pages(2, page_size=1)
    for p in pages:
        save(corpus, "xml-instances", p)
        save(corpus, "xml-render", p)
    save(corpus, "xml-query", replay_server.STS)
    save(corpus, "json", replay_server.CREDS)


def add_json(corpus, instances):
    for inst in instances[:3]:
        save(corpus, "json", json.dumps(inst, default=str, separators=(",", ":")))
    for text in ['{"Code":"Success","LastUpdated":"2026-11-25T12:00:00Z","Type":"AWS-HMAC"}',
                 '{"Code":"AssumeRoleUnauthorizedAccess","Message":"denied"}',
                 '["\\ud83d\\ude00","\\u00e9\\n\\t\\"\\\\\\/",-0,1.5e-7,9223372036854775807,-9223372036854775808,1E+2]',
                 '{"a":[{},[],null,true,false,"x"],"b":{"c":{"d":[1,2,3]}}}',
                 '{"PolledAt":"2026-11-25T12:07:50Z","Account":"123456789012","Instances":[],"Regions":[]}']:
        save(corpus, "json", text)


def add_bson(corpus, instances):
    import bson
    from bson.int64 import Int64
    now = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
    for inst in instances[:2]:
        doc = json.loads(json.dumps(inst, default=str))
        save(corpus, "bson", bson.encode({"_id": inst["InstanceId"], "doc": doc, "seenAt": now, "hash": "ab" * 16}))
    save(corpus, "bson", bson.encode({"_id": bson.ObjectId(b"fuzzfuzzfuzz"), "pollId": "p-1", "startedAt": now,
                                      "complete": True, "counts": {"running": 3, "stopped": Int64(1 << 40)},
                                      "outcomes": [{"region": "us-east-1", "status": "ok", "n": 3}], "ratio": 0.5,
                                      "none": None}))
    save(corpus, "bson", bson.encode({"bin": bson.Binary(b"\x00\x01", 0), "re": bson.Regex("^i-", "i"),
                                      "dec": bson.Decimal128("1.5"), "ts": bson.Timestamp(1, 2), "code": bson.Code("x"),
                                      "min": bson.MinKey(), "max": bson.MaxKey()}))
    save(corpus, "bson", bson.encode({"ok": 1.0, "n": 1, "nested": {"a": {"b": {"c": [[], {}]}}}}))


def main():
    corpus = {}
    instances = record_moto(corpus)
    add_bench(corpus)
    add_json(corpus, instances)
    add_bson(corpus, instances)
    base = os.path.join(ROOT, "corpus")
    total = 0
    for target, seeds in sorted(corpus.items()):
        directory = os.path.join(base, target)
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        for seed in sorted(seeds):
            with open(os.path.join(directory, hashlib.sha1(seed).hexdigest()[:16]), "wb") as f:
                f.write(seed)
            total += len(seed)
        print("%-14s %3d seeds" % (target, len(seeds)))
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
