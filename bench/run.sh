#!/usr/bin/env bash
# mama's benchmark: a Release build on 127.0.0.1 with its built-in LiteLLM emulator and SQLite
# (synchronous=FULL: every audit event is durable before the answer goes out). Prints figures; asserts nothing.
#   bash bench/run.sh                            # 10,000 users for the lookups, 100,000 for the list page and memory
#   MAMA_BENCH_LIST_USERS=20000 bash bench/run.sh   # a quicker run
#   bash bench/run.sh --postgres --instances 3   # scale-out: one PostgreSQL (fsync on), 1 then 3 instances (bench/scale.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
POSTGRES=; INSTANCES=3
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) POSTGRES=1 ;;
    --instances) INSTANCES="$2"; shift ;;
    *) echo "usage: bash bench/run.sh [--postgres [--instances N]]" >&2; exit 2 ;;
  esac
  shift
done
[ -z "$POSTGRES" ] || MAMA_BENCH_INSTANCES="$INSTANCES" exec bash bench/scale.sh
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

DURATION="${MAMA_BENCH_DURATION:-10s}"
CONNECTIONS=64
LIST_USERS="${MAMA_BENCH_LIST_USERS:-100000}"
WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
cleanup() { for p in ${MAMA_PID:-} ${EMULATOR_PID:-} ${UI_PID:-}; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

echo "Publishing Release builds of mama and the LiteLLM emulator…"
dotnet publish src/Mama -c Release -r "$(bash bench/rid.sh)" -o "$WORK/app" --nologo -v quiet >/dev/null
dotnet publish src/Mama.LiteLlmEmulator -c Release -o "$WORK/emulator" --nologo -v quiet >/dev/null
# The emulator runs as its own process, as a proxy would, so that mama's CPU and memory figures are mama's alone.
EMULATOR="http://127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
MASTER_KEY="sk-bench-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
(cd "$WORK/emulator" && exec dotnet Mama.LiteLlmEmulator.dll --port "${EMULATOR##*:}" --master-key "$MASTER_KEY") > "$WORK/emulator.log" 2>&1 &
EMULATOR_PID=$!
# MAMA_BENCH_ENV: extra environment for mama (an A/B of a runtime setting), e.g. MAMA_BENCH_ENV="DOTNET_gcServer=0".
env ${MAMA_BENCH_ENV:-} ASPNETCORE_ENVIRONMENT=Development Urls="$URL" Mama__DataPath="$WORK/data" Mama__BootstrapAdminPassword=bench-password \
  Logging__LogLevel__Default=Warning LiteLlm__UseEmulator=false LiteLlm__BaseUrl="$EMULATOR" LiteLlm__MasterKey="$MASTER_KEY" \
  LiteLlm__DriftCheckInterval=00:00:00 LiteLlm__InlineSyncBudget=00:00:30 Mama__SignIn__AttemptsPerMinutePerAddress=1000 \
  bash -c "cd '$WORK/app' && exec dotnet Mama.dll" > "$WORK/mama.log" 2>&1 &
MAMA_PID=$!
for _ in $(seq 1 150); do curl -fs "$URL/health/live" >/dev/null && curl -fs "$EMULATOR/health/liveliness" >/dev/null && break; sleep 0.2; done
curl -fs "$URL/health/live" >/dev/null || { echo "mama did not start:"; cat "$WORK/mama.log"; exit 1; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token() { curl -fs -X POST "$URL/api/v1/auth/token" -H 'Content-Type: application/json' -d "{\"username\":\"admin\",\"password\":\"$1\"}" | json "['access_token']"; }
# The bootstrap password must be changed before anything else.
curl -fs -o /dev/null -X POST "$URL/api/v1/auth/password" -H "Authorization: Bearer $(token bench-password)" -H 'Content-Type: application/json' \
  -d '{"current_password":"bench-password","new_password":"bench-password-changed-2026"}'
TOKEN="$(token bench-password-changed-2026)"
AUTH=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')

# Users in batches of 1,000 (the per-call maximum), each synced to the emulator over HTTP before the answer.
batch() { python3 -c "
import json; b=$1
print(json.dumps({'users':[{'user_id':'bench-%06d' % i,'organization':'org-%03d' % (i % 200),'allowed_models':['gpt-4o','gpt-4o-mini'] if i % 3 else ['claude-sonnet-4'],'allowed_services':['billing' if i % 2 else 'search'],'extra_info':'seeded'} for i in range(b*1000,(b+1)*1000)]}))"; }
echo "Creating $LIST_USERS users, 1,000 per call…"
create_times=()
for b in $(seq 0 $((LIST_USERS / 1000 - 1))); do [ -n "${MAMA_BENCH_SKIP_CREATE_AFTER:-}" ] && [ "$b" -ge "$MAMA_BENCH_SKIP_CREATE_AFTER" ] && break;
  batch "$b" > "$WORK/batch.json"
  t="$(curl -fs -o "$WORK/created.json" -w '%{time_total}' -X POST "$URL/api/v1/users" "${AUTH[@]}" --data-binary @"$WORK/batch.json")"
  [ "$b" -lt 10 ] && create_times+=("$t")
  if [ "$b" -eq 0 ]; then
    python3 -c "import json; s=json.load(open('$WORK/created.json'))['sync']; print('  first batch sync states:', {x: sum(1 for o in s if o['state']==x) for x in set(o['state'] for o in s)})"
  fi
  if [ "$b" -eq 9 ]; then
    echo "  10,000 users in; running the lookup benchmarks before adding the rest"
    CLIENT="$(curl -fs -X POST "$URL/api/v1/api-clients" "${AUTH[@]}" -d '{"name":"bench","service":"billing","scope":"all"}' | json "['token']")"
    export MAMA_BENCH_TOKEN="$CLIENT"
    run_wrk() { wrk -t2 -c$CONNECTIONS -d"$DURATION" --latency "$@" 2>&1; }
    # mama's own CPU time (user + system, in clock ticks of 10 ms) over the measured run, per request answered.
    cpu_ticks() { awk '{print $14 + $15}' "/proc/$MAMA_PID/stat"; }
    parse() { awk -v ticks="$1" 'BEGIN {bad=0} /Requests\/sec/ {rps=$2} /requests in/ {n=$1} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s %s %s %s %.0f\n", rps, p50, p99, bad, ticks * 10000 / n}'; }
    # Steady state, as in a long-running service: each scenario first runs unmeasured at low concurrency, then a
    # pause lets the JIT's background tier-up finish (under full load on 2 cores it starves and code stays at Tier0).
    measure() { wrk -t1 -c4 -d5s "$@" > /dev/null 2>&1; sleep 3; local c0 out; c0="$(cpu_ticks)"; out="$(run_wrk "$@")"; echo "$out" | parse $(( $(cpu_ticks) - c0 )); }
    # A lookup's answer waits for its audit batch's commit, and a commit is one fsync of the log: the disk's own fsync
    # times, measured with mama idle, are the floor under the lookups' p50 and p99.
    FSYNC="$(python3 - "$WORK/data" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], 'fsync-probe'); fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600); lat = []
for _ in range(500):
    os.write(fd, b'x' * 4096); t = time.perf_counter(); os.fsync(fd); lat.append((time.perf_counter() - t) * 1000)
os.close(fd); os.remove(path); lat.sort()
print(f"p50 {lat[250]:.2f} ms, p99 {lat[495]:.2f} ms")
PY
)"
    echo "  WAL before lookups: $(stat -c %s "$WORK/data/mama.db-wal" 2>/dev/null || echo 0) bytes, database $(stat -c %s "$WORK/data/mama.db") bytes"
    read -r t_rps t_p50 t_p99 t_bad t_cpu < <(measure "$URL/health/live")
    read -r l1_rps l1_p50 l1_p99 l1_bad l1_cpu < <(measure -s bench/lookup1.lua "$URL/api/v1/keys/lookup")
    read -r l100_rps l100_p50 l100_p99 l100_bad l100_cpu < <(measure -s bench/lookup100.lua "$URL/api/v1/keys/lookup")
    LOOKUP_REPORT="$(printf '%-30s %12s %10s %10s %8s %12s %8s\n' "endpoint ($CONNECTIONS connections)" "requests/s" "p50" "p99" "ratio" "CPU/request" "non-2xx"
      printf '%-30s %12s %10s %10s %8s %10s µs %8s\n' "GET /health/live (trivial)" "$t_rps" "$t_p50" "$t_p99" "1.00" "$t_cpu" "$t_bad"
      printf '%-30s %12s %10s %10s %8.2f %10s µs %8s\n' "lookup, 1 ID" "$l1_rps" "$l1_p50" "$l1_p99" "$(echo "$l1_rps / $t_rps" | bc -l)" "$l1_cpu" "$l1_bad"
      printf '%-30s %12s %10s %10s %8.2f %10s µs %8s\n' "lookup, 100 IDs" "$l100_rps" "$l100_p50" "$l100_p99" "$(echo "$l100_rps / $t_rps" | bc -l)" "$l100_cpu" "$l100_bad")"
    echo "  WAL after lookups: $(stat -c %s "$WORK/data/mama.db-wal" 2>/dev/null || echo 0) bytes"
    SAMPLE="$(curl -fs -X POST "$URL/api/v1/keys/lookup" -H "X-API-Key: $CLIENT" -H 'Content-Type: application/json' -d "{\"user_ids\":[$(seq -f '"bench-%06.0f"' -s, 100 199)]}" | python3 -c "import json,sys; d=json.load(sys.stdin); print(len(d['users']), 'users returned,', sum(1 for u in d['users'] if u['key'].startswith('sk-')), 'with keys')")"
    AUDITED="$(curl -fs "$URL/api/v1/audit?action=key.lookup&page_size=1" "${AUTH[@]}" | json "['total']")"
  fi
done

# One page of the list, sorted and filtered, over all the users: server time = first byte - request sent.
server_ms() { curl -fs -o /dev/null -w '%{time_starttransfer} %{time_pretransfer}' "$1" "${AUTH[@]}" | awk '{printf "%.1f", ($1-$2)*1000}'; }
page_ms=()
for _ in $(seq 1 30); do
  page_ms+=("$(server_ms "$URL/api/v1/users?search=org-04&model=gpt-4o&sort=updated_at&order=desc&page=3&page_size=50")")
done
# The same page asked again has its total counted once (until a write); a filter seen for the first time counts it.
first_ms=()
# Each as dense as org-04 (ten organisations' users): org-10 … org-19 and org-00 … org-09 but org-04.
for i in 10 11 12 13 14 15 16 17 18 19 00 01 02 03 05 06 07 08 09; do
  first_ms+=("$(server_ms "$URL/api/v1/users?search=org-$i&model=gpt-4o&sort=updated_at&order=desc&page=3&page_size=50")")
done
# A search finding a few users (ten IDs each: bench-01230… bench-01239), each seen for the first time.
few_ms=()
for i in 0 1 2 3 4 5 6 7 8 9; do
  few_ms+=("$(server_ms "$URL/api/v1/users?search=bench-0123$i&sort=updated_at&order=desc&page_size=50")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Resident memory with every user in and, then, with 10 admin sessions open in headless Chromium, each having paged
# through the users list and searched (their circuits stay alive until the driver's stdin closes).
rss() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$MAMA_PID/status"; }
RSS_IDLE="$(rss)"
# At rest: mama gives back what the GC kept after a burst once allocation stays quiet for a while (Mama:Memory).
sleep 15; RSS_REST="$(rss)"; RSS_REST_PARTS="$(python3 bench/rss.py "$MAMA_PID")"
SESSIONS=10
dotnet build bench/ui-sessions.cs -v quiet --nologo >/dev/null
mkfifo "$WORK/ui-stdin"
dotnet run --no-build bench/ui-sessions.cs -- "$URL" admin bench-password-changed-2026 "$SESSIONS" < "$WORK/ui-stdin" > "$WORK/ui.log" 2>&1 &
UI_PID=$!
exec 3> "$WORK/ui-stdin"
# The first session's cost (the UI's code compiled, its assemblies read) is paid once; the rest is per session.
for _ in $(seq 1 600); do grep -q "first session open" "$WORK/ui.log" && break; kill -0 "$UI_PID" 2>/dev/null || break; sleep 0.5; done
RSS_UI1=; if grep -q "first session open" "$WORK/ui.log"; then sleep 5; RSS_UI1="$(rss)"; fi
echo go >&3
for _ in $(seq 1 600); do grep -q "all sessions open" "$WORK/ui.log" && break; kill -0 "$UI_PID" 2>/dev/null || break; sleep 0.5; done
if grep -q "all sessions open" "$WORK/ui.log"; then sleep 5; RSS_UI="$(rss) MB"; RSS_SPLIT="; 1 session open: $RSS_UI1 MB, each further session $(awk -v a="$RSS_UI1" -v b="$(rss)" -v n=$((SESSIONS - 1)) 'BEGIN {printf "%.1f", (b - a) / n}') MB"; else RSS_SPLIT=; RSS_UI="not measured (the UI driver failed: $(tail -3 "$WORK/ui.log" | tr '\n' ' '))"; fi
RSS_UI_REST=; if grep -q "all sessions open" "$WORK/ui.log"; then sleep 15; RSS_UI_REST="$(rss)"; RSS_UI_REST_PARTS="$(python3 bench/rss.py "$MAMA_PID")"; fi
exec 3>&-; wait "$UI_PID" 2>/dev/null || true
RSS_PEAK="$(awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$MAMA_PID/status")"

echo
echo "== mama benchmark ($(nproc) cores; wrk and mama share them; SQLite synchronous=FULL) =="
echo "$LOOKUP_REPORT"
echo "the disk under the database, 4 KB write + fsync measured before the lookups: $FSYNC (each lookup waits for one or two)"
echo "sanity: one 100-ID lookup returned $SAMPLE"
echo "lookup audit events in the log after the runs: $AUDITED"
echo "create 1,000 users in one call (emulator over HTTP), first 10 calls: median $(median "${create_times[@]}") s, max $(printf '%s\n' "${create_times[@]}" | sort -n | tail -1) s"
echo "one list page (search + model filter + sort, page_size 50) over $LIST_USERS users, asked 30 times: median $(median "${page_ms[@]}") ms, max $(printf '%s\n' "${page_ms[@]}" | sort -n | tail -1) ms server time"
echo "  the same page for 19 filters as dense, each seen for the first time (its total counted): median $(median "${first_ms[@]}") ms, max $(printf '%s\n' "${first_ms[@]}" | sort -n | tail -1) ms server time"
echo "  a search finding 10 users, 10 searches each seen for the first time: median $(median "${few_ms[@]}") ms, max $(printf '%s\n' "${few_ms[@]}" | sort -n | tail -1) ms server time"
echo "resident memory with $LIST_USERS users: $RSS_IDLE MB right after the list pages, $RSS_REST MB at rest 15 s later; $RSS_UI with $SESSIONS UI sessions open, ${RSS_UI_REST:-?} MB 15 s later (peak $RSS_PEAK MB over the whole run)$RSS_SPLIT"
echo "  at rest: $RSS_REST_PARTS; with the sessions: ${RSS_UI_REST_PARTS:-not measured}"

# Sync throughput on its own instance, against a standalone emulator with latency (MAMA_BENCH_SKIP_SYNC=1 skips it).
[ -n "${MAMA_BENCH_SKIP_SYNC:-}" ] || { echo; bash bench/sync.sh; }

# The rotation scenario runs on its own instance, against a standalone emulator with latency (MAMA_BENCH_SKIP_ROTATION=1 skips it).
[ -n "${MAMA_BENCH_SKIP_ROTATION:-}" ] || { echo; bash bench/rotation.sh; }

# The audit chain's cost on its own instances (MAMA_BENCH_SKIP_CHAIN=1 skips it).
[ -n "${MAMA_BENCH_SKIP_CHAIN:-}" ] || { echo; bash bench/chain.sh; }
