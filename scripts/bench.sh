#!/usr/bin/env bash
# Whole-server throughput: jwt-session against a bare handler and against actix-session,
# measured in the same run, in three modes: signed (ours HS256, actix-session's cookie store
# `Signed`), encrypted (ours `Session::encrypted`, actix-session `Private`) and redis (ours
# under `RedisStore` with its replica, actix-session's `RedisSessionStore`, one real
# redis-server). For each side it also reports what a session costs per request: the
# marginal `1/read - 1/bare` (and `1/write - 1/bare`) in µs, from the same round.
#
# A fourth mode, axum, runs ours on axum (examples/bench_axum.rs, `SessionLayer`, signed)
# against tower-sessions on its `MemoryStore` (examples/bench_tower_sessions.rs), one tokio
# thread each; both serve /bare outside their session layer, and each side's session cost
# is taken against its own /bare. It is not in the default MODES: `MODES=axum` or
# `MODES="signed encrypted axum"`.
#
#   scripts/bench.sh            # 3 rounds, 5 s per measurement, both modes
#   ROUNDS=5 DURATION=10 scripts/bench.sh
#   MODES=encrypted scripts/bench.sh
#   MODES="signed encrypted axum" scripts/bench.sh
#   BENCH_PORT=18400 scripts/bench.sh   # another port, when 18311 is taken
#
# Each server runs one worker pinned to core 0; wrk runs one thread pinned to core 1.
# Rounds alternate ours/peer (A/B) so drift hits both. Reports medians of requests/s and of
# wrk's --latency p99 for /bare, /read and /write. Needs wrk (apt-get install wrk).
#
# Revocation: ours also serves /memory/read (MemoryStore deny-list) and, when redis-server is
# installed, /redis/read (RedisStore, one connection manager, against a redis-server started
# here on core 1 with persistence off), each compared with plain /read of the same run.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5}"
CONNECTIONS="${CONNECTIONS:-32}"
SERVER_CORE="${SERVER_CORE:-0}"
CLIENT_CORE="${CLIENT_CORE:-1}"
MODES="${MODES:-signed encrypted$(command -v redis-server >/dev/null && echo ' redis')}"
PORT="${BENCH_PORT:-18311}"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
ours=(--example bench_server)
peers=(--example bench_actix_session)
case " $MODES " in *" axum "*) ours+=(--features axum --example bench_axum); peers+=(--example bench_tower_sessions) ;; esac
cargo build --release --quiet "${ours[@]}"
# The peers live in xtests/, so that a first `cargo run --example` does not build them.
cargo build --release --quiet -p jwt-session-xtests "${peers[@]}"

# The two servers of a mode, ours first.
servers() { if [ "$1" = axum ]; then echo bench_axum bench_tower_sessions; else echo bench_server bench_actix_session; fi; }

