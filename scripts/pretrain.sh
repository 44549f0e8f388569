#!/usr/bin/env bash
# Reproduce (or resume) the pretraining of models/galmorph-decals-sim on this machine.
# Data are regenerated from seeds; training resumes from training/pretrain-decals/checkpoint.bin
# when present (commit it before a session ends), then the best weights are shipped and scored.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
gm() { node dist/cli/main.js "$@"; }
gm simulate --n 30000 --survey decals --size 128 --seed 42 --out data/pretrain-decals
gm simulate --n 3000 --survey decals --size 128 --seed 4242 --out data/test-decals
# Step decay by hand: lr 1e-3 to epoch DECAY_AT, then the same run resumed at 1e-4.
train() { gm train --catalog data/pretrain-decals/catalog.parquet --image-column image_path \
  --out training/pretrain-decals --size 64 --batch-size 128 --seed 0 "$@"; }
train --epochs "${DECAY_AT:-11}" --lr 1e-3
train --epochs "${EPOCHS:-40}" --lr 1e-4
mkdir -p models/galmorph-decals-sim
cp training/pretrain-decals/{model.json,weights.bin,config.json} models/galmorph-decals-sim/
npx tsx bench/pretrain/run.ts --model models/galmorph-decals-sim --catalog data/test-decals/catalog.parquet
