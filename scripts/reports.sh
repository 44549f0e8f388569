#!/usr/bin/env bash
# Every measured figure that depends on the shipped model (models/galmorph-decals-sim), rerun in
# order after shipping a new one, so that README, model card and reports/ all speak of the same
# weights. About 3 hours on 2 free cores at 64 px (embeddings of 60 000 galaxies: 15 min at
# 64 px, ~35 at 96). Surveys are regenerated from their seeds when data/ lacks them.
#   bash scripts/reports.sh            # all of it
#   bash scripts/reports.sh anomaly    # one part: pretrain, similarity, rings, anomaly, transfer
set -euo pipefail
cd "$(dirname "$0")/.."
gm() { node dist/cli/main.js "$@"; }
model=models/galmorph-decals-sim
parts=" ${*:-pretrain similarity rings anomaly transfer} "
want() { [[ $parts == *" $1 "* ]]; }
sim() { [[ -f $1/catalog.parquet ]] || gm simulate "${@:2}" --out "$1"; }

npm run build --silent

if want pretrain; then
  sim data/test-v3 --n 3000 --survey decals --size 128 --seed 4242 --schema decals-dr5+gz2
  npx tsx bench/pretrain/run.ts --model $model --catalog data/test-v3/catalog.parquet
  npx tsx bench/pretrain/card.ts --model $model
  npx tsx bench/predict/calibration.ts --model $model --catalog data/test-v3/catalog.parquet
fi

if want similarity; then
  sim data/similarity-10k-v3 --n 10000 --survey decals --size 128 --seed 7 --schema decals-dr5+gz2
  npx tsx bench/similarity/tags.ts --catalog data/similarity-10k-v3/catalog.parquet --model $model \
    --methods model,untrained,pixels,oracle --no-ablation
fi

# A new base is a new recipe fingerprint (data/rings/rows-<fingerprint>.jsonl): every arm reruns.
# The scratch and terrestrial rows do not depend on the base while its input size and
# architecture stay; copying them into the new rows file skips them (done for stage 6).
if want rings; then npx tsx bench/rings/run.ts; fi

if want anomaly; then
  sim data/anomaly-60k-v2 --n 60000 --seed 7 --size 128
  emb=data/anomaly-60k-v2/embeddings-$(sha256sum $model/weights.bin | cut -c1-12).parquet
  [[ -f $emb ]] || gm embed --model $model --catalog data/anomaly-60k-v2/catalog.parquet --out "$emb" --pca 40
  npx tsx bench/anomaly/run.ts --catalog data/anomaly-60k-v2/catalog.parquet --embeddings "$emb" \
    --repeats 3 --methods galmorph,isolation-forest,random
fi

if want transfer; then npx tsx bench/transfer/run.ts; fi

echo "now: the README's figures from these reports, the fine-tune example (README, 'Fine-tune'),"
echo "and the demo outputs from a fresh clone (npm run demo)"
