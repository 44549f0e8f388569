/**
 * Progress display for long commands: a bar with items/s and ETA on an interactive terminal,
 * nothing at all when stderr is a pipe or file (CI, batch jobs), so logs stay clean.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Report absolute progress. `extra` is shown after the counts (e.g. the current loss). */
  update(done: number, total: number, extra?: string): void;
  stop(): void;
}

export function createProgress(label: string, unit = 'galaxies', stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || process.env.CI) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted} {extra}`,
      hideCursor: true,
      etaBuffer: 200,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let t0 = 0;
  let first = 0;
  return {
    update(done, total, extra = '') {
      if (!started) {
        started = true;
        t0 = performance.now();
        first = done;
        bar.start(total, done, { rate: '-', extra });
      }
      const seconds = (performance.now() - t0) / 1000;
      const rate = seconds > 0 ? ((done - first) / seconds).toFixed(1) : '-';
      bar.setTotal(total);
      bar.update(done, { rate, extra });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
