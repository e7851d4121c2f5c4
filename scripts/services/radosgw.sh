#!/usr/bin/env bash
# Starts (or reuses) a one-node Ceph cluster with RADOS Gateway on 127.0.0.1 as the real S3 for tests and benchmarks.
# Usage: radosgw.sh start|stop|env|diagnose   (env prints the variables the tests read; diagnose, its state)
# Settings follow ../shared/FACTS.md: size-1 pools, testing KMS backend, no mgr. The OSD keeps its objects in memory
# (memstore) by default, so the tests never depend on the host's free disk space or disk latency; the benchmark sets
# IGBACKUP_RGW_STORE=bluestore (a sparse file on disk) for multi-GB data sets. Changing the store recreates the cluster.
# Beside plain HTTP it serves HTTPS on IGBACKUP_RGW_TLS_PORT with a self-signed certificate for localhost made here
# (pgBackRest speaks S3 over HTTPS only, and checks the name against DNS names: FACTS.md).
set -euo pipefail

BASE="${IGBACKUP_SERVICES_DIR:-/tmp/igbackup-services}/ceph"
PORT="${IGBACKUP_RGW_PORT:-17480}"
TLS_PORT="${IGBACKUP_RGW_TLS_PORT:-17443}"
TLS_DIR="${IGBACKUP_SERVICES_DIR:-/tmp/igbackup-services}/rgw-tls"
MON_PORT="${IGBACKUP_MON_PORT:-16789}"
ACCESS_KEY="igbackupci"
SECRET_KEY="igbackupci-secret-key-0123456789abcdef"
KMS_KEY_ID="igbackup-test-key"
KMS_KEY_B64="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="   # 32 bytes, test-only key
CONF="$BASE/ceph.conf"
STORE="${IGBACKUP_RGW_STORE:-memstore}"
case "$STORE" in memstore|bluestore) ;; *) echo "[radosgw] IGBACKUP_RGW_STORE must be memstore or bluestore, not $STORE" >&2; exit 2 ;; esac
CEPH=(ceph --conf "$CONF" --connect-timeout 10)

log() { echo "[radosgw] $*" >&2; }

print_env() {
  cat <<ENV
export IGBACKUP_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT
export IGBACKUP_TEST_S3_TLS_ENDPOINT=https://localhost:$TLS_PORT
export IGBACKUP_TEST_S3_CA_FILE=$TLS_DIR/ca.pem
export IGBACKUP_TEST_KMS_KEY_ID=$KMS_KEY_ID
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=us-east-1
ENV
}

rgw_up() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/" ; }
tls_up() { curl -s -o /dev/null --max-time 2 --cacert "$TLS_DIR/ca.pem" "https://localhost:$TLS_PORT/" ; }

# A self-signed certificate for localhost and 127.0.0.1 (kept across cluster re-creations); ca.pem is what clients trust.
ensure_cert() {
  [ -s "$TLS_DIR/rgw.pem" ] && [ -s "$TLS_DIR/ca.pem" ] && return
  mkdir -p "$TLS_DIR"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/ca.pem" 2>/dev/null
  cat "$TLS_DIR/ca.pem" "$TLS_DIR/key.pem" > "$TLS_DIR/rgw.pem"
  chmod 600 "$TLS_DIR/key.pem" "$TLS_DIR/rgw.pem"
  chmod 644 "$TLS_DIR/ca.pem"; chmod 755 "$TLS_DIR"
}
FRONTENDS="beast endpoint=127.0.0.1:$PORT ssl_endpoint=127.0.0.1:$TLS_PORT ssl_certificate=$TLS_DIR/rgw.pem"

install_pkgs() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null; then return; fi
  if [ "$(id -u)" != 0 ]; then
    log "radosgw/ceph-mon/ceph-osd are missing; run as root once (apt-get install ceph-mon ceph-osd radosgw) or set IGBACKUP_TEST_S3_ENDPOINT"
    exit 1
  fi
  log "installing ceph-mon ceph-osd radosgw (Debian packages)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl >/dev/null
}

