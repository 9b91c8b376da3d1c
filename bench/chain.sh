#!/usr/bin/env bash
# What the audit hash chain costs: 1-ID key lookups (every one durably audited, SQLite synchronous=FULL) with the chain,
# without it (Mama__Audit__Unchained, a baseline only), and with it again, each on a fresh start of the same Release
# build and database; then how fast a verification walks the log. Prints figures; asserts nothing.
#   bash bench/chain.sh
#   MAMA_BENCH_DURATION=20s bash bench/chain.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

DURATION="${MAMA_BENCH_DURATION:-10s}"
CONNECTIONS=64
USERS=1000
WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
cleanup() { [ -n "${MAMA_PID:-}" ] && kill "$MAMA_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

echo "Publishing a Release build…"
dotnet publish src/Mama -c Release -r "$(bash bench/rid.sh)" -o "$WORK/app" --nologo -v quiet >/dev/null

start() { # $1: Mama__Audit__Unchained
  ASPNETCORE_ENVIRONMENT=Development Urls="$URL" Mama__DataPath="$WORK/data" Mama__BootstrapAdminPassword=bench-password \
    Logging__LogLevel__Default=Warning LiteLlm__DriftCheckInterval=00:00:00 LiteLlm__InlineSyncBudget=00:00:30 Mama__Audit__Unchained="$1" \
    bash -c "cd '$WORK/app' && exec dotnet Mama.dll" >> "$WORK/mama.log" 2>&1 &
  MAMA_PID=$!
  for _ in $(seq 1 150); do curl -fs "$URL/health/ready" >/dev/null && return; sleep 0.2; done
  echo "mama did not start:"; cat "$WORK/mama.log"; exit 1
}
stop() { kill "$MAMA_PID"; wait "$MAMA_PID" 2>/dev/null || true; MAMA_PID=; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token() {
  local body
  body="$(curl -s -X POST "$URL/api/v1/auth/token" -H 'Content-Type: application/json' -d "{\"username\":\"admin\",\"password\":\"$1\"}")"
  echo "$body" | json "['access_token']" 2>/dev/null || { echo "sign-in failed: $body" >&2; return 1; }
}

start false
curl -fs -o /dev/null -X POST "$URL/api/v1/auth/password" -H "Authorization: Bearer $(token bench-password)" -H 'Content-Type: application/json' \
  -d '{"current_password":"bench-password","new_password":"bench-password-changed-2026"}'
AUTH=(-H "Authorization: Bearer $(token bench-password-changed-2026)" -H 'Content-Type: application/json')
python3 -c "
import json
print(json.dumps({'users':[{'user_id':'bench-%06d' % i,'organization':'org','allowed_models':['gpt-4o'],'allowed_services':['billing']} for i in range($USERS)]}))" > "$WORK/users.json"
curl -fs -o /dev/null -X POST "$URL/api/v1/users" "${AUTH[@]}" --data-binary @"$WORK/users.json"
export MAMA_BENCH_TOKEN="$(curl -fs -X POST "$URL/api/v1/api-clients" "${AUTH[@]}" -d '{"name":"bench","service":"billing","scope":"all"}' | json "['token']")"
export MAMA_BENCH_RANGE=$USERS
stop

# Each run: a warm-up at low concurrency, a pause for the JIT's tier-up, then the measured run.
lookups() {
  start "$1"
  wrk -t1 -c4 -d5s -s bench/lookup1.lua "$URL/api/v1/keys/lookup" > /dev/null 2>&1 || true; sleep 3
  wrk -t2 -c$CONNECTIONS -d"$DURATION" --latency -s bench/lookup1.lua "$URL/api/v1/keys/lookup" 2>&1 \
    | awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {printf "%s %s\n", rps, p99}'
  stop
}
read -r chained1 p99_1 < <(lookups false)

# The walk, while every event is still in the chain (the baseline's are not: a verification would stop at the first).
start false
EVENTS="$(curl -fs "$URL/api/v1/audit?page_size=1" "${AUTH[@]}" | json "['total']")"
VERIFY_S="$(curl -fs -o "$WORK/verify.json" -w '%{time_total}' "$URL/api/v1/audit/verify" "${AUTH[@]}")"
VERIFY_RESULT="$(python3 -c "import json; d=json.load(open('$WORK/verify.json')); print('ok' if d['ok'] else 'BROKEN', d['checked'], 'events checked')")"
stop

read -r unchained p99_u < <(lookups true)
read -r chained2 p99_2 < <(lookups false)

echo
echo "== audit chain cost ($(nproc) cores; wrk and mama share them; 1-ID lookups, $CONNECTIONS connections, $DURATION each) =="
printf '%-34s %12s %10s\n' "run" "requests/s" "p99"
printf '%-34s %12s %10s\n' "chained (1st)" "$chained1" "$p99_1" "unchained baseline" "$unchained" "$p99_u" "chained (2nd)" "$chained2" "$p99_2"
printf 'chained / unchained: %.2f (mean of the two chained runs)\n' "$(echo "($chained1 + $chained2) / 2 / $unchained" | bc -l)"
echo "verification after the first run: $VERIFY_RESULT of $EVENTS in ${VERIFY_S} s ($(echo "$EVENTS / $VERIFY_S" | bc) events/s, over HTTP)"
