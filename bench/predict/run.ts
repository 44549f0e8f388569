/**
 * Speed of `galmorph predict` on this machine, against PyTorch CPU on the same network in the
 * same run. Writes reports/predict.json.
 *
 *   npx tsx bench/predict/run.ts [--architecture NAME] [--size PX] [--images 512] [--quick]
 *
 * --architecture and --size default to the shipped model's (models/galmorph-decals-sim/config.json).
 *
 * Figures, for every encoder engine available — tfjs on wasm, tfjs with galmorph's oneDNN
 * convolutions ('native', when the addon is built; 2 threads) and ONNX Runtime (2 threads):
 * - network images/s, batch 64: deterministic head (passes 1) and MC dropout (passes 5,
 *   encoder once + the head on 5 masked copies);
 * - the engine's forward-conv ceiling: best GFLOP/s of one 3×3 conv over the network's conv
 *   shapes at batch 64 on that engine, and the fraction of it the network reaches
 *   (images/s × GFLOP/image ÷ ceiling);
 * - end-to-end `predictSurvey` images/s on generated PNG cutouts (decode, preprocess, network,
 *   chunk commits, Parquet merge);
 * - PyTorch (Debian python3-torch; 2 threads, channels-last, no-grad, eval, warm-up) on the
 *   same architecture with the same weights, after checking both give the same concentrations.
 * The fastest engine is galmorph's default (DEFAULT_INFERENCE_ENGINE); top-level ratios and
 * fractions are that engine's.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { initEngine, tf, type EngineInfo } from '../../src/engine/index.js';
import { createModel, readModelConfig, type GalaxyModel, type ArchitectureSpec } from '../../src/models/index.js';
import { encodeOnnx, ATTR, ONNX_FLOAT } from '../../src/models/onnx-proto.js';
import { getSchema } from '../../src/schema/index.js';
import { writePng } from '../../src/data/index.js';
import { predictSurvey, openEncoder, DEFAULT_INFERENCE_ENGINE, type Encoder } from '../../src/predict/index.js';
import { forwardBatch } from '../../src/predict/uncertainty.js';

const argv = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const quick = argv.includes('--quick');
const shipped = await readModelConfig(join(import.meta.dirname, '..', '..', 'models', 'galmorph-decals-sim'));
const architecture = flag('architecture', shipped.architecture.name);
const inputSize = Number(flag('size', String(shipped.inputSize)));
const nImages = Number(flag('images', quick ? '128' : '512'));
const BATCH = 64;
const PASSES = 5;
const rounds = quick ? 3 : 8;
const THREADS = 2;

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

/** The network's stride-1 3×3 conv shapes at batch 64 (one per stage): [size, channels]. */
function convShapes(arch: ArchitectureSpec, inputSize: number): [number, number][] {
  let h = Math.ceil(inputSize / arch.stem.stride);
  return arch.stages.map((st) => {
    h = Math.ceil(h / st.stride);
    return [h, st.channels];
  });
}
const convName = ([h, c]: [number, number]) => `${h}²×${c} 3×3 s1`;
const convFlops = ([h, c]: [number, number]) => 2 * BATCH * h * h * c * c * 9;

/** Timing closures for an engine's convs and the FLOPs each performs. */
interface ConvBench {
  fns: Record<string, () => Promise<unknown>>;
  flops: Record<string, number>;
  release: () => void | Promise<void>;
}

/** One conv per shape on the active tfjs backend. */
function tfjsConvs(shapes: [number, number][]): ConvBench {
  const held: tf.Tensor[] = [];
  const fns: Record<string, () => Promise<unknown>> = {};
  for (const shape of shapes) {
    const [h, c] = shape;
    const x = tf.randomNormal([BATCH, h, h, c]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, c, c]) as tf.Tensor4D;
    held.push(x, w);
    fns[convName(shape)] = async () => {
      const y = tf.conv2d(x, w, 1, 'same');
      await y.data();
      y.dispose();
    };
  }
  return { fns, flops: Object.fromEntries(shapes.map((sh) => [convName(sh), convFlops(sh)])), release: () => tf.dispose(held) };
}

