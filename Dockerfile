# Hookpost: the compiled single executable on a slim glibc base, run as a non-root user.
#
#   docker build -t hookpost .
#   docker run -p 8080:8080 -v hookpost-data:/data -e HOOKPOST_API_KEY=... hookpost
#
# The database lives in the /data volume (/data/hookpost.db). Plugins: mount a folder of
# *.ts / *.js plugin files at /plugins, e.g. -v "$PWD/plugins:/plugins:ro".
# Both bases can be swapped with --build-arg; scripts/docker-check.sh builds this file with
# buildah from locally made bases, without a registry.

ARG BUN_IMAGE=oven/bun:1.4.5
ARG RUNTIME_IMAGE=debian:bookworm-slim

# --- build: compile src/main.ts into one executable -------------------------------------------
FROM ${BUN_IMAGE} AS build
# Behind a TLS-intercepting proxy, `bun install` needs the proxy's CA: mount a bundle into the
# build and name it here (--build-arg NODE_EXTRA_CA_CERTS=/path/in/build). Empty: Bun's own roots.
ARG NODE_EXTRA_CA_CERTS=
WORKDIR /src
# Dependencies first, so that a change of source reuses this layer. Bun reads package-lock.json.
COPY package.json package-lock.json ./
RUN bun install --frozen-lockfile --production --ignore-scripts
COPY tsconfig.json bunfig.toml ./
COPY migrations ./migrations
COPY migrations-postgres ./migrations-postgres
COPY src ./src
COPY scripts/build.ts ./scripts/build.ts
RUN bun scripts/build.ts /out/usr/local/bin/hookpost \
  && /out/usr/local/bin/hookpost --version \
  && mkdir -p /out/data /out/plugins

# --- runtime: the executable alone, no shell step, so any glibc base works --------------------
FROM ${RUNTIME_IMAGE}
COPY --from=build /out/usr/local/bin/hookpost /usr/local/bin/hookpost
COPY --from=build /out/plugins /plugins
COPY --from=build --chown=10001:10001 /out/data /data

ENV HOOKPOST_HOST=0.0.0.0 \
    HOOKPOST_PORT=8080 \
    HOOKPOST_DB_PATH=/data/hookpost.db \
    HOOKPOST_PLUGINS_DIR=/plugins

USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 8080

# `hookpost healthcheck` asks the local server's /health: no curl or shell needed in the image.
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD ["/usr/local/bin/hookpost", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/hookpost"]
CMD ["serve"]
