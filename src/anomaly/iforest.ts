/**
 * Isolation forest (Liu, Ting & Zhou 2008): the unsupervised starting point of anomaly
 * ranking. Each tree isolates a random subsample with random axis-parallel cuts; points that
 * are isolated in few cuts are anomalous. Seeded: the same seed, data and options give the
 * same trees on any machine. npm's isolation forests draw from `Math.random` (unseeded) and
 * score row objects, so galmorph keeps this small one over flat Float32Arrays.
 */
import { OptionError } from '../errors.js';
import { Rng } from '../sim/rng.js';
import type { FeatureMatrix } from './features.js';

/** Options of {@link fitIsolationForest} and {@link unsupervisedScores}. */
export interface IsolationForestOptions {
  /** Number of trees. @default 200 */
  trees?: number;
  /** Rows drawn (without replacement) to grow each tree. @default 256 */
  sampleSize?: number;
  /** Seed of the subsamples and cuts. @default 0 */
  seed?: number;
}

/**
 * A fitted isolation forest: all trees in flat arrays, compact enough to stay in cache while
 * rows stream past. Node `roots[t]` is tree t's root; a split node sends x to `left[i]` when
 * `x[feature[i]] < threshold[i]`, else to `left[i] + 1`. A leaf has threshold +∞ and
 * `left[i] = i` (it points at itself), so every walk is `depth` branch-free steps.
 */
export interface IsolationForest {
  dim: number;
  sampleSize: number;
  /** Steps per walk (the maximum tree depth). */
  depth: number;
  roots: Int32Array;
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  /** Leaf depth plus c(leaf size): the path length credited to a point that ends there. */
  leafPath: Float32Array;
}

interface Tree {
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  leafPath: Float32Array;
}

const EULER = 0.5772156649015329;

/** Average path length of an unsuccessful binary-search-tree search among n points, c(n). */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER) - (2 * (n - 1)) / n;
}

/** Grow an isolation forest on `x` (`[n, dim]`). */
export function fitIsolationForest(x: FeatureMatrix, options: IsolationForestOptions = {}): IsolationForest {
  const trees = options.trees ?? 200;
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(trees) || trees < 1) throw new OptionError(`isolation forest trees must be a positive integer, got ${trees}`);
  const wanted = options.sampleSize ?? 256;
  if (!Number.isSafeInteger(wanted) || wanted < 2) throw new OptionError(`isolation forest sample size must be an integer ≥ 2, got ${wanted}`);
  if (x.rows < 2) throw new OptionError(`an isolation forest needs at least 2 galaxies, got ${x.rows}`);
  const psi = Math.min(wanted, x.rows);
  const maxDepth = Math.ceil(Math.log2(psi));
  const grown: Tree[] = [];
  for (let t = 0; t < trees; t++) grown.push(growTree(x, psi, maxDepth, new Rng(seed, 'isolation-forest', t)));
  const total = grown.reduce((s, t) => s + t.feature.length, 0);
  const f: IsolationForest = {
    dim: x.dim, sampleSize: psi, depth: maxDepth, roots: new Int32Array(trees),
    feature: new Int32Array(total), threshold: new Float32Array(total), left: new Int32Array(total), leafPath: new Float32Array(total),
  };
  let at = 0;
  grown.forEach((t, i) => {
    f.roots[i] = at;
    f.feature.set(t.feature, at);
    f.threshold.set(t.threshold, at);
    f.left.set(t.left.map((v) => v + at), at);
    f.leafPath.set(t.leafPath, at);
    at += t.feature.length;
  });
  return f;
}

function growTree(x: FeatureMatrix, psi: number, maxDepth: number, rng: Rng): Tree {
  // Partial Fisher–Yates over a sparse map: psi distinct rows without an O(n) index array.
  const swaps = new Map<number, number>();
  const sample = new Int32Array(psi);
  for (let i = 0; i < psi; i++) {
    const j = i + rng.int(x.rows - i);
    const vj = swaps.get(j) ?? j;
    swaps.set(j, swaps.get(i) ?? i);
    sample[i] = vj;
  }
  const cap = 2 * psi;
  const feature = new Int32Array(cap);
  const threshold = new Float32Array(cap).fill(Infinity);
  const left = Int32Array.from({ length: cap }, (_, i) => i);
  const leafPath = new Float32Array(cap);
  const { data, dim } = x;
  let nodes = 1;
  // Explicit stack of (node, start, end, depth) over `sample`, partitioned in place.
  const stack: number[] = [0, 0, psi, 0];
  while (stack.length > 0) {
    const depth = stack.pop()!, end = stack.pop()!, start = stack.pop()!, node = stack.pop()!;
    const size = end - start;
    if (size <= 1 || depth >= maxDepth || !split(node)) leafPath[node] = depth + averagePathLength(size);

    function split(nd: number): boolean {
      // Try features in random order until one is not constant on this node's points.
      const order = Array.from({ length: dim }, (_, k) => k);
      for (let tried = 0; tried < dim; tried++) {
        const pick = tried + rng.int(dim - tried);
        [order[tried], order[pick]] = [order[pick], order[tried]];
        const f = order[tried];
        let lo = Infinity, hi = -Infinity;
        for (let i = start; i < end; i++) {
          const v = data[sample[i] * dim + f];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        if (!(hi > lo)) continue;
        // Stored as float32 (the data's precision); fitting and scoring compare the same value.
        let cut = Math.fround(rng.uniform(lo, hi));
        if (!(cut > lo && cut <= hi)) cut = hi;
        let m = start;
        for (let i = start; i < end; i++) {
          if (data[sample[i] * dim + f] < cut) {
            const t = sample[i];
            sample[i] = sample[m];
            sample[m++] = t;
          }
        }
        feature[nd] = f;
        threshold[nd] = cut;
        left[nd] = nodes;
        nodes += 2;
        stack.push(left[nd], start, m, depth + 1, left[nd] + 1, m, end, depth + 1);
        return true;
      }
      return false;
    }
  }
  return { feature: feature.slice(0, nodes), threshold: threshold.slice(0, nodes), left: left.slice(0, nodes), leafPath: leafPath.slice(0, nodes) };
}

/**
 * Anomaly score of every row: s = 2^(−E[h(x)] / c(ψ)) in (0, 1], where h is the path length
 * to isolate x and ψ the subsample size. ≈ 0.5 for ordinary points, → 1 for outliers.
 * Rows go in blocks that stay in cache while every tree is walked.
 */
export function scoreIsolationForest(forest: IsolationForest, x: FeatureMatrix): Float64Array {
  if (x.dim !== forest.dim) throw new OptionError(`isolation forest was grown on ${forest.dim}-d features, got ${x.dim}-d`);
  const { data, dim, rows } = x;
  const { roots, feature, threshold, left, leafPath, depth } = forest;
  const total = new Float64Array(rows);
  const B = 256;
  for (let s = 0; s < rows; s += B) {
    const e = Math.min(rows, s + B);
    for (let t = 0; t < roots.length; t++) {
      const root = roots[t];
      for (let r = s; r < e; r++) {
        const o = r * dim;
        let node = root;
        for (let k = 0; k < depth; k++) node = left[node] + (data[o + feature[node]] >= threshold[node] ? 1 : 0);
        total[r] += leafPath[node];
      }
    }
  }
  const norm = averagePathLength(forest.sampleSize) * roots.length;
  for (let r = 0; r < rows; r++) total[r] = Math.pow(2, -total[r] / norm);
  return total;
}
