#!/usr/bin/env bash
# Sync throughput benchmark: 1,000 users created in one call against a standalone LiteLLM emulator that answers each
# call after a delay. Prints the call's answer time, the time until every new key is on the proxy, and mama's proxy
# calls per new user. Asserts nothing.
#   bash bench/sync.sh                                             # 1,000 users, 20 ms per proxy call, default concurrency
#   MAMA_BENCH_PROXY_LATENCY_MS=50 MAMA_BENCH_SYNC_CONCURRENCY=64 bash bench/sync.sh
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=1000 # the most one call takes
LATENCY_MS="${MAMA_BENCH_PROXY_LATENCY_MS:-20}"
CONCURRENCY="${MAMA_BENCH_SYNC_CONCURRENCY:-}" # unset: mama's default LiteLlm:MaxConcurrency
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
  LiteLlm__DriftCheckInterval=00:00:00 ${CONCURRENCY:+LiteLlm__MaxConcurrency="$CONCURRENCY"} \
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

# Warm-up, unmeasured: one small create, so the JIT and the connection pool are not part of the figure.
curl -fs -o /dev/null -X POST "$URL/api/v1/users" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"users":[{"user_id":"warm-1","allowed_models":["gpt-4o"]},{"user_id":"warm-2","allowed_models":["gpt-4o"]}]}'
curl -fs -o /dev/null -X PUT "$EMULATOR/_emulator/latency" -H 'Content-Type: application/json' -d "{\"ms\": $LATENCY_MS}"

echo "Creating $USERS users in one call ($LATENCY_MS ms per proxy call)…"
python3 - "$URL" "$EMULATOR" "$TOKEN" "$USERS" "$LATENCY_MS" "${CONCURRENCY:-default}" "$(nproc)" "$MAMA_PID" "$EMULATOR_PID" <<'EOF'
import json, os, sys, threading, time, urllib.request
url, emulator, token, users, latency, concurrency, cores = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
pids = {'mama': sys.argv[8], 'emulator': sys.argv[9]}
def cpu(pid):
    # utime + stime of the process (mama runs under a bash -c that execs it, so the PID is dotnet's own)
    fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
def post_users(body):
    req = urllib.request.Request(url + '/api/v1/users', data=body, method='POST',
                                 headers={'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'})
    return json.load(urllib.request.urlopen(req, timeout=300))
def measure(prefix, label):
    cpu_before = {name: cpu(pid) for name, pid in pids.items()}
    ids = {prefix + '%05d' % i for i in range(users)}
    body = json.dumps({'users': [{'user_id': i, 'organization': 'org-%02d' % (n % 20), 'allowed_models': ['gpt-4o']}
                                 for n, i in enumerate(sorted(ids))]}).encode()
    get = lambda u: json.load(urllib.request.urlopen(u, timeout=60))
    requests_before = len(get(emulator + '/_emulator/requests')['requests'])

    answer = {}
    def create():
        answer['body'] = post_users(body)
        answer['at'] = time.monotonic()

    start = time.monotonic()
    worker = threading.Thread(target=create)
    worker.start()
    live_at = None
    while live_at is None and time.monotonic() - start < 120:
        # The call log's per-key "generated" count: a key counts once the proxy has stored it and answered 200.
        calls = get(emulator + '/_emulator/calls')['keys']
        if sum(1 for k in calls if k.get('key_alias') in ids and k['generated'] > 0) >= users:
            live_at = time.monotonic()
        else:
            time.sleep(0.1)  # each poll reads the whole call log: polled more often, it takes CPU from mama
    worker.join()
    cpu_used = {name: cpu(pid) - cpu_before[name] for name, pid in pids.items()}

    requests = get(emulator + '/_emulator/requests')['requests'][requests_before:]
    by_route = {}
    for r in requests:
        route = r['method'] + ' ' + r['url'].split('?')[0]
        by_route[route] = by_route.get(route, 0) + 1
    on_proxy = sum(1 for k in get(emulator + '/_emulator/keys')['keys'] if k.get('key_alias') in ids)
    states = {}
    for o in answer['body']['sync']:
        states[o['state']] = states.get(o['state'], 0) + 1

    print(f"create {users:,} users in one call, proxy latency {latency} ms, LiteLlm:MaxConcurrency {concurrency}, {label}:")
    print(f"  call answered after {answer['at'] - start:.2f} s; sync states in the answer: {states}")
    print(f"  every key live on the proxy after " + (f"{live_at - start:.2f} s" if live_at else "more than 120 s") + f" ({on_proxy:,} of {users:,} on the proxy now)")
    print(f"  proxy calls during the create: {len(requests):,} = {len(requests) / users:.2f} per user; by route: "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(by_route.items())))
    print(f"  CPU during the create: mama {cpu_used['mama']:.2f} s, emulator {cpu_used['emulator']:.2f} s; load average {os.getloadavg()[0]:.1f} (other work on the machine skews the times)")

print()
print(f"== mama sync benchmark ({cores} cores; mama and the emulator share them) ==")
# The first large creates after a start also pay for compiling the sync path: the JIT tiers hot methods up (with
# profile-guided instrumentation first) over several of them. After three more, unmeasured, the create runs at its
# steady state, which the issue's goal is about. Both are printed.
measure('sync-', 'the first after a start')
for round in range(3):
    post_users(json.dumps({'users': [{'user_id': f'warm{round}-%05d' % i, 'allowed_models': ['gpt-4o']} for i in range(users)]}).encode())
measure('again-', 'after three more (the sync path compiled)')
EOF
