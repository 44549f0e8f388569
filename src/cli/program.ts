import { Command, CommanderError } from 'commander';
import { GalmorphError } from '../errors.js';
import * as schema from './commands/schema.js';
import * as simulate from './commands/simulate.js';
import * as train from './commands/train.js';
import * as predict from './commands/predict.js';
import * as exportOnnx from './commands/export-onnx.js';
import * as search from './commands/search.js';
import * as anomalies from './commands/anomalies.js';
import * as finetune from './commands/finetune.js';
import * as serve from './commands/serve.js';

/** Command modules, each registering its commands; every action calls one library function. */
const COMMANDS: { register(program: Command): void }[] = [schema, simulate, train, predict, exportOnnx, search, anomalies, finetune, serve];

/** Build the command tree. */
export function buildProgram(): Command {
  const program = new Command('galmorph')
    .description('Galaxy morphology tools: simulate, train, predict, embed, search, rank anomalies, fine-tune, explore in the browser')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    // Before the commands are added, so they inherit it: parse errors throw to runCli
    // instead of calling process.exit, which keeps in-process callers (tests, the web UI) alive.
    .exitOverride();
  for (const c of COMMANDS) c.register(program);
  return program;
}

/** Run the CLI; returns the exit code. User mistakes print one line, never a stack trace. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
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
