# Shared helpers of the benchmarks in scripts/bench/*.sh: sourced, never run
# (scripts/bench.sh skips it).
#   . "$(dirname "$0")/lib.sh"
#   bench_init NAME
# Servers are throwaway instances on free loopback ports inside $WORK; the
# EXIT trap stops every one started here, so nothing touches the machine's own.
# shellcheck shell=bash disable=SC2034 # ROOT, BIN, MYPORT...: set for the scripts that source it

# bench_init NAME [DIR [KEEP]]: cd to the repository root and set ROOT,
# CARGO_TARGET_DIR (exported), BIN (release binaries), DATASETS and WORK (DIR,
# else a new /tmp/decant-bench-NAME.XXXXXX); the EXIT trap stops the servers
# and removes WORK unless KEEP is non-empty. NAME prefixes error messages.
bench_init() {
  BENCH_NAME=$1
  BENCH_KEEP=${3:-}
  ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  cd "$ROOT" || exit 2
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
  BIN=$CARGO_TARGET_DIR/release
  DATASETS=${DATASETS:-$ROOT/../shared/datasets}
  [ -d "$DATASETS" ] || DATASETS=/work/shared/datasets
  if [ -n "${2:-}" ]; then
    WORK=$2
    mkdir -p "$WORK"
  else
    WORK=$(mktemp -d "/tmp/decant-bench-$BENCH_NAME.XXXXXX")
  fi
  BENCH_PIDS=()
  BENCH_PGDATA=
  trap bench_cleanup EXIT
}

