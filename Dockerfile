# One image for every livesale process; the command picks the role (docker-compose.yml).
#   build:   every dependency, then `npm run build` (processes into dist/, pages into dist/public)
#   runtime: production dependencies and dist/ only, as the unprivileged `node` user

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Root owns the code; the processes only read it.
USER node
EXPOSE 8080
# The gateway's liveness; slim has no curl, so node's own fetch. Other roles override or disable it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/scripts/gateway.js"]
