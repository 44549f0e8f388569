import type { Command } from 'commander';
import {
  embedSurvey, fitPcaFromFiles, parseShard, predictSurvey, INFERENCE_ENGINES, DEFAULT_INFERENCE_ENGINE, ORIENTATION_MODES, DEFAULT_ORIENTATIONS,
  type InferenceEngine, type OrientationMode, type PcaModel, type SurveyOptions, type SurveyResult,
} from '../../predict/index.js';
import { OptionError } from '../../errors.js';
import { createProgress } from '../progress.js';
import { int, log } from '../util.js';

interface RunFlags {
  model: string;
  images?: string;
  catalog?: string;
  out: string;
  format?: 'parquet' | 'csv';
  batchSize?: number;
  chunkSize?: number;
  shard?: string;
  idColumn?: string;
  imageColumn?: string;
  overwrite?: boolean;
  engine?: InferenceEngine;
  threads?: number;
}

/** Flags shared by predict and embed; defaults are the library's (shown in the help). */
function surveyFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--model <dir>', 'model directory (config.json, model.json, weights.bin): a galmorph model or one written by `galmorph finetune`')
    .option('--images <dir>', 'directory of PNG/JPEG/FITS images (id = file name without extension)')
    .option('--catalog <file>', 'catalogue (.csv/.parquet) with an id and an image-path column (ra/dec passed through)')
    .requiredOption('--out <file>', 'output table (.parquet or .csv)')
    .option('--format <format>', 'parquet or csv (default: from the --out extension)')
    .option('--batch-size <n>', 'images per network batch (default 64)', int)
    .option('--chunk-size <n>', 'rows per committed chunk, the most an interruption loses (default 1024)', int)
    .option('--shard <i/N>', 'process shard i of N (0-based, contiguous), e.g. $SLURM_ARRAY_TASK_ID/16')
    .option('--id-column <name>', 'catalogue id column (default id)')
    .option('--image-column <name>', 'catalogue image-path column, relative to the catalogue folder or absolute (default image_path)')
    .option('--overwrite', 'replace an existing output file')
    .option('--engine <engine>', `encoder engine: ${INFERENCE_ENGINES.join(' or ')} (default ${DEFAULT_INFERENCE_ENGINE}, the faster measured)`)
    .option('--threads <n>', 'threads of the onnx engine (default: the CPUs this process may use)', int);
}

function surveyOptions(o: RunFlags, onProgress: (d: number, t: number) => void): SurveyOptions {
  return {
    model: o.model,
    images: o.images,
    catalog: o.catalog,
    out: o.out,
    format: o.format,
    batchSize: o.batchSize,
    chunkSize: o.chunkSize,
    shard: o.shard === undefined ? undefined : parseShard(o.shard),
    idColumn: o.idColumn,
    imageColumn: o.imageColumn,
    overwrite: o.overwrite,
    engine: o.engine,
    threads: o.threads,
    onProgress,
  };
}

function report(verb: string, r: SurveyResult): void {
  const rate = r.galaxiesPerSecond > 0 ? ` (${r.galaxiesPerSecond.toFixed(1)} galaxies/s)` : '';
  log(`${verb} ${r.rows} galaxies (${r.ok} ok, ${r.errors} error${r.errors === 1 ? '' : 's'}) in ${r.seconds.toFixed(1)} s${rate} → ${r.out}`);
  if (r.resumedRows > 0) log(`  resumed: ${r.resumedRows} rows came from an interrupted run`);
  for (const e of r.errorExamples) log(`  ${e.id}: ${e.status}`);
  if (r.errors > r.errorExamples.length) log(`  … and ${r.errors - r.errorExamples.length} more error rows (status column)`);
}

function reportPca(pca: PcaModel, path: string): void {
  const ratios = pca.explainedVarianceRatio;
  const total = ratios.reduce((s, x) => s + x, 0);
  const each = ratios.slice(0, 10).map((x) => `${(100 * x).toFixed(1)}%`).join(', ');
  log(`PCA: ${ratios.length} components explain ${(100 * total).toFixed(1)}% of the variance (${each}${ratios.length > 10 ? ', …' : ''}) → ${path}`);
}

async function withProgress<T>(label: string, run: (onProgress: (d: number, t: number) => void) => Promise<T>): Promise<T> {
  const progress = createProgress(label);
  try {
    return await run((d, t) => progress.update(d, t));
  } finally {
    progress.stop();
  }
}

export function register(program: Command): void {
  surveyFlags(
    program
      .command('predict')
      .description(
        'predict vote fractions, uncertainties and Dirichlet concentrations for a survey, or with a fine-tuned model its classes ' +
          '(p_<class>, predicted) or values (prediction), with MC-dropout stds (sharded, resumable)',
      ),
  )
    .option('--passes <n>', 'MC-dropout passes (default 5; 1 = no dropout; a linear-probe head always runs once)', int)
    .option('--seed <n>', 'seed of the dropout masks (default 0)', int)
    .action(async (o: RunFlags & { passes?: number; seed?: number }) => {
      const r = await withProgress('predict', (p) => predictSurvey({ ...surveyOptions(o, p), passes: o.passes, seed: o.seed }));
      report('predicted', r);
    });

  surveyFlags(program.command('embed').description('write the representation of every galaxy of a survey (a fine-tuned model: its encoder\'s), optionally with PCA (sharded, resumable)'))
    .option('--pca <k>', 'fit K principal components on this run and add pca_ columns (saved as <out>.pca.json)', int)
    .option('--pca-model <file>', 'apply a saved PCA (from `galmorph pca fit` or an earlier --pca run)')
    .option(
      '--orientations <mode>',
      `${ORIENTATION_MODES.join(' or ')}: dihedral averages the representation over the 8 rotations by 90° and mirror images ` +
        `(orientation-free, better for similarity search; 8 encoder passes), single takes one pass (default ${DEFAULT_ORIENTATIONS})`,
    )
    .action(async (o: RunFlags & { pca?: number; pcaModel?: string; orientations?: OrientationMode }) => {
      if (o.pca !== undefined && o.pcaModel !== undefined) throw new OptionError('give --pca or --pca-model, not both');
      const pca = o.pca !== undefined ? { components: o.pca } : o.pcaModel !== undefined ? { path: o.pcaModel } : undefined;
      const r = await withProgress('embed', (p) => embedSurvey({ ...surveyOptions(o, p), pca, orientations: o.orientations }));
      report('embedded', r);
      if (r.pca) reportPca(r.pca.model, r.pca.path);
    });

  program
    .command('pca')
    .description('principal component analysis of representations')
    .command('fit')
    .description('fit a PCA once over embedding tables (e.g. all shards), to apply with `galmorph embed --pca-model`')
    .requiredOption('--embeddings <files...>', 'embedding tables written by `galmorph embed`')
    .requiredOption('--out <file>', 'where to save the PCA (JSON)')
    .option('--components <k>', 'principal components to keep (default 10)', int)
    .action(async (o: { embeddings: string[]; out: string; components?: number }) => {
      const pca = await fitPcaFromFiles(o);
      log(`fitted on ${pca.samples} galaxies of ${o.embeddings.length} file${o.embeddings.length === 1 ? '' : 's'}`);
      reportPca(pca, o.out);
    });
}
