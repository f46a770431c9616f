#!/usr/bin/env bash
# Fuzzes the session cookie decoder for a bounded time (default 60 s).
#   scripts/fuzz.sh [seconds]
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
corpus=fuzz/corpus/decode_cookie
mkdir -p "$corpus"
# Seeds: a valid token, a valid payload and a valid header, one per mode.
printf '\x00eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhIjoxfQ.vEbnSFVfcVTdTvoNxTTxcWUcXRuks5S7QSqhjHAAny0' > "$corpus/seed-token"
printf '\x01{"user":"joe","exp":99999999999,"iat":1,"sub":"x"}' > "$corpus/seed-payload"
printf '\x02{"alg":"HS256","kid":"k","typ":"JWT"}' > "$corpus/seed-header"
cargo +nightly fuzz run --fuzz-dir fuzz decode_cookie "$corpus" -- -max_total_time="$seconds" -max_len=10000 2>&1 | tee fuzz/last-run.log | grep -E "^#[0-9]+.*(DONE|pulse)|ERROR|crash|Done" || true
grep -q "Done [0-9]* runs" fuzz/last-run.log && tail -n 1 fuzz/last-run.log
! grep -qE "ERROR: libFuzzer|panicked|deadly signal" fuzz/last-run.log
