#!/usr/bin/env bash
# npm run check:docker — builds the repository's Dockerfile and runs the image, with no Docker
# engine and no container registry: buildah (Debian's package) in rootless mode, chroot
# isolation, vfs storage, from bases made on this machine.
#
# What it does
#   1. (as root) installs what is missing: buildah, debootstrap, uidmap (apt-get); lints the
#      Dockerfile (dockerfilelint; hadolint too when it is on PATH); debootstraps a minimal
#      Debian rootfs into a tarball (once, cached); creates the unprivileged user
#      `hookpost-build` with subordinate ids, and re-runs itself as that user.
#   2. (rootless) imports the rootfs as localhost/debian-base:bookworm; makes
#      localhost/bun-local:VERSION from it plus the Bun binary npm already installed
#      (node_modules/bun: nothing downloaded); builds the Dockerfile with
#        --build-arg BUN_IMAGE=localhost/bun-local:VERSION
#        --build-arg RUNTIME_IMAGE=localhost/debian-base:bookworm
#      (the builder stage's `bun install` reaches the npm registry over the host network; a
#      NODE_EXTRA_CA_CERTS bundle of the host is lent to it for a TLS-intercepting proxy);
#   3. runs the image as `docker run` would — its ENTRYPOINT and CMD, its USER, a host folder
#      as the /data volume and another, holding a copy of the repository's plugins/*.ts|js, as
#      /plugins (listed by GET /plugins) — and expects 200 from /health, /swagger,
#      its assets and /swagger/json, 200 from GET /webhooks with the HOOKPOST_API_KEY it was
#      given, the database at /data/hookpost.db owned by the image's user, the image's own
#      HEALTHCHECK command passing while it runs and failing once it is stopped.
#
# Usage
#   npm run check:docker            # or: bash scripts/docker-check.sh
#   Run it as root on a Debian machine that reaches Debian's mirror and the npm registry, after
#   `npm install`. A non-root user with buildah, subordinate ids and the rootfs tarball already
#   made (HOOKPOST_DOCKER_WORK) can run it too.
#
# Settings (environment)
#   HOOKPOST_DOCKER_WORK   cache and scratch folder (default /var/tmp/hookpost-docker);
#                          delete it to start from nothing
#   HOOKPOST_DOCKER_PORT   host port the container listens on (default 18080; host network)
#   HOOKPOST_DOCKER_USER   the unprivileged build user (default hookpost-build)
#   HOOKPOST_DOCKER_PLUGINS  folder whose *.ts / *.js files are mounted at /plugins (default the
#                          repository's plugins/; empty: an empty /plugins)
#   DEBIAN_SUITE, DEBIAN_MIRROR   for debootstrap (bookworm, http://deb.debian.org/debian)
#
# With a real Docker engine the same Dockerfile builds from the registries' bases:
#   docker build -t hookpost . && docker run -p 8080:8080 -v hookpost-data:/data hookpost
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$REPO/scripts/docker-check.sh"
WORK=${HOOKPOST_DOCKER_WORK:-/var/tmp/hookpost-docker}
PORT=${HOOKPOST_DOCKER_PORT:-18080}
BUILD_USER=${HOOKPOST_DOCKER_USER:-hookpost-build}
PLUGINS_SRC=${HOOKPOST_DOCKER_PLUGINS-$REPO/plugins}
SUITE=${DEBIAN_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOTFS_TAR="$WORK/debian-$SUITE-minbase.tar"
BUN_BIN="$REPO/node_modules/bun/bin/bun.exe"
BASE_IMAGE="localhost/debian-base:$SUITE"
IMAGE="localhost/hookpost:check"
STARTED=$SECONDS

say() { printf '\n== %s\n' "$*"; }
die() { printf 'docker-check: %s\n' "$*" >&2; exit 1; }

# --- phase 1: root ---------------------------------------------------------------------------
prepare_as_root() {
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v newuidmap >/dev/null || missing+=(uidmap)
  if ((${#missing[@]} > 0)); then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  [[ -x "$BUN_BIN" ]] || die "no $BUN_BIN: run npm install first"

  say "lint: dockerfilelint Dockerfile"
  (cd "$REPO" && node_modules/.bin/dockerfilelint Dockerfile)
  if command -v hadolint >/dev/null; then
    say "lint: hadolint Dockerfile"
    hadolint "$REPO/Dockerfile"
  fi

  mkdir -p "$WORK"
  if [[ ! -s "$ROOTFS_TAR" ]]; then
    say "debootstrap --variant=minbase $SUITE from $MIRROR"
    local rootfs="$WORK/rootfs"
    rm -rf "$rootfs"
    local t0=$SECONDS
    debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
      { tail -20 "$WORK/debootstrap.log"; die "debootstrap failed"; }
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
      "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
    # A container base has an empty /dev, /proc and /sys (the runtime provides them).
    tar -C "$rootfs" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' \
      --exclude='./sys/*' -cf "$ROOTFS_TAR.part" .
    mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"
    rm -rf "$rootfs"
    echo "rootfs: $(du -h "$ROOTFS_TAR" | cut -f1) in $((SECONDS - t0)) s"
  else
    echo "rootfs: cached $ROOTFS_TAR"
  fi

  if ! id "$BUILD_USER" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$BUILD_USER"
  fi
  local ids=0
  grep -q "^$BUILD_USER:" /etc/subuid 2>/dev/null && ids=$((ids + 1))
  grep -q "^$BUILD_USER:" /etc/subgid 2>/dev/null && ids=$((ids + 1))
  if ((ids < 2)); then
    usermod --add-subuids 300000-365535 --add-subgids 300000-365535 "$BUILD_USER"
  fi
  mkdir -p "$WORK/rootless"
  chown "$BUILD_USER:" "$WORK" "$ROOTFS_TAR"
  chown -R "$BUILD_USER:" "$WORK/rootless"
  local home
  home=$(getent passwd "$BUILD_USER" | cut -d: -f6)
  say "continuing rootless as $BUILD_USER ($(id -u "$BUILD_USER")), subuids $(grep "^$BUILD_USER:" /etc/subuid)"
  exec runuser -u "$BUILD_USER" -- env -i PATH="$PATH" HOME="$home" USER="$BUILD_USER" \
    HOOKPOST_DOCKER_WORK="$WORK" HOOKPOST_DOCKER_PORT="$PORT" DEBIAN_SUITE="$SUITE" \
    NODE_EXTRA_CA_CERTS="${NODE_EXTRA_CA_CERTS:-}" HOOKPOST_DOCKER_PLUGINS="$PLUGINS_SRC" \
    DOCKER_CHECK_ELAPSED="$((SECONDS - STARTED))" bash "$SELF" --rootless
}

# --- phase 2: rootless build -----------------------------------------------------------------
STORE="$WORK/rootless"
BH=(buildah --root "$STORE/storage" --runroot "$STORE/run" --storage-driver vfs)
bh() { "${BH[@]}" "$@"; }
export BUILDAH_ISOLATION=chroot

has_image() { bh inspect --type image "$1" >/dev/null 2>&1; }

make_bases() {
  if ! has_image "$BASE_IMAGE"; then
    say "importing the rootfs as $BASE_IMAGE"
    local ctr
    ctr=$(bh from scratch)
    bh add "$ctr" "$ROOTFS_TAR" /
    bh config --cmd '["/bin/bash"]' \
      --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
    bh commit --rm --quiet "$ctr" "$BASE_IMAGE" >/dev/null
  fi
  BUN_VERSION=$("$BUN_BIN" --version)
  BUN_IMAGE="localhost/bun-local:$BUN_VERSION"
  if ! has_image "$BUN_IMAGE"; then
    say "making $BUN_IMAGE: $BASE_IMAGE + node_modules/bun ($BUN_VERSION)"
    local ctr
    ctr=$(bh from --pull=never "$BASE_IMAGE")
    bh copy --chmod 0755 "$ctr" "$BUN_BIN" /usr/local/bin/bun
    bh run "$ctr" -- ln -s bun /usr/local/bin/bunx
    bh commit --rm --quiet "$ctr" "$BUN_IMAGE" >/dev/null
  fi
  bh images
}

build_image() {
  say "buildah bud (rootless, --isolation chroot, vfs) -t $IMAGE"
  local t0=$SECONDS
  local -a extra=()
  # This machine may reach the npm registry through a TLS-intercepting proxy whose CA the host
  # trusts via NODE_EXTRA_CA_CERTS: lend that bundle to the builder stage's `bun install`.
  if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -r "$NODE_EXTRA_CA_CERTS" ]]; then
    echo "lending NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS to the build"
    extra+=(--volume "$NODE_EXTRA_CA_CERTS:/run/hookpost-build-ca.crt:ro"
      --build-arg NODE_EXTRA_CA_CERTS=/run/hookpost-build-ca.crt)
  fi
  bh bud --isolation chroot --format docker --pull=never --layers "${extra[@]}" \
    --build-arg "BUN_IMAGE=$BUN_IMAGE" --build-arg "RUNTIME_IMAGE=$BASE_IMAGE" \
    -f "$REPO/Dockerfile" -t "$IMAGE" "$REPO"
  echo "image built in $((SECONDS - t0)) s"
}

# --- phase 3: run it -------------------------------------------------------------------------
PASSED=0
FAILED=0
pass() { echo "PASS $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }
expect() { # expect DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
expect_status() { # expect_status CODE PATH [curl args...]
  local code=$1 path=$2
  shift 2
  local got
  got=$(http_status "$@" "http://127.0.0.1:$PORT$path")
  if [[ "$got" == "$code" ]]; then pass "GET $path -> $got"; else fail "GET $path -> $got, want $code"; fi
}

# One field of the built image's Docker configuration: a JavaScript expression over `c`.
image_field() {
  node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const c = d.Docker.config ?? d.Docker.Config; process.stdout.write(String(eval(process.argv[1])))' \
    "$1" <"$STORE/inspect.json"
}
# An array field, as NUL-separated words (for `read -d ''`).
image_words() { image_field "($1).map((word) => word + '\\0').join('')"; }

run_image() {
  say "image configuration"
  bh inspect --type image "$IMAGE" >"$STORE/inspect.json"
  local user volumes ports health size
  user=$(image_field 'c.User')
  volumes=$(image_field 'Object.keys(c.Volumes ?? {}).join(" ")')
  ports=$(image_field 'Object.keys(c.ExposedPorts ?? {}).join(" ")')
  health=$(image_field 'JSON.stringify(c.Healthcheck)')
  size=$(bh images --format '{{.Size}}' "$IMAGE" | head -1)
  local -a command=() health_args=()
  local word
  while IFS= read -r -d '' word; do command+=("$word"); done < <(
    image_words '[...(c.Entrypoint ?? []), ...(c.Cmd ?? [])]'
  )
  # The HEALTHCHECK's exec form ["CMD", args...], without its "CMD".
  while IFS= read -r -d '' word; do health_args+=("$word"); done < <(
    image_words 'c.Healthcheck.Test.slice(1)'
  )
  printf 'user=%s\ncommand=%s\nvolumes=%s\nexposed=%s\nhealthcheck=%s\nsize=%s\n' \
    "$user" "${command[*]}" "$volumes" "$ports" "$health" "$size"
  expect "runs as a non-root user ($user)" test -n "$user" -a "${user%%:*}" != 0 -a "$user" != root
  expect "VOLUME /data" test "$volumes" = "/data"
  expect "EXPOSE 8080" test "$ports" = "8080/tcp"
  expect "ENTRYPOINT + CMD = /usr/local/bin/hookpost serve" test "${command[*]}" = "/usr/local/bin/hookpost serve"
  expect "HEALTHCHECK kept in the image" grep -q 'healthcheck' <<<"$health"

  local ctr data plugins key log
  ctr=$(bh from --pull=never --name "hookpost-check-$$" "$IMAGE")
  CONTAINER=$ctr
  expect "the image holds no source, node_modules or Bun besides the executable" \
    bh run "$ctr" -- /bin/sh -c \
    'test ! -e /src && test ! -e /node_modules && test ! -e /usr/local/bin/bun && test -x /usr/local/bin/hookpost'
  data="$WORK/rootless/volume-data"
  plugins="$WORK/rootless/volume-plugins"
  bh unshare rm -rf "$data" "$plugins"
  mkdir -p "$data" "$plugins"
  bh unshare chown "${user}" "$data"
  local -a plugin_files=()
  local file
  if [[ -n "$PLUGINS_SRC" ]]; then
    for file in "$PLUGINS_SRC"/*.ts "$PLUGINS_SRC"/*.js; do
      [[ -f "$file" ]] || continue
      cp "$file" "$plugins/"
      plugin_files+=("$(basename "$file")")
    done
  fi
  echo "plugins mounted at /plugins: ${plugin_files[*]:-(none)}"
  key="hpk_$(node -e 'process.stdout.write(require("crypto").randomBytes(30).toString("base64url").replace(/[-_]/g, "x"))')"
  log="$WORK/rootless/container.log"

  say "running: ${command[*]}  (-v $data:/data -v $plugins:/plugins:ro, port $PORT)"
  local t0
  t0=$(date +%s%N)
  "${BH[@]}" run --volume "$data:/data" --volume "$plugins:/plugins:ro" \
    --env "HOOKPOST_PORT=$PORT" --env "HOOKPOST_API_KEY=$key" \
    "$ctr" -- "${command[@]}" >"$log" 2>&1 &
  SERVER_PID=$!
  local up=0
  for _ in $(seq 1 300); do
    if [[ "$(http_status "http://127.0.0.1:$PORT/health")" == 200 ]]; then up=1; break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if ((up == 0)); then cat "$log"; die "the container did not answer /health"; fi
  echo "startup: $((($(date +%s%N) - t0) / 1000000)) ms until /health answered (including buildah run)"

  expect_status 200 /health
  curl -s "http://127.0.0.1:$PORT/health"
  echo
  expect_status 200 /swagger
  expect_status 200 /swagger/assets/swagger-ui-bundle.js
  expect_status 200 /swagger/assets/swagger-ui.css
  expect_status 200 /swagger/json
  expect_status 401 /webhooks
  expect_status 200 /webhooks -H "X-Api-Key: $key"
  if ((${#plugin_files[@]} > 0)); then
    expect_status 200 /plugins -H "X-Api-Key: $key"
    local listed
    listed=$(curl -s -H "X-Api-Key: $key" "http://127.0.0.1:$PORT/plugins")
    for file in "${plugin_files[@]}"; do
      expect "GET /plugins lists the mounted $file" grep -qF "\"$file\"" <<<"$listed"
    done
  fi
  expect "the Swagger UI page loads nothing from another host" \
    bash -c "! curl -s http://127.0.0.1:$PORT/swagger | grep -Eq '(src|href)=\"https?://'"
  expect "the database is /data/hookpost.db in the volume, owned by $user" \
    bh unshare bash -c "test \"\$(stat -c %u:%g '$data/hookpost.db')\" = '$user'"

  # Docker runs the health check inside the container, with the container's environment.
  expect "the image's HEALTHCHECK command passes while the server runs" \
    bh run --env "HOOKPOST_PORT=$PORT" "$ctr" -- "${health_args[@]}"

  say "stopping: SIGTERM to the server, as docker stop sends"
  stop_server
  expect "the server shut down on SIGTERM (buildah run exit $STOP_CODE)" test "$STOP_CODE" = 0
  expect "it logged its graceful shutdown" grep -q '"shutting down","signal":"SIGTERM"' "$log"
  if bh run --env "HOOKPOST_PORT=$PORT" "$ctr" -- "${health_args[@]}" 2>/dev/null; then
    fail "the HEALTHCHECK command still passes with the server stopped"
  else
    pass "the HEALTHCHECK command fails with the server stopped"
  fi
  echo "--- container log (first lines)"
  head -5 "$log" | sed 's/hpk_[A-Za-z0-9]*/hpk_…/g'
}

SERVER_PID=""
STOP_CODE=""
CONTAINER=""
# The pid of the process named $2 among the descendants of pid $1 (breadth first).
descendant_named() {
  local -a queue=("$1")
  local pid child
  while ((${#queue[@]} > 0)); do
    pid=${queue[0]}
    queue=("${queue[@]:1}")
    for child in $(ps -o pid= --ppid "$pid"); do
      if [[ "$(ps -o comm= -p "$child")" == "$2" ]]; then
        echo "$child"
        return 0
      fi
      queue+=("$child")
    done
  done
  return 1
}
# Stops the container's server; STOP_CODE is the exit code of its `buildah run`. `buildah run`
# does not pass SIGTERM on (it kills its child), so the signal is sent from inside the
# container, by the container's user, as `docker stop` would deliver it.
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  local server
  if server=$(descendant_named "$SERVER_PID" hookpost); then
    bh run "$CONTAINER" -- /bin/bash -c "kill -TERM $server" >&2 || true
  fi
  for _ in $(seq 1 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
  STOP_CODE=0
  wait "$SERVER_PID" 2>/dev/null || STOP_CODE=$?
  SERVER_PID=""
}
cleanup() {
  stop_server
  [[ -z "$CONTAINER" ]] || bh rm "$CONTAINER" >/dev/null 2>&1 || true
}

rootless_main() {
  [[ -s "$ROOTFS_TAR" ]] || die "no rootfs tarball $ROOTFS_TAR: run this script as root once"
  [[ -x "$BUN_BIN" ]] || die "no $BUN_BIN: run npm install first"
  command -v buildah >/dev/null || die "buildah is not installed (apt-get install buildah)"
  trap cleanup EXIT
  say "rootless: uid $(id -u), buildah $(buildah --version | cut -d' ' -f3), storage vfs in $STORE"
  make_bases
  build_image
  run_image
  say "docker check: $PASSED passed, $FAILED failed ($((SECONDS + ${DOCKER_CHECK_ELAPSED:-0})) s in all)"
  ((FAILED == 0))
}

if [[ "${1:-}" == "--rootless" ]]; then
  rootless_main
elif [[ $EUID -eq 0 ]]; then
  prepare_as_root
else
  rootless_main
fi
