/** A training progress bar on a TTY (stderr); nothing at all otherwise. */
import cliProgress from 'cli-progress';

export interface Progress {
  startEpoch(epoch: number, epochs: number, steps: number, startStep: number): void;
  step(step: number, loss: number, imagesPerSecond: number): void;
  phase(text: string): void;
  stop(): void;
}

const SILENT: Progress = { startEpoch() {}, step() {}, phase() {}, stop() {} };

/** A progress reporter; `enabled` undefined means "if stderr is a TTY". */
export function createProgress(enabled: boolean | undefined): Progress {
  if (!(enabled ?? process.stderr.isTTY)) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'epoch {epoch}/{epochs} {bar} {value}/{total} steps | loss {loss} | {speed} img/s | {phase} ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 20,
      fps: 4,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    startEpoch(epoch, epochs, steps, startStep) {
      if (running) bar.stop();
      bar.start(steps, startStep, { epoch, epochs, loss: '…', speed: '…', phase: 'train' });
      running = true;
    },
    step(step, loss, speed) {
      bar.update(step, { loss: loss.toFixed(3), speed: speed.toFixed(1) });
    },
    phase(text) {
      bar.update({ phase: text });
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