# bench_cleanup: the EXIT trap; stops the servers, then removes WORK.
bench_cleanup() {
  local p
  for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$BENCH_PGDATA" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$BENCH_PGDATA" -m immediate stop >/dev/null 2>&1 || true
  fi
  if [ ${#BENCH_PIDS[@]} -gt 0 ] || [ -n "$BENCH_PGDATA" ]; then sleep 1; fi
  [ -n "$BENCH_KEEP" ] || rm -rf "$WORK"
}

# free_port: prints a free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# need_mariadb: exits 2 when mariadbd is not installed.
need_mariadb() {
  command -v mariadbd >/dev/null || { echo "bench/$BENCH_NAME: mariadbd missing (apt-get install mariadb-server)" >&2; exit 2; }
}

# need_postgres: sets PGBIN (initdb on PATH, else the newest /usr/lib/postgresql); exits 2 without one.
need_postgres() {
  PGBIN=$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
  [ -x "$PGBIN/initdb" ] || { echo "bench/$BENCH_NAME: initdb missing (apt-get install postgresql)" >&2; exit 2; }
}

# start_mariadb POOL [MARIADBD_OPTION...]: a MariaDB in $WORK/mariadb (MY) on
# MYPORT, InnoDB buffer pool POOL, innodb-flush-log-at-trx-commit=2; waits
# until it answers and lets root@127.0.0.1 in over TCP without a password.
# With --local-infile=1 among the options the myq client gets it too.
start_mariadb() {
  local pool=$1 a
  shift
  MY=$WORK/mariadb
  MYQ_OPTS=(--default-character-set=utf8mb4)
  for a in "$@"; do
    if [ "$a" = --local-infile=1 ]; then MYQ_OPTS=(--local-infile=1 "${MYQ_OPTS[@]}"); fi
  done
  mkdir -p "$MY/tmp"
  mariadb-install-db --no-defaults --user=root --datadir="$MY/data" --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1
  MYPORT=$(free_port)
  mariadbd --no-defaults --user=root --datadir="$MY/data" --socket="$MY/sock" --port="$MYPORT" --bind-address=127.0.0.1 \
    --pid-file="$MY/pid" --tmpdir="$MY/tmp" --skip-log-bin --max-allowed-packet=256M \
    --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size="$pool" --character-set-server=utf8mb4 \
    --log-error="$MY/error.log" "$@" &
  BENCH_PIDS+=($!)
  for _ in $(seq 300); do myq -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
  myq -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
}

# myq ARGS...: the mariadb client, as root on the socket of start_mariadb's server.
myq() { mariadb --no-defaults --socket="$MY/sock" -uroot "${MYQ_OPTS[@]}" "$@"; }

# start_postgres SHARED_BUFFERS: a PostgreSQL in $WORK/pg on PGPORT, run as the
# postgres user (created if missing), trust auth, fsync off: fast, not durable.
start_postgres() {
  [ -n "${PGBIN:-}" ] || need_postgres
  chmod 755 "$WORK"
  id postgres >/dev/null 2>&1 || useradd -r -m postgres
  BENCH_PGDATA=$WORK/pg/data
  mkdir -p "$WORK/pg" && chown postgres "$WORK/pg"
  PGPORT=$(free_port)
  (cd /tmp && runuser -u postgres -- "$PGBIN/initdb" -D "$BENCH_PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null)
  (cd /tmp && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$BENCH_PGDATA" -l "$WORK/pg/log" -w \
    -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=4GB -c shared_buffers=$1" start >/dev/null)
}

# pgq ARGS...: psql (no psqlrc, quiet, unaligned tuples) as postgres on start_postgres's server.
pgq() { psql -X -q -At -h 127.0.0.1 -p "$PGPORT" -U postgres "$@"; }

# start_redis VAR DIR: a redis-server (or $REDIS_SERVER_BIN, e.g. a
# valkey-server) without persistence in $WORK/DIR; sets VAR to its port once
# it answers PING.
start_redis() {
  local port
  port=$(free_port)
  mkdir -p "$WORK/$2"
  "${REDIS_SERVER_BIN:-redis-server}" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK/$2" \
    --daemonize no --logfile "$WORK/$2/redis.log" >/dev/null 2>&1 &
  BENCH_PIDS+=($!)
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  printf -v "$1" '%s' "$port"
}

# timed LABEL CMD...: runs CMD under /usr/bin/time -v, appends "LABEL wall_s
# rss_kb exit" to $WORK/times and reports it on stderr (not with TIMED_QUIET=1).
# A failing CMD is reported and its status returned, not recorded; with
# TIMED_EXIT=1 every run is recorded, its exit status shown, and 0 returned.
timed() {
  local label=$1 rc=0 wall rss
  shift
  /usr/bin/time -v -o "$WORK/time.out" "$@" || rc=$?
  if [ "$rc" != 0 ] && [ -z "${TIMED_EXIT:-}" ]; then
    echo "   $label: failed (exit $rc)" >&2
    return "$rc"
  fi
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$WORK/time.out")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.out")
  echo "$label $wall $rss $rc" >> "$WORK/times"
  if [ -n "${TIMED_EXIT:-}" ]; then
    echo "   $label: ${wall}s, peak RSS $((rss / 1024)) MB, exit $rc" >&2
  elif [ -z "${TIMED_QUIET:-}" ]; then
    echo "   $label: ${wall}s, peak RSS $((rss / 1024)) MB" >&2
  fi
}

# median LABEL FIELD [mean]: median of FIELD (2 wall s, 3 peak RSS KB) over
# LABEL's runs in $WORK/times, "n/a" without any; of an even number of runs
# the lower middle one, or with "mean" the mean of the two middle ones.
median() {
  awk -v l="$1" -v f="$2" '$1==l {print $f}' "$WORK/times" | sort -g |
    awk -v m="${3:-}" '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (m == "mean" && NR % 2 == 0) print (a[NR/2] + a[NR/2+1]) / 2; else print a[int((NR+1)/2)]}'
}

# need_reladiff: sets RELADIFF to reladiff (PyPI), installed once into
# $RELADIFF_VENV (default target/reladiff-venv); empty with SKIP_RELADIFF=1.
need_reladiff() {
  RELADIFF=
  [ -z "${SKIP_RELADIFF:-}" ] || return 0
  local venv=${RELADIFF_VENV:-$ROOT/target/reladiff-venv}
  if [ ! -x "$venv/bin/reladiff" ]; then
    echo "== installing reladiff (PyPI) into $venv" >&2
    python3 -m venv "$venv" && "$venv/bin/pip" install -q "reladiff[mysql,postgresql]" >&2
  fi
  RELADIFF=$venv/bin/reladiff
  echo "   $("$RELADIFF" --version 2>&1 | head -1)" >&2
}

# sql_servers_cpu: CPU seconds used so far by start_mariadb's and
# start_postgres's servers (the postmaster, its live backends, and the
# exited ones it has reaped).
sql_servers_cpu() {
  python3 -c '
import os, sys
def times(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[1]), sum(int(x) for x in f[11:15])  # ppid; utime stime cutime cstime
my, pg = int(sys.argv[1]), int(sys.argv[2])
total = times(my)[1] + times(pg)[1]
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        ppid, t = times(int(p))
    except OSError:
        continue
    if ppid == pg:
        total += t
print(total / os.sysconf("SC_CLK_TCK"))
' "$(cat "$MY/pid")" "$(head -1 "$BENCH_PGDATA/postmaster.pid")"
}

# measured LABEL CMD...: timed, plus "LABEL tool_cpu_s server_cpu_s" in
# $WORK/cpu (the servers: both SQL servers, sql_servers_cpu).
measured() {
  local label=$1 before after tool servers
  shift
  before=$(sql_servers_cpu)
  timed "$label" "$@"
  after=$(sql_servers_cpu)
  tool=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$WORK/time.out")
  servers=$(python3 -c "print(round($after - $before, 2))")
  echo "$label $tool $servers" >> "$WORK/cpu"
  echo "   $label: CPU ${tool}s in the tool, ${servers}s in the two servers" >&2
}