write_conf() {
  local fsid="$1"
  cat > "$CONF" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$((MON_PORT+1))/0,v1:127.0.0.1:$MON_PORT/0
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $BASE/ceph.client.admin.keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
run dir = $BASE/run
log file = $BASE/log/\$name.log
admin socket = $BASE/run/\$name.asok
osd objectstore = $STORE
osd memory target = 939524096
bluestore cache autotune = false
bluestore cache size = 134217728
memstore device bytes = 8589934592
# Never stop the monitor for a nearly full host disk: these are throwaway test clusters.
mon data avail crit = 0
mon data avail warn = 1
[mon.a]
mon data = $BASE/mon
[osd.0]
osd data = $BASE/osd
keyring = $BASE/osd/keyring
bluestore block path = $BASE/osd-block
bluestore block create = true
bluestore block size = 21474836480
[client.rgw.igb]
keyring = $BASE/ceph.client.rgw.keyring
rgw frontends = $FRONTENDS
rgw data = $BASE/rgw
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = $KMS_KEY_ID=$KMS_KEY_B64
rgw crypt require ssl = false
rgw dns name = localhost
rgw thread pool size = 64
# Deleted objects' data is freed by the gateway's garbage collector, by default two hours later: a memstore OSD would
# fill up with what earlier tests and benchmarks deleted (then every write stalls). Collect within a minute or two.
rgw gc obj min wait = 30
rgw gc processor period = 30
rgw gc processor max time = 30
CONF
}

create_cluster() {
  log "creating a one-node cluster in $BASE"
  rm -rf "$BASE"; mkdir -p "$BASE"/{run,log,mon,osd,rgw}
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"
  ceph-authtool --create-keyring "$BASE/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$BASE/ceph.client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool --create-keyring "$BASE/osd/keyring" --gen-key -n osd.0 \
    --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd' >/dev/null
  ceph-authtool --create-keyring "$BASE/ceph.client.rgw.keyring" --gen-key -n client.rgw.igb \
    --cap mon 'allow rw' --cap osd 'allow rwx' >/dev/null
  for k in ceph.client.admin.keyring osd/keyring ceph.client.rgw.keyring; do
    ceph-authtool "$BASE/mon.keyring" --import-keyring "$BASE/$k" >/dev/null
  done
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$((MON_PORT+1)),v1:127.0.0.1:$MON_PORT]" "$BASE/monmap" >/dev/null
  ceph-mon --conf "$CONF" --mkfs -i a --monmap "$BASE/monmap" --keyring "$BASE/mon.keyring"
}

start_daemons() {
  pgrep -f "ceph-mon --conf $CONF" >/dev/null || ceph-mon --conf "$CONF" -i a
  for _ in $(seq 1 60); do "${CEPH[@]}" -s >/dev/null 2>&1 && break; sleep 0.5; done
  if [ ! -f "$BASE/osd/whoami" ]; then
    local uuid; uuid=$(cat /proc/sys/kernel/random/uuid)
    "${CEPH[@]}" osd new "$uuid" -i - <<<"{\"cephx_secret\": \"$(ceph-authtool -p -n osd.0 "$BASE/osd/keyring")\"}" >/dev/null
    ceph-osd --conf "$CONF" -i 0 --mkfs --osd-uuid "$uuid" >/dev/null 2>&1
    "${CEPH[@]}" osd crush add-bucket igbhost host >/dev/null 2>&1 || true
    "${CEPH[@]}" osd crush move igbhost root=default >/dev/null 2>&1 || true
    "${CEPH[@]}" osd crush add osd.0 1.0 host=igbhost >/dev/null 2>&1 || true
  fi
  pgrep -f "ceph-osd --conf $CONF" >/dev/null || ceph-osd --conf "$CONF" -i 0
  for _ in $(seq 1 120); do
    "${CEPH[@]}" osd stat 2>/dev/null | grep -q "1 up" && break; sleep 0.5
  done
  # One OSD holds everything: never let the monitor mark it down or out (a late beacon would stall all I/O).
  "${CEPH[@]}" osd set noout >/dev/null 2>&1 || true
  "${CEPH[@]}" osd set nodown >/dev/null 2>&1 || true
  for p in .rgw.root default.rgw.control default.rgw.meta default.rgw.log default.rgw.buckets.index \
           default.rgw.buckets.non-ec default.rgw.buckets.data; do
    if ! "${CEPH[@]}" osd pool ls | grep -qx "$p"; then
      "${CEPH[@]}" osd pool create "$p" 8 8 >/dev/null 2>&1
      "${CEPH[@]}" osd pool set "$p" size 1 --yes-i-really-mean-it >/dev/null 2>&1 || true
      "${CEPH[@]}" osd pool application enable "$p" rgw >/dev/null 2>&1 || true
    fi
  done
  pgrep -f "radosgw --conf $CONF" >/dev/null || radosgw --conf "$CONF" -n client.rgw.igb
  for _ in $(seq 1 120); do rgw_up && break; sleep 0.5; done
  rgw_up || { log "radosgw did not answer on 127.0.0.1:$PORT; see $BASE/log"; exit 1; }
  for _ in $(seq 1 20); do tls_up && break; sleep 0.5; done
  tls_up || { log "radosgw did not answer HTTPS on localhost:$TLS_PORT; see $BASE/log"; exit 1; }
  if ! radosgw-admin --conf "$CONF" user info --uid=ci >/dev/null 2>&1; then
    radosgw-admin --conf "$CONF" user create --uid=ci --display-name=ci \
      --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
  fi
  lift_bucket_limit
}

