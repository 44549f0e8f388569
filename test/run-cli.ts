/** Run the galmorph CLI in-process exactly as the binary does (`runCli`), capturing stderr. */
import { runCli } from '../src/cli/program.js';

export async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await runCli(['node', 'galmorph', ...args]);
    return { code, stderr };
  } finally {
    process.stderr.write = write;
  }
}