/**
 * ONNX Runtime convs per shape (NCHW, THREADS threads): one alone, and four in a row — as
 * inside a network, where ORT's blocked-layout reorders at the graph edges are amortised.
 */
async function onnxConvs(shapes: [number, number][]): Promise<ConvBench> {
  const sessions: ort.InferenceSession[] = [];
  const fns: Record<string, () => Promise<unknown>> = {};
  const flops: Record<string, number> = {};
  for (const shape of shapes) {
    const [h, c] = shape;
    const w = new Float32Array(c * c * 9).map(() => (Math.random() - 0.5) / c);
    const info = (name: string) => ({ name, type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: [BATCH, c, h, h].map((d) => ({ dimValue: d })) } } } });
    const x = new ort.Tensor('float32', new Float32Array(BATCH * c * h * h).map(() => Math.random()), [BATCH, c, h, h]);
    for (const k of [1, 4]) {
      const node = Array.from({ length: k }, (_, i) => ({
        opType: 'Conv', name: `conv${i}`, input: [i === 0 ? 'x' : `y${i - 1}`, 'w'], output: [i === k - 1 ? 'y' : `y${i}`],
        attribute: [{ name: 'kernel_shape', type: ATTR.INTS, ints: [3, 3] }, { name: 'pads', type: ATTR.INTS, ints: [1, 1, 1, 1] }],
      }));
      const bytes = encodeOnnx({
        irVersion: 7, producerName: 'galmorph-bench', producerVersion: '0', docString: '', metadataProps: [],
        opsetImport: [{ domain: '', version: 13 }],
        graph: {
          name: 'convs', node, input: [info('x')], output: [info('y')],
          initializer: [{ name: 'w', dims: [c, c, 3, 3], dataType: ONNX_FLOAT, rawData: new Uint8Array(w.buffer) }],
        },
      });
      // No spin-waiting after a run, so these threads do not steal the cores from the next timing.
      const session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      sessions.push(session);
      const name = k === 1 ? convName(shape) : `${convName(shape)} ×${k}`;
      fns[name] = () => session.run({ x });
      flops[name] = k * convFlops(shape);
    }
  }
  return { fns, flops, release: async () => void (await Promise.all(sessions.map((s) => s.release()))) };
}

/** What one engine reaches: network images/s (passes 1 and MC passes) and its conv ceiling. */
interface EngineFigures {
  net1: number;
  netMc: number;
  ceiling: number;
  shapes: Record<string, number>;
}

/**
 * Network images/s through `encoder` (+ the tfjs head), interleaved with the engine's convs
 * at the network's shapes, whose best GFLOP/s is the ceiling.
 */
