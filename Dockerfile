# syntax=docker/dockerfile:1
# The invitation service's one image, for both processes (docs/operations.md, "Containers"):
#   the API (default):  node dist/src/api/server.js
#   the worker:         node --max-semi-space-size=2 --max-old-space-size=256 dist/worker.js
# Plain node on compiled JavaScript (npm run build); no tsx, no TypeScript sources at run time.
# CI replays these steps without Docker (scripts/container-build-check.ts, test/containers.test.ts),
# so keep to the instructions it knows: FROM, ARG, WORKDIR, COPY, RUN, ENV, USER, EXPOSE,
# HEALTHCHECK, CMD, and RUN's cache mount (npm's cache stays out of the image).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ── deps: every dependency, from the lockfile (the workspace's package.json is part of it) ──
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json packages/client/
# npm ci's postinstall applies these to node_modules (the database driver's fix, docs/faults.md).
COPY patches patches
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

# ── build: dist/ (the compiled service, its assets, the workflow bundle dist/workflows.js) ──
FROM deps AS build
COPY tsconfig.json tsconfig.build.json worker.ts ./
COPY src src
COPY emails emails
COPY scripts scripts
RUN npm run build

# ── runtime: production dependencies and dist/ only, run as the unprivileged user `node` ──
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json packages/client/
COPY patches patches
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist dist
# The API listens on every interface of the container (the service's default is loopback);
# the worker loads the prebuilt bundle instead of running webpack at start; glibc keeps fewer
# malloc arenas for the native threads (operations.md, "The worker process").
ENV HOST=0.0.0.0 \
    PORT=3000 \
    WORKER_WORKFLOW_BUNDLE=dist/workflows.js \
    MALLOC_ARENA_MAX=2
USER node
EXPOSE 3000
# The API's liveness (GET /healthz). The worker serves no HTTP: compose gives it its own check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/api/server.js"]
