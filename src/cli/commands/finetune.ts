import type { Command } from 'commander';
import { finetune, NAMED_BASES, FINETUNE_MODES, FINETUNE_TASKS, type FinetuneMode, type FinetuneTask } from '../../finetune/index.js';
import { int, num, log } from '../util.js';

export function register(program: Command): void {
  program
    .command('finetune')
    .description('adapt a pretrained model to a new question from a labels table: new head, frozen or partly unfrozen encoder, or a linear probe')
    .requiredOption('--base <dir>', `pretrained (or fine-tuned) model directory, or ${NAMED_BASES.join(', ')} (pretrained on photos)`)
    .requiredOption('--labels <file>', 'labels table (.csv/.parquet) with id and label columns (and image_path unless --images)')
    .requiredOption('--task <task>', `target kind: ${FINETUNE_TASKS.join(', ')}`)
    .requiredOption('--out <dir>', 'output model directory (model, metrics.json, predictions.csv on the validation set)')
    .option('--images <dir>', 'folder of <id>.png|jpg|fits images (else the labels image_path column)')
    .option('--schema <name>', 'votes task: decision tree of the count columns, built-in name or .json path (default decals-dr5)')
    .option('--mode <mode>', `${FINETUNE_MODES.join(', ')} (default head)`)
    .option('--id-column <name>', 'labels id column (default id)')
    .option('--label-column <name>', 'labels label column (default label)')
    .option('--image-column <name>', 'labels image-path column (default image_path)')
    .option('--classes <list>', 'comma-separated class names in output order; binary: negative,positive (default sorted labels)')
    .option('--input-size <px>', `input size for ${NAMED_BASES.join(', ')} (default 64)`, int)
    .option('--blocks <n>', 'partial mode: encoder blocks unfrozen from the top (default 2)', int)
    .option('--epochs <n>', 'maximum epochs (default 30)', int)
    .option('--batch-size <n>', 'images per step (default 32)', int)
    .option('--lr <rate>', 'AdamW learning rate of the head and top block (default 0.0001)', num)
    .option('--patience <n>', 'early-stopping patience, epochs (default 10)', int)
    .option('--balanced', 'weight classes by inverse frequency')
    .option('--seed <seed>', 'seed for split, head, shuffling, augmentation and dropout (default 0)', int)
    .option('--val-fraction <f>', 'share of labels held out for validation, per class (default 0.2)', num)
    .action(async (o) => {
      const r = await finetune({
        base: o.base, inputSize: o.inputSize, labels: o.labels, images: o.images, out: o.out, task: o.task as FinetuneTask, schema: o.schema, mode: o.mode as FinetuneMode | undefined,
        idColumn: o.idColumn, labelColumn: o.labelColumn, imageColumn: o.imageColumn,
        classes: o.classes ? String(o.classes).split(',').map((c: string) => c.trim()) : undefined,
        blocks: o.blocks, epochs: o.epochs, batchSize: o.batchSize, learningRate: o.lr, patience: o.patience,
        classWeights: o.balanced ? 'balanced' : undefined, seed: o.seed, valFraction: o.valFraction, log,
      });
      const parts = [`validation: ${r.valIds.length} galaxies, loss ${r.valLoss.toFixed(4)}`];
      if (r.valAccuracy !== null) parts.push(`accuracy ${r.valAccuracy.toFixed(3)}`);
      if (r.valAuc !== null) parts.push(`ROC-AUC ${r.valAuc.toFixed(3)}`);
      if (r.valMae !== null) parts.push(`MAE ${r.valMae.toPrecision(4)}`);
      log(`${parts.join(', ')} (epoch ${r.bestEpoch}); model in ${r.out}`);
    });
}
