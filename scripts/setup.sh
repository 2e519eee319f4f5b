#!/usr/bin/env bash
# Idempotent set-up for building and testing: Debian packages for the C libraries, and a
# Python virtual environment with the pinned test peers (moto, botocore, mockupdb, mongomock).
# Fast when everything is already present: it checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

# gdb: the test hang guard (scripts/test-watch.py) prints the stuck threads with it.
# valgrind: the performance gate counts instructions with its callgrind (`make perf-gate`).
APT_PACKAGES=(libcurl4-openssl-dev libmongoc-dev libbson-dev pkg-config python3 python3-venv openssl faketime gdb valgrind)
VENV=.build-venv
REQUIREMENTS=Tests/Support/requirements.txt

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { "${sudo_cmd[@]}" apt-get update >/dev/null && "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi

stamp="$VENV/.requirements.sha256"
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating $VENV with $(tr '\n' ' ' < "$REQUIREMENTS")" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$want" > "$stamp"
fi
