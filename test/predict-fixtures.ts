/** Shared fixtures for the predict tests: a tiny random model and small generated surveys. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { initEngine } from '../src/engine/index.js';
import { createModel, saveModel, architectureNames } from '../src/models/index.js';
import { getSchema } from '../src/schema/index.js';
import { writePng, writeTable } from '../src/data/index.js';

export const tmp = (prefix = 'gm-predict-'): string => mkdtempSync(join(tmpdir(), prefix));

/** The smallest registered architecture, by parameter-free reading of the registry. */
export const TINY = architectureNames().find((n) => n.includes('tiny')) ?? architectureNames().at(-1)!;

/** Save a tiny random decals-dr5 model in a fresh folder. */
export async function makeModelDir(): Promise<string> {
  await initEngine();
  const dir = join(tmp('gm-model-'), 'model');
  const model = createModel({ schema: getSchema('decals-dr5'), architecture: TINY, seed: 1 });
  await saveModel(model, dir);
  model.dispose();
  return dir;
}

/** Deterministic blob images `g000.png`…; returns the directory. */
export async function makeImages(n: number, size = 40, dir = join(tmp(), 'images')): Promise<string> {
  for (let i = 0; i < n; i++) {
    const px = new Uint8Array(size * size * 3);
    const r = 3 + (i % 7), cx = size / 2 + (i % 5) - 2, cy = size / 2 - (i % 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = Math.round(255 * Math.exp(-((x - cx) ** 2 + ((y - cy) * (1 + (i % 4) / 3)) ** 2) / (2 * r * r)));
        px.set([v, Math.round(v * 0.8), Math.round(v * (0.5 + (i % 2) / 2))], (y * size + x) * 3);
      }
    }
    await writePng(join(dir, `g${String(i).padStart(3, '0')}.png`), px, size, size);
  }
  return dir;
}

/** A catalogue with id, ra, dec, image_path (relative) for the images in `dir`; one corrupt image added. */
export async function makeCatalog(n: number): Promise<{ catalog: string; dir: string }> {
  const root = tmp();
  const dir = await makeImages(n, 40, join(root, 'cutouts'));
  writeFileSync(join(dir, 'broken.png'), 'not a png');
  const rows = Array.from({ length: n }, (_, i) => ({
    id: `J${String(i).padStart(4, '0')}`, ra: 150 + i / 100, dec: 2 - i / 100, image_path: `cutouts/g${String(i).padStart(3, '0')}.png`,
  }));
  rows.splice(3, 0, { id: 'JBAD', ra: 1, dec: 2, image_path: 'cutouts/broken.png' });
  const catalog = join(root, 'catalog.csv');
  await writeTable(catalog, { columns: ['id', 'ra', 'dec', 'image_path'], rows });
  return { catalog, dir };
}
