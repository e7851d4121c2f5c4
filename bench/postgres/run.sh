#!/usr/bin/env bash
# PostgreSQL benchmark (not a test): igbackup against the seed runbook, side by side on the same radosgw.
#   (a) pg_dump -Fc > file && aws s3 cp file s3://... --sse aws:kms     (the seed runbook, awscli from Debian)
#   (b) pg_dump -Fc > /dev/null
#   (c) igbackup backup postgres
#   (d) aws s3 cp s3://... file && pg_restore into a new database
#   (e) igbackup restore postgres --target-db ...
# Prints c/a, c/b, e/d and igbackup's peak RSS per database size. Usage: bench/postgres/run.sh [GiB ...] (default: 1 4)
# Then the physical comparison on the same schema and sizes (bench/pitr/run.sh with SCHEMA=events; PHYSICAL=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(1 4)

export IGBACKUP_SERVICES_DIR="${IGBACKUP_SERVICES_DIR:-/tmp/igbackup-services}"
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
PGPORT_BENCH="${IGBACKUP_TEST_PG_PORT:-55432}"
export PGPASSWORD="igbackup-test-pw" PGHOST=127.0.0.1 PGPORT="$PGPORT_BENCH" PGUSER=postgres
[ -d node_modules ] || npm install --no-audit --no-fund
[ -f dist/src/main.js ] || npm run build --silent
# Multi-GB artifacts: the S3 server keeps them on disk (bluestore), as a real one would.
export IGBACKUP_RGW_STORE=bluestore
bash scripts/services/radosgw.sh start
eval "$(bash scripts/services/radosgw.sh env)"
bash scripts/services/postgres.sh start "$IGBACKUP_SERVICES_DIR/pg" "$PGPORT_BENCH" "$PGPASSWORD"

