#!/usr/bin/env bash
# Scale-out on PostgreSQL: 1-ID key lookups (every one durably audited and chained) against one mama, then against three
# mamas on the same database, with the same 64 connections in all. PostgreSQL runs with fsync on, started by this
# script in a temp folder. Prints figures; asserts nothing.
#   bash bench/scale.sh
#   MAMA_BENCH_DURATION=20s MAMA_BENCH_INSTANCES=3 bash bench/scale.sh
#   MAMA_BENCH_PG_SETTINGS="-c commit_delay=200 -c commit_siblings=2" bash bench/scale.sh   # an A/B of server settings
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

DURATION="${MAMA_BENCH_DURATION:-15s}"
INSTANCES="${MAMA_BENCH_INSTANCES:-3}"
CONNECTIONS=64
USERS=10000
WORK="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PIDS=()
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
PG_PORT="$(free_port)"
pg() { if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$WORK/pg"; runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/pg" && chmod 755 "$WORK"
pg "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w start \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$WORK/pg -c max_connections=300 ${MAMA_BENCH_PG_SETTINGS:-}" >/dev/null
pg "$PGBIN/psql" -h "$WORK/pg" -p "$PG_PORT" -U postgres -qc "CREATE ROLE mama LOGIN PASSWORD 'mama' CREATEDB" >/dev/null
pg "$PGBIN/psql" -h "$WORK/pg" -p "$PG_PORT" -U postgres -qc "CREATE DATABASE mama OWNER mama" >/dev/null

echo "Publishing a Release build…"
dotnet publish src/Mama -c Release -r "$(bash bench/rid.sh)" -o "$WORK/app" --nologo -v quiet >/dev/null

PORTS=()
start() { # one more instance; all share the data folder (Development's generated keys) and the database
  local port; port="$(free_port)"
  ASPNETCORE_ENVIRONMENT=Development Urls="http://127.0.0.1:$port" Mama__DataPath="$WORK/data" Mama__BootstrapAdminPassword=bench-password \
    Database__Provider=postgres ConnectionStrings__Mama="Host=127.0.0.1;Port=$PG_PORT;Username=mama;Password=mama;Database=mama" \
    Logging__LogLevel__Default=Warning LiteLlm__DriftCheckInterval=00:00:00 LiteLlm__InlineSyncBudget=00:00:30 \
    bash -c "cd '$WORK/app' && exec dotnet Mama.dll" >> "$WORK/mama-$port.log" 2>&1 &
  PIDS+=($!)
  PORTS+=("$port")
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && return; sleep 0.2; done
  echo "mama did not start:"; cat "$WORK/mama-$port.log"; exit 1
}

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
start
URL="http://127.0.0.1:${PORTS[0]}"
token() { curl -s -X POST "$URL/api/v1/auth/token" -H 'Content-Type: application/json' -d "{\"username\":\"admin\",\"password\":\"$1\"}" | json "['access_token']"; }
curl -fs -o /dev/null -X POST "$URL/api/v1/auth/password" -H "Authorization: Bearer $(token bench-password)" -H 'Content-Type: application/json' \
  -d '{"current_password":"bench-password","new_password":"bench-password-changed-2026"}'
AUTH=(-H "Authorization: Bearer $(token bench-password-changed-2026)" -H 'Content-Type: application/json')
echo "Creating $USERS users…"
for b in $(seq 0 $((USERS / 1000 - 1))); do
  python3 -c "
import json; b=$b
print(json.dumps({'users':[{'user_id':'bench-%06d' % i,'organization':'org','allowed_models':['gpt-4o'],'allowed_services':['billing']} for i in range(b*1000,(b+1)*1000)]}))" > "$WORK/users.json"
  curl -fs -o /dev/null -X POST "$URL/api/v1/users" "${AUTH[@]}" --data-binary @"$WORK/users.json"
done
export MAMA_BENCH_TOKEN="$(curl -fs -X POST "$URL/api/v1/api-clients" "${AUTH[@]}" -d '{"name":"bench","service":"billing","scope":"all"}' | json "['token']")"
export MAMA_BENCH_RANGE=$USERS

# CPU time (clock ticks of 10 ms) of mama's instances and of PostgreSQL (postmaster and every backend), so the
# figures show who spends the two cores.
ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
pg_pids() { local m; m="$(head -1 "$WORK/pg/data/postmaster.pid")"; echo "$m" $(pgrep -P "$m"); }

# The same total connections, split over the instances; each wrk reports its own; the sum is the figure.
drive() { # $1: how many instances
  local n=$1 per=$((CONNECTIONS / $1)) i m0 p0
  for i in $(seq 0 $((n - 1))); do wrk -t1 -c4 -d5s -s bench/lookup1.lua "http://127.0.0.1:${PORTS[$i]}/api/v1/keys/lookup" > /dev/null 2>&1 || true; done
  sleep 3
  m0="$(ticks "${PIDS[@]}")"; p0="$(ticks $(pg_pids))"
  for i in $(seq 0 $((n - 1))); do
    wrk -t1 -c"$per" -d"$DURATION" --latency -s bench/lookup1.lua "http://127.0.0.1:${PORTS[$i]}/api/v1/keys/lookup" > "$WORK/wrk-$n-$i.txt" 2>&1 &
  done
  wait # the wrk runs: this runs in a subshell, whose only children they are
  local m=$(( $(ticks "${PIDS[@]}") - m0 )) p=$(( $(ticks $(pg_pids)) - p0 ))
  cat "$WORK"/wrk-"$n"-*.txt | awk -v m="$m" -v p="$p" '/Requests\/sec/ {rps += $2} /requests in/ {reqs += $1} /^ +99%/ {q = $2; sub(/ms/, "", q); if (q + 0 > worst) worst = q + 0} END {printf "%.0f %.1fms %.0f %.0f\n", rps, worst, m * 10000 / reqs, p * 10000 / reqs}'
}
read -r one_rps one_p99 one_mama one_pg < <(drive 1)
for _ in $(seq 2 "$INSTANCES"); do start; done
read -r many_rps many_p99 many_mama many_pg < <(drive "$INSTANCES")

echo
echo "== scale-out on PostgreSQL (fsync on; $(nproc) cores shared by PostgreSQL, mama and wrk; 1-ID lookups, $CONNECTIONS connections in all, $DURATION) =="
printf '%-12s %12s %12s %18s %22s\n' "instances" "requests/s" "worst p99" "mama CPU/request" "PostgreSQL CPU/request"
printf '%-12s %12s %12s %15s µs %19s µs\n' "1" "$one_rps" "$one_p99" "$one_mama" "$one_pg" "$INSTANCES" "$many_rps" "$many_p99" "$many_mama" "$many_pg"
printf '%s instances / 1: %.2f\n' "$INSTANCES" "$(echo "$many_rps / $one_rps" | bc -l)"
