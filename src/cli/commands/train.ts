import type { Command } from 'commander';
import { train } from '../../train/index.js';
import { architectureNames } from '../../models/index.js';
import { int, num, log } from '../util.js';

export function register(program: Command): void {
  program
    .command('train')
    .description('train a network on every question of a decision tree from volunteer vote counts (resumes after interruption)')
    .requiredOption('--catalog <file>', 'vote catalogue (.csv/.parquet) with <question>_<answer> count columns')
    .requiredOption('--out <dir>', 'model directory (model, metrics.json, checkpoint.bin); rerun the same command to resume')
    .option('--images <dir>', 'folder of <id>.png|jpg|fits images (else the catalogue image column)')
    .option('--image-column <name>', 'catalogue column of image paths, relative to the catalogue')
    .option('--id-column <name>', 'catalogue id column (GZ DECaLS releases use iauname; default id)')
    .option('--schema <name>', 'decision tree: built-in name or .json path; several joined by + are trained at once (default decals-dr5)')
    .option('--init-from <model>', 'start from this model directory\'s weights (same bands, any input size, the same or a deeper architecture; shared answers keep their head weights)')
    .option('--architecture <name>', `network: ${architectureNames().join(', ')} (default resnet-small)`)
    .option('--size <px>', 'network input size (default 64)', int)
    .option('--bands <n>', 'input bands: 3 (colour) or 1 (greyscale) (default 3)', int)
    .option('--epochs <n>', 'maximum epochs (default 30)', int)
    .option('--batch-size <n>', 'images per optimizer step (default 128)', int)
    .option('--lr <rate>', 'AdamW learning rate; may be changed when resuming, e.g. lowered for the last epochs (default 0.001)', num)
    .option('--patience <n>', 'early-stopping patience, epochs (default 8)', int)
    .option('--workers <n>', 'data-parallel worker threads (default 2)', int)
    .option('--seed <seed>', 'seed for initialisation, split, shuffling and augmentation (default 0)', int)
    .action(async (o) => {
      const controller = new AbortController();
      // Ctrl-C checkpoints and exits cleanly; a second Ctrl-C (or kill -9) still loses nothing past the last checkpoint.
      process.once('SIGINT', () => {
        log('interrupt: saving a checkpoint…');
        controller.abort();
      });
      const r = await train({
        catalog: o.catalog, images: o.images, imageColumn: o.imageColumn, idColumn: o.idColumn, schema: o.schema,
        architecture: o.architecture, size: o.size, bands: o.bands, epochs: o.epochs, batchSize: o.batchSize,
        learningRate: o.lr, patience: o.patience, workers: o.workers, seed: o.seed, out: o.out, initFrom: o.initFrom,
        signal: controller.signal, log,
      });
      if (r.interrupted) log(`stopped; rerun the same command to resume from ${r.out}`);
      else log(`done: ${r.epochs} epochs, best epoch ${r.bestEpoch} (val loss ${r.bestValLoss?.toFixed(3)}); model in ${r.out}`);
    });
}
