#!/usr/bin/env bash
# The one test command (npm test): builds, starts the real servers on 127.0.0.1 (installing them as root when
# missing), then runs every test with node's test runner. `--unit` runs only the fast tests without servers.
set -euo pipefail
cd "$(dirname "$0")/.."

export IGBACKUP_SERVICES_DIR="${IGBACKUP_SERVICES_DIR:-/tmp/igbackup-services}"
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
mode="${1:-all}"

if [ ! -d node_modules ]; then npm install --no-audit --no-fund; fi
npm run build --silent

# zstd for compression; busybox to prove the remote wrapper runs in busybox/Alpine-style shells too.
for tool in zstd busybox; do
  command -v "$tool" >/dev/null || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$tool" >/dev/null; } || true
done

if [ "$mode" != "--unit" ]; then
  bash scripts/services/radosgw.sh start
  eval "$(bash scripts/services/radosgw.sh env)"
  export IGBACKUP_TEST_PG_PORT="${IGBACKUP_TEST_PG_PORT:-55432}"
  export IGBACKUP_TEST_PG_PASSWORD="igbackup-test-pw"
  bash scripts/services/postgres.sh start "$IGBACKUP_SERVICES_DIR/pg" "$IGBACKUP_TEST_PG_PORT" "$IGBACKUP_TEST_PG_PASSWORD"
  bash scripts/services/sshd.sh start
  eval "$(bash scripts/services/sshd.sh env)"
  files=$(find test -name '*.test.ts' | sort)
else
  files=$(find test/unit -name '*.test.ts' | sort)
fi

# shellcheck disable=SC2086
exec node --import tsx --test --test-concurrency=2 --test-timeout=600000 $files
