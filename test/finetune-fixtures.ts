/** Shared fixtures for the fine-tuning tests: a tiny base model and an easy labelled set. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { initEngine } from '../src/engine/index.js';
import { createModel, saveModel } from '../src/models/index.js';
import { getSchema } from '../src/schema/index.js';
import { writePng } from '../src/data/index.js';
import { rng } from '../src/util/random.js';

export const tmp = (prefix = 'gm-finetune-'): string => mkdtempSync(join(tmpdir(), prefix));

/** A random (untrained) resnet-tiny decals-dr5 model at 32 px. */
export async function makeBase(dir = join(tmp(), 'base')): Promise<string> {
  await initEngine();
  const model = createModel({ schema: getSchema('decals-dr5'), architecture: 'resnet-tiny', size: 32, seed: 3 });
  await saveModel(model, dir);
  model.dispose();
  return dir;
}

/**
 * `n` 36-px images, class `bright` (a large bright disk) or `faint` (a small dim blob),
 * alternating, with jittered centres and noise; writes `images/g<i>.png` and `labels.csv`
 * (id, label, image_path, value: the peak brightness, for regression).
 */
export async function makeLabelled(n: number, dir = tmp()): Promise<{ dir: string; labels: string; images: string }> {
  const images = join(dir, 'images');
  const random = rng(12345);
  const lines = ['id,label,image_path,value'];
  const size = 36;
  for (let i = 0; i < n; i++) {
    const bright = i % 2 === 0;
    const amp = bright ? 0.7 + 0.3 * random() : 0.15 + 0.15 * random();
    const r = bright ? 7 + 2 * random() : 2.5 + random();
    const cx = size / 2 + 4 * (random() - 0.5), cy = size / 2 + 4 * (random() - 0.5);
    const px = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = amp * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r)) + 0.05 * random();
        const b = Math.round(255 * Math.min(1, v));
        px.set([b, b, b], (y * size + x) * 3);
      }
    }
    const id = `g${String(i).padStart(3, '0')}`;
    await writePng(join(images, `${id}.png`), px, size, size);
    lines.push(`${id},${bright ? 'bright' : 'faint'},images/${id}.png,${amp.toFixed(4)}`);
  }
  const labels = join(dir, 'labels.csv');
  writeFileSync(labels, lines.join('\n') + '\n');
  return { dir, labels, images };
}

/** Write a labels CSV from rows. */
export function writeLabels(dir: string, name: string, header: string, rows: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, [header, ...rows].join('\n') + '\n');
  return path;
}
