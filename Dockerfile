# One image, either role:
#   docker run IMAGE gateway --shard-stores ss00=http://...,...     (S3 on :9000)
#   docker run IMAGE shard-store --id ss00 --data /data --trusted-key /keys/gateway-key.pub.jwk --host 0.0.0.0 --port 7000
#   docker run -p 9000:9000 IMAGE dev --host 0.0.0.0                  (everything in one container, for trying it)

FROM node:20-bookworm-slim AS build
# The native addons (ours, better-sqlite3, the reference Reed-Solomon engine) build from source.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY native ./native
# Install without running `prepare` yet: the TypeScript sources are copied next.
RUN npm ci --ignore-scripts && npm rebuild && npm run build:native
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production SHARDGATE_DATA_DIR=/data
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/native/build/Release ./native/build/Release
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 9000 7000
USER node
ENTRYPOINT ["node", "--initial-old-space-size=128", "bin/shardgate.js"]
CMD ["gateway"]
