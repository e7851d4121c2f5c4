#!/usr/bin/env bash
# Starts (or reuses) an OpenSSH server on 127.0.0.1 for the SSH transport tests: its own host key, config and pid
# file, a non-root user "igbssh" with an authorized test key. Usage: sshd.sh start|stop|env
set -euo pipefail

BASE="${IGBACKUP_SERVICES_DIR:-/tmp/igbackup-services}/sshd"
PORT="${IGBACKUP_SSH_PORT:-17422}"
USER_NAME=igbssh
log() { echo "[sshd] $*" >&2; }

print_env() {
  cat <<ENV
export IGBACKUP_TEST_SSH_PORT=$PORT
export IGBACKUP_TEST_SSH_USER=$USER_NAME
export IGBACKUP_TEST_SSH_KEY=$BASE/client_ed25519
export IGBACKUP_TEST_SSH_HOST_PUB=$BASE/ssh_host_ed25519_key.pub
export IGBACKUP_TEST_SSH_PIDFILE=$BASE/sshd.pid
ENV
}

up() { [ -f "$BASE/sshd.pid" ] && kill -0 "$(cat "$BASE/sshd.pid")" 2>/dev/null; }

case "${1:-start}" in
  start)
    if up; then log "already running on 127.0.0.1:$PORT"; exit 0; fi
    [ "$(id -u)" = 0 ] || { log "must run as root (creates a test user and runs sshd)"; exit 1; }
    if [ ! -x /usr/sbin/sshd ]; then
      log "installing openssh-server (Debian package)"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
      # The package may start the system sshd on port 22; the tests never use it.
    fi
    id "$USER_NAME" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$USER_NAME"
    usermod -p "*" "$USER_NAME"   # no password, but not "locked" (sshd without PAM refuses locked accounts)
    mkdir -p "$BASE" /run/sshd
    chmod 755 "$BASE"
    [ -f "$BASE/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$BASE/ssh_host_ed25519_key"
    [ -f "$BASE/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C igbackup-test -f "$BASE/client_ed25519"
    home=$(getent passwd "$USER_NAME" | cut -d: -f6)
    install -d -m 700 -o "$USER_NAME" -g "$USER_NAME" "$home/.ssh"
    install -m 600 -o "$USER_NAME" -g "$USER_NAME" "$BASE/client_ed25519.pub" "$home/.ssh/authorized_keys"
    cat > "$BASE/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $PORT
HostKey $BASE/ssh_host_ed25519_key
PidFile $BASE/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
UsePAM no
AllowUsers $USER_NAME
MaxSessions 50
MaxStartups 50
LogLevel ERROR
CONF
    /usr/sbin/sshd -f "$BASE/sshd_config" -E "$BASE/sshd.log"
    for _ in $(seq 1 50); do up && break; sleep 0.1; done
    up || { log "sshd did not start; see $BASE/sshd.log"; exit 1; }
    log "ready on 127.0.0.1:$PORT (user $USER_NAME)"
    ;;
  stop) up && kill "$(cat "$BASE/sshd.pid")" || true ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
