# One image for every service; docker-compose.yml picks the entry point per service.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
USER node
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["cli/main.ts", "--help"]
