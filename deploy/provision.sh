#!/usr/bin/env bash
# Provision inventory-poller on Debian/Ubuntu hosts over SSH.
#
#   deploy/provision.sh deploy   --target [user@]host[:port] [--target ...] --db-name NAME [options]
#   deploy/provision.sh undeploy --target [user@]host[:port] [--target ...] [--purge]
#   deploy/provision.sh deploy|undeploy --from-make    (what `make deploy` runs: settings from
#       the environment: TARGET DB_NAME BINARY SSH_PORT SSH_KEY SCHEDULE FLAGS EXTRA_ENV
#       ONCE_PER METRICS_FILE KEEP_OUTPUT PURGE; no value passes through a shell)
#
# Options: --binary PATH (default .build/release/inventory-poller), --ssh-port N, --ssh-key FILE,
#          --schedule "M H * * *" (default: hourly at a minute derived from the host name),
#          --flags "..." (extra inventory-poller flags), --env "KEY=VALUE" (repeatable; extra
#          environment for the service, e.g. AWS_REGION), --man FILE (the man page `make man`
#          generates; installed as /usr/local/share/man/man1/inventory-poller.1),
#          --once-per DURATION|none (default with several targets: the schedule's period),
#          --metrics-file PATH (default /var/lib/inventory-poller/metrics.prom), --keep-output
#          (log the poll's stdout too), --build TARGET (make targets built once the inputs are
#          checked; repeatable), --make CMD (the make to build with).
# Shell completions for bash, zsh and fish are generated on the host by the installed binary.
#
# The database URI is read from the DB_URI environment variable, never from arguments; when it
# is unset and stdin is a terminal, it is asked for without echo. It travels inside the script
# fed to the remote shell on the SSH session's stdin, so it is in no process's argv, on no disk
# but the env file (0640 root:inventory-poller), and in no output.
#
# Every target is tried, whatever happened to the ones before; the run ends with one line per
# target (`host: ok` or `host: failed: reason`) and exits 1 if any failed. Bad input is one
# line and exit 2 before anything is built or contacted.
set -euo pipefail

usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
die() { echo "provision: $*" >&2; exit 2; }

action=${1:-}; shift || true
[ "$action" = deploy ] || [ "$action" = undeploy ] || usage
targets=(); man_page=""; binary=.build/release/inventory-poller; ssh_port=22; ssh_key=""; schedule=""; flags=""; db_name=""; purge=0; extra_env=()
once_per=""; metrics_file=/var/lib/inventory-poller/metrics.prom; keep_output=0; builds=(); make_cmd=make
from_make() {
  local t e
  set -f  # TARGET and EXTRA_ENV are split on white space, never globbed
  for t in ${TARGET:-}; do targets+=("$t"); done
  for e in ${EXTRA_ENV:-}; do extra_env+=("$e"); done
  set +f
  db_name=${DB_NAME:-}; binary=${BINARY:-$binary}; ssh_port=${SSH_PORT:-$ssh_port}; ssh_key=${SSH_KEY:-}
  schedule=${SCHEDULE:-}; flags=${FLAGS:-}; once_per=${ONCE_PER:-}; metrics_file=${METRICS_FILE:-$metrics_file}
  [ "${KEEP_OUTPUT:-0}" = 1 ] && keep_output=1
  [ "${PURGE:-0}" = 1 ] && purge=1
  return 0
}
while [ $# -gt 0 ]; do
  case "$1" in
    --from-make) from_make; shift ;;
    --target) targets+=("$2"); shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --man) man_page=$2; shift 2 ;;
    --ssh-port) ssh_port=$2; shift 2 ;;
    --ssh-key) ssh_key=$2; shift 2 ;;
    --schedule) schedule=$2; shift 2 ;;
    --flags) flags=$2; shift 2 ;;
    --env) extra_env+=("$2"); shift 2 ;;
    --db-name) db_name=$2; shift 2 ;;
    --once-per) once_per=$2; shift 2 ;;
    --metrics-file) metrics_file=$2; shift 2 ;;
    --keep-output) keep_output=1; shift ;;
    --build) builds+=("$2"); shift 2 ;;
    --make) make_cmd=$2; shift 2 ;;
    --purge) purge=1; shift ;;
    *) die "unknown argument $1" ;;
  esac
