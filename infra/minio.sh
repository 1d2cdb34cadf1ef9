#!/usr/bin/env bash
# Local MinIO on 127.0.0.1 for the tests and for running the sample bot.
#
#   minio.sh ensure           print the path of a minio binary, building it with Go if none is found
#   minio.sh start DATA_DIR   start a server on free ports; its log and pid file go beside DATA_DIR
#   minio.sh stop PIDFILE     stop the server that `start` recorded in PIDFILE
#   minio.sh run              keep a server up in .minio/ on port ${MINIO_PORT:-9000}, create ${S3_BUCKET:-telegram-bot}
#
# Results go to stdout as KEY=VALUE lines; everything else goes to stderr.
set -euo pipefail

# RELEASE.2025-09-06 mishandles conditional writes (If-None-Match / If-Match on PutObject), which this
# library relies on; any revision from RELEASE.2025-09-07 on is fine. The Go module proxy serves minio
# only as pseudo-versions, so the pin is a commit of 2026-02-12.
readonly MINIO_REV=v0.0.0-20260212201848-7aac2a2c5b7c
readonly CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/telegram-s3-persistence/minio-$MINIO_REV"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly START_TIMEOUT_SECONDS=60
readonly STOP_TIMEOUT_SECONDS=10
# Exported so that both the server and create-bucket.mjs see the same credentials.
export MINIO_ROOT_USER="${MINIO_ROOT_USER:-minioadmin}"
export MINIO_ROOT_PASSWORD="${MINIO_ROOT_PASSWORD:-minioadmin}"

log() { printf 'minio.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# Sets MINIO (the binary) and MINIO_SOURCE (where it came from: MINIO_BIN, PATH, cached or built).
find_minio() {
  if [[ -n "${MINIO_BIN:-}" ]]; then
    [[ -x "$MINIO_BIN" ]] || die "MINIO_BIN=$MINIO_BIN is not an executable file"
    MINIO=$MINIO_BIN MINIO_SOURCE=MINIO_BIN
  elif MINIO=$(command -v minio); then
    MINIO_SOURCE=PATH
  elif [[ -x "$CACHE_DIR/minio" ]]; then
    MINIO=$CACHE_DIR/minio MINIO_SOURCE=cached
  else
    build_minio
  fi
}

# Builds the pinned revision into the cache, unless a run that held the lock before us just did.
build_minio() {
  local lock_fd
  command -v go >/dev/null ||
    die "no minio binary found and no Go toolchain to build one: install Go, or set MINIO_BIN to a minio of RELEASE.2025-09-07 or later"
  mkdir -p "$CACHE_DIR"
  # Two runs starting at once must not both spend minutes building: the second waits, then finds the binary.
  exec {lock_fd}>"$CACHE_DIR/.build.lock"
  flock "$lock_fd"
  MINIO=$CACHE_DIR/minio MINIO_SOURCE=cached
  if [[ ! -x "$MINIO" ]]; then
    local staging started=$SECONDS
    rm -rf -- "$CACHE_DIR"/build.* # left by an interrupted build; the lock says no build is running now
    staging=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
    log "building github.com/minio/minio@$MINIO_REV with Go (minutes on a cold Go cache)"
    GOBIN=$staging GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$MINIO_REV" >&2 ||
      die "go install github.com/minio/minio@$MINIO_REV failed (output above)"
    # A rename within one directory is atomic: an interrupted build never leaves a half-written binary behind.
    mv "$staging/minio" "$CACHE_DIR/minio"
    rm -rf -- "$staging"
    log "built minio in $((SECONDS - started))s into $CACHE_DIR"
    MINIO_SOURCE=built
  fi
  exec {lock_fd}>&-
}

# Prints N distinct free TCP ports on 127.0.0.1: all are held open together, so they differ.
free_ports() {
  node -e '
    const net = require("node:net");
    const servers = Array.from({ length: Number(process.argv[1]) }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", ok)))).then(() => {
      console.log(servers.map((s) => s.address().port).join(" "));
      servers.forEach((s) => s.close());
    });
  ' "$1"
}

is_live() { curl -fsS --max-time 2 -o /dev/null "$1/minio/health/live" 2>/dev/null; }

