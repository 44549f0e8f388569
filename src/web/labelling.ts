/**
 * The labelling page's side of an anomaly session: the same session folder and the same
 * order of questions as `galmorph anomalies label`, so a researcher can score in the browser
 * today and in the terminal tomorrow (not both at once).
 */
import { AnomalySession, type Ranking, type SessionOptions } from '../anomaly/index.js';

/** The galaxy being asked about. Image paths stay on the server: the page loads `/images/<id>`. */
export interface LabelQuestion {
  id: string;
  reason: 'cold-start' | 'expected-improvement';
  /** Predicted interest (0–5) and its uncertainty when the galaxy was chosen; null at cold start. */
  predicted: number | null;
  uncertainty: number | null;
  anomaly: number;
}

/** Where the session stands. */
export interface LabelState {
  galaxies: number;
  labelled: number;
  /** Batches drawn so far; the interest model is refitted after each. */
  batches: number;
  batchSize: number;
  /** Unanswered galaxies of the current batch, the first being asked now. */
  pending: number;
  /** Null once every galaxy has been asked about. */
  current: LabelQuestion | null;
}

/** A place in the current ranking. */
export interface RankedGalaxy {
  rank: number;
  id: string;
  /** The researcher's score when labelled, else the predicted interest (0–5). */
  score: number;
  labelled: boolean;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** A session shared by concurrent requests. */
export class LabelDesk {
  private tail: Promise<unknown> = Promise.resolve();
  private ranking: Ranking | null = null;

  private constructor(readonly session: AnomalySession) {}

  /** Open (or start, from `options.embeddings`) the session in `dir`. */
  static async open(dir: string, options: SessionOptions): Promise<LabelDesk> {
    return new LabelDesk(await AnomalySession.open(dir, options));
  }

  /** Operations run one after another: a session is not safe under interleaved updates (two tabs, double clicks). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** The current state; draws the next batch when the last one is done, as the terminal loop does. */
  state(): Promise<LabelState> {
    return this.serial(() => this.current());
  }

  private async current(): Promise<LabelState> {
    const s = this.session;
    const batchSize = s.learner.options.batchSize;
    let queue = s.pending;
    if (queue.length === 0) queue = await s.nextQueries(batchSize);
    const q = queue[0];
    return {
      galaxies: s.size, labelled: s.labels.size, batches: s.batches, batchSize, pending: queue.length,
      current: q
        ? { id: q.id, reason: q.reason, predicted: finiteOrNull(q.predicted), uncertainty: finiteOrNull(q.uncertainty), anomaly: q.anomaly }
        : null,
    };
  }

  /**
   * Save a score (0–5) or a skip for a galaxy, atomically, then return the new state.
   * @throws OptionError for an unknown id or a score outside 0–5
   */
  answer(id: string, answer: number | 'skip'): Promise<LabelState & { retrained: boolean }> {
    return this.serial(async () => {
      const { retrained } = answer === 'skip' ? await this.session.skip(id) : await this.session.addLabel(id, answer);
      this.ranking = null;
      return { ...(await this.current()), retrained };
    });
  }

  /** The `limit` most interesting galaxies under the current model (recomputed after each answer, on request). */
  top(limit: number): Promise<RankedGalaxy[]> {
    return this.serial(async () => {
      this.ranking ??= await this.session.rank();
      const labels = this.session.learner.labels;
      return Array.from(this.ranking.order.subarray(0, limit), (row, i) => ({
        rank: i + 1, id: this.session.ids[row], score: this.ranking!.score[row], labelled: labels.has(row),
      }));
    });
  }
}