# Every test makes its own bucket: a full run makes ~300, and a server kept across runs (a developer's machine) passes
# radosgw's default of 1000 buckets per user (TooManyBuckets). The test user gets room for many runs.
lift_bucket_limit() {
  radosgw-admin --conf "$CONF" user modify --uid=ci --max-buckets=1000000 >/dev/null
}

case "${1:-start}" in
  start)
    conf_store() { sed -n 's/^osd objectstore = //p' "$CONF" 2>/dev/null; }
    ensure_cert
    if rgw_up && [ "$(conf_store)" = "$STORE" ] && ! tls_up; then
      # A gateway from before the HTTPS endpoint: restart it alone with the current frontends (the data stays).
      log "adding the HTTPS endpoint on localhost:$TLS_PORT: restarting radosgw"
      sed -i "s|^rgw frontends = .*|rgw frontends = $FRONTENDS|" "$CONF"
      pkill -f "radosgw --conf $CONF" || true
      for _ in $(seq 1 40); do pgrep -f "radosgw --conf $CONF" >/dev/null || break; sleep 0.25; done
      radosgw --conf "$CONF" -n client.rgw.igb
      for _ in $(seq 1 120); do rgw_up && tls_up && break; sleep 0.5; done
    fi
    if rgw_up && tls_up && [ "$(conf_store)" = "$STORE" ]; then lift_bucket_limit; log "already running on 127.0.0.1:$PORT and https://localhost:$TLS_PORT ($STORE)"; exit 0; fi
    install_pkgs
    if [ -f "$BASE/mon/keyring" ] && [ "$(conf_store)" != "$STORE" ]; then
      log "switching the OSD store to $STORE: recreating the cluster"; bash "$0" stop; rm -f "$BASE/mon/keyring"
    fi
    # A memstore OSD loses its objects when it stops: start from a new cluster then.
    if [ "$STORE" = memstore ] && [ -f "$BASE/mon/keyring" ] && ! pgrep -f "ceph-osd --conf $CONF" >/dev/null; then
      bash "$0" stop; rm -f "$BASE/mon/keyring"
    fi
    [ -f "$BASE/mon/keyring" ] || create_cluster
    start_daemons
    log "S3 ready at http://127.0.0.1:$PORT and https://localhost:$TLS_PORT (CA $TLS_DIR/ca.pem; KMS key id $KMS_KEY_ID)"
    ;;
  stop)
    for d in radosgw ceph-osd ceph-mon; do
      pkill -f "$d --conf $CONF" || true
      for _ in $(seq 1 40); do pgrep -f "$d --conf $CONF" >/dev/null || break; sleep 0.25; done
    done
    ;;
  diagnose)
    # What a failed test run prints about the S3 server: health, space, memory and the daemons' last errors.
    echo "--- radosgw diagnostics ($STORE, $BASE)"
    rgw_up && echo "radosgw answers on 127.0.0.1:$PORT" || echo "radosgw does NOT answer on 127.0.0.1:$PORT"
    for d in ceph-mon ceph-osd radosgw; do pgrep -f "$d --conf $CONF" >/dev/null && echo "$d running" || echo "$d NOT running"; done
    timeout 10 "${CEPH[@]}" health detail 2>&1 | head -20 || true
    df -h "$BASE" 2>&1 | tail -1; free -m 2>&1 | sed -n 2p
    for f in "$BASE"/log/*.log; do
      echo "--- last errors in $f"; grep -E " -1 |ERROR|error|abort|Assert" "$f" 2>/dev/null | tail -15 || true
    done
    ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|env|diagnose" >&2; exit 2 ;;
esac
