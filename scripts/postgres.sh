#!/usr/bin/env bash
# A throwaway local PostgreSQL server for shared Optuna studies (params.yaml tune.storage).
#
#   bash scripts/postgres.sh start [DIR]   start it (or find it running); the last stdout
#                                          line is its URL, e.g.
#                                          postgresql://foldwise@127.0.0.1:55432/optuna
#   bash scripts/postgres.sh stop [DIR]    stop it (nothing to do if it is not running)
#   bash scripts/postgres.sh status [DIR]  say whether it runs; exit 0 if it does, else 1
#   bash scripts/postgres.sh url           print the URL
#   bash scripts/postgres.sh bindir        print the server binaries' folder (exit 3 if none)
#
# DIR defaults to $FOLDWISE_PG_DIR, else /tmp/foldwise-pg; it holds the data (DIR/data), the
# server log (DIR/server.log) and the server's socket (DIR/socket). The port is
# $FOLDWISE_PG_PORT, else 55432. The server listens on 127.0.0.1 only and trusts every
# connection from there: the user `foldwise` (a superuser) and the database `optuna` need no
# password. It is meant for one machine's tests and workers; for workers on several machines
# run a real server with passwords.
#
# Server binaries: $FOLDWISE_PG_BIN, else `pg_config --bindir`, else the newest
# /usr/lib/postgresql/*/bin, else initdb on PATH. Run as root, the server runs as the
# `postgres` system user (created as `foldwise-pg` if there is none), because PostgreSQL
# refuses to run as root. Exit status 3 means the server binaries are not installed.
set -euo pipefail

readonly PG_USER=foldwise
readonly PG_DB=optuna
readonly NOT_INSTALLED=3

die() {
    echo "postgres.sh: error: $*" >&2
    exit 1
}

say() {
    echo "postgres.sh: $*" >&2
}

usage() {
    echo "usage: bash scripts/postgres.sh start|stop|status|url|bindir [DIR]" >&2
    exit 2
}

command=${1:-}
[[ -n $command ]] || usage
dir=${2:-${FOLDWISE_PG_DIR:-/tmp/foldwise-pg}}
port=${FOLDWISE_PG_PORT:-55432}
[[ $port =~ ^[0-9]+$ ]] || die "FOLDWISE_PG_PORT must be a port number, not '$port'"
url="postgresql://${PG_USER}@127.0.0.1:${port}/${PG_DB}"

# The folder with initdb, pg_ctl and postgres, or nothing.
find_bindir() {
    local candidates=()
    [[ -n ${FOLDWISE_PG_BIN:-} ]] && candidates+=("$FOLDWISE_PG_BIN")
    if command -v pg_config >/dev/null 2>&1; then
        candidates+=("$(pg_config --bindir 2>/dev/null || true)")
    fi
    local found
    # Newest version first (15 before 9.6).
    while IFS= read -r found; do
        candidates+=("$found")
    done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null |
        sort -t / -k 5 -V -r)
    candidates+=(/usr/local/pgsql/bin)
    if command -v initdb >/dev/null 2>&1; then
        candidates+=("$(dirname "$(command -v initdb)")")
    fi
    local bin
    for bin in "${candidates[@]}"; do
        if [[ -n $bin && -x $bin/initdb && -x $bin/pg_ctl && -x $bin/postgres ]]; then
            echo "$bin"
            return 0
        fi
    done
    return 1
}

require_bindir() {
    if ! bindir=$(find_bindir); then
        echo "postgres.sh: error: PostgreSQL server binaries (initdb, pg_ctl, postgres) not" \
            "found; install them with 'apt-get install postgresql' (or set FOLDWISE_PG_BIN)" >&2
        exit "$NOT_INSTALLED"
    fi
}

# The system user that runs the server: ourselves, or an unprivileged user when we are root.
server_user=""
if [[ $(id -u) -eq 0 ]]; then
    if id postgres >/dev/null 2>&1; then
        server_user=postgres
    else
        server_user=foldwise-pg
    fi
fi

ensure_server_user() {
    [[ -n $server_user ]] || return 0
    id "$server_user" >/dev/null 2>&1 && return 0
    command -v useradd >/dev/null 2>&1 || die "no 'postgres' user and no useradd to create one"
    say "creating the system user $server_user to run the server (PostgreSQL refuses root)"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$server_user"
}

# Run a command as the server user (as is, when we are not root).
as_server() {
    if [[ -z $server_user ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$server_user" -- "$@"
    elif command -v setpriv >/dev/null 2>&1; then
        setpriv --reuid="$server_user" --regid="$(id -g "$server_user")" --init-groups \
            --reset-env -- "$@"
    else
        su -s /bin/sh "$server_user" -c "$(printf '%q ' "$@")"
    fi
}

pg_ctl_status() {
    [[ -f $dir/data/PG_VERSION ]] || return 1
    as_server "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

# Create DIR (owned by the server user) and the database cluster in DIR/data, once.
init_cluster() {
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    if [[ -n $server_user ]]; then
        chown "$server_user:" "$dir"
        as_server test -w "$dir" -a -x "$dir" ||
            die "the server user '$server_user' cannot write to $dir (a parent folder is" \
                "private?); choose another folder with FOLDWISE_PG_DIR"
    fi
    [[ -f $dir/data/PG_VERSION ]] && return 0
    say "creating a database cluster in $dir/data"
    as_server mkdir -p "$dir/socket"
    if ! as_server "$bindir/initdb" -D "$dir/data" -U "$PG_USER" --auth=trust \
        --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed (log above)"
    fi
    # A throwaway server: local connections only, and speed over crash safety.
    as_server tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF

# scripts/postgres.sh (throwaway server for foldwise tuning studies)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/socket'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

start() {
    require_bindir
    ensure_server_user
    init_cluster
    if pg_ctl_status; then
        say "already running (data in $dir/data)"
    else
        say "starting PostgreSQL from $bindir on 127.0.0.1:$port (log: $dir/server.log)"
        if ! as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -c listen_addresses=127.0.0.1" start >&2; then
            tail -n 20 "$dir/server.log" >&2 || true
            die "the server did not start (is port $port taken? set FOLDWISE_PG_PORT)"
        fi
    fi
    local exists
    exists=$(as_server "$bindir/psql" -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres \
        -XtAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'") ||
        die "cannot connect to 127.0.0.1:$port as $PG_USER (another server on that port?" \
            "set FOLDWISE_PG_PORT)"
    if [[ $exists != 1 ]]; then
        as_server "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$PG_USER" "$PG_DB" ||
            die "could not create the database $PG_DB"
    fi
    echo "$url"
}

stop() {
    require_bindir
    if [[ ! -d $dir ]]; then
        say "nothing to stop: $dir does not exist"
        return 0
    fi
    dir=$(cd "$dir" && pwd -P)
    if pg_ctl_status; then
        as_server "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2
    else
        say "not running (data in $dir/data)"
    fi
}

# The server user may not enter the caller's folder: work from a neutral one.
[[ $dir == /* ]] || dir=$PWD/$dir
cd /

case $command in
    start) start ;;
    stop) stop ;;
    status)
        require_bindir
        if pg_ctl_status; then
            echo "running: $url"
        else
            echo "not running"
            exit 1
        fi
        ;;
    url) echo "$url" ;;
    bindir)
        require_bindir
        echo "$bindir"
        ;;
    *) usage ;;
esac
