# Shared by scripts/dev and scripts/test: find or start PostgreSQL and Redis.
# - DATABASE_URL / REDIS_URL win when set.
# - Otherwise the local services on 127.0.0.1:5432 / 127.0.0.1:6379.
# - Otherwise a throwaway cluster / server under .dev/ (installing Debian's postgresql or
#   redis-server package first when missing and running as root), stopped on exit.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV_DIR="$ROOT/.dev"
mkdir -p "$DEV_DIR"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    log "falta el paquete $1 y no somos root: instálalo (apt-get install $1)"; return 1
  fi
  log "instalando $* (apt-get)"
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >&2 && APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

pg_bin() {
  local b
  b=$(command -v "$1" 2>/dev/null) && { echo "$b"; return; }
  b=$(ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n1)
  [ -n "$b" ] && echo "$b"
}

# Prints a superuser URL (database `postgres`) of a reachable server.
ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then
    # Same server, admin database.
    echo "$DATABASE_URL" | sed -E 's#(postgres(ql)?://[^/]+)/[^?]*#\1/postgres#'
    return
  fi
  if port_open 127.0.0.1 5432; then
    echo "postgres://postgres@127.0.0.1:5432/postgres"; return
  fi
  local port=54329 data="$DEV_DIR/pg"
  if ! port_open 127.0.0.1 $port; then
    [ -n "$(pg_bin initdb)" ] || apt_install postgresql >/dev/null || return 1
    local initdb pg_ctl runas=()
    initdb=$(pg_bin initdb); pg_ctl=$(pg_bin pg_ctl)
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || useradd -r -m postgres
      chown -R postgres "$DEV_DIR"; runas=(runuser -u postgres --)
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      log "creando un clúster desechable en $data"
      "${runas[@]}" "$initdb" -D "$data" -U postgres -A trust --no-sync >/dev/null
    fi
    log "arrancando PostgreSQL en 127.0.0.1:$port"
    "${runas[@]}" "$pg_ctl" -D "$data" -l "$data/log" -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off" -w start >/dev/null
    PG_STARTED_BY_US="$pg_ctl -D $data"; PG_RUNAS="${runas[*]}"
  fi
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

stop_postgres() {
  if [ -n "${PG_STARTED_BY_US:-}" ]; then
    # shellcheck disable=SC2086
    ${PG_RUNAS:-} $PG_STARTED_BY_US -m fast stop >/dev/null 2>&1 || true
  fi
}

# Prints a Redis URL, or nothing when Redis is unavailable (optional at run time).
ensure_redis() {
  local need="${1:-optional}"
  if [ -n "${REDIS_URL:-}" ]; then echo "$REDIS_URL"; return; fi
  if port_open 127.0.0.1 6379; then echo "redis://127.0.0.1:6379"; return; fi
  [ "$need" = required ] || return 0
  local port=63799
  if ! port_open 127.0.0.1 $port; then
    command -v redis-server >/dev/null || apt_install redis-server >/dev/null || return 1
    log "arrancando Redis en 127.0.0.1:$port"
    redis-server --port $port --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      --pidfile "$DEV_DIR/redis.pid" --logfile "$DEV_DIR/redis.log" >/dev/null
    REDIS_STARTED_BY_US=1
    for _ in $(seq 50); do port_open 127.0.0.1 $port && break; sleep 0.1; done
  fi
  echo "redis://127.0.0.1:$port"
}

stop_redis() {
  if [ -n "${REDIS_STARTED_BY_US:-}" ] && [ -f "$DEV_DIR/redis.pid" ]; then
    kill "$(cat "$DEV_DIR/redis.pid")" 2>/dev/null || true
  fi
}

# The admin URL with another database name.
url_with_db() { echo "$1" | sed -E "s#(postgres(ql)?://[^/]+)/[^?]*#\1/$2#"; }
