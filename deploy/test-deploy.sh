#!/usr/bin/env bash
# `make test-deploy`: deploy into a throwaway Debian root over real SSH and check every step.
#
# The root is made once with debootstrap (minbase + openssh-server) and cached as a tarball
# under .build/; each run unpacks a fresh copy, starts sshd inside it on a loopback port with
# generated keys, starts the local AWS world and a test MongoDB on the host (the root shares
# the host's network), then runs `make deploy` / `make undeploy` against it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_TAR=.build/deploy-root-bookworm.tar
WORK=.build/deploy-test
PYTHON=${CLOUD_INVENTORY_PYTHON:-.build-venv/bin/python}
fail() { echo "test-deploy: FAIL: $*" >&2; exit 1; }
pass() { echo "test-deploy: ok: $*"; }

for p in debootstrap openssh-client bsdutils; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$p" >/dev/null
done

if [ ! -f "$ROOT_TAR" ]; then
  echo "test-deploy: building the Debian root with debootstrap (cached in $ROOT_TAR)"
  rm -rf .build/deploy-root.tmp
  debootstrap --variant=minbase --include=openssh-server,sudo bookworm .build/deploy-root.tmp http://deb.debian.org/debian >/dev/null
  tar -C .build/deploy-root.tmp -cf "$ROOT_TAR.tmp" .
  mv "$ROOT_TAR.tmp" "$ROOT_TAR"
  rm -rf .build/deploy-root.tmp
fi

# 0. `make deploy` checks its inputs before it builds anything: one line, exit non-zero, and the
# release binary and the man page untouched (no build ran).
mkdir -p "$WORK.inputs"
stamp() { stat -c %Y .build/release/inventory-poller .build/share/man/man1/inventory-poller.1 2>/dev/null || true; }
before=$(stamp)
check_input() {
  local expect=$1; shift
  if env -u DB_URI "$@" make -s deploy < /dev/null > "$WORK.inputs/out" 2>&1; then cat "$WORK.inputs/out"; fail "deploy accepted: $*"; fi
  grep -q "^provision: .*$expect" "$WORK.inputs/out" || { cat "$WORK.inputs/out"; fail "no clear line ($expect) for: $*"; }
  [ "$(grep -c '^provision: ' "$WORK.inputs/out")" = 1 ] || { cat "$WORK.inputs/out"; fail "more than one line for: $*"; }
  ! grep -qE "building|swift build|Compiling" "$WORK.inputs/out" || fail "built before checking: $*"
}
check_input "no target"
check_input "is not \[user@\]host" TARGET="-oProxyCommand=x"
check_input "DB_NAME is required" TARGET=root@127.0.0.1
check_input "not a database name" TARGET=root@127.0.0.1 DB_NAME='a.b'
check_input "set DB_URI" TARGET=root@127.0.0.1 DB_NAME=inventory
check_input "does not start with mongodb" TARGET=root@127.0.0.1 DB_NAME=inventory DB_URI=http://x
check_input "no simple period" TARGET="root@a root@b" DB_NAME=inventory DB_URI=mongodb://x SCHEDULE='*/7 * * * *'
check_input "ONCE_PER" TARGET=root@a DB_NAME=inventory DB_URI=mongodb://x ONCE_PER=soon
# On a terminal (script(1) gives it one), a missing DB_URI is asked for, then checked.
{ sleep 1; printf 'http://typed\n'; } | env -u DB_URI TARGET=root@127.0.0.1 DB_NAME=inventory script -qec "make -s deploy" /dev/null > "$WORK.inputs/tty" 2>&1 || true
grep -q "DB_URI (input hidden): " "$WORK.inputs/tty" && grep -q "DB_URI does not start with mongodb" "$WORK.inputs/tty" \
  || { cat "$WORK.inputs/tty"; fail "no prompt for DB_URI on a terminal"; }
[ "$(stamp)" = "$before" ] || fail "a failed input check rebuilt something"
rm -rf "$WORK.inputs"
pass "make deploy checks TARGET, DB_NAME, DB_URI, SCHEDULE and ONCE_PER before it builds (one line, non-zero); asks for DB_URI on a terminal"

