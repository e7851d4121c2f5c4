#!/usr/bin/env bash
# A real Neo4j Community 5.26 for the tests, assembled from Maven Central (the packaged tarball is not published
# there, but every jar of it is, and the 5.x `neo4j` / `neo4j-admin` scripts are thin launchers around classes in
# them): `org.neo4j:neo4j` with its runtime dependencies into lib/, `org.neo4j:cypher-shell` into cypher-shell/lib/,
# three launchers in bin/. Neo4j Community is GPLv3: the jars are fetched here, into a cache, and never committed.
# Usage: neo4j.sh start|stop|env
#   start  installs Java 17 and Maven (Debian) when missing, assembles the distribution once (cached), starts one
#          DBMS on a free loopback Bolt port with a password (the shared instance), says how long each step took
#   env    the variables the tests read: IGBACKUP_NEO4J_DIST (bin/neo4j, bin/neo4j-admin, bin/cypher-shell), the
#          shared instance's NEO4J_HOME, Bolt port and password
# Each test that changes data makes its own home from the same distribution (test/helpers/neo4j-real.ts).
set -euo pipefail

VERSION="${IGBACKUP_NEO4J_VERSION:-5.26.12}"
BASE="${IGBACKUP_SERVICES_DIR:-/tmp/igbackup-services}/neo4j"
DIST="$BASE/dist-$VERSION"
HOME_DIR="$BASE/shared"
PASSWORD=igbackup-neo4j-test-pw
log() { echo "[neo4j] $*" >&2; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

print_env() {
  cat <<ENV
export IGBACKUP_NEO4J_DIST=$DIST
export IGBACKUP_NEO4J_HOME=$HOME_DIR
export IGBACKUP_NEO4J_BOLT_PORT=$(cat "$HOME_DIR/bolt-port" 2>/dev/null || echo 0)
export IGBACKUP_NEO4J_PASSWORD=$PASSWORD
ENV
}

need_tools() {
  command -v java >/dev/null && command -v mvn >/dev/null && return 0
  [ "$(id -u)" = 0 ] || { log "java and mvn are missing and only root can install them"; exit 1; }
  local t0; t0=$(now)
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless maven >/dev/null
  log "installed Java and Maven in $(took "$t0")"
}

# mvn copy-dependencies of one artifact (and its runtime dependencies) into a directory.
fetch() { # groupId:artifactId dir
  local work; work=$(mktemp -d)
  cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>igbackup.test</groupId><artifactId>fetch</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies><dependency><groupId>${1%%:*}</groupId><artifactId>${1#*:}</artifactId><version>$VERSION</version></dependency></dependencies>
</project>
POM
  (cd "$work" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$2") >&2
  rm -rf "$work"
}

launcher() { # name class [classpath dir relative to the distribution]
  cat > "$DIST/bin/$1" <<SH
#!/bin/sh
# $1, as the packaged script runs it: java on the distribution's jars (NEO4J_HOME and NEO4J_CONF as usual).
DIST=\$(cd "\$(dirname "\$0")/.." && pwd)
NEO4J_HOME="\${NEO4J_HOME:-\$DIST}"; export NEO4J_HOME
exec java \${JAVA_OPTS:-} -cp "\$DIST/${3:-lib}/*" -Dbasedir="\$NEO4J_HOME" $2 "\$@"
SH
  chmod 755 "$DIST/bin/$1"
}

assemble() {
  [ -x "$DIST/bin/neo4j" ] && [ -f "$DIST/.complete" ] && return 0
  local t0; t0=$(now)
  rm -rf "$DIST"; mkdir -p "$DIST/bin"
  fetch org.neo4j:neo4j "$DIST/lib"
  fetch org.neo4j:cypher-shell "$DIST/cypher-shell/lib"
  launcher neo4j org.neo4j.server.startup.Neo4jCommand
  launcher neo4j-admin org.neo4j.server.startup.Neo4jAdminCommand
  launcher cypher-shell org.neo4j.shell.Main cypher-shell/lib
  touch "$DIST/.complete"
  log "assembled Neo4j $VERSION from Maven Central in $(took "$t0") ($(du -sh "$DIST" | cut -f1), $(ls "$DIST/lib" | wc -l) jars)"
}

free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# A DBMS home: conf (loopback, small heap and page cache, no HTTP, no usage reports), data, logs, run.
make_home() { # dir bolt-port
  mkdir -p "$1"/{conf,data,logs,run,import,plugins}
  cat > "$1/conf/neo4j.conf" <<CONF
server.default_listen_address=127.0.0.1
server.bolt.listen_address=127.0.0.1:$2
server.http.enabled=false
server.https.enabled=false
server.memory.heap.initial_size=256m
server.memory.heap.max_size=512m
server.memory.pagecache.size=64m
dbms.usage_report.enabled=false
CONF
  echo "$2" > "$1/bolt-port"
}

running() { [ -d "$HOME_DIR" ] && NEO4J_HOME=$HOME_DIR NEO4J_CONF=$HOME_DIR/conf "$DIST/bin/neo4j" status >/dev/null 2>&1; }

case "${1:-start}" in
  start)
    need_tools
    assemble
    if running; then log "already running on 127.0.0.1:$(cat "$HOME_DIR/bolt-port")"; exit 0; fi
    rm -rf "$HOME_DIR"
    make_home "$HOME_DIR" "$(free_port)"
    export NEO4J_HOME=$HOME_DIR NEO4J_CONF=$HOME_DIR/conf
    t0=$(now)
    "$DIST/bin/neo4j-admin" dbms set-initial-password "$PASSWORD" >/dev/null
    "$DIST/bin/neo4j" start >/dev/null
    port=$(cat "$HOME_DIR/bolt-port")
    for _ in $(seq 1 240); do
      echo 'RETURN 1;' | NEO4J_PASSWORD=$PASSWORD "$DIST/bin/cypher-shell" -a "bolt://127.0.0.1:$port" -u neo4j \
        --format plain >/dev/null 2>&1 && break
      sleep 0.5
    done
    echo 'RETURN 1;' | NEO4J_PASSWORD=$PASSWORD "$DIST/bin/cypher-shell" -a "bolt://127.0.0.1:$port" -u neo4j \
      --format plain >/dev/null 2>&1 || { log "Neo4j did not answer on 127.0.0.1:$port; see $HOME_DIR/logs"; exit 1; }
    log "Neo4j $VERSION ready on bolt://127.0.0.1:$port in $(took "$t0") (home $HOME_DIR)"
    ;;
  stop)
    running && NEO4J_HOME=$HOME_DIR NEO4J_CONF=$HOME_DIR/conf "$DIST/bin/neo4j" stop >/dev/null || true
    log "stopped"
    ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
