# Two images from one file.
#   server (the default, last stage): the coordinator from the packed
#     packages, runtime dependencies only, non-root, node as PID 1 (it
#     handles SIGTERM: running calls finish, then it exits).
#   dev (--target dev): the checkout with its development tooling, for the
#     example services, the demo and the development PKI of the compose files.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages/sdk/package.json packages/sdk/
RUN npm ci --no-audit --no-fund
COPY . .
RUN mkdir /pkg && npm pack --workspace=twopc --pack-destination /pkg \
  && npm pack --pack-destination /pkg

FROM build AS dev
USER node

FROM node:20-bookworm-slim AS server
WORKDIR /app
COPY --from=build /pkg/ /tmp/pkg/
RUN echo '{"name":"twopc-deployment","private":true}' > package.json \
  && npm install --omit=dev --no-audit --no-fund /tmp/pkg/*.tgz \
  && rm -rf /tmp/pkg && npm cache clean --force
ENV TWOPC_LISTEN=0.0.0.0:50051 TWOPC_METRICS_LISTEN=0.0.0.0:9464
EXPOSE 50051 9464
USER node
HEALTHCHECK --interval=5s --timeout=2s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/metrics').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "node_modules/twopc-server/bin/twopc.js", "serve"]
