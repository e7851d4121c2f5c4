# igbackup CronJob image: Node 20, PostgreSQL 15 client, redis-tools, zstd, and kubectl for the kubernetes transport
# (copied from an official kubectl image; pick the version of your cluster). neo4j-admin is not included: it runs in
# the Neo4j pod or helper pod through the kubernetes transport (or build FROM your Neo4j image for local use).
# Not built in this repository's CI (no container engine there); build with: docker build -t igbackup .
ARG KUBECTL_IMAGE=registry.k8s.io/kubectl:v1.31.0
FROM ${KUBECTL_IMAGE} AS kubectl

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY scripts ./scripts
RUN npm ci && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 redis-tools zstd ca-certificates \
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
