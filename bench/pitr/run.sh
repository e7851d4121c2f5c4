#!/usr/bin/env bash
# Point-in-time recovery benchmark (not a test), side by side on one PostgreSQL cluster and the test S3 over TLS:
#   (f) igbackup backup postgres --physical --type full
#   (g) igbackup restore postgres --physical --latest   (a new directory, until it is promoted and takes writes)
#   (h) the bare pgBackRest restore of the same backup with the same options, configured and started by hand
#       (h_rst: pgbackrest restore alone; h_rec: start, WAL fetch and replay until promoted)
#   (g and h run alternately, g h h g, each keeping its better time)
#   (d) the runbook's logical way: pg_dump -Fc to a file, createdb, pg_restore (rebuilds every index)
#   pm1/pm2/pm4: `pgbackrest restore` alone with --process-max 1, 2 and 4 (the tuning pgBackRest offers)
#   RPO: pgbench writes for RPO_SECONDS with archive_timeout 60 s; `igbackup status` every 5 s; the worst lag seen.
# Prints g/h, g/d, the worst RPO and igbackup's peak RSS.
# Usage: bench/pitr/run.sh [size ...]
#   SCHEMA=pgbench (default): sizes are pgbench scales (default 20; scale 1 is ~16 MB)
#   SCHEMA=events: sizes are GiB of bench/postgres's schema (seed.sql + indexes.sql: JSON, text, 7 indexes), as
#   bench/postgres/run.sh uses; this is the index-heavy case where a logical restore spends most of its time on indexes.
# PROCESS_MAX (default 2) is pitr.processMax for g and --process-max for h.
set -euo pipefail
cd "$(dirname "$0")/../.."
SCHEMA="${SCHEMA:-pgbench}"
case "$SCHEMA" in pgbench | events) ;; *) echo "SCHEMA must be pgbench or events" >&2; exit 2 ;; esac
SCALES=("$@"); [ ${#SCALES[@]} -gt 0 ] || { if [ "$SCHEMA" = events ]; then SCALES=(1); else SCALES=(20); fi; }
PROCESS_MAX="${PROCESS_MAX:-2}"
RPO_SECONDS="${RPO_SECONDS:-120}"
export IGBACKUP_SERVICES_DIR="${IGBACKUP_SERVICES_DIR:-/tmp/igbackup-services}"
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
[ -d node_modules ] || npm install --no-audit --no-fund
npm run build --silent
bash scripts/services/radosgw.sh start
eval "$(bash scripts/services/radosgw.sh env)"
command -v pgbackrest >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest >/dev/null
PGBIN=/usr/lib/postgresql/15/bin
AS=(runuser -u postgres --)
WORK=$(mktemp -d /var/tmp/igb-pitr-bench-XXXXXX); chmod 755 "$WORK"
PORT=46999; PW=bench-pw; export PGPASSWORD=$PW
cleanup() {
  for d in "$WORK"/pg/data "$WORK"/pg/copy-*; do [ -d "$d" ] && "${AS[@]}" "$PGBIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
  # The repository goes too: the test S3 keeps objects in memory (memstore), and a full store stalls every client.
  [ -n "${BUCKET:-}" ] && node -e "
    const s3 = require('@aws-sdk/client-s3');
    const c = new s3.S3Client({ region: 'us-east-1', endpoint: process.env.IGBACKUP_TEST_S3_ENDPOINT, forcePathStyle: true });
    (async () => {
      for (let token; ; ) {
        const l = await c.send(new s3.ListObjectsV2Command({ Bucket: '$BUCKET', ContinuationToken: token }));
        for (const o of l.Contents ?? []) await c.send(new s3.DeleteObjectCommand({ Bucket: '$BUCKET', Key: o.Key }));
        if (!l.IsTruncated) break;
        token = l.NextContinuationToken;
      }
      await c.send(new s3.DeleteBucketCommand({ Bucket: '$BUCKET' }));
    })().catch((e) => console.error('could not remove the bench bucket $BUCKET:', e.message));
  " || true
}
trap cleanup EXIT
now() { date +%s.%N; }
el() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
q() { "$PGBIN/psql" -X -qAt -h 127.0.0.1 -U postgres "$@"; }
best() { if [ -z "$1" ]; then echo "$2"; else awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; fi; }
rm_copy() { "${AS[@]}" "$PGBIN/pg_ctl" -D "$1" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$1"; }
rss() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1" | awk '{ printf "%d", $1 / 1024 }'; }

bash scripts/services/postgres.sh start "$WORK/pg" "$PORT" "$PW" >/dev/null
BUCKET="igb-pitr-bench-$(date +%s)"
node -e "const {S3Client,CreateBucketCommand}=require('@aws-sdk/client-s3');new S3Client({region:'us-east-1',endpoint:process.env.IGBACKUP_TEST_S3_ENDPOINT,forcePathStyle:true}).send(new CreateBucketCommand({Bucket:'$BUCKET'}))"
cat > "$WORK/igbackup.yaml" <<YAML
tiers: { gold: { rpoMinutes: 5, rtoMinutes: 60 } }
envs:
  bench:
    tier: gold
    storage: { type: s3, bucket: $BUCKET, endpoint: $IGBACKUP_TEST_S3_TLS_ENDPOINT, caFile: $IGBACKUP_TEST_S3_CA_FILE, kmsKeyId: $IGBACKUP_TEST_KMS_KEY_ID }
    postgres:
      host: 127.0.0.1
      port: $PORT
      password: { env: PGPASSWORD }
      databases: [postgres]
      pitr:
        dataDir: $WORK/pg/data
        socketDir: $WORK/pg
        runAs: [runuser, -u, postgres, --]
        workDir: $WORK/pg/pgbackrest
        pgBin: $PGBIN
        processMax: $PROCESS_MAX
        s3Credentials: { accessKeyId: { env: AWS_ACCESS_KEY_ID }, secretAccessKey: { env: AWS_SECRET_ACCESS_KEY } }
        restart: [runuser, -u, postgres, --, $PGBIN/pg_ctl, -D, $WORK/pg/data, -l, $WORK/pg/server.log, -w, -m, fast, restart]
YAML
IGB=(/usr/bin/time -v node bin/igbackup --config "$WORK/igbackup.yaml")
"${IGB[@]}" pitr enable --env bench --restart >/dev/null 2>"$WORK/enable.time" || { cat "$WORK/enable.time" >&2; exit 1; }

seed() { # seed SIZE: the database "bench", pgbench at that scale or bench/postgres's schema grown to SIZE GiB
  q -p "$PORT" -d postgres -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
  if [ "$SCHEMA" = pgbench ]; then "$PGBIN/pgbench" -q -i -s "$1" -h 127.0.0.1 -p "$PORT" -U postgres bench >/dev/null 2>&1; return; fi
  local target=$(($1 * 1024 * 1024 * 1024)) start size
  while size=$(q -p "$PORT" -d bench -c "SELECT pg_database_size('bench')"); [ "$size" -lt "$target" ]; do
    start=$(q -p "$PORT" -d bench -c "SELECT coalesce(max(id), 0) FROM events" 2>/dev/null || echo 0)
    q -p "$PORT" -d bench -v ON_ERROR_STOP=1 -v start="$start" -v batch=500000 -f bench/postgres/seed.sql >/dev/null
  done
  q -p "$PORT" -d bench -f bench/postgres/indexes.sql >/dev/null
  q -p "$PORT" -d postgres -c "CHECKPOINT" >/dev/null
}
# pgbackrest restore alone into DIR with --process-max N: prints the seconds.
bare_restore() {
  local t0; rm_copy "$1"; t0=$(now)
  "${AS[@]}" mkdir -m 700 "$1"
  "${AS[@]}" pgbackrest --config="$WORK/pg/pgbackrest/pgbackrest-bench-main.conf" --stanza=main restore --pg1-path="$1" --process-max="$2" --type=default --archive-mode=off >/dev/null
  el "$t0" "$(now)"
}
printf '%-6s %-8s %-8s %-7s %-7s %-6s %-6s %-8s %-5s %-5s %-5s %-5s %-5s %-7s\n' size db f_bkp g_igb h_bare h_rst h_rec d_logic g/h g/d pm1 pm2 pm4 peak_MB
for s in "${SCALES[@]}"; do
  seed "$s"
  size=$(q -p "$PORT" -d postgres -c "SELECT pg_size_pretty(sum(pg_database_size(datname))::bigint) FROM pg_database")
  t0=$(now); "${IGB[@]}" backup postgres --env bench --physical --type full >/dev/null 2>"$WORK/f.time"; f=$(el "$t0" "$(now)")
  # g and h alternate (g h h g) and each keeps its better run: neither pays alone for a cold start.
  g=""; h=""
  for order in g h h g; do
    if [ "$order" = g ]; then
      rm_copy "$WORK/pg/copy-g-$s"
      t0=$(now); "${IGB[@]}" --json restore postgres --env bench --physical --latest --target-dir "$WORK/pg/copy-g-$s" --port 46998 >"$WORK/g.json" 2>"$WORK/g.time"; x=$(el "$t0" "$(now)")
      q -p 46998 -d bench -c "CREATE TABLE igb_write_probe (at timestamptz)" -c "INSERT INTO igb_write_probe VALUES (now())"
      "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/copy-g-$s" -m immediate stop >/dev/null
      g=$(best "$g" "$x")
    else
      # (h) the same restore by hand: pgBackRest, the copy's port and socket, start, wait for the promotion.
      h_dir="$WORK/pg/copy-h-$s"
      t0=$(now)
      rst=$(bare_restore "$h_dir" "$PROCESS_MAX"); t1=$(now)
      printf "port = 46997\nunix_socket_directories = '%s'\n" "$h_dir" | "${AS[@]}" tee -a "$h_dir/postgresql.auto.conf" >/dev/null
      "${AS[@]}" "$PGBIN/pg_ctl" -D "$h_dir" -l "$h_dir/log" -w -t 600 start >/dev/null
      until [ "$(q -p 46997 -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do sleep 0.2; done
      t2=$(now); x=$(el "$t0" "$t2")
      "${AS[@]}" "$PGBIN/pg_ctl" -D "$h_dir" -m immediate stop >/dev/null
      if [ -z "$h" ] || [ "$(best "$h" "$x")" = "$x" ]; then h_rst=$rst; h_rec=$(el "$t1" "$t2"); fi
      h=$(best "$h" "$x")
    fi
  done
  # (d) logical: dump to a file, create, restore.
  t0=$(now)
  "$PGBIN/pg_dump" -Fc -h 127.0.0.1 -p "$PORT" -U postgres -f "$WORK/bench.dump" bench
  q -p "$PORT" -d postgres -c "DROP DATABASE IF EXISTS bench_logical" -c "CREATE DATABASE bench_logical"
  "$PGBIN/pg_restore" -h 127.0.0.1 -p "$PORT" -U postgres -d bench_logical "$WORK/bench.dump"
  d=$(el "$t0" "$(now)")
  q -p "$PORT" -d postgres -c "DROP DATABASE bench_logical"; rm -f "$WORK/bench.dump"
  pm=(); for n in 1 2 4; do pm+=("$(bare_restore "$WORK/pg/copy-pm" "$n")"); done; rm_copy "$WORK/pg/copy-pm"
  peak=$(for x in f g; do rss "$WORK/$x.time"; echo; done | sort -n | tail -1)
  printf '%-6s %-8s %-8s %-7s %-7s %-6s %-6s %-8s %-5s %-5s %-5s %-5s %-5s %-7s\n' "$s" "$size" "$f" "$g" "$h" "$h_rst" "$h_rec" "$d" \
    "$(ratio "$g" "$h")" "$(ratio "$g" "$d")" "${pm[0]}" "${pm[1]}" "${pm[2]}" "$peak"
  rm_copy "$WORK/pg/copy-g-$s"; rm_copy "$WORK/pg/copy-h-$s"
done

# Worst RPO while pgbench writes, archive_timeout 60 s (the default of pitr.archiveTimeoutSec).
[ "$RPO_SECONDS" -gt 0 ] || exit 0
q -p "$PORT" -d postgres -c "DROP DATABASE IF EXISTS rpo" -c "CREATE DATABASE rpo"
"$PGBIN/pgbench" -q -i -s 5 -h 127.0.0.1 -p "$PORT" -U postgres rpo >/dev/null 2>&1
"$PGBIN/pgbench" -T "$RPO_SECONDS" -c 2 -h 127.0.0.1 -p "$PORT" -U postgres rpo >/dev/null 2>&1 &
writer=$!
worst=0; samples=0; states=""
while kill -0 "$writer" 2>/dev/null; do
  out=$(node bin/igbackup --config "$WORK/igbackup.yaml" --json status --env bench 2>/dev/null || true)
  rpo=$(printf '%s' "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const j=JSON.parse(s);console.log(`${j.rows?.[0]?.rpoSeconds ?? -1} ${j.pitr?.lag?.state ?? "?"}`)}catch{console.log("-1 ?")}})')
  samples=$((samples + 1)); states="$states ${rpo#* }"
  r=${rpo%% *}; [ "$r" -gt "$worst" ] && worst=$r
  sleep 5
done
echo "worst RPO while pgbench wrote for ${RPO_SECONDS} s: ${worst} s over ${samples} samples (states:$(echo "$states" | tr ' ' '\n' | sort | uniq -c | tr '\n' ' '))"
