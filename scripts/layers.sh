#!/usr/bin/env bash
# Checks that session-runtime/src runs one way, from the `use crate::` lines, and prints the
# floors (each module with the modules it imports), which the README's "Project layout" shows.
#
#   scripts/layers.sh                 check, then print the floors
#   scripts/layers.sh --check-readme  also fail when the README's floors block differs
#
# Rules:
#   1. nothing under token/ or revocation/ (nor error.rs) imports actix_web, or any crate
#      module outside token/, revocation/ and error;
#   2. nothing under login/ (nor csrf.rs) imports a crate-private module: only the public
#      root items (`crate::Session`, ...) and the seam `crate::ext`; no `super::` escape;
#   3. no import cycle between the top-level modules.
set -euo pipefail
cd "$(dirname "$0")/../session-runtime/src"

fail=0
breach() {
  echo "layers: $*" >&2
  fail=1
}

# The module a file belongs to: its top-level folder or file stem.
module_of() {
  local path=${1#./}
  case $path in
    */*) echo "${path%%/*}" ;;
    *) echo "${path%.rs}" ;;
  esac
}

# Every `use crate::...;` statement of a file, joined onto one line (imports span lines).
imports_of() {
  awk '
    /^[[:space:]]*(pub(\([a-z]+\))? )?use crate::/ { grab = 1; line = "" }
    grab { line = line " " $0; if ($0 ~ /;/) { print line; grab = 0 } }
  ' "$1"
}

# The crate modules one import statement names: `crate::a::..`, and each `a` in
# `crate::{a::.., b, ..}` at the top level of the braces.
modules_named() {
  sed -E 's/.*use crate:://; s/;.*//' | awk '
    {
      s = $0
      if (substr(s, 1, 1) != "{") { sub(/::.*/, "", s); print s; next }
      s = substr(s, 2, length(s) - 2); depth = 0; cur = ""
      for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "{") depth++
        if (c == "}") depth--
        if (c == "," && depth == 0) { print cur; cur = ""; continue }
        cur = cur c
      }
      print cur
    }' | sed -E 's/^[[:space:]]+//; s/::.*//; s/[[:space:]].*//' | grep -v '^$' || true
}

public_roots='^(Session|SessionDict|SessionError|SessionData|TypedSession|Flash|SameSite|self)$'
declare -A deps
while IFS= read -r file; do
  module=$(module_of "$file")
  # Test modules may reach anything; comments (doc examples included) are not code.
  body=$(sed '/^#\[cfg(test)\]/,$d' "$file" | grep -vE '^[[:space:]]*//' || true)
  case $file in
    ./token/* | ./revocation/* | ./error.rs)
      if grep -qE '(^|[^a-z_])actix_web::' <<<"$body"; then
        breach "$file is in the token core but uses actix_web"
      fi ;;
  esac
  named=$(imports_of <(echo "$body") | modules_named | sort -u)
  for target in $named; do
    case $file in
      ./token/* | ./revocation/* | ./error.rs)
        [[ $target =~ ^(token|revocation|error)$ ]] ||
          breach "$file is in the token core but imports crate::$target" ;;
      ./login/* | ./csrf.rs)
        [[ $target == ext || $target =~ $public_roots ]] ||
          breach "$file is a layer on sessions but imports crate::$target (use the seam, crate::ext)" ;;
    esac
    [[ $target =~ $public_roots ]] && continue
    [[ $target == "$module" ]] && continue
    deps[$module]="${deps[$module]:-} $target"
  done
  if [[ $file == ./login/* ]] && grep -q 'super::super' <<<"$body"; then
    breach "$file escapes login/ with super::super"
  fi
done < <(find . -name '*.rs' | sort)

# Import cycles between top-level modules: a depth-first search over `deps`.
declare -A state
cycle_from() {
  local node=$1 next
  state[$node]=visiting
  for next in ${deps[$node]:-}; do
    case ${state[$next]:-} in
      visiting) breach "import cycle through $node -> $next" ;;
      done) ;;
      *) cycle_from "$next" ;;
    esac
  done
  state[$node]=done
}
for node in "${!deps[@]}"; do
  [[ -z ${state[$node]:-} ]] && cycle_from "$node"
done

# The floors: each module with what it imports, sorted by how high it stands.
floors() {
  local node
  declare -A height
  height_of() {
    local n=$1 h=0 d dh
    if [[ -n ${height[$n]:-} ]]; then echo "${height[$n]}"; return; fi
    for d in ${deps[$n]:-}; do
      dh=$(height_of "$d")
      ((dh + 1 > h)) && h=$((dh + 1))
    done
    height[$n]=$h
    echo "$h"
  }
  for node in $(find . -maxdepth 1 -name '*.rs' -printf '%f\n' | sed 's/\.rs$//'; find . -mindepth 1 -maxdepth 1 -type d -printf '%f\n'); do
    [[ $node == lib ]] && continue
    printf '%s %s: %s\n' "$(height_of "$node")" "$node" "$(tr ' ' '\n' <<<"${deps[$node]:-}" | sort -u | grep -v '^$' | tr '\n' ' ' | sed 's/ $//')"
  done | sort -n -k1,1 -k2,2 | awk '{ floor = $1; $1 = ""; sub(/^ /, ""); printf "floor %d  %s\n", floor, $0 }'
}

[[ $fail == 0 ]] || exit 1
table=$(floors)
echo "$table"

if [[ ${1:-} == --check-readme ]]; then
  readme=$(awk '/<!-- floors:begin -->/ { grab = 1; next } /<!-- floors:end -->/ { grab = 0 } grab' ../../README.md | grep '^floor' || true)
  if [[ $readme != "$table" ]]; then
    echo "layers: the README's floors (between <!-- floors:begin --> and <!-- floors:end -->) are out of date; paste the table above" >&2
    exit 1
  fi
fi
