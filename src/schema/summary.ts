/**
 * Vote-distribution summary of a catalogue: per question, how many galaxies were asked it and
 * how often each answer led — the quick look used to compare a (simulated) catalogue with the
 * published GZ DECaLS distributions.
 */
import type { Schema } from './schema.js';

export interface QuestionSummary {
  question: string;
  /** Galaxies with at least one vote on this question. */
  answered: number;
  /** Mean votes per galaxy among those answered. */
  meanVotes: number;
  /** Share of answered galaxies whose leading (most-voted) answer is each answer; ties split. */
  leading: Record<string, number>;
}

export interface VoteSummary {
  galaxies: number;
  /** Volunteers per galaxy (votes on the root question): quantiles and share with ≥ 30. */
  volunteers: { min: number; p25: number; median: number; p75: number; max: number; mean: number; shareAtLeast30: number };
  questions: QuestionSummary[];
}

/** @param counts nRows × schema.nAnswers vote counts, row-major in `schema.answerColumns` order */
export function summarizeVotes(schema: Schema, counts: ArrayLike<number>): VoteSummary {
  const k = schema.nAnswers;
  const n = Math.floor(counts.length / k);
  const root = schema.questions[0];
  const volunteers = new Float64Array(n);
  for (let r = 0; r < n; r++) for (let i = root.start; i < root.end; i++) volunteers[r] += counts[r * k + i];
  const sorted = Float64Array.from(volunteers).sort();
  const q = (p: number) => (n ? sorted[Math.min(n - 1, Math.floor(p * (n - 1)))] : NaN);
  const questions = schema.questions.map((question): QuestionSummary => {
    const lead = new Float64Array(question.end - question.start);
    let answered = 0;
    let votes = 0;
    for (let r = 0; r < n; r++) {
      let max = 0;
      let total = 0;
      for (let i = question.start; i < question.end; i++) {
        const c = counts[r * k + i];
        total += c;
        if (c > max) max = c;
      }
      if (total === 0) continue;
      answered++;
      votes += total;
      const ties: number[] = [];
      for (let i = question.start; i < question.end; i++) if (counts[r * k + i] === max) ties.push(i - question.start);
      for (const t of ties) lead[t] += 1 / ties.length;
    }
    return {
      question: question.name,
      answered,
      meanVotes: answered ? votes / answered : 0,
      leading: Object.fromEntries(question.answers.map((a, i) => [a, answered ? lead[i] / answered : 0])),
    };
  });
  return {
    galaxies: n,
    volunteers: {
      min: q(0), p25: q(0.25), median: q(0.5), p75: q(0.75), max: q(1),
      mean: n ? volunteers.reduce((a, b) => a + b, 0) / n : NaN,
      shareAtLeast30: n ? volunteers.filter((v) => v >= 30).length / n : NaN,
    },
    questions,
  };
}

/** The summary as a plain-text table. */
export function formatVoteSummary(s: VoteSummary): string {
  const v = s.volunteers;
  const lines = [
    `${s.galaxies} galaxies; volunteers per galaxy: median ${v.median}, mean ${v.mean.toFixed(1)}, ` +
      `range ${v.min}–${v.max}, ${(100 * v.shareAtLeast30).toFixed(1)}% with ≥ 30`,
    '',
    'question               answered  votes  leading answer shares',
  ];
  for (const q of s.questions) {
    const shares = Object.entries(q.leading).map(([a, f]) => `${a} ${(100 * f).toFixed(1)}%`).join(', ');
    lines.push(`${q.question.padEnd(22)} ${String(q.answered).padStart(8)} ${q.meanVotes.toFixed(1).padStart(6)}  ${shares}`);
  }
  return lines.join('\n');
}
