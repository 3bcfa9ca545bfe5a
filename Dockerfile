# syntax=docker/dockerfile:1
# The pipeline's image, compiled to JavaScript (no TypeScript loader at run time).
#
#   docker build -t outage .                        # target `server` (the default): the services
#                                                   # and the CLI against Kafka and a ClickHouse
#                                                   # server; chDB is not in it
#   docker build --target embedded -t outage:embedded .   # with chDB: `outage serve` on its own
#
# docker-compose.yml and the Helm chart (deploy/helm/outage) run `server`, one service per
# container: `node dist/services/<name>/main.js`; the CLI is `node dist/cli/main.js <command>`.
# `npm ci` refuses this lock file (chDB lists native packages for platforms the registry does not
# serve here), so the stages run `npm install` with the lock file present: the locked versions.

# node 20.20.2 on Debian bookworm (slim), pinned by tag and manifest-list digest.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0

# --- build: every dependency, the TypeScript compiled into dist/ -------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY cli ./cli
COPY lib ./lib
COPY schemas ./schemas
COPY services ./services
RUN node bin/build.js

# --- runtime dependencies: without devDependencies, and without the optional chDB ---------------
FROM ${NODE_IMAGE} AS deps-server
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS deps-embedded
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- embedded: `outage serve` with chDB in /data (status page and API on 8080) -------------------
FROM ${NODE_IMAGE} AS embedded
ENV NODE_ENV=production NODE_OPTIONS=--enable-source-maps \
    OUTAGE_DATA_DIR=/data/chdb API_HOST=0.0.0.0 API_PORT=8080
WORKDIR /app
COPY --from=deps-embedded /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.API_PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node"]
CMD ["dist/cli/main.js", "serve"]

# --- server (default): one service per container against Kafka and a ClickHouse server ----------
FROM ${NODE_IMAGE} AS server
ENV NODE_ENV=production NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY --from=deps-server /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
# Where a service keeps its small state (the social ingest's cursor), writable by the user below.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# PORT: /metrics, /healthz, /readyz of every service; the report API and the query API add their own.
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||9464)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node"]
CMD ["dist/cli/main.js", "--help"]