server_pid=""
redis_pid=""
# The axum servers die of the SIGTERM (status 143), where actix's stop gracefully: either is a stop.
stop_server() { if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null && { wait "$server_pid" 2>/dev/null || true; }; fi; server_pid=""; }
stop_all() { stop_server; [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null; redis_pid=""; }
trap stop_all EXIT

REDIS_PORT=18312
if command -v redis-server >/dev/null; then
  taskset -c "$CLIENT_CORE" redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
  redis_pid=$!
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
else
  echo "redis-server is missing: /redis/read is not measured (apt-get install redis-server)" >&2
fi

start_server() { # $1: example name, $2: mode
  # Something else answering on the port would be measured instead of our server.
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/bare"; then echo "port $PORT is in use: set BENCH_PORT" >&2; exit 1; fi
  local mode_env=()
  if [ "$2" = encrypted ]; then mode_env=(ENCRYPTED=1 PRIVATE=1); fi
  if [ "$2" = redis ]; then mode_env=(STORE=redis); fi
  env "${mode_env[@]}" PORT=$PORT taskset -c "$SERVER_CORE" "target/release/examples/$1" >/dev/null 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/bare" && return; sleep 0.05; done
  echo "$1 did not start" >&2; exit 1
}

# "requests/s p99-in-µs" of one wrk run; $1 path, $2 cookie, $3 extra wrk args
measure() {
  local out
  out=$(taskset -c "$CLIENT_CORE" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Cookie: $2" $3 "http://127.0.0.1:$PORT$1")
  if grep -qE "Non-2xx|Socket errors" <<<"$out"; then echo "errors during $1:" >&2; echo "$out" >&2; exit 1; fi
  awk '/Requests\/sec/ {rps = $2}
       /^ +99%/ {v = $2; u = 1; if (v ~ /ms$/) u = 1000; else if (v ~ /[0-9]s$/) u = 1000000;
                 sub(/[a-z]+$/, "", v); p99 = v * u}
       END {print rps, p99}' <<<"$out"
}

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime of process $1

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

us_added() { awk -v with="$1" -v without="$2" 'BEGIN {printf "%.2f", 1e6 / with - 1e6 / without}'; }

declare -A results latencies
for round in $(seq "$ROUNDS"); do
  for mode in $MODES; do
    for server in $(servers "$mode"); do
      start_server "$server" "$mode"
      # A real session cookie from the server's own first /write.
      cookie=$(curl -s -i -X POST "http://127.0.0.1:$PORT/write" | tr -d '\r' | awk -F': ' 'tolower($1)=="set-cookie" {split($2, a, ";"); print a[1]}')
      [ -n "$cookie" ] || { echo "$server set no cookie" >&2; exit 1; }
      for route in bare read write; do
        extra=""; [ "$route" = write ] && extra="-s scripts/wrk-post.lua"
        read -r rps p99 < <(measure "/$route" "$cookie" "$extra")
        results[$mode.$server.$route]+="$rps "
        latencies[$mode.$server.$route]+="$p99 "
        printf 'round %s  %-9s %-20s /%-5s %10.0f req/s  p99 %6.0f µs\n' "$round" "$mode" "$server" "$route" "$rps" "$p99"
      done
      if [ "$server" = bench_server ] && [ "$mode" = signed ]; then
        for store in lifetime memory ${redis_pid:+redis}; do
          # A cookie with a token id, from that store's own /write.
          store_cookie=$(curl -s -i -X POST "http://127.0.0.1:$PORT/$store/write" | tr -d '\r' | awk -F': ' 'tolower($1)=="set-cookie" {split($2, a, ";"); print a[1]}')
          [ -n "$store_cookie" ] || { echo "/$store/write set no cookie" >&2; exit 1; }
          # CPU time of the server and of redis-server over the run: which one is the limit.
          server_before=$(cpu_ticks "$server_pid"); redis_before=$(cpu_ticks "${redis_pid:-$$}")
          read -r rps _ < <(measure "/$store/read" "$store_cookie" "")
          server_cpu=$(( $(cpu_ticks "$server_pid") - server_before )); redis_cpu=$(( $(cpu_ticks "${redis_pid:-$$}") - redis_before ))
          results[$mode.$server.$store]+="$rps "
          printf 'round %s  %-9s %-20s /%-5s %10.0f req/s   cpu: server %3d%%' "$round" "$mode" "$server" "$store/read" "$rps" $(( server_cpu * 100 / (CLK_TCK * DURATION) ))
          [ "$store" = redis ] && printf ', redis-server %3d%%' $(( redis_cpu * 100 / (CLK_TCK * DURATION) ))
          echo
        done
      fi
      stop_server
    done
  done
done

m() { tr ' ' '\n' <<<"${results[$1]:-}" | grep -v '^$' | median; }
# The value of round $2 (1-based) of key $1.
nth() { tr ' ' '\n' <<<"${results[$1]:-}" | grep -v '^$' | sed -n "$2p"; }
# (1/route - 1/bare of ours) / (1/route - 1/bare of the peer): the session-cost ratio.
cost_ratio() { awk -v r="$1" -v b="$2" -v pr="$3" -v pb="$4" 'BEGIN {printf "%.3f", (1/r - 1/b) / (1/pr - 1/pb)}'; }
p() { tr ' ' '\n' <<<"${latencies[$1]:-}" | grep -v '^$' | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

echo
echo "medians over $ROUNDS rounds of ${DURATION}s, $CONNECTIONS connections, server on core $SERVER_CORE, wrk on core $CLIENT_CORE"
for mode in $MODES; do
  case $mode in
    encrypted) ours="jwt-session (encrypted)"; peer="actix-session (private)" ;;
    redis) ours="jwt-session (RedisStore)"; peer="actix-session (Redis)" ;;
    axum) ours="jwt-session (axum)"; peer="tower-sessions (memory)" ;;
    *) ours="jwt-session"; peer="actix-session (signed)" ;;
  esac
  read -r ours_srv peer_srv < <(servers "$mode")
  ours_bare=$(m $mode.$ours_srv.bare); ours_read=$(m $mode.$ours_srv.read); ours_write=$(m $mode.$ours_srv.write)
  peer_bare=$(m $mode.$peer_srv.bare); peer_read=$(m $mode.$peer_srv.read); peer_write=$(m $mode.$peer_srv.write)
  # The peer's baseline: on actix, actix-session's middleware also runs on its own /bare, so
  # its 1/read - 1/bare would hide that part: it is taken against ours /bare (no session
  # middleware at all). On axum both /bare run outside the layers: each its own.
  peer_base=$ours_bare; peer_base_key=$mode.$ours_srv.bare
  if [ "$mode" = axum ]; then peer_base=$peer_bare; peer_base_key=$mode.$peer_srv.bare; fi
  echo
  printf '%-24s %12s %12s %12s\n' "" "/bare" "/read" "/write"
  printf '%-24s %12.0f %12.0f %12.0f\n' "$ours" "$ours_bare" "$ours_read" "$ours_write"
  printf '%-24s %12.0f %12.0f %12.0f\n' "$peer" "$peer_bare" "$peer_read" "$peer_write"
  echo
  printf '%-15s read/bare  %s   write/bare  %s\n' "${ours% (*}" "$(ratio "$ours_read" "$ours_bare")" "$(ratio "$ours_write" "$ours_bare")"
  printf '%-15s read/bare  %s   write/bare  %s\n' "${peer% (*}" "$(ratio "$peer_read" "$peer_bare")" "$(ratio "$peer_write" "$peer_bare")"
  echo "ours/peer ($mode) requests/s  read  $(ratio "$ours_read" "$peer_read")   write  $(ratio "$ours_write" "$peer_write")"
  echo "session cost per request (µs, 1/route - 1/bare without middleware): ${ours% (*} read $(us_added "$ours_read" "$ours_bare") write $(us_added "$ours_write" "$ours_bare");  ${peer% (*} read $(us_added "$peer_read" "$peer_base") write $(us_added "$peer_write" "$peer_base")"
  echo "session cost, ours/peer (medians)  read $(cost_ratio "$ours_read" "$ours_bare" "$peer_read" "$peer_base")   write $(cost_ratio "$ours_write" "$ours_bare" "$peer_write" "$peer_base")"
  # The same ratios from the numbers of each round alone: drift between rounds cancels.
  for round in $(seq "$ROUNDS"); do
    ob=$(nth $mode.$ours_srv.bare "$round"); pb=$(nth "$peer_base_key" "$round")
    echo "  round $round: session cost ours/peer  read $(cost_ratio "$(nth $mode.$ours_srv.read "$round")" "$ob" "$(nth $mode.$peer_srv.read "$round")" "$pb")   write $(cost_ratio "$(nth $mode.$ours_srv.write "$round")" "$ob" "$(nth $mode.$peer_srv.write "$round")" "$pb")   requests/s ours/peer  read $(ratio "$(nth $mode.$ours_srv.read "$round")" "$(nth $mode.$peer_srv.read "$round")")   write $(ratio "$(nth $mode.$ours_srv.write "$round")" "$(nth $mode.$peer_srv.write "$round")")"
  done
  printf '%-24s %12s %12s %12s\n' "median p99 (µs)" "/bare" "/read" "/write"
  for server in $ours_srv $peer_srv; do
    printf '%-24s %12.0f %12.0f %12.0f\n' "$server" "$(p $mode.$server.bare)" "$(p $mode.$server.read)" "$(p $mode.$server.write)"
  done
