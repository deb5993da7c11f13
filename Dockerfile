# upstream-watch in a container, for running beside the services it deploys
# with the host's Docker socket mounted (see examples/compose/compose.yaml).
#
#   docker build -t upstream-watch .
#
# Stage 1 compiles the standalone binary with `deno task compile`, so the
# permission flags come from the one list in scripts/permissions.ts, exactly
# as in the release binaries. `deno compile` downloads Deno's runtime for the
# target, so the build needs network access (image builds normally have it).
# The final image holds no Deno and no sources: the binary, git, ssh, the
# docker CLI with the compose plugin, tini and curl (for the health check).
#
# Build arguments for machines that cannot pull these images or download
# Deno's runtime (the Docker tests build the image so, see CONTRIBUTING.md):
# - BUILD_IMAGE, DOCKER_CLI_IMAGE, BASE_IMAGE replace the three images below;
#   BASE_IMAGE must be Debian bookworm, DOCKER_CLI_IMAGE must hold the docker
#   CLI and its compose plugin at the paths copied below.
# - AGENT=source puts Deno and the sources in the image instead of the
#   compiled binary: /usr/local/bin/upstream-watch is then a launcher running
#   main.ts with the same flags (scripts/source_launcher.ts), offline from the
#   npm packages `deno install` cached in the build stage.

ARG DENO_VERSION=2.9.6
ARG DOCKER_CLI_VERSION=28
ARG BUILD_IMAGE=denoland/deno:${DENO_VERSION}
ARG DOCKER_CLI_IMAGE=docker:${DOCKER_CLI_VERSION}-cli
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BUILD_IMAGE} AS build
ARG AGENT=compiled
WORKDIR /src
# Dependencies first: this layer is rebuilt only when they change.
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY main.ts ./
COPY scripts/ scripts/
COPY src/ src/
# Compiles for the platform this stage runs on (the target platform of a
# `docker buildx build --platform …`), i.e. x86_64 or aarch64 Linux.
RUN set -eu; \
    case "$AGENT" in \
      compiled) \
        target="$(uname -m)-unknown-linux-gnu"; \
        deno task compile --target "$target"; \
        install -D -m 0755 "dist/upstream-watch-$target" /out/bin/upstream-watch; \
        /out/bin/upstream-watch version ;; \
      source) \
        app=/usr/local/lib/upstream-watch; \
        mkdir -p "/out/lib/upstream-watch"; \
        cp -R deno.json deno.lock main.ts src "/out/lib/upstream-watch/"; \
        cp -R "${DENO_DIR:?the build image must set DENO_DIR}" "/out/lib/upstream-watch/deno-dir"; \
        install -D -m 0755 "$(command -v deno)" /out/bin/deno; \
        deno run --allow-write scripts/source_launcher.ts /out/bin/upstream-watch "$app" ;; \
      *) echo "AGENT must be compiled or source, not \"$AGENT\"" >&2; exit 1 ;; \
    esac

# Static docker CLI and compose plugin, multi-arch, from Docker's own image.
FROM ${DOCKER_CLI_IMAGE} AS docker-cli

FROM ${BASE_IMAGE}

# Installs what the base lacks (a base built with these packages, as the
# Docker tests' is, needs no package index).
# hadolint ignore=DL3008
RUN packages="ca-certificates curl git openssh-client tini"; \
    if ! dpkg -s $packages >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install -y --no-install-recommends $packages \
        && rm -rf /var/lib/apt/lists/*; \
    fi

COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=docker-cli /usr/local/libexec/docker/cli-plugins/docker-compose /usr/local/libexec/docker/cli-plugins/docker-compose

# The infrastructure repository is bind-mounted from the host and is usually
# owned by another uid than the container's user; git (>= 2.35.2) refuses to
# work in such a repository unless it is marked safe. This image runs nothing
# but upstream-watch on the repository it is given, so every path is trusted.
# An optional unprivileged user: `user: upstream-watch` in compose, plus
# `group_add: ["<gid of the host's docker group>"]` for the socket. The image
# runs as root by default because the docker socket is root-equivalent anyway
# and its group id differs from host to host.
ARG UID=1000
ARG GID=1000
RUN git config --system --add safe.directory '*' \
    && groupadd --gid "${GID}" upstream-watch \
    && useradd --uid "${UID}" --gid upstream-watch --create-home --shell /usr/sbin/nologin upstream-watch

# Mount the repository here, or better at the same absolute path as on the
# host and set working_dir to it (see examples/compose/compose.yaml).
WORKDIR /repo

# Only meaningful with the HTTP endpoint on (`webhook:` in
# .upstream-watch.yaml, listening on 9000 inside the container): without it
# the container reports unhealthy. Point UPSTREAM_WATCH_HEALTH_URL elsewhere
# for another port.
ENV UPSTREAM_WATCH_HEALTH_URL=http://127.0.0.1:9000/healthz
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS "$UPSTREAM_WATCH_HEALTH_URL" > /dev/null || exit 1

# tini is PID 1: it forwards SIGTERM to upstream-watch (which lets a running
# hook finish, docs/design.md#stopping) and reaps orphaned grandchildren of hook commands.
# `-s` registers it as a subreaper too, so it also works under `init: true`
# or `docker run --init`, where Docker's own init is PID 1.
ENTRYPOINT ["tini", "-s", "--", "upstream-watch"]
CMD ["run"]

# The agent last, so that a new version of it rebuilds only these layers.
COPY --from=build /out/ /usr/local/
RUN docker --version \
    && docker compose version \
    && upstream-watch version
