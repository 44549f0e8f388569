#!/usr/bin/env bash
# Every measured figure that depends on the shipped model (models/galmorph-decals-sim), rerun in
# order after shipping a new one, so that README, model card and reports/ all speak of the same
# weights. For the resnet-medium of stages 9–10 on 2 cores: pretrain 5 min (with the ceiling fits
# and calibration), similarity 6, rings 9–13, anomaly 18 (embeddings of 60 000 galaxies: 9 min),
# transfer 12–15, plus about 40 min to simulate the surveys the first time on a machine (regenerated
# from their seeds when data/ lacks them; anomaly's 60 000 galaxies alone take 22 min).
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
  sim data/test-v5 --n 3000 --survey decals --size 128 --seed 4242 --schema decals-dr5+gz2
  npx tsx bench/pretrain/run.ts --model $model --catalog data/test-v5/catalog.parquet
  sim data/pretrain-v5 --n 30000 --survey decals --size 128 --seed 42 --schema decals-dr5+gz2
  npx tsx bench/pretrain/ceiling.ts   # the card checks it scored the same weights
  npx tsx bench/pretrain/card.ts --model $model
  npx tsx bench/predict/calibration.ts --model $model --catalog data/test-v5/catalog.parquet
fi

if want similarity; then
  sim data/similarity-10k-v5 --n 10000 --survey decals --size 128 --seed 7 --schema decals-dr5+gz2
  npx tsx bench/similarity/tags.ts --catalog data/similarity-10k-v5/catalog.parquet --model $model --work data/similarity-10k-v5/bench \
    --methods model,untrained,pixels,oracle --no-ablation
fi

# A new base is a new recipe fingerprint (data/rings/rows-<fingerprint>.jsonl): every arm reruns
# but the terrestrial one, which does not read the base (--reuse takes its rows from the
# previous report; add scratch while the architecture and input size stay).
if want rings; then npx tsx bench/rings/run.ts --reuse terrestrial; fi

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
