# syntax=docker/dockerfile:1
# cloudwiki web tier as a container: the same build and start as the EC2 release
# (node dist/app/server.js, configured only by environment variables, see app/config.ts).
#   docker build -t cloudwiki .
#   docker run --rm -p 3000:3000 --env-file cloudwiki.env cloudwiki

ARG NODE_IMAGE=node:22-bookworm-slim

# Compile TypeScript with the full dependency tree.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies only, from the same lockfile; no install scripts run.
FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# HOST: every interface of the container, which is how a port mapping or a load balancer reaches
# it. WEB_CONCURRENCY stays unset: the app runs one worker per vCPU the container is given.
# NODE_OPTIONS and GLIBC_TUNABLES bound each worker's memory: productionRuntimeEnv in
# app/contracts.ts says why (test/contracts.test.ts keeps them equal).
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    NODE_OPTIONS=--max-old-space-size=192 \
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576
WORKDIR /app
COPY --from=production-dependencies --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist/app ./dist/app
# dist/app/server.js reads its version from ../package.json, which the TypeScript build emits.
COPY --from=build --chown=root:root /app/dist/package.json ./dist/package.json
COPY --chown=root:root package.json ./
# The image's unprivileged "node" user runs the app and can write nothing in /app: the web tier
# keeps no local state.
USER node
EXPOSE 3000
# The shallow check, as the load balancer uses it: it never touches the database, so a database
# failover does not get every container restarted. While the app drains it answers 503, which is
# the point: the orchestrator stops routing here. Node's own fetch: slim images have no curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node (the cluster primary) is PID 1 and receives SIGTERM itself, then drains its
# workers: /health answers 503 for DRAIN_DELAY_MS (25 s) while requests are still served, then
# in-flight requests get DRAIN_TIMEOUT_MS (15 s). Docker's default stop timeout is 10 s, so stop
# with `docker stop -t 60` (ECS: stopTimeout 60), above the 40 s drain plus a margin, as the EC2
# unit's TimeoutStopSec is.
STOPSIGNAL SIGTERM
CMD ["node", "dist/app/server.js"]