done
case " $MODES " in *" signed "*) ;; *) exit 0 ;; esac
ours_read=$(m signed.bench_server.read)
case " $MODES " in *" redis "*)
  echo
  echo "ours under RedisStore vs ours without a store (same run): /read $(ratio "$(m redis.bench_server.read)" "$ours_read")   /write $(ratio "$(m redis.bench_server.write)" "$(m signed.bench_server.write)")" ;;
esac
echo
echo "revocation (ours, same run; each route under its own scope, against /lifetime/read: the"
echo "same one-hour lifetime and no store):"
ours_lifetime=$(m signed.bench_server.lifetime)
echo "  /lifetime/read $(printf '%.0f' "$ours_lifetime") req/s   vs /read $(ratio "$ours_lifetime" "$ours_read")   added $(us_added "$ours_lifetime" "$ours_read") µs/request"
ours_memory=$(m signed.bench_server.memory)
echo "  /memory/read   $(printf '%.0f' "$ours_memory") req/s   vs /lifetime/read $(ratio "$ours_memory" "$ours_lifetime")   added $(us_added "$ours_memory" "$ours_lifetime") µs/request"
if [ -n "$redis_pid" ]; then
  ours_redis=$(m signed.bench_server.redis)
  echo "  /redis/read    $(printf '%.0f' "$ours_redis") req/s   vs /lifetime/read $(ratio "$ours_redis" "$ours_lifetime")   added $(us_added "$ours_redis" "$ours_lifetime") µs/request"
fi
