#!/usr/bin/env bash
# Reproduce (or resume) the pretraining of models/galmorph-decals-sim on this machine.
# Data are regenerated from seeds; each stage resumes from its checkpoint in training/ when
# present (commit them before a session ends), then the best weights are shipped and scored.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
gm() { node dist/cli/main.js "$@"; }
# DECaLS-like images, each galaxy voted on by GZ DECaLS volunteers and (separately) GZ2 volunteers.
gm simulate --n 30000 --survey decals --size 128 --seed 42 --schema decals-dr5+gz2 --visibility analytic --out data/pretrain-gz
common=(--catalog data/pretrain-gz/catalog.parquet --image-column image_path --size 64 --batch-size 128 --seed 0)
# Stage 1: the GZ DECaLS tree alone; step decay by hand (lr 1e-3, then the same run resumed at 1e-4).
stage1() { gm train "${common[@]}" --schema decals-dr5 --out training/pretrain-decals "$@"; }
stage1 --epochs 11 --lr 1e-3
stage1 --epochs 28 --lr 1e-4
# Stage 2: both trees at once, starting from stage 1 (its answers keep their head weights).
stage2() { gm train "${common[@]}" --schema decals-dr5+gz2 --init-from training/pretrain-decals --out training/pretrain-gz "$@"; }
stage2 --epochs "${STAGE2_DECAY_AT:-5}" --lr 5e-4
stage2 --epochs "${STAGE2_EPOCHS:-10}" --lr 1e-4
# Stages 3–5: the same galaxies, volunteers judging what the displayed cutout shows
# (--visibility image; votes no longer carry features the pixels hide). The answer model was
# corrected between stages: stage 3 ran before b98c148 (hidden interaction stages leaked into
# "merging"), stage 4 before 7e94345 (tidal light over the body counted as a visible tail);
# stages 5–6 on the votes of 9261f6f (the simulator at that commit regenerates their data
# byte for byte; later commits judged dust lanes on the image and changed bars: stage 7).
gm simulate --n 30000 --survey decals --size 128 --seed 42 --schema decals-dr5+gz2 --visibility image --out data/pretrain-v2
image=(--catalog data/pretrain-v2/catalog.parquet --image-column image_path --size 64 --batch-size 128 --seed 0 --schema decals-dr5+gz2)
stage3() { gm train "${image[@]}" --init-from training/pretrain-gz --out training/pretrain-v2 "$@"; }
stage3 --epochs 4 --lr 5e-4
stage3 --epochs 7 --lr 1e-4
stage4() { gm train "${image[@]}" --init-from training/pretrain-v2 --out training/pretrain-v3 "$@"; }
stage4 --epochs 4 --lr 3e-4
stage4 --epochs 10 --lr 1e-4
stage5() { gm train "${image[@]}" --init-from training/pretrain-v3 --out training/pretrain-v4 "$@"; }
stage5 --epochs "${STAGE5_EPOCHS:-6}" --lr 1e-4
# Stage 6: restarts the four answers that died in the analytic stages (saturated sigmoid,
# alpha = 1 on every galaxy) and trains with the head's pull-up gradient floor.
stage6() { gm train "${image[@]}" --init-from training/pretrain-v4 --out training/pretrain-v5 "$@"; }
stage6 --epochs 9 --lr 2e-4
# Stage 7: galaxies regenerated with brighter bars, bars judged by their strength once
# visible and dust lanes judged on the image (the simulator of 62341ed); 16 epochs at 2e-4, then
# 4 at 5e-5 (the same run resumed with the lower rate: the largest single gain of the late stages).
gm simulate --n 30000 --survey decals --size 128 --seed 42 --schema decals-dr5+gz2 --out data/pretrain-v3
gm simulate --n 3000 --survey decals --size 128 --seed 4242 --schema decals-dr5+gz2 --out data/test-v3
stage7() {
  local size=$1 out=$2; shift 2
  gm train --catalog data/pretrain-v3/catalog.parquet --image-column image_path --size "$size" --batch-size 128 --seed 0 \
    --schema decals-dr5+gz2 --init-from training/pretrain-v5 --out "$out" "$@"
}
stage7 64 training/pretrain-v6-64 --epochs 16 --lr 2e-4
stage7 64 training/pretrain-v6-64 --epochs 20 --lr 5e-5
# Its 96-px twin (TWIN96=1): matched the 64-px run on every held-out figure at 2.25x the cost.
if [[ ${TWIN96:-0} == 1 ]]; then
  stage7 96 training/pretrain-v6 --epochs 16 --lr 2e-4
  stage7 96 training/pretrain-v6 --epochs 20 --lr 5e-5
fi
# Stage 8 (shipped): the same data on a deeper network, resnet-medium grown from stage 7 (its
# extra blocks start as the identity), because stage 7 underfits (train loss = validation loss):
# 7 epochs at 2e-4 (the run was stopped 14 steps into epoch 8), then 5e-5, then 2e-5, each phase
# the same run resumed with a lower rate.
stage8() {
  gm train --catalog data/pretrain-v3/catalog.parquet --image-column image_path --size 64 --batch-size 128 --seed 0 \
    --schema decals-dr5+gz2 --architecture resnet-medium --init-from training/pretrain-v6-64 --out training/pretrain-v7-medium "$@"
}
stage8 --epochs 7 --lr 2e-4
stage8 --epochs 25 --lr 5e-5
stage8 --epochs 38 --lr 2e-5
# (session 12 resumed it at 2e-5 to epoch 40, best = last = epoch 40, val 43.55: the weights
# stage 9 starts from; the shipped stage-8 model was epoch 36.)
stage8 --epochs 40 --lr 2e-5
mkdir -p models/galmorph-decals-sim
cp training/pretrain-v7-medium/{model.json,weights.bin,config.json} models/galmorph-decals-sim/
npx tsx bench/pretrain/run.ts --model models/galmorph-decals-sim --catalog data/test-v3/catalog.parquet
npx tsx bench/pretrain/ceiling.ts
npx tsx bench/pretrain/card.ts --model models/galmorph-decals-sim  # stages 1–8 from training/*/metrics.json