async function measureEngine(model: GalaxyModel, encoder: Encoder, convs: ConvBench): Promise<EngineFigures> {
  const s = model.config.inputSize;
  const x = new Float32Array(BATCH * s * s * model.config.bands).map(() => Math.random());
  const ids = Array.from({ length: BATCH }, (_, i) => `g${i}`);
  const t = await bestInterleaved({
    ...convs.fns,
    net1: () => forwardBatch(model, encoder, x, ids, 1, 0),
    netMc: () => forwardBatch(model, encoder, x, ids, PASSES, 0),
  });
  const gflops = Object.fromEntries(Object.entries(convs.flops).map(([k, f]) => [k, f / t[k] / 1e9]));
  return { net1: BATCH / t.net1, netMc: BATCH / t.netMc, ceiling: Math.max(...Object.values(gflops)), shapes: gflops };
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

await initEngine({ backend: 'wasm' });
const schema = getSchema('decals-dr5');
const model = createModel({ schema, architecture, seed: 0, size: inputSize });
const { inputSize: size, bands } = model.config;
const gflop = networkGflop(model.config.architecture, size, bands, schema.nAnswers);
const shapes = convShapes(model.config.architecture, size);
console.log(`${architecture}, ${size} px, ${gflop.toFixed(4)} GFLOP/image, batch ${BATCH}`);

const work = mkdtempSync(join(tmpdir(), 'gm-bench-predict-'));
const cutouts = join(work, 'cutouts');
mkdirSync(cutouts);
const cutoutSize = Math.round(size / model.config.evalCrop);
await makeCutouts(cutouts, nImages, cutoutSize);

// Same weights and inputs in PyTorch: concentrations must agree before speeds are compared.
const nCheck = 8;
const check = new Float32Array(nCheck * size * size * bands).map((_, i) => ((i * 2654435761) % 1000) / 1000);
const checkIds = Array.from({ length: nCheck }, (_, i) => `c${i}`);
const tfjsCheck = await openEncoder(model, { engine: 'tfjs' });
const { alpha } = await forwardBatch(model, tfjsCheck, check, checkIds, 1, 0);
exportForTorch(model, work, check, alpha!, nCheck);

/** One engine's figures: network, ceiling, end to end. */
interface EngineRun {
  encoder: 'tfjs' | 'onnx';
  backend: string;
  threads: number;
  figures: EngineFigures;
  e2e: Record<string, number>;
}
const runs: Record<string, EngineRun> = {};
const unavailable: Record<string, string> = {};

async function runEngine(name: string, encoderName: 'tfjs' | 'onnx', threads: number, backend: string): Promise<void> {
  const encoder = await openEncoder(model, { engine: encoderName, threads });
  const convs = encoderName === 'onnx' ? await onnxConvs(shapes) : tfjsConvs(shapes);
  // The ONNX graph must compute what tfjs computes before its speed counts.
  const { alpha: a } = await forwardBatch(model, encoder, check, checkIds, 1, 0);
  const maxRel = Math.max(...a!.map((v, i) => Math.abs(v - alpha![i]) / Math.abs(alpha![i])));
  if (!(maxRel < 1e-4)) throw new Error(`${name}: concentrations differ from tfjs by ${maxRel} (relative)`);
  const figures = await measureEngine(model, encoder, convs);
  await convs.release();
  await encoder.dispose();
  const e2e: Record<string, number> = {};
  for (const passes of [1, PASSES]) {
    const r = await predictSurvey({ model, images: cutouts, out: join(work, `${name}-p${passes}.parquet`), batchSize: BATCH, passes, engine: encoderName, threads });
    e2e[`passes_${passes}`] = r.rows / r.seconds;
  }
  runs[name] = { encoder: encoderName, backend, threads, figures, e2e };
  console.log(
    `${name}: network ${figures.net1.toFixed(1)} images/s (passes 1), ${figures.netMc.toFixed(1)} (passes ${PASSES}); ` +
      `conv ceiling ${figures.ceiling.toFixed(1)} GFLOP/s; end to end ${e2e.passes_1.toFixed(1)} / ${e2e[`passes_${PASSES}`].toFixed(1)} images/s`,
  );
}

// PyTorch before and after the galmorph figures, best of the two, so that a burst of load from
// other processes does not decide the ratio.
const torchRuns = [runTorch(work)];
const wasmInfo: EngineInfo = await initEngine({ backend: 'wasm' });
await runEngine('wasm', 'tfjs', wasmInfo.threads, `tfjs-wasm (simd ${wasmInfo.simd})`);
try {
  const nativeInfo = await initEngine({ backend: 'native', threads: THREADS });
  await runEngine('native', 'tfjs', nativeInfo.threads, `tfjs-wasm + ${nativeInfo.native} convolutions`);
} catch (e) {
  unavailable.native = (e as Error).message;
  console.log(`native: unavailable (${unavailable.native})`);
}
// The head of the onnx path runs on tfjs wasm, the baseline every install has.
await initEngine({ backend: 'wasm' });
await runEngine('onnx', 'onnx', THREADS, `onnxruntime-node ${ort.env.versions.common} (CPU)`);
torchRuns.push(runTorch(work));
const torchFigure = (key: string) => Math.max(...torchRuns.map((t) => (key in t ? Number((t as Record<string, unknown>)[key]) : NaN)));
const torch1 = torchFigure('images_per_s_passes_1');
const torchMc = torchFigure(`images_per_s_passes_${PASSES}`);
const torch = { ...torchRuns[0], images_per_s_passes_1: torch1, [`images_per_s_passes_${PASSES}`]: torchMc, runs: torchRuns };
console.log('pytorch:', torch);

const fastest = Object.entries(runs).sort((a, b) => b[1].figures.netMc - a[1].figures.netMc)[0][0];
const defaultRun = DEFAULT_INFERENCE_ENGINE === 'onnx' ? 'onnx' : 'native' in runs ? 'native' : 'wasm';
if (runs[fastest].encoder !== DEFAULT_INFERENCE_ENGINE) {
  console.warn(`note: the fastest engine here is ${fastest}, but galmorph's default is ${DEFAULT_INFERENCE_ENGINE} (src/predict/engine.ts)`);
}
const bestCeiling = Math.max(...Object.values(runs).map((r) => r.figures.ceiling));

const round = (x: number, d = 3) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);
const engineBlock = (r: EngineRun) => ({
  encoder: r.encoder,
  backend: r.backend,
  threads: r.threads,
  network_images_per_s: { passes_1: round(r.figures.net1, 1), [`passes_${PASSES}`]: round(r.figures.netMc, 1) },
  network_gflops: { passes_1: round(r.figures.net1 * gflop, 2), [`passes_${PASSES}`]: round(r.figures.netMc * gflop, 2) },
  ratio_vs_pytorch: round(r.figures.netMc / torchMc),
  ratio_vs_pytorch_passes_1: round(r.figures.net1 / torch1),
  fraction_of_engine_ceiling: round((r.figures.netMc * gflop) / r.figures.ceiling),
  end_to_end_images_per_s: Object.fromEntries(Object.entries(r.e2e).map(([k, v]) => [k, round(v, 1)])),
  end_to_end_images: nImages,
  engine_conv_ceiling_gflops: round(r.figures.ceiling, 2),
  engine_conv_shapes_gflops: Object.fromEntries(Object.entries(r.figures.shapes).map(([k, v]) => [k, round(v, 2)])),
});
const d = runs[defaultRun].figures;
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
  // Other processes on a shared machine slow every engine; the load average says how much.
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((x) => round(x, 2)) },
  network: { architecture, inputSize: size, bands, gflopPerImage: round(gflop, 5), batch: BATCH, mcPasses: PASSES },
  // Top-level figures are galmorph's default engine's (what `galmorph predict` runs).
  default_engine: defaultRun,
  fastest_engine: fastest,
  ratio_vs_pytorch: round(d.netMc / torchMc),
  ratio_vs_pytorch_passes_1: round(d.net1 / torch1),
  fraction_of_engine_ceiling: round((d.netMc * gflop) / d.ceiling),
  fraction_of_engine_ceiling_passes_1: round((d.net1 * gflop) / d.ceiling),
  // Against the highest conv ceiling of any engine galmorph can run on here.
  fraction_of_best_engine_ceiling: round((d.netMc * gflop) / bestCeiling),
  onnx_ratio_vs_pytorch: round(runs.onnx.figures.netMc / torchMc),
  onnx_ratio_vs_pytorch_passes_1: round(runs.onnx.figures.net1 / torch1),
  onnx_images_per_s: { passes_1: round(runs.onnx.figures.net1, 1), [`passes_${PASSES}`]: round(runs.onnx.figures.netMc, 1) },
  galmorph: { engine: defaultRun, ...engineBlock(runs[defaultRun]) },
  engines: { ...Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, engineBlock(r)])), ...Object.fromEntries(Object.entries(unavailable).map(([k, why]) => [k, { unavailable: why }])) },
  pytorch: torch,
};
mkdirSync('reports', { recursive: true });
// bench/predict/calibration.ts keeps its figures in the same file: carry them over.
let calibration: unknown;
try {
  calibration = JSON.parse(readFileSync('reports/predict.json', 'utf8')).calibration;
} catch {
  calibration = undefined;
}
writeFileSync('reports/predict.json', JSON.stringify({ ...report, ...(calibration ? { calibration } : {}) }, null, 2) + '\n');
console.log(
  `default ${defaultRun}: ratio_vs_pytorch ${report.ratio_vs_pytorch}, fraction_of_engine_ceiling ${report.fraction_of_engine_ceiling}, ` +
    `of the best engine's ceiling ${report.fraction_of_best_engine_ceiling}; onnx_ratio_vs_pytorch ${report.onnx_ratio_vs_pytorch} → reports/predict.json`,
);
await tfjsCheck.dispose();
model.dispose();
