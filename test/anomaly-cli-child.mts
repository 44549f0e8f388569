/** Runs the `anomalies` commands as the galmorph binary does (one-line errors, exit codes), for tests that drive stdin. */
import { Command, CommanderError } from 'commander';
import { register } from '../src/cli/commands/anomalies.js';
import { GalmorphError } from '../src/errors.js';

const program = new Command('galmorph').exitOverride();
register(program);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode;
  else if (e instanceof GalmorphError) {
    process.stderr.write(`galmorph: error: ${e.message}\n`);
    process.exitCode = 2;
  } else throw e;
}
