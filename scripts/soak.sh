#!/usr/bin/env bash
# Soak: wrk at full rate against /read and /write of examples/bench_server.rs with real
# session cookies plus a share of hostile ones (tampered, expired, oversized).
# Passes when there are no errors and no non-2xx answers, and the server's RSS at the end has
# grown less than 5% over its RSS at 10 s.
#
#   scripts/soak.sh             # 60 s
#   DURATION=120 scripts/soak.sh
#   PORT=18412 scripts/soak.sh   # another port (default 18312)
#
# Needs wrk (apt-get install wrk) and python3 (to forge the expired token).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-60}"
PORT="${PORT:-18312}"
SECRET="benchmark secret: not for production use!" # examples/bench_server.rs
work=$(mktemp -d)

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --example bench_server

PORT=$PORT taskset -c 0 target/release/examples/bench_server >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/bare" && break; sleep 0.05; done

valid=$(curl -s -i -X POST "http://127.0.0.1:$PORT/write" | tr -d '\r' | awk -F': ' 'tolower($1)=="set-cookie" {split($2, a, ";"); split(a[1], b, "="); print b[2]}')
[ -n "$valid" ] || { echo "no session cookie from /write" >&2; exit 1; }
IFS=. read -r head payload signature <<<"$valid"
tampered="$head.$(printf '{"username":"mallory","counter":1}' | base64 -w0 | tr '+/' '-_' | tr -d '=').$signature"
expired=$(python3 - "$SECRET" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps({"username": "ann", "exp": int(time.time()) - 3600}).encode())
signature = hmac.new(sys.argv[1].encode(), signing_input.encode(), hashlib.sha256).digest()
print(signing_input + "." + b64(signature))
PY
)
oversized=$(head -c 9000 /dev/zero | tr '\0' 'A')

# Per 20 requests: 9 valid reads, 5 valid writes, and 2 each of tampered, expired, oversized.
cat > "$work/soak.lua" <<LUA
local valid, tampered, expired, oversized = "$valid", "$tampered", "$expired", "$oversized"
local plan = {
  {"GET", "/read", valid}, {"GET", "/read", valid}, {"GET", "/read", valid}, {"GET", "/read", valid},
  {"GET", "/read", valid}, {"GET", "/read", valid}, {"GET", "/read", valid}, {"GET", "/read", valid},
  {"GET", "/read", valid},
  {"POST", "/write", valid}, {"POST", "/write", valid}, {"POST", "/write", valid}, {"POST", "/write", valid},
  {"POST", "/write", valid},
  {"GET", "/read", tampered}, {"POST", "/write", tampered},
  {"GET", "/read", expired}, {"POST", "/write", expired},
  {"GET", "/read", oversized}, {"POST", "/write", oversized},
}
local requests = {}
for i, step in ipairs(plan) do
  -- A header table of our own replaces wrk's defaults, Host included.
  requests[i] = wrk.format(step[1], step[2], {["Host"] = "127.0.0.1:$PORT", ["Cookie"] = "session=" .. step[3]})
end
local i = 0
request = function()
  i = i % #requests + 1
  return requests[i]
end
LUA

rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" -s "$work/soak.lua" "http://127.0.0.1:$PORT" > "$work/wrk.txt" &
client=$!
sleep 10; rss_10=$(rss)
wait $client
rss_end=$(rss)
cat "$work/wrk.txt"

non_2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt"); non_2xx=${non_2xx:-0}
socket_errors=$(awk -F'[ ,]+' '/Socket errors/ {print $4 + $6 + $8 + $10}' "$work/wrk.txt"); socket_errors=${socket_errors:-0}
growth=$(awk -v a="$rss_10" -v b="$rss_end" 'BEGIN {printf "%.2f", (b - a) * 100 / a}')
echo
echo "soak ${DURATION}s: non-2xx $non_2xx, socket errors $socket_errors, RSS ${rss_10} KiB at 10 s -> ${rss_end} KiB at ${DURATION} s (${growth}%)"
# A leak shows as growth; memory the allocator hands back (a drop) is reported, not failed.
[ "$non_2xx" = 0 ] && [ "$socket_errors" = 0 ] && awk -v g="$growth" 'BEGIN {exit !(g <= 5)}' || { echo "SOAK FAILED" >&2; exit 1; }
echo "soak passed"
