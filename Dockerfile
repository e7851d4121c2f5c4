# igbackup CronJob image: Node 26 (the current LTS), the newest PostgreSQL client from the PostgreSQL project's apt
# repository (a newer pg_dump dumps every older server; the one Debian ships is older than many servers), pgbackrest
# (point-in-time recovery), redis-tools, zstd, and kubectl for the kubernetes transport (copied from an official
# kubectl image; pick the version of your cluster). neo4j-admin is not included: it runs in the Neo4j pod or helper
# pod through the kubernetes transport (or build FROM your Neo4j image for local use). Non-root (uid 1000); the
# generated CronJob runs it with a read-only root filesystem (a backup streams: it needs no scratch space).
# Not built in this repository's CI (no container engine there); build with: docker build -t igbackup .
# Check what a build gives: docker run --rm igbackup doctor --env E (with the config and secrets mounted).
ARG NODE_IMAGE=node:26-trixie-slim
ARG KUBECTL_IMAGE=registry.k8s.io/kubectl:v1.34.0
# The PostgreSQL major of the client: the newest the PostgreSQL project ships (it dumps older servers too).
ARG PG_MAJOR=18
FROM ${KUBECTL_IMAGE} AS kubectl

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY scripts ./scripts
RUN npm ci && npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE}
ARG PG_MAJOR
# apt.postgresql.org: its signing key, then the client of PG_MAJOR (with pg_dump, pg_dumpall, pg_restore, psql).
# pgbackrest comes from the same repository: pgBackRest runs where PostgreSQL runs (igbackup drives it through the
# transport), and its versions must match exactly between hosts that talk to each other: pin it to the database
# hosts' version (apt-get install pgbackrest=<version>) when this image's pgbackrest is used.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && install -d /usr/share/postgresql-common/pgdg \
 && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc \
 && . /etc/os-release \
 && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" \
      > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" pgbackrest redis-tools zstd \
 && apt-get purge -y curl gnupg && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/igbackup
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=kubectl /bin/kubectl /usr/local/bin/kubectl
RUN ln -s /opt/igbackup/bin/igbackup /usr/local/bin/igbackup
# Runs as the image's unprivileged "node" user (uid 1000), with a read-only root filesystem in the CronJob.
USER 1000
ENV CI=true NO_COLOR=1
ENTRYPOINT ["igbackup"]
CMD ["--help"]
