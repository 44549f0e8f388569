#!/usr/bin/env bash
# The README's main job: simulate a small DECaLS-like survey, summarise its votes and draw a
# mosaic grouped by Talk-style tags. Outputs land in demo/ (resumable: rerunning is instant).
set -euo pipefail
cd "$(dirname "$0")/.."
gm() { node dist/cli/main.js "$@"; }
gm simulate --n 400 --survey decals --size 128 --seed 1 --out demo/survey
gm votes --catalog demo/survey/catalog.parquet
gm mosaic --catalog demo/survey/catalog.parquet --by tags --out demo/mosaic-tags.png
echo "demo: open demo/mosaic-tags.png; the catalogue is demo/survey/catalog.parquet"
