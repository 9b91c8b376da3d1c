#!/usr/bin/env bash
# Rotation benchmark: every user's key rotated with grace 0 (the incident re-key) against a standalone LiteLLM
# emulator that answers each call after a delay. Prints the time until every new key is live and every old key is
# gone, and mama's proxy calls per user. Asserts nothing.
#   bash bench/rotation.sh                                        # 10,000 users, 20 ms per proxy call
#   MAMA_BENCH_ROTATION_USERS=2000 MAMA_BENCH_PROXY_LATENCY_MS=20 bash bench/rotation.sh
set -euo pipefail
cd "$(dirname "$0")/.."

USERS="${MAMA_BENCH_ROTATION_USERS:-10000}"
LATENCY_MS="${MAMA_BENCH_PROXY_LATENCY_MS:-20}"
CONCURRENCY="${MAMA_BENCH_SYNC_CONCURRENCY:-64}"   # LiteLlm:MaxConcurrency for this run (64 is the default)
WORK="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
EMULATOR_PORT="$(free_port)"
URL="http://127.0.0.1:$PORT"
EMULATOR="http://127.0.0.1:$EMULATOR_PORT"
MASTER_KEY="sk-bench-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
cleanup() { for p in ${MAMA_PID:-} ${EMULATOR_PID:-}; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

echo "Publishing Release builds of mama and the emulator…"
dotnet publish src/Mama -c Release -r "$(bash bench/rid.sh)" -o "$WORK/app" --nologo -v quiet >/dev/null
dotnet publish src/Mama.LiteLlmEmulator -c Release -o "$WORK/emulator" --nologo -v quiet >/dev/null
(cd "$WORK/emulator" && exec dotnet Mama.LiteLlmEmulator.dll --port "$EMULATOR_PORT" --master-key "$MASTER_KEY") > "$WORK/emulator.log" 2>&1 &
EMULATOR_PID=$!
env ${MAMA_BENCH_ENV:-} ASPNETCORE_ENVIRONMENT=Development Urls="$URL" Mama__DataPath="$WORK/data" Mama__BootstrapAdminPassword=bench-password \
  Logging__LogLevel__Default=Warning LiteLlm__UseEmulator=false LiteLlm__BaseUrl="$EMULATOR" LiteLlm__MasterKey="$MASTER_KEY" \
  LiteLlm__DriftCheckInterval=00:00:00 LiteLlm__InlineSyncBudget=00:00:30 LiteLlm__MaxConcurrency="$CONCURRENCY" \
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

echo "Creating $USERS users, 1,000 per call (no proxy latency yet)…"
for b in $(seq 0 $(( (USERS + 999) / 1000 - 1 ))); do
  python3 -c "
import json; n=$USERS; b=$b
print(json.dumps({'users':[{'user_id':'rot-%06d' % i,'organization':'org-%03d' % (i % 50),'allowed_models':['gpt-4o']} for i in range(b*1000, min((b+1)*1000, n))]}))" > "$WORK/batch.json"
  curl -fs -o /dev/null -X POST "$URL/api/v1/users" "${AUTH[@]}" --data-binary @"$WORK/batch.json"
done
calls() { curl -fs "$EMULATOR/_emulator/calls" | python3 -c "import json,sys; print(sum(k['calls'] for k in json.load(sys.stdin)['keys']))"; }
keys_on_proxy() { curl -fs "$EMULATOR/_emulator/keys" | python3 -c "
import json,sys; ks=[k for k in json.load(sys.stdin)['keys'] if (k.get('metadata') or {}).get('managed_by') == 'mama']; a=[k.get('key_alias') for k in ks]
print(len(ks), len(set(x for x in a if x)), sum(1 for x in a if not x))"; }
for _ in $(seq 1 600); do
  read -r total _ _ < <(keys_on_proxy); [ "$total" -ge "$USERS" ] && break; sleep 0.5
done
before_calls="$(calls)"
curl -fs -X PUT "$EMULATOR/_emulator/latency" -H 'Content-Type: application/json' -d "{\"ms\": $LATENCY_MS}" >/dev/null

echo "Rotating every key with grace 0 ($LATENCY_MS ms per proxy call)…"
start="$(date +%s.%N)"
ROTATION="$(curl -fs -X POST "$URL/api/v1/users/rotate" "${AUTH[@]}" -d '{"filter": {}, "grace": "0"}' | json "['rotation_id']")"
answered="$(date +%s.%N)"
while :; do
  curl -fs "$URL/api/v1/rotations/$ROTATION" "${AUTH[@]}" > "$WORK/progress.json"
  python3 -c "import json; p=json.load(open('$WORK/progress.json')); exit(0 if p['finished'] else 1)" && break
  sleep 0.5
done
done_at="$(date +%s.%N)"
after_calls="$(calls)"
read -r total aliases unaliased < <(keys_on_proxy)

echo
echo "== mama rotation benchmark ($(nproc) cores; mama and the emulator share them) =="
python3 - "$WORK/progress.json" <<EOF
import json, sys
p = json.load(open(sys.argv[1]))
users, start, answered, done = $USERS, $start, $answered, $done_at
print(f"rotate {users:,} users, grace 0, proxy latency $LATENCY_MS ms: request answered in {answered - start:.2f} s; "
      f"every new key live and every old key gone after {done - start:.1f} s")
print(f"  progress: total {p['total']}, done {p['done']}, revoked {p['revoked']}, failed {p['failed']}, skipped {p['skipped']}")
print(f"  proxy calls naming a key during the rotation: {$after_calls - $before_calls:,} = {($after_calls - $before_calls) / users:.2f} per user")
print(f"  mama's keys on the proxy after: $total ($aliases distinct aliases, $unaliased without alias); sync concurrency $CONCURRENCY")
EOF
