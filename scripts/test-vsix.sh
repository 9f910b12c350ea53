#!/usr/bin/env bash
# Packages the .vsix, unpacks it and runs the end-to-end tests against the unpacked extension: what a user
# installs (offline) is what is tested, TensorFlow.js run-time files and the default model included.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run package --silent
# Outside the repository, so that nothing can resolve from its node_modules.
dir="$(mktemp -d "${TMPDIR:-/tmp}/metabioner-vsix-XXXXXX")"
trap 'rm -rf "$dir"' EXIT
unzip -q metabioner.vsix -d "$dir"
METABIONER_E2E_EXTENSION="$dir/extension" node --import tsx --test --test-concurrency=1 test/e2e/*.test.ts
