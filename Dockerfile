# The coordinator image (also runs the example services and the demo).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build
ENV TWOPC_LISTEN=0.0.0.0:50051 TWOPC_METRICS_LISTEN=0.0.0.0:9464
EXPOSE 50051 9464
# Not root: the image's `node` user runs everything.
USER node
HEALTHCHECK --interval=5s --timeout=2s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/metrics').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js", "serve"]
