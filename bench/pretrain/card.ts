/**
 * Write the model card (README.md) of a shipped model from its config, the training history
 * and reports/pretrain.json, so the card's numbers are always the measured ones.
 *
 *   npx tsx bench/pretrain/card.ts --model models/galmorph-decals-sim --metrics training/pretrain-decals/metrics.json
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readModelConfig } from '../../src/models/index.js';
import type { EpochMetrics } from '../../src/train/index.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/galmorph-decals-sim' },
    metrics: { type: 'string', default: 'training/pretrain-decals/metrics.json' },
    report: { type: 'string', default: 'reports/pretrain.json' },
    notes: { type: 'string', default: '' },
    // Runs before per-epoch learning rates were recorded kept one rate throughout.
    'initial-lr': { type: 'string', default: '0.001' },
  },
});
const config = await readModelConfig(values.model!);
const history = (JSON.parse(await readFile(values.metrics!, 'utf8')) as { history: EpochMetrics[] }).history;
const report = JSON.parse(await readFile(values.report!, 'utf8'));
const best = history.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
const hours = history.reduce((s, h) => s + h.seconds, 0) / 3600;
const arch = config.architecture;
const lrOf = (h: EpochMetrics) => h.learningRate ?? Number(values['initial-lr']);
// "0.001 (epochs 1–11), 0.0001 (epochs 12–15)": the step-decay schedule as it ran.
const schedule = history
  .reduce<{ lr: number; from: number; to: number }[]>((runs, h) => {
    const last = runs[runs.length - 1];
    if (last && last.lr === lrOf(h)) last.to = h.epoch;
    else runs.push({ lr: lrOf(h), from: h.epoch, to: h.epoch });
    return runs;
  }, [])
  .map((r) => `${r.lr} (epoch${r.from === r.to ? ` ${r.from}` : `s ${r.from}–${r.to}`})`)
  .join(', then ');
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const card = `# galmorph-decals-sim

A ${arch.name} (${arch.description}) trained on every question of the Galaxy Zoo DECaLS DR5
decision tree (${config.schema.questions.length} questions) with the Dirichlet-multinomial loss on
simulated volunteer votes. Input: ${config.inputSize}×${config.inputSize} px, ${config.bands} bands
(colour cutouts, values in [0, 1], central crop ${config.evalCrop}); representation:
${config.representationDim}-d (layer \`representation\`); MC dropout ${arch.dropout} before the head.

**Status: pretraining in progress** — this is the best checkpoint after ${history.length} epochs
(best epoch ${best.epoch}); training resumes with \`scripts/pretrain.sh\` from
\`training/pretrain-decals/checkpoint.bin\`. ${values.notes}

## Data
- Training: \`galmorph simulate --n 30000 --survey decals --size 128 --seed 42\` (DECaLS-like,
  90/10 train/validation split by id hash, seed 0).
- Held-out test: \`galmorph simulate --n 3000 --survey decals --size 128 --seed 4242\`.

## Training
\`scripts/pretrain.sh\`: AdamW lr ${schedule}, weight decay ${config.training?.weightDecay ?? 0.01},
batch ${config.training?.batchSize ?? 128}, gradient clipping, rotation/flip/resized-crop augmentation,
2 data-parallel workers on a 2-core CPU: ${hours.toFixed(2)} h so far (img/s below: the early epochs ran on the
wasm engine and shared the CPU with other jobs; later ones use the native oneDNN convolutions).

| epoch | train loss | val loss | val MAE (mean over questions) | img/s |
|---|---|---|---|---|
${history.map((h) => `| ${h.epoch} | ${h.trainLoss.toFixed(3)} | ${h.valLoss.toFixed(3)} | ${h.valMaeMean.toFixed(4)} | ${h.trainImagesPerSecond.toFixed(1)} |`).join('\n')}

## Held-out metrics (\`npx tsx bench/pretrain/run.ts\`, ${report.galaxies} galaxies, ${report.passes} MC passes)

MAE of predicted vs observed vote fractions, against the oracle MAE (the simulator's true
answer probabilities vs the same finite votes: the noise floor); accuracy on confidently
voted galaxies (leading vote fraction > 0.8). Goals: MAE within 1.2× the oracle; ≥ 98%
confident accuracy on smooth-or-featured and disk-edge-on.

| question | galaxies | MAE | oracle MAE | ratio | confident | accuracy | oracle accuracy |
|---|---|---|---|---|---|---|---|
${(report.questions as any[]).map((q) => `| ${q.question} | ${q.galaxies} | ${q.mae.toFixed(4)} | ${q.oracle_mae.toFixed(4)} | ${q.mae_ratio.toFixed(2)} | ${q.confident} | ${pct(q.confident_accuracy)} | ${pct(q.oracle_confident_accuracy)} |`).join('\n')}

Mean MAE ${report.mean_mae.toFixed(4)} vs oracle ${report.mean_oracle_mae.toFixed(4)} (ratio ${report.mean_mae_ratio.toFixed(2)}).

## Limits
Trained on simulated galaxies only: apply to real cutouts at your own risk and fine-tune
(\`galmorph finetune\`) on a few hundred labelled real galaxies first.
`;
await writeFile(join(values.model!, 'README.md'), card);
console.log(`wrote ${join(values.model!, 'README.md')}`);
