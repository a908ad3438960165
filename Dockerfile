# The coordinator image (also runs the example services and the demo).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build
ENV TWOPC_LISTEN=0.0.0.0:50051
EXPOSE 50051 9464
CMD ["node", "dist/main.js", "serve"]
