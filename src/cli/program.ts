import { Command, CommanderError } from 'commander';
import { GalmorphError } from '../errors.js';
import { getSchema, schemaNames } from '../schema/index.js';

/** Build the command tree. Each command's action calls one exported library function. */
export function buildProgram(): Command {
  const program = new Command('galmorph')
    .description('Galaxy morphology tools: simulate, train, predict, embed, search, rank anomalies, fine-tune')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('schema')
    .description('print a decision-tree schema (built-in name or JSON path) as JSON')
    .argument('[name]', `built-in schema (${schemaNames().join(', ')}) or path to a .json schema`, 'decals-dr5')
    .action((name: string) => {
      const s = getSchema(name);
      const out = { name: s.name, description: s.description, questions: s.questions.map((q) => ({ name: q.name, answers: q.answers, askedIf: q.askedIf })) };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    });

  return program;
}

/** Run the CLI; returns the exit code. User mistakes print one line, never a stack trace. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof GalmorphError) {
      process.stderr.write(`galmorph: error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
