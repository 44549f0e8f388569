import type { Command } from 'commander';
import { AnomalySession, rankAnomalies, runLabelLoop } from '../../anomaly/index.js';
import { int, log, num } from '../util.js';

interface RankFlags {
  embeddings: string;
  labels?: string;
  out: string;
  components?: number;
  pcaModel?: string;
  trees?: number;
  seed?: number;
}

interface LabelFlags {
  session: string;
  embeddings?: string;
  catalog?: string;
  idColumn?: string;
  imageColumn?: string;
  labels?: string;
  open?: boolean;
  mosaic: boolean;
  batchSize?: number;
  coldStart?: 'random' | 'anomalous';
  tradeoff?: number;
  tradeoffOnceFound?: number;
  components?: number;
  seed?: number;
  out?: string;
}

export function register(program: Command): void {
  const anomalies = program.command('anomalies').description('find the galaxies interesting to you: unsupervised ranking, then active learning from your scores');

  anomalies
    .command('rank')
    .description('rank every galaxy, by isolation-forest anomaly score or — with --labels — by a model of your scores')
    .requiredOption('--embeddings <file>', 'embeddings table written by `galmorph embed` (id, status, feat_…)')
    .requiredOption('--out <file>', 'ranking table (.parquet or .csv), most interesting first')
    .option('--labels <file>', 'your scores: a table with columns id and score (0–5)')
    .option('--components <k>', 'PCA components (default 40)', int)
    .option('--pca-model <file>', 'apply a saved PCA (from `galmorph pca fit`) instead of fitting one')
    .option('--trees <n>', 'isolation-forest trees (default 200)', int)
    .option('--seed <n>', 'seed of the isolation forest (default 0)', int)
    .action(async (o: RankFlags) => {
      const r = await rankAnomalies({ ...o, pcaModel: o.pcaModel });
      const src = r.galaxies.source;
      log(`ranked ${src.galaxies} galaxies${src.skipped ? ` (${src.skipped} row${src.skipped === 1 ? '' : 's'} without a usable representation left out)` : ''} ` +
        `${r.labelled > 0 ? `from ${r.labelled} scores` : 'by anomaly score (unsupervised)'} in ${r.ranking.seconds.toFixed(1)} s → ${o.out}`);
      const top = Array.from(r.ranking.order.subarray(0, 5), (i) => `${r.galaxies.ids[i]} (${r.ranking.score[i].toFixed(2)})`);
      log(`  top: ${top.join(', ')}`);
    });

  anomalies
    .command('label')
    .description('score galaxies interactively (0–5, s skip, q quit); every answer is saved and the session resumes where it stopped')
    .requiredOption('--session <dir>', 'session folder (created on first use)')
    .option('--embeddings <file>', 'embeddings table to start the session from (needed the first time)')
    .option('--catalog <file>', 'catalogue with image paths, to show and open the images')
    .option('--id-column <name>', 'catalogue id column (default id)')
    .option('--image-column <name>', 'catalogue image-path column (default image_path)')
    .option('--labels <file>', 'import scores made elsewhere (columns id, score 0–5) before asking')
    .option('--open', 'open each image with xdg-open / open')
    .option('--no-mosaic', 'do not write a mosaic PNG of each batch into the session folder')
    .option('--batch-size <n>', 'galaxies per batch; the model is refitted after each (default 10; new sessions only)', int)
    .option('--cold-start <how>', 'first batch: random or anomalous (default random; new sessions only)')
    .option('--tradeoff <xi>', 'expected-improvement exploration trade-off in score units (default 0.5; new sessions only)', num)
    .option('--tradeoff-once-found <xi>', 'the trade-off once some galaxy scored 4 or more (default 0: collect more like it; new sessions only)', num)
    .option('--components <k>', 'PCA components (default 40; new sessions only)', int)
    .option('--seed <n>', 'seed (default 0; new sessions only)', int)
    .option('--out <file>', 'after the loop, write the ranking of every galaxy (.parquet or .csv)')
    .action(async (o: LabelFlags) => {
      const session = await AnomalySession.open(o.session, o);
      if (o.labels) log(`imported ${await session.importLabels(o.labels)} scores from ${o.labels}`);
      const r = await runLabelLoop(session, { input: process.stdin, output: process.stdout, open: o.open, mosaic: o.mosaic });
      log(`${r.labelled} scored, ${r.skipped} skipped this time; ${session.labels.size} labels in the session`);
      if (o.out) {
        const ranking = await session.writeRanking(o.out);
        log(`ranked ${session.size} galaxies in ${ranking.seconds.toFixed(1)} s → ${o.out}`);
      }
    });
}
