#!/usr/bin/env bash
# Fuzzes every target (or the ones named) for a bounded time each, then prints one line
# per target: executions, seconds, crashes. Exits non-zero if any target crashed.
#   scripts/fuzz.sh [seconds-per-target] [target...]     (default 60 s, every target)
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
# Runs under `nice -n ${FUZZ_NICE:-10}`, one job per target, so other builds keep going.
# Sanitizer: ${FUZZ_SANITIZER:-none}. The library forbids `unsafe` and the targets check
# for panics and wrong answers, which need none; `FUZZ_SANITIZER=address` also checks the
# dependencies' unsafe code, at a fraction of the speed.
# Logs: fuzz/logs/<target>.log; crash inputs: fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(decode_cookie decode_configs cookie_header encode_roundtrip)
fi
token='eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhIjoxfQ.vEbnSFVfcVTdTvoNxTTxcWUcXRuks5S7QSqhjHAAny0'
user='{"user":"joe","cart":[1,2.5,null,true],"o":{"k":"v"}}'

# Seeds, in each target's input format (see the doc comment of each target).
seed() { mkdir -p "fuzz/corpus/$1"; printf "$3" > "fuzz/corpus/$1/seed-$2"; }
seed decode_cookie token "\\x00$token"
seed decode_cookie payload '\x01{"user":"joe","exp":99999999999,"iat":1,"sub":"x"}'
seed decode_cookie header '\x02{"alg":"HS256","kid":"k","typ":"JWT"}'
# Encrypted modes: jwcrypto's A1 vector (well-formed, under another secret), a plaintext and a
# protected header, each sealed by the target.
seed decode_cookie encrypted-token '\x03eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAECAwQFBgcICQoL.IJ8ohHKQwQ.XJk9Jf_vfZveFomOEwQYGw'
seed decode_cookie plaintext '\x04{"user":"joe","exp":99999999999,"iat":1,"sub":"x"}'
seed decode_cookie protected-header '\x05{"alg":"dir","enc":"A256GCM","kid":"k"}'
for config in 0 1 2 3; do
  seed decode_configs "raw-$config" "\\x0$config\\x00$token"
  seed decode_configs "payload-$config" "\\x0$config\\x01$user"
  seed decode_configs "header-$config" "\\x0$config\\x02{\"alg\":\"EdDSA\",\"kid\":\"k\",\"typ\":\"jwt\"}"
  # iat now, exp in 600 s, session_start 12 s ago; then one older than half the idle window.
  seed decode_configs "timed-$config" "\\x0$config\\x03\\x00\\x00\\x96\\x00\\xfd\\xff$user"
  seed decode_configs "timed-old-$config" "\\x0$config\\x03\\x00\\xfe\\x96\\x00\\x00\\xfe$user"
  seed decode_configs "previous-$config" "\\x0$config\\x04\\x00\\x00\\x96\\x00\\xfd\\xff$user"
  seed encode_roundtrip "data-$config" "\\x0$config$user"
done
seed cookie_header mixed "\\x00a=1; broken; session = $token ;b=2\\nsession=second"
seed cookie_header quoted '\x01theme=dark; __Host-session="tok"; x=\xe9'

# Crash inputs libFuzzer has written for a target so far.
crash_count() { mkdir -p "fuzz/artifacts/$1"; find "fuzz/artifacts/$1" -type f | wc -l; }

mkdir -p fuzz/logs
summary=()
failed=0
for target in "${targets[@]}"; do
  log="fuzz/logs/$target.log"
  crashes_before=$(crash_count "$target")
  command=(cargo +nightly fuzz run --sanitizer "${FUZZ_SANITIZER:-none}" --fuzz-dir fuzz
    "$target" "fuzz/corpus/$target" --
    -max_total_time="$seconds" -max_len=10000 -print_final_stats=1)
  echo "== $target: ${command[*]}"
  started=$(date +%s)
  status=0
  nice -n "${FUZZ_NICE:-10}" "${command[@]}" > "$log" 2>&1 || status=$?
  elapsed=$(( $(date +%s) - started ))
  runs=$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  crashes=$(( $(crash_count "$target") - crashes_before ))
  if [ "$status" -ne 0 ] || grep -qE 'ERROR: libFuzzer|panicked|deadly signal' "$log"; then
    failed=1
    [ "$crashes" -gt 0 ] || crashes="?"
    grep -E 'panicked|ERROR|Test unit written' "$log" | head -n 5 || true
  fi
  summary+=("$(printf '%-18s %12s runs %6s s %4s crashes' "$target" "${runs:-?}" "$elapsed" "$crashes")")
done
echo "== summary ($(date -u +%FT%TZ), $seconds s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
