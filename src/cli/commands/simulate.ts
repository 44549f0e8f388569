import type { Command } from 'commander';
import { simulateSurvey } from '../../sim/runner.js';
import { DEFAULT_VISIBILITY, surveyNames, type SurveyName, type VisibilityMode } from '../../sim/index.js';
import { catalogMosaic } from '../../viz/mosaic.js';
import { createProgress } from '../progress.js';
import { int, log, num } from '../util.js';

export function register(program: Command): void {
  program
    .command('simulate')
    .description('simulate a survey: colour cutouts, optional FITS, and a catalogue of truth, tags and volunteer votes')
    .requiredOption('--n <count>', 'number of galaxies', int)
    .requiredOption('--out <dir>', 'output directory (resumes an interrupted run made with the same options)')
    .option('--survey <name>', `survey profile: ${surveyNames().join(', ')}`, 'decals')
    .option('--size <px>', 'cutout size in pixels', int, 128)
    .option('--seed <seed>', 'random seed (same seed, same bytes)', int, 0)
    .option('--schema <tree>', 'decision tree the volunteers answer; several joined by + (e.g. decals-dr5+gz2) are separate campaigns', 'decals-dr5')
    .option('--mag-limit <mag>', 'faint r limit of the galaxy population: 17.77 is SDSS spectroscopic; deeper (e.g. 20) adds fainter, more distant galaxies', num, 17.77)
    .option('--visibility <mode>', 'how volunteers judge what is visible: image (measured on the displayed cutout) or analytic (estimated from the truth, ~2x faster; surveys made before 2026-11-26)', DEFAULT_VISIBILITY)
    .option('--fits', 'also write per-band FITS images in nanomaggies', false)
    .option('--workers <k>', 'worker threads (default: min(2, cores))', int)
    .option('--chunk-size <k>', 'galaxies per committed chunk, the unit of resumption', int, 256)
    .action(async (o: { n: number; out: string; survey: string; size: number; seed: number; schema: string; magLimit: number; visibility: string; fits: boolean; workers?: number; chunkSize: number }) => {
      const progress = createProgress('simulate');
      const r = await simulateSurvey({ ...o, survey: o.survey as SurveyName, visibility: o.visibility as VisibilityMode, onProgress: (d, t) => progress.update(d, t) }).finally(() =>
        progress.stop(),
      );
      log(
        r.rendered === 0
          ? `${r.out} already holds all ${r.n} galaxies`
          : `simulated ${r.rendered} galaxies in ${r.seconds.toFixed(1)} s (${(r.rendered / r.seconds).toFixed(0)}/s) → ${r.catalogParquet}, ${r.catalogCsv}`,
      );
    });

  program
    .command('mosaic')
    .description('contact sheet of a catalogue grouped by a column or a tag list, to judge classes by eye')
    .requiredOption('--catalog <file>', 'catalogue (.parquet or .csv) with an image_path column')
    .requiredOption('--by <column>', 'column to group by; comma-separated lists such as tags put a galaxy in each group')
    .requiredOption('--out <file>', 'output PNG')
    .option('--per-group <k>', 'thumbnails per group', int, 8)
    .option('--max-groups <k>', 'largest groups shown', int, 12)
    .option('--thumb <px>', 'thumbnail size', int, 96)
    .option('--image-column <name>', 'column holding image paths', 'image_path')
    .action(async (o: { catalog: string; by: string; out: string; perGroup: number; maxGroups: number; thumb: number; imageColumn: string }) => {
      await catalogMosaic(o.catalog, o.out, o);
      log(`wrote ${o.out}`);
    });
}
