/**
 * The interactive labelling loop: show a galaxy, read a score, save it, repeat. Streams in
 * and out, so the terminal (`galmorph anomalies label`) and the tests drive the same code.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { renderMosaic } from '../viz/mosaic.js';
import type { AnomalySession, SessionQuery } from './session.js';

/** Options of {@link runLabelLoop}. */
export interface LabelLoopOptions {
  /** Where answers are read from, one per line. */
  input: NodeJS.ReadableStream;
  /** Where galaxies and prompts are written. */
  output: NodeJS.WritableStream;
  /** Open each galaxy's image in the desktop viewer (`xdg-open`, `open` on macOS). @default false */
  open?: boolean;
  /** Write a mosaic of each new batch to `batch-NNN.png` in the session folder. @default true */
  mosaic?: boolean;
  /** Viewer command used by `open`. @default 'open' on macOS, else 'xdg-open' */
  viewer?: string;
}

/** What a {@link runLabelLoop} run did. */
export interface LabelLoopResult {
  labelled: number;
  skipped: number;
  /** Times the model was refitted. */
  retrained: number;
  /** Why the loop ended. */
  ended: 'quit' | 'end-of-input' | 'exhausted';
}

const HELP = 'type a score 0 (boring) … 5 (exactly what I want), s to skip, q to quit';

/**
 * Ask for scores until the researcher quits (q or end of input) or every galaxy was asked.
 * Each answer is saved before the next galaxy is shown; the model is refitted after every
 * full batch. Starting again on the same session continues with the unanswered queries.
 */
export async function runLabelLoop(session: AnomalySession, options: LabelLoopOptions): Promise<LabelLoopResult> {
  const out = (s: string) => void options.output.write(s);
  const rl = createInterface({ input: options.input, terminal: false, crlfDelay: Infinity });
  const lines = rl[Symbol.asyncIterator]();
  const result: LabelLoopResult = { labelled: 0, skipped: 0, retrained: 0, ended: 'quit' };
  const viewer = options.viewer ?? (process.platform === 'darwin' ? 'open' : 'xdg-open');
  let viewerFailed = false;
  const batch = session.learner.options.batchSize;
  out(`session ${session.dir}: ${session.size} galaxies, ${session.labels.size} labelled so far. ${HELP}.\n`);
  try {
    for (;;) {
      let queue = session.pending;
      if (queue.length === 0) {
        queue = await session.nextQueries(batch);
        if (queue.length === 0) {
          out('every galaxy has been asked about.\n');
          result.ended = 'exhausted';
          break;
        }
        if (options.mosaic ?? true) await writeBatchMosaic(session, queue, out);
      }
      const q = queue[0];
      out(describe(session, q, batch - queue.length + 1, batch));
      if (options.open && q.imagePath && !viewerFailed) {
        const child = spawn(viewer, [q.imagePath], { detached: true, stdio: 'ignore' });
        child.on('error', () => {
          viewerFailed = true;
          out(`(could not run ${viewer}; open the image path yourself)\n`);
        });
        child.unref();
      }
      let answered = false;
      while (!answered) {
        out('score> ');
        const next = await lines.next();
        if (next.done) {
          out('\n');
          result.ended = 'end-of-input';
          return finish();
        }
        const a = next.value.trim().toLowerCase();
        if (a === 'q' || a === 'quit') {
          result.ended = 'quit';
          return finish();
        }
        const t0 = performance.now();
        let retrained = false;
        if (a === 's' || a === 'skip') {
          ({ retrained } = await session.skip(q.id));
          result.skipped++;
          answered = true;
        } else if (/^[0-5]$/.test(a)) {
          ({ retrained } = await session.addLabel(q.id, Number(a)));
          result.labelled++;
          answered = true;
        } else if (a !== '') out(`"${a}"? ${HELP}.\n`);
        if (retrained) {
          result.retrained++;
          const k = session.learner.model!.kernel;
          out(`retrained on ${session.labels.size} labels in ${((performance.now() - t0) / 1000).toFixed(1)} s (length scale ${k.lengthScale.toFixed(2)}, noise ${k.noise.toFixed(3)})\n`);
        }
      }
    }
    return finish();
  } finally {
    rl.close();
  }

  function finish(): LabelLoopResult {
    out(`saved: ${session.labels.size} labels in ${join(session.dir, 'labels.csv')}; run the same command to continue.\n`);
    return result;
  }
}

function describe(session: AnomalySession, q: SessionQuery, at: number, of: number): string {
  const guess = Number.isFinite(q.predicted) ? `predicted ${q.predicted.toFixed(1)} ± ${q.uncertainty.toFixed(1)}` : 'first batch (random)';
  const where = q.imagePath ?? '(no image: start the session with --catalog to see image paths)';
  return `\n[${session.labels.size} labelled · batch ${session.batches}, ${Math.max(at, 1)}/${of}] ${q.id}\n  ${where}\n  ${guess} · anomaly ${q.anomaly.toFixed(3)}\n`;
}

async function writeBatchMosaic(session: AnomalySession, queue: SessionQuery[], out: (s: string) => void): Promise<void> {
  const withImages = queue.filter((q) => q.imagePath);
  if (withImages.length === 0) return;
  const path = join(session.dir, `batch-${String(session.batches).padStart(3, '0')}.png`);
  try {
    await renderMosaic(withImages.map((q, i) => ({ label: `${i + 1}. ${q.id}`, images: [q.imagePath!] })), path, { title: `batch ${session.batches}`, thumb: 128 });
    out(`mosaic of this batch: ${path}\n`);
  } catch (e) {
    out(`(no mosaic: ${(e as Error).message})\n`);
  }
}
