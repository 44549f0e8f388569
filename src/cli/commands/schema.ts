import type { Command } from 'commander';
import { getSchema, schemaNames, schemaToSpec, summarizeVotes, formatVoteSummary } from '../../schema/index.js';
import { readVoteCatalog } from '../../data/index.js';

export function register(program: Command): void {
  program
    .command('schema')
    .description('print a decision-tree schema (built-in name or JSON path) as JSON')
    .argument('[name]', `built-in schema (${schemaNames().join(', ')}) or path to a .json schema`, 'decals-dr5')
    .action((name: string) => {
      process.stdout.write(JSON.stringify(schemaToSpec(getSchema(name)), null, 2) + '\n');
    });

  program
    .command('votes')
    .description("summarise a vote catalogue: volunteers per galaxy and each question's leading-answer shares")
    .requiredOption('--catalog <file>', 'vote catalogue (.parquet or .csv), GZ DECaLS column layout')
    .option('--schema <name>', 'decision tree: built-in name or .json path', 'decals-dr5')
    .option('--id-column <name>', 'id column (GZ DECaLS releases use iauname)', 'id')
    .option('--json', 'print JSON instead of a table', false)
    .action(async (o: { catalog: string; schema: string; idColumn: string; json: boolean }) => {
      const schema = getSchema(o.schema);
      const cat = await readVoteCatalog(o.catalog, { schema, idColumn: o.idColumn });
      const s = summarizeVotes(schema, cat.counts);
      process.stdout.write((o.json ? JSON.stringify(s, null, 2) : formatVoteSummary(s)) + '\n');
    });
}
