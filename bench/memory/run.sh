#!/usr/bin/env bash
# Memory benchmark (not a test): igbackup's peak RSS while it streams an artifact of each size through its backup
# pipeline into the test S3 (SSE-KMS), with no size estimate (parts sized for 1 TiB: the largest the old sizing chose),
#   (m) with the memory budget (storage.memoryBudgetMiB, default 192: parts capped at 48 MiB)
#   (u) without it (a budget so large it never caps: 105 MiB parts, the sizing before the budget), side by side
#   (s) with the budget and storage.segmentMiB=SEG_MIB (default 1024): the artifact stored in segments
# Prints peak RSS per size and m/u; the targets: m flat in size, and within the CronJob's 512 MiB limit.
# Usage: bench/memory/run.sh [GiB ...] (default: 1 2 4 8 16)
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(1 2 4 8 16)
SEG_MIB="${SEG_MIB:-1024}"
export IGBACKUP_SERVICES_DIR="${IGBACKUP_SERVICES_DIR:-/tmp/igbackup-services}"
# Multi-GB objects: the gateway on a sparse file, not in memory (as bench/postgres; changing the store recreates it).
export IGBACKUP_RGW_STORE=bluestore
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
[ -d node_modules ] || npm install --no-audit --no-fund
npm run build --silent
bash scripts/services/radosgw.sh start >/dev/null
eval "$(bash scripts/services/radosgw.sh env)"
BUCKET="igb-bench-mem-$$"
s3js() { node --input-type=module -e "
  import * as s3 from '@aws-sdk/client-s3';
  const c = new s3.S3Client({ region: 'us-east-1', endpoint: process.env.IGBACKUP_TEST_S3_ENDPOINT, forcePathStyle: true });
  const empty = async () => {
    for (let token; ; ) {
      const l = await c.send(new s3.ListObjectsV2Command({ Bucket: '$BUCKET', ContinuationToken: token }));
      for (const o of l.Contents ?? []) await c.send(new s3.DeleteObjectCommand({ Bucket: '$BUCKET', Key: o.Key }));
      if (!l.IsTruncated) break;
      token = l.NextContinuationToken;
    }
  };
  $1
"; }
s3js "await c.send(new s3.CreateBucketCommand({ Bucket: '$BUCKET' }));"
# Each object goes right after its run, and the bucket at the end: a full memstore stalls every client.
trap 's3js "await empty(); await c.send(new s3.DeleteBucketCommand({ Bucket: \"$BUCKET\" }));" || true' EXIT
run() { # bytes budget [segment] -> "rss_mib seconds segments part_mib"
  local log; log=$(mktemp)
  local out; out=$(/usr/bin/time -v node bench/memory/upload.mjs "$@" 2>"$log") || { cat "$log" >&2; exit 1; }
  local rss; rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log" | awk '{ printf "%d", $1 / 1024 }')
  rm -f "$log"
  s3js "await empty();"
  # Free the deleted object's space now, not when the gateway's garbage collector gets to it.
  radosgw-admin -c "$IGBACKUP_SERVICES_DIR/ceph/ceph.conf" gc process --include-all >/dev/null 2>&1 || true
  node -e "const j = JSON.parse(process.argv[1]); console.log('$rss', j.seconds, j.segments, j.partMiB)" "$out"
}
printf '%-5s %9s %9s %9s %6s %8s %8s %8s\n' GiB m_rss_MB u_rss_MB s_rss_MB m/u m_part u_part s_segs
for g in "${SIZES[@]}"; do
  bytes=$((g * 1024 * 1024 * 1024))
  read -r m_rss m_s m_segs m_part < <(run "$bytes" 192 "$BUCKET")
  read -r u_rss u_s u_segs u_part < <(run "$bytes" 65536 "$BUCKET")
  read -r s_rss s_s s_segs s_part < <(run "$bytes" 192 "$BUCKET" "$SEG_MIB")
  printf '%-5s %9s %9s %9s %6s %8s %8s %8s\n' "$g" "$m_rss" "$u_rss" "$s_rss" \
    "$(awk -v a="$m_rss" -v b="$u_rss" 'BEGIN { printf "%.2f", a / b }')" "$m_part" "$u_part" "$s_segs"
done
echo "targets: m_rss flat in size and <= 512 MB (the generated CronJob's limit); s (segments) as flat as m"