AWS=/usr/bin/aws
if [ ! -x "$AWS" ]; then
  [ "$(id -u)" = 0 ] || { echo "awscli (Debian package) is needed for the baseline: apt-get install awscli" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends awscli >/dev/null
fi
aws_() { "$AWS" --endpoint-url "$IGBACKUP_TEST_S3_ENDPOINT" "$@"; }
BUCKET=igb-bench
aws_ s3api head-bucket --bucket "$BUCKET" 2>/dev/null || aws_ s3api create-bucket --bucket "$BUCKET" >/dev/null

WORK=$(mktemp -d /var/tmp/igb-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

seed() { # seed DB GiB: grow the database until pg_database_size >= GiB
  local db="$1" gib="$2" target start batch=500000
  target=$((gib * 1024 * 1024 * 1024))
  q -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 || q -d postgres -c "CREATE DATABASE $db"
  while :; do
    local size; size=$(q -d "$db" -c "SELECT pg_database_size('$db')")
    [ "$size" -ge "$target" ] && break
    start=$(q -d "$db" -c "SELECT coalesce(max(id), 0) FROM events" 2>/dev/null || echo 0)
    echo "  seeding $db: $((size / 1048576)) MiB so far" >&2
    q -d "$db" -v start="$start" -v batch="$batch" -f bench/postgres/seed.sql >/dev/null
  done
  q -d "$db" -f bench/postgres/indexes.sql >/dev/null
}

peak_rss_run() { # runs igbackup, prints "seconds peak_rss_kib" of the node process itself
  local t0 t1 pid hwm=0 v
  t0=$(now)
  node bin/igbackup "$@" > "$WORK/igb.out" 2> "$WORK/igb.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$v" ] && hwm=$v
    sleep 0.1
  done
  wait "$pid" || { cat "$WORK/igb.err" >&2; exit 1; }
  t1=$(now)
  echo "$(elapsed "$t0" "$t1") $hwm"
}

cat > "$WORK/igbackup.yaml" <<YAML
envs:
  bench:
    storage: { type: s3, bucket: $BUCKET, endpoint: $IGBACKUP_TEST_S3_ENDPOINT, kmsKeyId: $IGBACKUP_TEST_KMS_KEY_ID }
    postgres:
      host: 127.0.0.1
      port: $PGPORT_BENCH
      user: postgres
      password: { env: PGPASSWORD }
      databases: [placeholder]
YAML

printf '\n%-6s %8s %8s %8s %8s %8s %7s %7s %7s %9s %9s\n' size a_s b_s c_s d_s e_s c/a c/b e/d rss_bk_MB rss_rs_MB
RESULTS=()
for gib in "${SIZES[@]}"; do
  db="bench_${gib}g"
  seed "$db" "$gib"
  dbsize=$(q -d "$db" -c "SELECT pg_size_pretty(pg_database_size('$db'))")
  sed -i "s/databases: \[.*\]/databases: [$db]/" "$WORK/igbackup.yaml"
  export IGBACKUP_CONFIG="$WORK/igbackup.yaml"
  sync; q -d postgres -c "CHECKPOINT" >/dev/null

  t0=$(now); pg_dump -Fc -d "$db" > "$WORK/a.dump"
  aws_ s3 cp --only-show-errors "$WORK/a.dump" "s3://$BUCKET/seed/$db.dump" --sse aws:kms --sse-kms-key-id "$IGBACKUP_TEST_KMS_KEY_ID"
  t1=$(now); a=$(elapsed "$t0" "$t1"); rm -f "$WORK/a.dump"

  t0=$(now); pg_dump -Fc -d "$db" > /dev/null; t1=$(now); b=$(elapsed "$t0" "$t1")

  read -r c rss_c < <(peak_rss_run --json backup postgres --env bench)

  for d_db in "${db}_d" "${db}_e"; do q -d postgres -c "DROP DATABASE IF EXISTS $d_db" >/dev/null; done
  q -d postgres -c "CHECKPOINT" >/dev/null   # each restore starts without the previous run's WAL to flush
  t0=$(now)
  aws_ s3 cp --only-show-errors "s3://$BUCKET/seed/$db.dump" "$WORK/d.dump"
  q -d postgres -c "CREATE DATABASE ${db}_d" >/dev/null
  pg_restore --exit-on-error -d "${db}_d" "$WORK/d.dump"
  t1=$(now); d=$(elapsed "$t0" "$t1"); rm -f "$WORK/d.dump"

  q -d postgres -c "DROP DATABASE ${db}_d" >/dev/null; q -d postgres -c "CHECKPOINT" >/dev/null
  read -r e rss_e < <(peak_rss_run restore postgres --env bench --latest --target-db "${db}_e")
  for d_db in "${db}_d" "${db}_e"; do q -d postgres -c "DROP DATABASE IF EXISTS $d_db" >/dev/null; done

  line=$(printf '%-6s %8s %8s %8s %8s %8s %7s %7s %7s %9s %9s' "$dbsize" "$a" "$b" "$c" "$d" "$e" \
    "$(ratio "$c" "$a")" "$(ratio "$c" "$b")" "$(ratio "$e" "$d")" "$((rss_c / 1024))" "$((rss_e / 1024))")
  echo "$line"
  RESULTS+=("$line")
done

echo
echo "targets: c/a <= 0.35, c/b <= 0.5, e/d <= 0.7, peak RSS <= 200 MB and flat in size"
printf '%s\n' "${RESULTS[@]}" > "${IGBACKUP_BENCH_OUT:-/dev/null}"

# The physical side on the same schema and sizes: (f) backup --physical, (g) restore --physical, (h) the bare
# pgBackRest restore, (d) the logical restore, on a cluster of its own that archives (bench/pitr/run.sh). PHYSICAL=0 skips it.
if [ "${PHYSICAL:-1}" != 0 ]; then
  echo
  SCHEMA=events bash bench/pitr/run.sh "${SIZES[@]}"
fi