# A pid that exited may linger as a zombie of whoever adopted it; that counts as stopped.
is_running() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ "$state" != Z* ]]
}

# launch DATA_DIR API_PORT CONSOLE_PORT: starts the server, waits until it is live, prints its KEY=VALUE lines.
launch() {
  local data_dir=$1 api_port=$2 console_port=$3
  local state_dir pid_file log_file endpoint="http://127.0.0.1:$api_port"
  mkdir -p "$data_dir"
  state_dir=$(cd "$data_dir/.." && pwd)
  pid_file=$state_dir/minio.pid
  log_file=$state_dir/minio.log
  # Update checks would reach out to the internet on start-up; nothing here needs them.
  MINIO_UPDATE=off "$MINIO" server "$data_dir" \
    --address "127.0.0.1:$api_port" --console-address "127.0.0.1:$console_port" \
    </dev/null >>"$log_file" 2>&1 &
  local pid=$!
  echo "$pid" >"$pid_file"

  local deadline=$((SECONDS + START_TIMEOUT_SECONDS))
  until is_live "$endpoint"; do
    if ! is_running "$pid"; then
      rm -f -- "$pid_file"
      die "minio exited while starting on $endpoint; last lines of $log_file:"$'\n'"$(tail -n 20 "$log_file")"
    fi
    if ((SECONDS >= deadline)); then
      cmd_stop "$pid_file"
      die "minio was not live on $endpoint after ${START_TIMEOUT_SECONDS}s; last lines of $log_file:"$'\n'"$(tail -n 20 "$log_file")"
    fi
    sleep 0.2
  done
  log "minio ($MINIO_SOURCE: $MINIO) live on $endpoint, data in $data_dir"
  print_connection "$endpoint"
  printf 'MINIO_PID_FILE=%s\nMINIO_LOG=%s\nMINIO_SOURCE=%s\n' "$pid_file" "$log_file" "$MINIO_SOURCE"
}

# Lines that `export $(bash infra/minio.sh run)` can take: the AWS SDK reads the AWS_* ones by itself.
print_connection() {
  printf 'S3_ENDPOINT=%s\nAWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\nAWS_REGION=us-east-1\n' \
    "$1" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
}

cmd_ensure() {
  find_minio
  log "using minio from $MINIO_SOURCE"
  echo "$MINIO"
}

cmd_start() {
  local data_dir=${1:?usage: minio.sh start DATA_DIR}
  local api_port console_port
  find_minio
  read -r api_port console_port < <(free_ports 2)
  launch "$data_dir" "$api_port" "$console_port"
}

cmd_stop() {
  local pid_file=${1:?usage: minio.sh stop PIDFILE} pid
  [[ -f "$pid_file" ]] || { log "no pid file at $pid_file: nothing to stop"; return 0; }
  pid=$(<"$pid_file")
  # The pid may have been reused since minio exited: only a minio server process is ours to kill.
  if is_running "$pid" && [[ "$(ps -o args= -p "$pid")" == *" server "* ]]; then
    kill -TERM "$pid"
    local deadline=$((SECONDS + STOP_TIMEOUT_SECONDS))
    while is_running "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    if is_running "$pid"; then
      log "minio (pid $pid) ignored TERM for ${STOP_TIMEOUT_SECONDS}s; killing it"
      kill -KILL "$pid"
    fi
  fi
  rm -f -- "$pid_file"
}

cmd_run() {
  local state_dir=$REPO_ROOT/.minio port=${MINIO_PORT:-9000} bucket=${S3_BUCKET:-telegram-bot}
  local endpoint="http://127.0.0.1:$port"
  if is_live "$endpoint"; then
    log "minio already live on $endpoint"
    print_connection "$endpoint"
  else
    find_minio
    launch "$state_dir/data" "$port" "$(free_ports 1)"
  fi
  node "$REPO_ROOT/infra/create-bucket.mjs" "$endpoint" "$bucket"
  echo "S3_BUCKET=$bucket"
}

case "${1:-}" in
  ensure) cmd_ensure ;;
  start) cmd_start "${@:2}" ;;
  stop) cmd_stop "${@:2}" ;;
  run) cmd_run ;;
  *) die "usage: minio.sh ensure | start DATA_DIR | stop PIDFILE | run" ;;
esac
