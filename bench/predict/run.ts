/**
 * Speed of `galmorph predict` on this machine, against PyTorch CPU on the same network in the
 * same run. Writes reports/predict.json.
 *
 *   npx tsx bench/predict/run.ts [--architecture resnet-small] [--images 512] [--quick]
 *
 * Figures:
 * - network images/s on the wasm engine, batch 64: deterministic head (passes 1) and MC dropout
 *   (passes 5, encoder once + the head on 5 masked copies);
 * - end-to-end `predictSurvey` images/s on generated PNG cutouts (decode, preprocess, network,
 *   chunk commits, Parquet merge);
 * - the engine's forward-conv ceiling: best GFLOP/s of tf.conv2d over the network's 3×3 conv
 *   shapes at batch 64, and the fraction of it the network reaches (images/s × GFLOP/image ÷
 *   ceiling);
 * - PyTorch (Debian python3-torch; 2 threads, channels-last, no-grad, eval, warm-up) on the
 *   same architecture with the same weights, after checking both give the same concentrations.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { initEngine, tf } from '../../src/engine/index.js';
import { createModel, saveModel, type GalaxyModel, type ArchitectureSpec } from '../../src/models/index.js';
import { getSchema } from '../../src/schema/index.js';
import { writePng } from '../../src/data/index.js';
import { predictSurvey } from '../../src/predict/index.js';
import { forwardBatch } from '../../src/predict/uncertainty.js';

const argv = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const quick = argv.includes('--quick');
const architecture = flag('architecture', 'resnet-small');
const nImages = Number(flag('images', quick ? '128' : '512'));
const BATCH = 64;
const PASSES = 5;
const rounds = quick ? 3 : 8;

/** Multiply-adds × 2 of every conv and the dense head, per image. */
function networkGflop(arch: ArchitectureSpec, size: number, bands: number, nAnswers: number): number {
  let flops = 0;
  let h = Math.ceil(size / arch.stem.stride);
  flops += 2 * h * h * bands * arch.stem.channels * 9;
  if (arch.stem.maxPool) h = Math.floor(h / 2);
  let c = arch.stem.channels;
  for (const st of arch.stages) {
    for (let b = 0; b < st.blocks; b++) {
      const stride = b === 0 ? st.stride : 1;
      const ho = Math.ceil(h / stride);
      flops += 2 * ho * ho * c * st.channels * 9 + 2 * ho * ho * st.channels * st.channels * 9;
      if (stride !== 1 || c !== st.channels) flops += 2 * ho * ho * c * st.channels;
      h = ho;
      c = st.channels;
    }
  }
  return (flops + 2 * c * nAnswers) / 1e9;
}

/**
 * Best time of each fn over interleaved rounds after a warm-up, s. Interleaving matters on a
 * shared machine: load from other processes then hits the conv ceiling and the network alike,
 * so their ratio stays meaningful.
 */
async function bestInterleaved(fns: Record<string, () => Promise<unknown>>, n = rounds): Promise<Record<string, number>> {
  const best: Record<string, number> = {};
  for (const [k, fn] of Object.entries(fns)) {
    await fn();
    best[k] = Infinity;
  }
  for (let i = 0; i < n; i++) {
    for (const [k, fn] of Object.entries(fns)) {
      const t0 = performance.now();
      await fn();
      best[k] = Math.min(best[k], (performance.now() - t0) / 1000);
    }
  }
  return best;
}

/**
 * Network images/s (passes 1 and MC passes) and the engine's forward-conv ceiling: best
 * GFLOP/s of tf.conv2d over the network's stride-1 3×3 conv shapes at batch 64.
 */
