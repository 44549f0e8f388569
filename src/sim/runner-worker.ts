/** Worker thread of `simulateSurvey`: renders chunks of galaxies and commits each as a part file. */
import { parentPort } from 'node:worker_threads';
import { join } from 'node:path';
import { writePng, writeFits, writeTable, type Cell } from '../data/index.js';
import { simulateGalaxy } from './index.js';
import type { SimChunkJob } from './runner.js';

parentPort!.on('message', async (job: SimChunkJob) => {
  try {
    const rows: Record<string, Cell>[] = [];
    for (let i = job.start; i < job.end; i++) {
      const g = simulateGalaxy(i, { seed: job.seed, survey: job.survey, size: job.size, schema: job.schema, magLimit: job.magLimit, visibility: job.visibility });
      const imagePath = `images/${g.id}.png`;
      await writePng(join(job.out, imagePath), g.rgb, job.size, job.size, 3);
      const row: Record<string, Cell> = { ...g.row, image_path: imagePath };
      if (job.fits) {
        const fitsPath = `fits/${g.id}.fits`;
        await writeFits(join(job.out, fitsPath), g.bands, job.size, job.size, {
          SURVEY: job.survey, BANDS: g.bandNames.join(','), PIXSCALE: g.pixscale_arcsec, BUNIT: 'nanomaggy', OBJECT: g.id,
        });
        row.fits_path = fitsPath;
      }
      rows.push(row);
      parentPort!.postMessage({ galaxy: true });
    }
    await writeTable(job.partPath, { columns: Object.keys(rows[0]), rows });
    parentPort!.postMessage({ chunkDone: job.chunk });
  } catch (e) {
    parentPort!.postMessage({ error: `galaxy chunk ${job.chunk} (indices ${job.start}–${job.end - 1}): ${(e as Error).stack ?? e}` });
  }
});
