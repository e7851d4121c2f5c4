#!/usr/bin/env bash
# Catalog benchmark (not a test): `igbackup list`, `status --json` and `prune --json` over N proven-complete backups
# in the test S3 (RADOS Gateway), first run (empty manifest cache) and warm run, beside the baseline of listing the
# same keys with one ListObjectsV2 walk (what no catalog can beat). Usage: bench/catalog/run.sh [N ...] (default 1000 10000)
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNTS=("$@"); [ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1000 10000)
export IGBACKUP_SERVICES_DIR="${IGBACKUP_SERVICES_DIR:-/tmp/igbackup-services}"
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
[ -d node_modules ] || npm install --no-audit --no-fund
npm run build --silent
bash scripts/services/radosgw.sh start >/dev/null
eval "$(bash scripts/services/radosgw.sh env)"
BUCKET=igb-bench-catalog
WORK=$(mktemp -d /tmp/igb-bench-catalog-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
run() { # label, then igbackup args; prints seconds
  local t0 t1; t0=$(now)
  node bin/igbackup --config "$WORK/igbackup.yaml" "$@" >"$WORK/out.json" 2>"$WORK/err.txt" || [ $? = 6 ] || { cat "$WORK/err.txt" >&2; exit 1; }
  t1=$(now); secs "$t0" "$t1"
}
printf '%-7s %-8s %9s %9s %9s %9s\n' N command listing first warm warm/listing
for n in "${COUNTS[@]}"; do
  env="n$n"
  node --import tsx bench/catalog/seed.ts "$BUCKET" "$env" "$n"
  dbs=$(seq 0 9 | sed 's/^/db/' | paste -sd, -)
  cat >"$WORK/igbackup.yaml" <<YAML
envs:
  $env:
    storage: { type: s3, bucket: $BUCKET, endpoint: "$IGBACKUP_TEST_S3_ENDPOINT", kmsKeyId: "$IGBACKUP_TEST_KMS_KEY_ID" }
    retention: { keepLast: 10000, keepDays: 36500, orphanGraceHours: 24 }
    postgres: { host: 127.0.0.1, user: postgres, databases: [$dbs] }
YAML
  t0=$(now); node --import tsx bench/catalog/list-baseline.ts "$BUCKET" "$env/postgres/" >/dev/null; t1=$(now); base=$(secs "$t0" "$t1")
  for cmd in "list postgres" "status" "prune postgres"; do
    export IGBACKUP_CACHE_DIR="$WORK/cache"; rm -rf "$WORK/cache"
    # shellcheck disable=SC2086
    first=$(run --json $cmd --env "$env")
    # shellcheck disable=SC2086
    warm=$(run --json $cmd --env "$env")
    printf '%-7s %-8s %8ss %8ss %8ss %9s\n' "$n" "${cmd%% *}" "$base" "$first" "$warm" "$(ratio "$warm" "$base")"
  done
  node -e "const j=require('$WORK/out.json'); if (j.kept.length !== $n) { console.error('prune kept', j.kept.length, 'of', $n); process.exit(1) }"
done