async function measureEngine(model: GalaxyModel): Promise<{ net1: number; netMc: number; ceiling: number; shapes: Record<string, number> }> {
  const arch = model.config.architecture;
  const s = model.config.inputSize;
  const fns: Record<string, () => Promise<unknown>> = {};
  const flops: Record<string, number> = {};
  const held: tf.Tensor[] = [];
  let h = Math.ceil(s / arch.stem.stride);
  for (const st of arch.stages) {
    const ho = Math.ceil(h / st.stride);
    const x = tf.randomNormal([BATCH, ho, ho, st.channels]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, st.channels, st.channels]) as tf.Tensor4D;
    held.push(x, w);
    const name = `${ho}²×${st.channels} 3×3 s1`;
    flops[name] = 2 * BATCH * ho * ho * st.channels * st.channels * 9;
    fns[name] = async () => {
      const y = tf.conv2d(x, w, 1, 'same');
      await y.data();
      y.dispose();
    };
    h = ho;
  }
  const x = tf.randomUniform([BATCH, s, s, model.config.bands]) as tf.Tensor4D;
  held.push(x);
  const ids = Array.from({ length: BATCH }, (_, i) => `g${i}`);
  fns.net1 = () => forwardBatch(model, x, ids, 1, 0);
  fns.netMc = () => forwardBatch(model, x, ids, PASSES, 0);
  const t = await bestInterleaved(fns);
  tf.dispose(held);
  const shapes = Object.fromEntries(Object.keys(flops).map((k) => [k, flops[k] / t[k] / 1e9]));
  return { net1: BATCH / t.net1, netMc: BATCH / t.netMc, ceiling: Math.max(...Object.values(shapes)), shapes };
}

async function makeCutouts(dir: string, n: number, size: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const px = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = 255 * Math.exp(-((x - size / 2) ** 2 + (y - size / 2) ** 2) / (2 * (4 + (i % 9)) ** 2)) + ((x * 7 + y * 13 + i) % 11);
        px.set([v, v * 0.8, v * 0.6].map((u) => Math.min(255, Math.round(u))), (y * size + x) * 3);
      }
    }
    await writePng(join(dir, `g${String(i).padStart(5, '0')}.png`), px, size, size);
  }
}

/** Export weights by tfjs name as one float32 blob + a manifest, and a check batch. */
function exportForTorch(model: GalaxyModel, dir: string, checkImages: Float32Array, checkAlpha: Float32Array, n: number): void {
  const manifest: Record<string, { shape: number[]; offset: number }> = {};
  const parts: Buffer[] = [];
  let offset = 0;
  for (const layer of model.net.layers) {
    for (const w of layer.weights) {
      const data = w.read().dataSync() as Float32Array;
      manifest[w.originalName] = { shape: w.shape as number[], offset };
      parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      offset += data.byteLength;
    }
  }
  const spec = { ...model.config, nAnswers: model.schema.nAnswers, checkImages: n, weights: manifest };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  writeFileSync(join(dir, 'weights.bin'), Buffer.concat(parts));
  writeFileSync(join(dir, 'check.bin'), Buffer.concat([Buffer.from(checkImages.buffer), Buffer.from(checkAlpha.buffer)]));
}

