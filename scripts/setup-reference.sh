#!/usr/bin/env bash
# Installs the PyTorch reference that the engine-equivalence test and `npm run bench:engine` compare TensorFlow.js
# against: Debian's python3-torch (about a minute), run as /usr/bin/python3. Without it that test is skipped.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/apt-install.sh
source scripts/lib/apt-install.sh
# python3-torch only recommends an optimised BLAS: without libopenblas0-pthread it runs on the reference BLAS, 5-10x
# slower (a 256x512x512 matMul took 30 ms), which makes every PyTorch figure of bench:engine meaningless.
apt_install python3 python3-torch libopenblas0-pthread
/usr/bin/python3 -c 'import torch'
