#!/usr/bin/env bash
# Checks that session-runtime/src runs one way, from every `crate::` path in its code (use
# lines and inline paths alike), and prints the floors (each module with the modules it
# uses), which the README's "Project layout" shows.
#
#   scripts/layers.sh                 check, then print the floors
#   scripts/layers.sh --check-readme  also fail when the README's floors block differs
#
# Rules:
#   1. no file outside the adapter folders (actix/, axum/) names a framework type
#      (actix_web, actix_http, axum, axum_core, http::, tower*);
#   2. nothing under token/ or revocation/ (nor error.rs) uses a crate module outside
#      token/, revocation/ and error; engine/ uses only those and itself;
#   3. nothing under login/ or csrf/ uses a crate-private module: only the public root items
#      (`crate::Session`, ...) and the seam `crate::ext`; no `super::` that leaves login/
#      (in login/mod.rs, `super` is the crate root). A `pub use crate::actix::…` (or
#      axum) in login/mod.rs only gives the adapter's glue its public path: no edge;
#   4. the adapters never use each other;
#   5. no cycle between the top-level modules.
# Test modules (`#[cfg(test)] mod ...` to the end of a file) and comments are not code.
set -euo pipefail
cd "$(dirname "$0")/../session-runtime/src"

python3 - "$@" <<'PY'
import os, re, sys

PUBLIC_ROOTS = {"Session", "SessionDict", "SessionError", "SessionData", "TypedSession",
                "Flash", "SameSite"}
CORE = ("token/", "revocation/", "error.rs")
ENGINE = ("engine/",)
LAYERS = ("login/", "csrf/")
ADAPTERS = ("actix/", "axum/")
# A path into a framework crate; not `crate::axum::…` (the adapter module) nor a feature
# name in a `cfg`.
FRAMEWORK = re.compile(r"(?<![:\w])(actix_web|actix_http|axum|axum_core|tower|tower_layer|tower_service|http)\s*::")
# A layer's public path for an adapter's glue: `pub use crate::actix::…;` (may span lines).
FACADE = re.compile(r"pub\s+use\s+crate\s*::\s*(actix|axum)\s*::[^;]*;")

def code_of(path):
    """The file without its test module and its comments."""
    lines = open(path).read().split("\n")
    kept = []
    for i, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]" and i + 1 < len(lines) and lines[i + 1].lstrip().startswith("mod "):
            break
        kept.append(re.sub(r"//.*", "", line))
    return "\n".join(kept)

def top_groups(text):
    """Split `a::b, c, {d}` at top-level commas."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            out.append(cur); cur = ""
        else:
            cur += ch
    out.append(cur)
    return [part.strip() for part in out if part.strip()]

def crate_modules(code):
    """Every first segment after `crate::`, inside braces too."""
    names = []
    for match in re.finditer(r"\bcrate\s*::\s*", code):
        rest = code[match.end():]
        if rest.startswith("{"):
            depth, end = 0, 0
            for end, ch in enumerate(rest):
                depth += ch == "{"
                depth -= ch == "}"
                if depth == 0:
                    break
            names += [re.split(r"\W", part, 1)[0] for part in top_groups(rest[1:end])]
        else:
            names.append(re.match(r"\w*", rest).group(0))
    return [name for name in names if name]

def module_of(path):
    return path.split("/")[0] if "/" in path else path[:-3]

failures, deps = [], {}
files = sorted(os.path.relpath(os.path.join(root, name))
               for root, _, names in os.walk(".") for name in names if name.endswith(".rs"))
for path in files:
    code = code_of(path)
    module = module_of(path)
    if path.startswith(LAYERS):
        code = FACADE.sub("", code)
    if not path.startswith(ADAPTERS) and FRAMEWORK.search(code):
        failures.append(f"{path} is outside the adapter folders but names a framework type "
                        f"({FRAMEWORK.search(code).group(0)})")
    if path == "login/mod.rs" and re.search(r"\bsuper\s*::", code):
        failures.append(f"{path} uses super::, which is the crate root there (use the seam, crate::ext)")
    if path.startswith("login/") and re.search(r"\bsuper\s*::\s*super\b", code):
        failures.append(f"{path} escapes login/ with super::super")
    for target in sorted(set(crate_modules(code))):
        if target == "self":
            failures.append(f"{path} names crate::self, which hides what it uses")
            continue
        if path.startswith(CORE) and target not in ("token", "revocation", "error"):
            failures.append(f"{path} is in the token core but uses crate::{target}")
        if path.startswith(ENGINE) and target not in ("token", "revocation", "error", "engine"):
            failures.append(f"{path} is in the engine but uses crate::{target}")
        if path.startswith(ADAPTERS) and target in ("actix", "axum") and target != module:
            failures.append(f"{path} is an adapter but uses the {target} adapter")
        if path.startswith(LAYERS) and target not in PUBLIC_ROOTS and target != "ext":
            failures.append(f"{path} is a layer on sessions but uses crate::{target} (use the seam, crate::ext)")
        if target in PUBLIC_ROOTS or target == module:
            continue
        deps.setdefault(module, set()).add(target)

state = {}
def visit(node, trail):
    state[node] = "visiting"
    for nxt in sorted(deps.get(node, ())):
        if state.get(nxt) == "visiting":
            failures.append("import cycle: " + " -> ".join(trail + [node, nxt]))
        elif nxt not in state:
            visit(nxt, trail + [node])
    state[node] = "done"
for node in sorted(deps):
    if node not in state:
        visit(node, [])

if failures:
    for failure in failures:
        print("layers: " + failure, file=sys.stderr)
    sys.exit(1)

modules = sorted({module_of(path) for path in files} - {"lib"})
height = {}
def height_of(node):
    if node not in height:
        height[node] = 1 + max((height_of(d) for d in deps.get(node, ())), default=-1)
    return height[node]
rows = sorted(modules, key=lambda node: (height_of(node), node))
table = "\n".join(f"floor {height_of(node)}  {node}: {' '.join(sorted(deps.get(node, ())))}".rstrip()
                  for node in rows)
print(table)

if sys.argv[1:] == ["--check-readme"]:
    readme = open("../../README.md").read()
    block = re.search(r"<!-- floors:begin -->\n```text\n(.*?)```\n<!-- floors:end -->", readme, re.S)
    if not block or block.group(1).rstrip("\n") != table:
        print("layers: the README's floors (between <!-- floors:begin --> and "
              "<!-- floors:end -->) are out of date; paste the table above", file=sys.stderr)
        sys.exit(1)
PY
