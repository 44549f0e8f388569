import { once } from 'node:events';
import type { Command } from 'commander';
import { isLoopbackHost, serve } from '../../web/index.js';
import { int, log } from '../util.js';

interface ServeFlags {
  catalog: string;
  predictions: string;
  embeddings: string;
  index?: string;
  session?: string;
  port?: number;
  host?: string;
  idColumn?: string;
  imageColumn?: string;
  schema?: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('web explorer: browse and filter the survey, find similar galaxies, score anomalies in the browser')
    .requiredOption('--catalog <file>', 'catalogue with ids and image paths (.csv/.parquet)')
    .requiredOption('--predictions <file>', 'predictions table written by `galmorph predict`')
    .requiredOption('--embeddings <file>', 'embeddings table written by `galmorph embed`')
    .option('--index <dir>', 'similarity index from `galmorph index` (default: an exact one built at start)')
    .option('--session <dir>', 'anomaly-labelling session folder, shared with `galmorph anomalies label` (created when new)')
    .option('--port <n>', 'port (default 8080; 0 picks a free one)', int)
    .option('--host <addr>', 'address to bind (default 127.0.0.1: this machine only)')
    .option('--id-column <name>', 'catalogue id column (default id)')
    .option('--image-column <name>', 'catalogue image-path column (default image_path)')
    .option('--schema <name>', 'decision tree of the predictions (default: detected)')
    .action(async (o: ServeFlags) => {
      const explorer = await serve(o);
      if (o.host && !isLoopbackHost(o.host)) log(`warning: listening on ${o.host}: anyone who can reach it can browse the survey and write scores to the session`);
      log(`galmorph explorer: ${explorer.url} (${explorer.survey.size} galaxies${o.session ? `, labelling session ${o.session}` : ''}); Ctrl-C to stop`);
      const signal = await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
      log(`stopping (${signal[0] ?? 'signal'})`);
      await explorer.close();
    });
}
