# Source this file: starts a throwaway PostgreSQL cluster on a free loopback port and exports
# DATABASE_URL. `pg_stop` stops it and removes its folder. Runs the server as the `postgres` user
# because PostgreSQL refuses to run as root.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

pg_start() {
    if [ -z "$PG_BIN" ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    fi
    PG_DIR=$(mktemp -d /tmp/closeloop-pg.XXXXXX)
    PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local as_user=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$PG_DIR"
        as_user=(runuser -u postgres --)
    fi
    "${as_user[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U closeloop --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    "${as_user[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >/dev/null
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U closeloop closeloop
    export DATABASE_URL="postgres://closeloop@127.0.0.1:$PG_PORT/closeloop"
    PG_AS_USER=("${as_user[@]}")
    echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $PG_PORT"
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    "${PG_AS_USER[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=
}
