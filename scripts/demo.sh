#!/usr/bin/env bash
# The README's main job, end to end on a small simulated DECaLS-like survey (outputs in demo/):
# simulate → vote summary → mosaic → predict with the shipped model → embed + PCA → index →
# "more like this ring galaxy" → anomaly ranking. Rerunning is quick: every step resumes or overwrites.
set -euo pipefail
cd "$(dirname "$0")/.."
gm() { node dist/cli/main.js "$@"; }
MODEL=${MODEL:-models/galmorph-decals-sim}
gm simulate --n 400 --survey decals --size 128 --seed 1 --out demo/survey
gm votes --catalog demo/survey/catalog.parquet
gm mosaic --catalog demo/survey/catalog.parquet --by tags --out demo/mosaic-tags.png
gm predict --model "$MODEL" --catalog demo/survey/catalog.parquet --out demo/predictions.parquet --overwrite
gm embed --model "$MODEL" --catalog demo/survey/catalog.parquet --out demo/embeddings.parquet --pca 10 --overwrite
gm index --embeddings demo/embeddings.parquet --out demo/embeddings.index --model "$MODEL" --catalog demo/survey/catalog.parquet --overwrite
ring=$(node -e "
  import('hyparquet').then(async ({ parquetReadObjects }) => {
    const { asyncBufferFromFile } = await import('hyparquet');
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile('demo/survey/catalog.parquet'), columns: ['id', 'tags'] });
    console.log(rows.find((r) => String(r.tags).split(',').includes('ring')).id);
  });")
gm similar --index demo/embeddings.index --query "$ring" --k 8 --columns tags --mosaic demo/similar-ring.png
gm anomalies rank --embeddings demo/embeddings.parquet --out demo/anomalies.parquet
echo "demo: see demo/mosaic-tags.png, demo/predictions.parquet, demo/similar-ring.png, demo/anomalies.parquet"
