# syntax=docker/dockerfile:1
# Build: compile TypeScript to dist/ with the dev toolchain.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node_modules/.bin/tsc -p tsconfig.build.json

# Production dependencies only (the `node` devDependency that installs Node 24 for development is left out).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
# jemalloc for the production stage, copied to a path that does not depend on the architecture. It needs only libc,
# libm, libgcc_s and libstdc++, which the distroless Node image has.
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 && rm -rf /var/lib/apt/lists/* \
 && cp /usr/lib/*-linux-gnu/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /usr/local/lib/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY crds ./crds
USER 65532:65532
EXPOSE 9402
# jemalloc, not glibc's malloc: glibc keeps the pages an issuance burst freed (OpenSSL, TLS, response buffers) and
# only malloc_trim, which Node does not call, gives them back; jemalloc returns them after its decay time. Idle after
# issuing 10,000 Certificates at once: 139–147 MiB instead of 152–156 (docs/benchmarks.md).
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2
# Exec form: node is PID 1 and receives SIGTERM itself; the operator handles it and releases its Lease.
# A young generation of at most 2 × 4 MiB: V8's default grows it to ~100 MiB under an issuance burst, and at 8 MiB
# semi-spaces a /metrics scrape kept 16 MiB of it resident (4 MiB: 8 MiB, for ~7 % more CPU in a resync). The old
# generation grows by 25 % over what survived the last full collection, not V8's adaptive 1.1–4 ×. The benchmark runs
# the operator as this stage does (bench/issuance.ts; a test checks they agree). --expose-gc lets the operator run
# one last-resort collection when it falls idle after a burst: V8 otherwise keeps the freed pages resident
# (src/runtime/memory-trim.ts).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=4", "--heap-growing-percent=25", "--expose-gc", "dist/main.js"]
