#!/usr/bin/env bash
# Provision inventory-poller on Debian/Ubuntu hosts over SSH.
#
#   deploy/provision.sh deploy   --target user@host [--target ...] --db-name NAME [options]
#   deploy/provision.sh undeploy --target user@host [--target ...] [--purge]
#
# Options: --binary PATH (default .build/release/inventory-poller), --ssh-port N, --ssh-key FILE,
#          --schedule "M H * * *" (default: hourly at a minute derived from the host name),
#          --flags "..." (extra inventory-poller flags), --env "KEY=VALUE" (repeatable; extra
#          environment for the service, e.g. AWS_REGION), --man FILE (the man page `make man`
#          generates; installed as /usr/local/share/man/man1/inventory-poller.1).
# Shell completions for bash, zsh and fish are generated on the host by the installed binary.
#
# The database URI is read from the DB_URI environment variable, never from arguments. It
# travels inside the script fed to the remote shell on the SSH session's stdin, so it is in no
# process's argv, on no disk but the env file (0640 root:inventory-poller), and in no output.
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

action=${1:-}; shift || true
[ "$action" = deploy ] || [ "$action" = undeploy ] || usage
targets=(); man_page=""; binary=.build/release/inventory-poller; ssh_port=22; ssh_key=""; schedule=""; flags=""; db_name=""; purge=0; extra_env=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target) targets+=("$2"); shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --man) man_page=$2; shift 2 ;;
    --ssh-port) ssh_port=$2; shift 2 ;;
    --ssh-key) ssh_key=$2; shift 2 ;;
    --schedule) schedule=$2; shift 2 ;;
    --flags) flags=$2; shift 2 ;;
    --env) extra_env+=("$2"); shift 2 ;;
    --db-name) db_name=$2; shift 2 ;;
    --purge) purge=1; shift ;;
    *) echo "provision: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || { echo "provision: at least one --target user@host" >&2; exit 2; }

ssh_opts=(-p "$ssh_port" -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=accept-new)
scp_opts=(-P "$ssh_port" -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=accept-new -q)
if [ -n "$ssh_key" ]; then ssh_opts+=(-i "$ssh_key"); scp_opts+=(-i "$ssh_key"); fi
if [ -n "${SSH_KNOWN_HOSTS:-}" ]; then ssh_opts+=(-o UserKnownHostsFile="$SSH_KNOWN_HOSTS"); scp_opts+=(-o UserKnownHostsFile="$SSH_KNOWN_HOSTS"); fi

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
# Managed by inventory-poller deploy/provision.sh: poll hourly as the service user.
SHELL=/bin/sh
PATH=/usr/local/bin:/usr/bin:/bin
$when inventory-poller set -a; . /etc/inventory-poller/env; set +a; exec /usr/local/bin/inventory-poller --lock-file /run/lock/inventory-poller.lock $flags >> /var/log/inventory-poller/poller.log 2>&1
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
  local target=$1
  if [ "${target%%@*}" = root ]; then ssh "${ssh_opts[@]}" "$target" 'bash -s'
  else ssh "${ssh_opts[@]}" "$target" 'sudo -n bash -s'; fi
}

status=0
if [ "$action" = deploy ]; then
  [ -n "${DB_URI:-}" ] || { echo "provision: set DB_URI in the environment (it is never passed as an argument)" >&2; exit 2; }
  [ -n "$db_name" ] || { echo "provision: --db-name is required" >&2; exit 2; }
  [ -x "$binary" ] || { echo "provision: no binary at $binary (make release)" >&2; exit 2; }
  [ -z "$man_page" ] || [ -f "$man_page" ] || { echo "provision: no man page at $man_page (make man)" >&2; exit 2; }
  for target in "${targets[@]}"; do
    echo "== $target"
    host=$(ssh "${ssh_opts[@]}" "$target" hostname)
    minute=$(( $(printf '%s' "$host" | cksum | cut -d' ' -f1) % 60 ))
    upload="/tmp/inventory-poller.upload.$$"
    scp "${scp_opts[@]}" "$binary" "$target:$upload"
    man_upload=""
    if [ -n "$man_page" ]; then
      man_upload="/tmp/inventory-poller.1.upload.$$"
      scp "${scp_opts[@]}" "$man_page" "$target:$man_upload"
    fi
    remote_deploy_script "$upload" "$minute" "$man_upload" | run_remote "$target" || status=$?
  done
else
  for target in "${targets[@]}"; do
    echo "== $target"
    remote_undeploy_script | run_remote "$target" || status=$?
  done
fi
exit $status