root=$(realpath -m "$WORK/root")
cleanup() {
  set +e
  [ -n "${sshd_pid:-}" ] && kill "$sshd_pid" 2>/dev/null
  exec 3>&- 4>&- 2>/dev/null
  umount -R -l "$root/dev" 2>/dev/null; umount -l "$root/proc" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup EXIT
umount -R -l "$root/dev" 2>/dev/null || true; umount -l "$root/proc" 2>/dev/null || true
rm -rf "$WORK"
mkdir -p "$root"
tar -C "$root" -xf "$ROOT_TAR"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"   # with /dev/shm, which libmongoc's counters use
cp /etc/resolv.conf "$root/etc/resolv.conf"

# SSH: a client key for root, host keys, sshd on a free loopback port.
ssh-keygen -q -t ed25519 -N "" -f "$WORK/id_ed25519"
mkdir -p "$root/root/.ssh" "$root/run/sshd"
cp "$WORK/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
chmod 700 "$root/root/.ssh"; chmod 600 "$root/root/.ssh/authorized_keys"
chroot "$root" ssh-keygen -A >/dev/null
port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
chroot "$root" /usr/sbin/sshd -D -p "$port" -o ListenAddress=127.0.0.1 -o PermitRootLogin=prohibit-password -o UsePAM=no &
sshd_pid=$!
export SSH_KNOWN_HOSTS="$WORK/known_hosts"
for _ in $(seq 1 100); do ssh -p "$port" -i "$WORK/id_ed25519" -o BatchMode=yes -o UserKnownHostsFile="$SSH_KNOWN_HOSTS" -o StrictHostKeyChecking=accept-new root@127.0.0.1 true 2>/dev/null && break; sleep 0.2; done
pass "sshd in the Debian root on 127.0.0.1:$port"

# The local AWS world and a MongoDB, both on the host's loopback.
mkfifo "$WORK/world.in" "$WORK/mongo.in"
"$PYTHON" Tests/Support/world.py --state "$WORK/world.json" --size demo < "$WORK/world.in" &
exec 3>"$WORK/world.in"
"$PYTHON" Tests/Support/mongo_server.py --port-file "$WORK/mongo.port" < "$WORK/mongo.in" &
mongo_pid=$!  # SIGUSR1 takes it down, SIGUSR2 brings it back
exec 4>"$WORK/mongo.in"
for _ in $(seq 1 600); do [ -f "$WORK/world.json" ] && [ -f "$WORK/mongo.port" ] && break; sleep 0.2; done
state() { "$PYTHON" -c "import json; print(json.load(open('$WORK/world.json'))$1)"; }
export DB_URI="mongodb://127.0.0.1:$(cat "$WORK/mongo.port")/?appname=deploy-test"
deploy_args=(TARGET=root@127.0.0.1 SSH_PORT="$port" SSH_KEY="$WORK/id_ed25519" DB_NAME=inventory
  EXTRA_ENV="AWS_ENDPOINT_URL=$(state "['moto_url']") AWS_EC2_METADATA_SERVICE_ENDPOINT=$(state "['imds_url']") AWS_REGION=eu-west-1")

in_root() { chroot "$root" "$@"; }

# 1. First deploy.
make -s deploy "${deploy_args[@]}" > "$WORK/deploy1.log" 2>&1 || { cat "$WORK/deploy1.log"; fail "first deploy"; }
grep -q "changed: binary" "$WORK/deploy1.log" || fail "first deploy did not install the binary"
grep -q "check passed" "$WORK/deploy1.log" || { cat "$WORK/deploy1.log"; fail "--check after deploy"; }
! grep -qF "$DB_URI" "$WORK/deploy1.log" || fail "the DB URI appeared in deploy output"
pass "first deploy, --check passed, URI not in output"

[ "$(in_root stat -c '%a %U:%G' /usr/local/bin/inventory-poller)" = "755 root:root" ] || fail "binary mode"
in_root getent passwd inventory-poller | grep -q ':/nonexistent:/usr/sbin/nologin$' || fail "service user"
[ "$(in_root stat -c '%a %U:%G' /etc/inventory-poller/env)" = "640 root:inventory-poller" ] || fail "env file mode"
grep -qF "CM_DB_URI='$DB_URI'" "$root/etc/inventory-poller/env" || fail "env file URI"
grep -q "^CM_DB_NAME='inventory'" "$root/etc/inventory-poller/env" || fail "env file DB name"
for d in /var/lib/inventory-poller/spool /var/log/inventory-poller; do
  [ "$(in_root stat -c '%a %U' "$d")" = "750 inventory-poller" ] || fail "$d mode"
done
minute=$(( $(printf '%s' "$(in_root hostname)" | cksum | cut -d' ' -f1) % 60 ))
grep -q "^$minute \* \* \* \* inventory-poller " "$root/etc/cron.d/inventory-poller" || { cat "$root/etc/cron.d/inventory-poller"; fail "cron line"; }
grep -q -- "--lock-file /run/lock/inventory-poller.lock" "$root/etc/cron.d/inventory-poller" || fail "cron uses the lock"
grep -q -- "--metrics-file /var/lib/inventory-poller/metrics.prom" "$root/etc/cron.d/inventory-poller" || fail "cron writes metrics"
grep -q -- " > /dev/null 2>> /var/log/inventory-poller/poller.log$" "$root/etc/cron.d/inventory-poller" || fail "cron logs only stderr"
! grep -q -- "--once-per" "$root/etc/cron.d/inventory-poller" || fail "one target, yet --once-per"
grep -q "create 0640 inventory-poller inventory-poller" "$root/etc/logrotate.d/inventory-poller" || fail "logrotate rule"
grep -q "^ *maxsize 50M$" "$root/etc/logrotate.d/inventory-poller" || fail "logrotate rotates by size too"
pass "binary, user, modes, env file, cron at minute $minute, logrotate"

completion_files=(/usr/share/bash-completion/completions/inventory-poller /usr/local/share/zsh/site-functions/_inventory-poller
  /usr/share/fish/vendor_completions.d/inventory-poller.fish)
man_file=/usr/local/share/man/man1/inventory-poller.1
for f in "${completion_files[@]}" "$man_file"; do
  [ "$(in_root stat -c '%a %U:%G' "$f" 2>/dev/null)" = "644 root:root" ] || fail "$f missing or wrong mode"
done
in_root bash -c 'source /usr/share/bash-completion/completions/inventory-poller && complete -p inventory-poller' | grep -q -- '-F _inventory-poller inventory-poller$' \
  || fail "bash completion does not register"
# The poll's options are the root's, or those of its default subcommand `poll` in a command tree.
levels=$(in_root bash -c 'source /usr/share/bash-completion/completions/inventory-poller
  COMP_WORDS=(inventory-poller --log-level ""); declare -F _inventory-poller_poll >/dev/null && COMP_WORDS=(inventory-poller poll --log-level "")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
  _inventory-poller inventory-poller "" --log-level; echo "${COMPREPLY[*]}"')
[ "$levels" = "trace debug info notice warning error critical" ] || fail "bash completion of --log-level: '$levels'"
grep -q -- "-l 'log-level'.*'trace debug info notice warning error critical'" "$root/usr/share/fish/vendor_completions.d/inventory-poller.fish" || fail "fish completion"
grep -q '^#compdef inventory-poller' "$root/usr/local/share/zsh/site-functions/_inventory-poller" || fail "zsh completion"
grep -q '^\.Dt INVENTORY-POLLER 1$' "$root$man_file" || fail "man page"
[ "$(MANPATH="$root/usr/local/share/man" man -w inventory-poller)" = "$root$man_file" ] || fail "man -w does not find the page"
MANPATH="$root/usr/local/share/man" MANWIDTH=80 man inventory-poller 2>&1 | grep -q -- '--filter' || fail "man page lacks --filter"
pass "completions (bash registers and completes --log-level, zsh, fish) and the man page (man -w finds it)"

# 2. The cron command, run once as cron would run it.
cron_command=$(grep '^[0-9*]' "$root/etc/cron.d/inventory-poller" | cut -d' ' -f7-)
in_root runuser -u inventory-poller -- /bin/sh -c "PATH=/usr/local/bin:/usr/bin:/bin; $cron_command" || fail "cron command exit $?"
grep -q '"event":"summary","exitCode":0' "$root/var/log/inventory-poller/poller.log" || { cat "$root/var/log/inventory-poller/poller.log"; fail "poll log"; }
! grep -qP '\ti-[0-9a-f]+\t' "$root/var/log/inventory-poller/poller.log" || fail "instances in the log (stdout goes to /dev/null)"
polls=$("$PYTHON" -c "import pymongo; print(pymongo.MongoClient('$DB_URI').inventory.polls.count_documents({}))")
[ "$polls" = 1 ] || fail "poll stored ($polls)"
metrics=$root/var/lib/inventory-poller/metrics.prom
[ "$(in_root stat -c %U "/var/lib/inventory-poller/metrics.prom")" = inventory-poller ] || fail "metrics file owner"
grep -q '^inventory_poller_last_run_exit_code 0$' "$metrics" && grep -q '^inventory_poller_spool_waiting 0$' "$metrics" \
  && grep -q '^inventory_poller_spool_unreadable 0$' "$metrics" || { cat "$metrics"; fail "metrics content"; }
pass "the cron command polled the local AWS world, stored the poll, wrote metrics; the log holds stderr only"

# 2b. The history on the host, as an operator asks for it: root, no CM_DB_URI exported. The
# binary reads /etc/inventory-poller/env itself (KEY=VALUE, no shell).
in_root env -i PATH=/usr/local/bin:/usr/bin:/bin /usr/local/bin/inventory-poller polls > "$WORK/polls.out" 2> "$WORK/polls.err" \
  || { cat "$WORK/polls.err"; fail "polls from the env file (exit $?)"; }
[ "$(grep -c . "$WORK/polls.out")" -ge 1 ] || { cat "$WORK/polls.out"; fail "polls printed no poll"; }
in_root env -i PATH=/usr/local/bin:/usr/bin:/bin /usr/local/bin/inventory-poller changes --since 24h > "$WORK/changes.out" 2> "$WORK/changes.err" \
  || { cat "$WORK/changes.err"; fail "changes --since 24h from the env file"; }
! grep -q "CM_DB_URI" "$WORK/changes.err" "$WORK/polls.err" || fail "asked for CM_DB_URI although the env file has it"
! grep -qF "$DB_URI" "$WORK/changes.out" "$WORK/changes.err" "$WORK/polls.err" || fail "the URI was printed"
in_root chmod o+w /etc/inventory-poller/env
status=0; in_root env -i PATH=/usr/local/bin:/usr/bin:/bin /usr/local/bin/inventory-poller polls > /dev/null 2> "$WORK/unsafe.err" || status=$?
in_root chmod o-w /etc/inventory-poller/env
[ "$status" = 2 ] && grep -q "/etc/inventory-poller/env: writable by others" "$WORK/unsafe.err" || { cat "$WORK/unsafe.err"; fail "an env file others may write was used (exit $status)"; }
pass "sudo inventory-poller changes --since 24h reads /etc/inventory-poller/env; a file others may write is refused"

# 2c. Root polls by hand while the database is down: the spool file it leaves belongs to the
# service user, and the next cron run stores it.
kill -USR1 "$mongo_pid"
status=0
in_root /bin/sh -c 'set -a; . /etc/inventory-poller/env; set +a; exec /usr/local/bin/inventory-poller --lock-file /run/lock/inventory-poller.lock' > /dev/null 2> "$WORK/root-run.err" || status=$?
kill -USR2 "$mongo_pid"
[ "$status" = 5 ] || { cat "$WORK/root-run.err"; fail "root's run with the database down (exit $status)"; }
owners=$(in_root find /var/lib/inventory-poller/spool -type f -printf '%u:%g %m\n' | sort -u)
[ "$owners" = "inventory-poller:inventory-poller 600" ] || fail "root's spool file is not the service's: $owners"
for _ in $(seq 1 50); do "$PYTHON" -c "import pymongo; pymongo.MongoClient('$DB_URI', serverSelectionTimeoutMS=200).admin.command('ping')" 2>/dev/null && break; sleep 0.2; done
in_root runuser -u inventory-poller -- /bin/sh -c "PATH=/usr/local/bin:/usr/bin:/bin; $cron_command" || fail "cron run after root's spool (exit $?)"
[ -z "$(in_root find /var/lib/inventory-poller/spool -type f)" ] || fail "the service did not replay root's spool file"
polls=$("$PYTHON" -c "import pymongo; print(pymongo.MongoClient('$DB_URI').inventory.polls.count_documents({}))")
[ "$polls" = 3 ] || fail "root's spooled poll not stored ($polls polls)"
pass "root's run spooled a file the service owns; the next cron run replayed it"

# 3. A second deploy changes nothing.
make -s deploy "${deploy_args[@]}" > "$WORK/deploy2.log" 2>&1 || { cat "$WORK/deploy2.log"; fail "second deploy"; }
grep -q "no changes" "$WORK/deploy2.log" && ! grep -q "changed:" "$WORK/deploy2.log" || { cat "$WORK/deploy2.log"; fail "second deploy changed something"; }
pass "second deploy: no changes"

# 4. An upgrade replaces the binary atomically (a new inode, renamed over the old one).
inode_before=$(in_root stat -c %i /usr/local/bin/inventory-poller)
cp .build/release/inventory-poller "$WORK/upgraded"; printf '\0' >> "$WORK/upgraded"
make -s deploy "${deploy_args[@]}" BINARY="$WORK/upgraded" > "$WORK/deploy3.log" 2>&1 || { cat "$WORK/deploy3.log"; fail "upgrade"; }
grep -q "changed: binary" "$WORK/deploy3.log" || fail "upgrade did not replace the binary"
[ "$(grep -c changed: "$WORK/deploy3.log")" = 1 ] || fail "upgrade changed more than the binary"
[ "$(in_root stat -c %i /usr/local/bin/inventory-poller)" != "$inode_before" ] || fail "binary rewritten in place"
cmp -s "$WORK/upgraded" "$root/usr/local/bin/inventory-poller" || fail "upgraded binary content"
! ls "$root/usr/local/bin/" | grep -q '^\.inventory-poller' || fail "leftover temporary binary"
pass "upgrade: binary replaced by rename"

# 4b. A fleet with a dead host: the good host is deployed, the dead one is reported, every
# target is named in the summary, and the exit is non-zero. Several targets share the slices.
status=0
make -s deploy "${deploy_args[@]}" TARGET="root@127.0.0.1 root@127.0.0.1:1" > "$WORK/fleet.log" 2>&1 || status=$?
[ "$status" != 0 ] || { cat "$WORK/fleet.log"; fail "a dead host, yet exit 0"; }
grep -q "^root@127.0.0.1: ok$" "$WORK/fleet.log" || { cat "$WORK/fleet.log"; fail "the good host is not ok in the summary"; }
grep -q "^root@127.0.0.1:1: failed: unreachable: .*refused" "$WORK/fleet.log" || { cat "$WORK/fleet.log"; fail "the dead host's line"; }
grep -q -- " --once-per 1h " "$root/etc/cron.d/inventory-poller" || { cat "$root/etc/cron.d/inventory-poller"; fail "two targets, hourly, without --once-per 1h"; }
# Run the line too once the binary has the flag (another branch adds it); before, text only.
if in_root /usr/local/bin/inventory-poller poll --help 2>/dev/null | grep -q -- "--once-per"; then
  once_command=$(grep '^[0-9*]' "$root/etc/cron.d/inventory-poller" | cut -d' ' -f7-)
  in_root runuser -u inventory-poller -- /bin/sh -c "PATH=/usr/local/bin:/usr/bin:/bin; $once_command" || fail "the --once-per cron line (exit $?)"
  tail -n 1 "$root/var/log/inventory-poller/poller.log" | grep -q '"event":"summary","exitCode":0' || fail "the --once-per run's summary"
  pass "the fleet's cron line (--once-per 1h) runs"
else
  echo "test-deploy: note: this binary has no --once-per; the fleet's cron line was checked as text only"
fi
make -s deploy "${deploy_args[@]}" TARGET="root@127.0.0.1 root@127.0.0.1:1" ONCE_PER=none KEEP_OUTPUT=1 > "$WORK/fleet2.log" 2>&1 || true
! grep -q -- "--once-per" "$root/etc/cron.d/inventory-poller" || fail "ONCE_PER=none kept --once-per"
grep -q -- " >> /var/log/inventory-poller/poller.log 2>&1$" "$root/etc/cron.d/inventory-poller" || fail "KEEP_OUTPUT=1 does not log stdout"
pass "a dead host: the good one deployed, both in the summary, exit $status; --once-per 1h for two hosts, ONCE_PER=none, KEEP_OUTPUT=1"
# (--once-per is checked as text: run the cron line once the binary has the flag.)

# 5. Undeploy removes everything but the spool and the log.
make -s undeploy TARGET=root@127.0.0.1 SSH_PORT="$port" SSH_KEY="$WORK/id_ed25519" > "$WORK/undeploy.log" 2>&1 || fail "undeploy"
for f in /usr/local/bin/inventory-poller /etc/cron.d/inventory-poller /etc/logrotate.d/inventory-poller /etc/inventory-poller "${completion_files[@]}" "$man_file"; do
  [ ! -e "$root$f" ] || fail "$f still there"
done
! in_root getent passwd inventory-poller >/dev/null || fail "user still there"
[ -d "$root/var/lib/inventory-poller/spool" ] && [ -f "$root/var/log/inventory-poller/poller.log" ] || fail "spool or log removed"
make -s undeploy TARGET=root@127.0.0.1 SSH_PORT="$port" SSH_KEY="$WORK/id_ed25519" PURGE=1 > /dev/null 2>&1 || fail "purge"
[ ! -e "$root/var/lib/inventory-poller" ] || fail "purge kept the spool"
pass "undeploy (spool and log kept), then purge"
echo "test-deploy: all passed"