/** A Python that imports torch: $PYTHON, Debian's /usr/bin/python3 (python3-torch), or python3 on PATH. */
function torchPython(): string | undefined {
  const candidates = [process.env.PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  return candidates.find((p) => spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0);
}

function runTorch(dir: string): Record<string, number | string> | { error: string } {
  const python = torchPython();
  if (!python) return { error: 'PyTorch not importable (apt-get install -y python3-torch)' };
  const out = join(dir, 'torch.json');
  const r = spawnSync(
    python,
    [join(import.meta.dirname, 'torch_net.py'), '--spec', join(dir, 'spec.json'), '--weights', join(dir, 'weights.bin'),
      '--check', join(dir, 'check.bin'), '--batch', String(BATCH), '--threads', '2', '--passes', String(PASSES),
      '--rounds', String(rounds * 2), '--out', out],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '2' } },
  );
  if (r.status !== 0) return { error: `torch_net.py failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  return JSON.parse(readFileSync(out, 'utf8'));
}

const info = await initEngine({ backend: 'wasm' });
const schema = getSchema('decals-dr5');
const model = createModel({ schema, architecture, seed: 0 });
const { inputSize: size, bands } = model.config;
const gflop = networkGflop(model.config.architecture, size, bands, schema.nAnswers);
console.log(`${architecture}, ${size} px, ${gflop.toFixed(4)} GFLOP/image; engine ${info.backend} (simd ${info.simd}, ${info.threads} thread)`);

const work = mkdtempSync(join(tmpdir(), 'gm-bench-predict-'));
// Same weights and inputs in PyTorch: concentrations must agree before speeds are compared.
const nCheck = 8;
const check = new Float32Array(nCheck * size * size * bands).map((_, i) => ((i * 2654435761) % 1000) / 1000);
const xc = tf.tensor4d(check, [nCheck, size, size, bands]);
const { alpha } = await forwardBatch(model, xc, Array.from({ length: nCheck }, (_, i) => `c${i}`), 1, 0);
xc.dispose();
exportForTorch(model, work, check, alpha!, nCheck);

// PyTorch before and after the wasm figures, best of the two, so that a burst of load from
// other processes does not decide the ratio.
const torchRuns = [runTorch(work)];
const engine = await measureEngine(model);
const { net1, netMc } = engine;
const ceiling = { gflops: engine.ceiling, shapes: engine.shapes };
console.log(`engine forward-conv ceiling: ${ceiling.gflops.toFixed(1)} GFLOP/s`, ceiling.shapes);
console.log(`network, batch ${BATCH}: ${net1.toFixed(1)} images/s (passes 1), ${netMc.toFixed(1)} images/s (passes ${PASSES})`);
torchRuns.push(runTorch(work));
const torchFigure = (key: string) => Math.max(...torchRuns.map((t) => (key in t ? Number((t as Record<string, unknown>)[key]) : NaN)));
const torch1 = torchFigure('images_per_s_passes_1');
const torchMc = torchFigure(`images_per_s_passes_${PASSES}`);
const torch = { ...torchRuns[0], images_per_s_passes_1: torch1, [`images_per_s_passes_${PASSES}`]: torchMc, runs: torchRuns };
console.log('pytorch:', torch);

const modelDir = join(work, 'model');
await saveModel(model, modelDir);
const cutouts = join(work, 'cutouts');
mkdirSync(cutouts);
const cutoutSize = Math.round(size / model.config.evalCrop);
await makeCutouts(cutouts, nImages, cutoutSize);
const e2e: Record<string, number> = {};
for (const passes of [1, PASSES]) {
  const r = await predictSurvey({ model, images: cutouts, out: join(work, `p${passes}.parquet`), batchSize: BATCH, passes });
  e2e[`passes_${passes}`] = r.rows / r.seconds;
}
console.log(`end to end (${nImages} PNG cutouts of ${cutoutSize} px):`, e2e);

const round = (x: number, d = 3) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);
const report = {
  ...(() => {
    try {
      return JSON.parse(readFileSync('reports/predict.json', 'utf8')) as Record<string, unknown>;
    } catch {
      return {};
    }
  })(),
  generated: new Date().toISOString(),
  command: `npx tsx bench/predict/run.ts ${argv.join(' ')}`.trim(),
  // Other processes on a shared machine slow both engines; the load average says how much.
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((x) => round(x, 2)) },
  network: { architecture, inputSize: size, bands, gflopPerImage: round(gflop, 5), batch: BATCH, mcPasses: PASSES },
  ratio_vs_pytorch: round(netMc / torchMc),
  ratio_vs_pytorch_passes_1: round(net1 / torch1),
  fraction_of_engine_ceiling: round((netMc * gflop) / ceiling.gflops),
  fraction_of_engine_ceiling_passes_1: round((net1 * gflop) / ceiling.gflops),
  galmorph: {
    engine: info.backend,
    threads: info.threads,
    network_images_per_s: { passes_1: round(net1, 1), [`passes_${PASSES}`]: round(netMc, 1) },
    network_gflops: { passes_1: round(net1 * gflop, 2), [`passes_${PASSES}`]: round(netMc * gflop, 2) },
    end_to_end_images_per_s: Object.fromEntries(Object.entries(e2e).map(([k, v]) => [k, round(v, 1)])),
    end_to_end_images: nImages,
    engine_conv_ceiling_gflops: round(ceiling.gflops, 2),
    engine_conv_shapes_gflops: Object.fromEntries(Object.entries(ceiling.shapes).map(([k, v]) => [k, round(v, 2)])),
  },
  pytorch: torch,
};
mkdirSync('reports', { recursive: true });
writeFileSync('reports/predict.json', JSON.stringify(report, null, 2) + '\n');
console.log(`ratio_vs_pytorch ${report.ratio_vs_pytorch}, fraction_of_engine_ceiling ${report.fraction_of_engine_ceiling} → reports/predict.json`);
model.dispose();
