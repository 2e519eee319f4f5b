#!/usr/bin/env bash
# Runs inventory-poller end to end against the local AWS world: moto (EC2, STS, IAM with
# signature checks on) and a strict IMDSv2 endpoint serving the instance role's credentials.
# Everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${CLOUD_INVENTORY_PYTHON:-.build-venv/bin/python}
BIN=${INVENTORY_POLLER_BIN:-$(swift build --show-bin-path)/inventory-poller}
work=$(mktemp -d)
fifo="$work/keepalive"
mkfifo "$fifo"
cleanup() { exec 3>&- 2>/dev/null || true; [ -n "${world_pid:-}" ] && kill "$world_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# As on an EC2 host: no keys, no profile, no shared files; the role comes from IMDSv2. The
# operator's own AWS settings (every AWS_* variable, ~/.aws) are kept out of the demo, so it
# neither sends their key id to the local world nor runs their credential_process or SSO.
for name in $(compgen -e | grep -E '^(AWS_|CM_)'); do unset "$name"; done
export HOME="$work/home" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
mkdir -p "$HOME"

echo "== starting the local AWS world (moto + IMDSv2)" >&2
"$PYTHON" Tests/Support/world.py --state "$work/world.json" --size demo < "$fifo" &
world_pid=$!
exec 3>"$fifo"   # the world runs until this descriptor closes
for _ in $(seq 1 600); do
  [ -f "$work/world.json" ] && break
  kill -0 "$world_pid" 2>/dev/null || { echo "demo: the world failed to start" >&2; exit 1; }
  sleep 0.2
done
state() { "$PYTHON" -c "import json,sys; print(json.load(open('$work/world.json'))$1)"; }

export AWS_ENDPOINT_URL=$(state "['moto_url']")
export AWS_EC2_METADATA_SERVICE_ENDPOINT=$(state "['imds_url']")

echo "== inventory-poller --region us-east-1,eu-west-1,ap-southeast-2" >&2
"$BIN" --region us-east-1,eu-west-1,ap-southeast-2
echo >&2
echo "== inventory-poller --format json (summary of the document)" >&2
"$BIN" --region us-east-1,eu-west-1,ap-southeast-2 --format json --log-level error \
  | "$PYTHON" -c '
import json, sys, collections
doc = json.load(sys.stdin)
states = collections.Counter(i["State"]["Name"] for i in doc["Instances"])
print("PolledAt", doc["PolledAt"], "Account", doc["Account"])
print("Arn", doc["Arn"])
for r in doc["Regions"]:
    print("  %-16s %-6s %4d instances" % (r["Region"], r["Status"], r["InstanceCount"]))
print("  by state:", dict(states))
'
