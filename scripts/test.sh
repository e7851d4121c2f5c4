#!/usr/bin/env bash
# The one test command (npm test): builds, starts the real servers on 127.0.0.1 (installing them as root when
# missing), then runs every test with node's test runner. `--unit` runs only the fast tests without servers;
# `bash scripts/test.sh FILE...` runs only the given test files (servers started as for a full run). The full run and
# `--unit` run `npm run lint` (ESLint + Prettier) first; the tests still run, and a lint failure fails the command.
# The full run ends with the unit tests under Node 22, 24 and 26 (scripts/test-node-versions.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

export IGBACKUP_SERVICES_DIR="${IGBACKUP_SERVICES_DIR:-/tmp/igbackup-services}"
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
mode="${1:-all}"
selected=()
if [ "$#" -gt 0 ] && [ "$1" != "--unit" ]; then selected=("$@"); mode=selected; fi

if [ ! -d node_modules ]; then npm install --no-audit --no-fund; fi
npm run build --silent

lint_rc=0
if [ "$mode" != selected ]; then
  echo "[test] npm run lint (eslint . && prettier --check .)" >&2
  npm run lint --silent >&2 || lint_rc=$?
fi

# zstd for compression; busybox to prove the remote wrapper runs in busybox/Alpine-style shells too;
# redis-server 7 (the Redis tests start their own instances on 127.0.0.1); pgbackrest (point-in-time recovery).
for pkg in zstd:zstd busybox:busybox redis-server:redis-server redis-cli:redis-tools pgbackrest:pgbackrest; do
  command -v "${pkg%%:*}" >/dev/null && continue
  [ "$(id -u)" = 0 ] || { echo "missing ${pkg%%:*}: apt-get install ${pkg#*:}" >&2; continue; }
  [ -n "${apt_updated:-}" ] || { DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkg#*:}" >/dev/null
done
# The Debian package may start a system redis on 6379; the tests never use it.
command -v systemctl >/dev/null && systemctl is-active -q redis-server 2>/dev/null && systemctl stop redis-server || true

if [ "$mode" != "--unit" ]; then
  bash scripts/services/radosgw.sh start
  eval "$(bash scripts/services/radosgw.sh env)"
  export IGBACKUP_TEST_PG_PORT="${IGBACKUP_TEST_PG_PORT:-55432}"
  export IGBACKUP_TEST_PG_PASSWORD="igbackup-test-pw"
  bash scripts/services/postgres.sh start "$IGBACKUP_SERVICES_DIR/pg" "$IGBACKUP_TEST_PG_PORT" "$IGBACKUP_TEST_PG_PASSWORD"
  bash scripts/services/sshd.sh start
  eval "$(bash scripts/services/sshd.sh env)"
  bash scripts/services/neo4j.sh start
  eval "$(bash scripts/services/neo4j.sh env)"
  files=$(find test -name '*.test.ts' | sort)
  [ "$mode" = selected ] && files="${selected[*]}"
else
  files=$(find test/unit -name '*.test.ts' | sort)
fi

echo "[test] $(nproc) cores, $(free -m | awk '/^Mem/{print $7}') MiB available, $(df -h --output=avail /tmp | tail -1 | tr -d ' ') free in /tmp"
rc=0
spec="$IGBACKUP_SERVICES_DIR/last-test-run.txt"
mkdir -p "$IGBACKUP_SERVICES_DIR"
# TAP on stdout as always, plus the readable report in a file whose failure summary is printed at the end.
# shellcheck disable=SC2086
node --import tsx --test --test-concurrency=2 --test-timeout=600000 \
  --test-reporter=tap --test-reporter-destination=stdout --test-reporter=spec --test-reporter-destination="$spec" $files || rc=$?
if [ "$rc" != 0 ]; then
  echo "=== failing tests (from $spec)"
  sed -n '/failing tests:/,$p' "$spec" | sed 's/\x1b\[[0-9;]*m//g' | head -400
fi
if [ "$rc" != 0 ] && [ "$mode" != "--unit" ]; then
  # Say what state the servers were in, so a red CI run can be read without rerunning it.
  bash scripts/services/radosgw.sh diagnose || true
  echo "--- processes: $(ps -e --no-headers | wc -l); postgres: $(pg_isready -h 127.0.0.1 -p "$IGBACKUP_TEST_PG_PORT" 2>&1)"
fi
# The full run also proves the unit tests under the Node majors the README supports besides this machine's.
node_rc=0
if [ "$mode" = all ]; then bash scripts/test-node-versions.sh || node_rc=$?; fi
if [ "$node_rc" != 0 ]; then
  echo "=== the unit tests failed under another Node major (scripts/test-node-versions.sh): the test command fails" >&2
  [ "$rc" != 0 ] || rc=$node_rc
fi
if [ "$lint_rc" != 0 ]; then
  echo "=== npm run lint failed (exit $lint_rc; its output is above the tests): the test command fails" >&2
  [ "$rc" != 0 ] || rc=$lint_rc
fi
exit "$rc"