done

# --- Input checks: all of them before anything is built or any host is contacted. ---

# [user@]host[:port]: a user name as useradd takes it; a host name, IPv4 address or [IPv6]
# address; never anything ssh could read as an option.
target_re='^([a-z_][a-z0-9_.-]{0,31}@)?([A-Za-z0-9]([A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$'
[ ${#targets[@]} -gt 0 ] || die "no target: TARGET='user@host ...' (--target user@host)"
for t in "${targets[@]}"; do
  [[ $t =~ $target_re ]] || die "target '$(printf '%q' "$t")' is not [user@]host[:port]"
done
[[ $ssh_port =~ ^[0-9]{1,5}$ ]] && [ "$ssh_port" -ge 1 ] && [ "$ssh_port" -le 65535 ] || die "SSH_PORT '$ssh_port' is not a port"
[ -z "$ssh_key" ] || [ -r "$ssh_key" ] || die "SSH_KEY $ssh_key cannot be read"
[ -z "$flags" ] || [[ $flags != *$'\n'* ]] || die "FLAGS holds a line break"

if [ "$action" = deploy ]; then
  # The rule Database.swift applies to CM_DB_NAME, and nothing a shell or cron would read.
  [ -n "$db_name" ] || die "DB_NAME is required (the MongoDB database name)"
  [[ ${#db_name} -lt 64 && $db_name =~ ^[A-Za-z0-9_-]+$ ]] || die "DB_NAME '$(printf '%q' "$db_name")' is not a database name (letters, digits, _ and -, under 64)"
  for kv in "${extra_env[@]}"; do
    [[ ${kv%%=*} =~ ^[A-Za-z_][A-Za-z0-9_]*$ && $kv == *=* && $kv != *$'\n'* ]] || die "EXTRA_ENV entry '$(printf '%q' "${kv%%=*}")' is not KEY=VALUE"
  done
  [ -z "$schedule" ] || [[ $schedule =~ ^[0-9A-Za-z*/,-]+( [0-9A-Za-z*/,-]+){4}$ ]] || die "SCHEDULE '$schedule' is not five cron fields"
  [[ $metrics_file =~ ^/[A-Za-z0-9._/-]+$ ]] || die "METRICS_FILE '$metrics_file' is not an absolute path of plain characters"
  # What the binary's --once-per takes: a count and s, m, h or d, from 10 seconds to 7 days.
  if [ -n "$once_per" ] && [ "$once_per" != none ]; then
    [[ $once_per =~ ^([1-9][0-9]{0,6})([smhd])$ ]] || die "ONCE_PER '$once_per' is not a duration (30m, 1h, 24h) or none"
    case ${BASH_REMATCH[2]} in s) scale=1 ;; m) scale=60 ;; h) scale=3600 ;; d) scale=86400 ;; esac
    seconds=$((BASH_REMATCH[1] * scale))
    [ "$seconds" -ge 10 ] && [ "$seconds" -le 604800 ] || die "ONCE_PER '$once_per' is outside 10s to 7d"
  fi
  if [ -z "${DB_URI:-}" ] && [ -t 0 ]; then
    printf 'DB_URI (input hidden): ' >&2
    IFS= read -rs DB_URI || true
    printf '\n' >&2
  fi
  [ -n "${DB_URI:-}" ] || die "set DB_URI in the environment (it is never passed as an argument), or run on a terminal to be asked for it"
  [[ $DB_URI == mongodb://* || $DB_URI == mongodb+srv://* ]] || die "DB_URI does not start with mongodb:// or mongodb+srv://"
  [[ $DB_URI != *$'\n'* ]] || die "DB_URI holds a line break"
  export DB_URI
fi

# The period of a simple cron schedule, as --once-per takes it: `M * * * *` is 1h, `*/N * * * *`
# (N dividing 60) is Nm, `M H * * *` is 24h. Anything else has no period here (status 1).
schedule_period() {
  local m h dom mon dow extra
  read -r m h dom mon dow extra <<<"$1"
  [ -z "$extra" ] && [ "$dom $mon $dow" = "* * *" ] || return 1
  if [[ $m =~ ^[0-9]{1,2}$ && $h == "*" ]]; then echo 1h
  elif [[ $m =~ ^\*/([0-9]{1,2})$ && $h == "*" ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] && [ $((60 % 10#${BASH_REMATCH[1]})) = 0 ]; then
    echo "$((10#${BASH_REMATCH[1]}))m"
  elif [[ $m =~ ^[0-9]{1,2}$ && $h =~ ^[0-9]{1,2}$ ]]; then echo 24h
  else return 1; fi
}

# --once-per: several hosts share each (account, region) slice per period through the
# database, so a fleet polls every slice once. One host needs none unless asked.
once_flag=""
if [ "$action" = deploy ]; then
  if [ "$once_per" = none ]; then once_flag=""
  elif [ -n "$once_per" ]; then once_flag=" --once-per $once_per"
  elif [ ${#targets[@]} -gt 1 ]; then
    period=$(schedule_period "${schedule:-0 * * * *}") \
      || die "SCHEDULE '$schedule' has no simple period: with several targets set ONCE_PER= (e.g. 1h) or ONCE_PER=none"
    once_flag=" --once-per $period"
  fi
fi

# Options for every ssh and scp; the port is each target's own (`host:port`, else SSH_PORT).
ssh_common=(-o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=accept-new)
if [ -n "$ssh_key" ]; then ssh_common+=(-i "$ssh_key"); fi
if [ -n "${SSH_KNOWN_HOSTS:-}" ]; then ssh_common+=(-o UserKnownHostsFile="$SSH_KNOWN_HOSTS"); fi

# Splits a checked target into login (user@host, brackets off an IPv6 address), scp_login
# (brackets kept, as scp needs them) and port.
split_target() {
  local t=$1 user="" hostport
  if [[ $t == *@* ]]; then user="${t%%@*}@"; hostport=${t#*@}; else hostport=$t; fi
  port=$ssh_port
  if [[ $hostport =~ ^(.*[^:]):([0-9]{1,5})$ && ( ${BASH_REMATCH[1]} != *:* || ${BASH_REMATCH[1]} == \[*\] ) ]]; then
    hostport=${BASH_REMATCH[1]}; port=${BASH_REMATCH[2]}
  fi
  scp_login="$user$hostport"
  hostport=${hostport#[}; login="$user${hostport%]}"
}

# Single-quote a value for sh: 'it'\''s'.
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

remote_deploy_script() {
  local upload=$1 minute=$2 man_upload=$3
  local env_content
  env_content="# Managed by inventory-poller deploy/provision.sh. Mode 0640 root:inventory-poller.
CM_DB_URI=$(shq "$DB_URI")
CM_DB_NAME=$(shq "$db_name")
CM_SPOOL_DIR=/var/lib/inventory-poller/spool"
  local kv
  for kv in "${extra_env[@]}"; do env_content+=$'\n'"${kv%%=*}=$(shq "${kv#*=}")"; done
  local when=${schedule:-"$minute * * * *"}
  # The poll is in the database: the log keeps stderr (warnings, failures, the summary line).
  local redirect="> /dev/null 2>> /var/log/inventory-poller/poller.log"
  local log_note="The log keeps stderr only; the poll is in the database."
  if [ "$keep_output" = 1 ]; then
    redirect=">> /var/log/inventory-poller/poller.log 2>&1"
    log_note="The log keeps the poll's output and stderr (--keep-output)."
  fi
  cat <<REMOTE
set -euo pipefail
umask 022
changed=()
note() { changed+=("\$1"); echo "  changed: \$1"; }

# Runtime packages.
need=()
for p in libcurl4 libmongoc-1.0-0 libbson-1.0-0 ca-certificates cron logrotate; do
  dpkg-query -W -f='\${Status}' "\$p" 2>/dev/null | grep -q "install ok installed" || need+=("\$p")
done
if [ \${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "\${need[@]}" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "\${need[@]}" >/dev/null; }
  note "packages \${need[*]}"
fi

# The service user: no login shell, no home.
if ! id -u inventory-poller >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin inventory-poller
  note "user inventory-poller"
fi

# The binary, replaced atomically: written beside, then renamed over, so cron never runs half a file.
if ! cmp -s $(shq "$upload") /usr/local/bin/inventory-poller; then
  install -m 0755 -o root -g root $(shq "$upload") /usr/local/bin/.inventory-poller.new
  mv -f /usr/local/bin/.inventory-poller.new /usr/local/bin/inventory-poller
  note "binary /usr/local/bin/inventory-poller (\$(/usr/local/bin/inventory-poller --version))"
fi
rm -f $(shq "$upload")

# put FILE MODE OWNER:GROUP: install stdin as FILE when it differs, atomically.
put() {
  local file=\$1 mode=\$2 owner=\$3 tmp
  tmp=\$(mktemp "\$(dirname "\$file")/.\$(basename "\$file").XXXXXX")
  cat > "\$tmp"
  if cmp -s "\$tmp" "\$file" && [ "\$(stat -c '%a %U:%G' "\$file")" = "\$mode \$owner" ]; then
    rm -f "\$tmp"
  else
    chmod "\$mode" "\$tmp"; chown "\$owner" "\$tmp"; mv -f "\$tmp" "\$file"
    note "\$file"
  fi
}

install -d -m 0750 -o root -g inventory-poller /etc/inventory-poller
put /etc/inventory-poller/env 640 root:inventory-poller <<'ENVFILE'
$env_content
ENVFILE

for dir in /var/lib/inventory-poller /var/lib/inventory-poller/spool /var/log/inventory-poller; do
  if [ "\$(stat -c '%a %U:%G' "\$dir" 2>/dev/null)" != "750 inventory-poller:inventory-poller" ]; then
    install -d -m 0750 -o inventory-poller -g inventory-poller "\$dir"
    note "\$dir"
  fi
done

put /etc/cron.d/inventory-poller 644 root:root <<'CRON'
# Managed by inventory-poller deploy/provision.sh: poll as the service user. $log_note
SHELL=/bin/sh
PATH=/usr/local/bin:/usr/bin:/bin
$when inventory-poller set -a; . /etc/inventory-poller/env; set +a; exec /usr/local/bin/inventory-poller --lock-file /run/lock/inventory-poller.lock --metrics-file $metrics_file$once_flag${flags:+ $flags} $redirect
CRON

put /etc/logrotate.d/inventory-poller 644 root:root <<'ROTATE'
/var/log/inventory-poller/*.log {
    weekly
    maxsize 50M
    rotate 12
    compress
    delaycompress
    missingok
    notifempty
    create 0640 inventory-poller inventory-poller
}
ROTATE

# Shell completions, from the installed binary's own definitions, and the man page.
completions() {
  install -d -m 0755 "\$(dirname "\$2")"
  /usr/local/bin/inventory-poller --generate-completion-script "\$1" | put "\$2" 644 root:root
}
completions bash /usr/share/bash-completion/completions/inventory-poller
completions zsh /usr/local/share/zsh/site-functions/_inventory-poller
completions fish /usr/share/fish/vendor_completions.d/inventory-poller.fish
if [ -n $(shq "$man_upload") ]; then
  install -d -m 0755 /usr/local/share/man/man1
  put /usr/local/share/man/man1/inventory-poller.1 644 root:root < $(shq "$man_upload")
  rm -f $(shq "$man_upload")
fi

if [ \${#changed[@]} -eq 0 ]; then echo "  no changes"; fi
echo "  preflight (inventory-poller --check as the service user):"
if runuser -u inventory-poller -- /bin/sh -c 'set -a; . /etc/inventory-poller/env; set +a; exec /usr/local/bin/inventory-poller --check $flags' 2>&1 | sed 's/^/    /'; then
  echo "  check passed"
else
  echo "  check FAILED: see above" >&2
  exit 3
fi
REMOTE
}

remote_undeploy_script() {
  cat <<REMOTE
set -euo pipefail
rm -f /etc/cron.d/inventory-poller /etc/logrotate.d/inventory-poller /usr/local/bin/inventory-poller /usr/local/bin/.inventory-poller.new
rm -f /usr/share/bash-completion/completions/inventory-poller /usr/local/share/zsh/site-functions/_inventory-poller \
  /usr/share/fish/vendor_completions.d/inventory-poller.fish /usr/local/share/man/man1/inventory-poller.1
rm -rf /etc/inventory-poller
if [ $purge = 1 ]; then rm -rf /var/lib/inventory-poller /var/log/inventory-poller; echo "  removed spool and logs"; else echo "  kept /var/lib/inventory-poller and /var/log/inventory-poller"; fi
if id -u inventory-poller >/dev/null 2>&1; then userdel inventory-poller; fi
echo "  removed"
REMOTE
}

# Runs stdin as root on the target: directly when logging in as root, else through sudo.
run_remote() {
  if [ "${login%%@*}" = root ]; then ssh "${ssh_common[@]}" -p "$port" "$login" 'bash -s'
  else ssh "${ssh_common[@]}" -p "$port" "$login" 'sudo -n bash -s'; fi
}

# Shows what ssh or scp wrote to stderr, and keeps its last line for the summary.
last_error() { cat "$1" >&2; tail -n 1 "$1" | tr -d '\r' | cut -c1-200; }

# One target, every step checked (this runs as an `if` condition, where `set -e` is off).
# On failure `why` says what failed.
deploy_one() {
  local host minute upload man_upload errors rc
  split_target "$1"
  errors=$(mktemp)
  if ! host=$(ssh "${ssh_common[@]}" -p "$port" "$login" hostname 2>"$errors") || [ -z "$host" ]; then
    why="unreachable: $(last_error "$errors")"; rm -f "$errors"; return 1
  fi
  minute=$(( $(printf '%s' "$host" | cksum | cut -d' ' -f1) % 60 ))
  upload="/tmp/inventory-poller.upload.$$"
  if ! scp "${ssh_common[@]}" -q -P "$port" "$binary" "$scp_login:$upload" 2>"$errors"; then
    why="copying the binary failed: $(last_error "$errors")"; rm -f "$errors"; return 1
  fi
  man_upload=""
  if [ -n "$man_page" ]; then
    man_upload="/tmp/inventory-poller.1.upload.$$"
    if ! scp "${ssh_common[@]}" -q -P "$port" "$man_page" "$scp_login:$man_upload" 2>"$errors"; then
      why="copying the man page failed: $(last_error "$errors")"; rm -f "$errors"; return 1
    fi
  fi
  cat "$errors" >&2; rm -f "$errors"
  remote_deploy_script "$upload" "$minute" "$man_upload" | run_remote
  rc=${PIPESTATUS[1]}
  case $rc in
    0) return 0 ;;
    3) why="inventory-poller --check failed on the host (its lines are above)" ;;
    255) why="the SSH session failed" ;;
    *) why="the remote script failed (exit $rc; its output is above)" ;;
  esac
  return 1
}

undeploy_one() {
  local rc
  split_target "$1"
  remote_undeploy_script | run_remote
  rc=${PIPESTATUS[1]}
  [ "$rc" = 0 ] && return 0
  why=$([ "$rc" = 255 ] && echo "unreachable or the SSH session failed" || echo "the remote script failed (exit $rc)")
  return 1
}

if [ "$action" = deploy ]; then
  if [ ${#builds[@]} -gt 0 ]; then
    echo "== building: ${builds[*]}"
    "$make_cmd" --no-print-directory "${builds[@]}" || die "the build failed"
  fi
  [ -x "$binary" ] || die "no binary at $binary (make release)"
  [ -z "$man_page" ] || [ -f "$man_page" ] || die "no man page at $man_page (make man)"
fi

summary=(); failed=0
for target in "${targets[@]}"; do
  echo "== $target"
  why=""
  if "${action}_one" "$target"; then
    summary+=("$target: ok")
  else
    summary+=("$target: failed: $why"); failed=$((failed + 1))
    echo "  FAILED: $why" >&2
  fi
done
echo "== summary ($action, ${#targets[@]} target(s), $failed failed)"
printf '%s\n' "${summary[@]}"
[ "$failed" = 0 ] || exit 1
