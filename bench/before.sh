#!/usr/bin/env bash
# Builds the release `micro` and `helloworld` of an earlier commit, for the HTTP load benches to
# compare against in the same run, and prints the directory holding them:
#
#   MICRO_BENCH_BEFORE="$(bench/before.sh e281546)" bench/gateway/run.sh
#
# The commit is checked out in a scratch worktree and built with a target directory of its own
# under ~/.cache/libmicro, so the current build stays warm.
set -euo pipefail

rev="$(git rev-parse --short "${1:?usage: bench/before.sh <commit>}")"
cache="$HOME/.cache/libmicro"
out="$cache/before/$rev"
if [ -x "$out/micro" ] && [ -x "$out/helloworld" ]; then
    echo "$out"
    exit 0
fi
tree="$(mktemp -d)"
trap 'git worktree remove --force "$tree"' EXIT
git worktree add -q --detach "$tree" "$rev" >&2
(cd "$tree" && CARGO_TARGET_DIR="$cache/before-target" cargo build --release -q -p helloworld -p micro-cli >&2)
mkdir -p "$out"
cp "$cache/before-target/release/micro" "$cache/before-target/release/helloworld" "$out/"
echo "$rev" >"$out/REV"
echo "$out"
