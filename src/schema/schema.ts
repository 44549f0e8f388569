/**
 * Decision-tree schemas as data. A schema lists questions, each with its answers and the one
 * answer (if any) that must be chosen upstream for the question to be asked. Everything else —
 * the flat answer order used by models, per-question slices, dependency chains — is derived
 * here, so a new campaign's tree (GZ2, GZ CANDELS, a custom one) is just a JSON object.
 */
import { readFileSync } from 'node:fs';
import { SchemaError } from '../errors.js';

/** One question of a decision tree, as written in schema JSON. */
export interface QuestionSpec {
  /** Question name as in the catalogue columns, e.g. `smooth-or-featured`. */
  name: string;
  /** Answer names; the column for each is `<question>_<answer>`. At least two. */
  answers: string[];
  /**
   * Column name of the answer that leads to this question (e.g.
   * `smooth-or-featured_featured-or-disk`), or `null` when every volunteer is asked it.
   */
  askedIf: string | null;
}

/** A decision tree as written in schema JSON. */
export interface SchemaSpec {
  name: string;
  description?: string;
  questions: QuestionSpec[];
}

/** A question with its position in the flat answer vector. */
export interface Question extends QuestionSpec {
  /** Index of the question in `schema.questions`. */
  index: number;
  /** Offset of its first answer in the flat answer vector. */
  start: number;
  /** One past its last answer in the flat answer vector. */
  end: number;
  /** Full column names of its answers, `<question>_<answer>`. */
  columns: string[];
  /** Index of the parent question, or -1 for a root question. */
  parent: number;
  /** Flat index of the answer in the parent question that leads here, or -1. */
  parentAnswer: number;
}

/** A validated schema with derived lookups. Immutable. */
export interface Schema {
  readonly name: string;
  readonly description: string;
  readonly questions: readonly Question[];
  /** All answer columns in model output order. */
  readonly answerColumns: readonly string[];
  /** Number of answers over all questions. */
  readonly nAnswers: number;
  /** Question index for each flat answer index. */
  readonly answerQuestion: Int32Array;
  /** Look up a question by name. */
  question(name: string): Question;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9\-.+]*$/;

/** Validate a schema spec and derive the lookups. Throws SchemaError naming the problem. */
export function createSchema(spec: SchemaSpec, source = 'schema'): Schema {
  if (!spec || typeof spec !== 'object') throw new SchemaError(`${source}: expected an object with "name" and "questions"`);
  if (typeof spec.name !== 'string' || !spec.name) throw new SchemaError(`${source}: "name" must be a non-empty string`);
  if (!Array.isArray(spec.questions) || spec.questions.length === 0) {
    throw new SchemaError(`${source}: "questions" must be a non-empty array`);
  }
  const questions: Question[] = [];
  const columnIndex = new Map<string, number>();
  const byName = new Map<string, Question>();
  let offset = 0;
  spec.questions.forEach((q, qi) => {
    const where = `${source}: questions[${qi}]`;
    if (!q || typeof q.name !== 'string' || !NAME_RE.test(q.name) || q.name.includes('_')) {
      throw new SchemaError(`${where}: "name" must be a non-empty string of letters, digits and '-' (no '_'), got ${JSON.stringify(q?.name)}`);
    }
    if (byName.has(q.name)) throw new SchemaError(`${where}: duplicate question "${q.name}"`);
    if (!Array.isArray(q.answers) || q.answers.length < 2) {
      throw new SchemaError(`${where} (${q.name}): "answers" must list at least two answers`);
    }
    const seen = new Set<string>();
    for (const a of q.answers) {
      if (typeof a !== 'string' || !NAME_RE.test(a) || a.includes('_')) {
        throw new SchemaError(`${where} (${q.name}): answer ${JSON.stringify(a)} must be letters, digits and '-' (no '_')`);
      }
      if (seen.has(a)) throw new SchemaError(`${where} (${q.name}): duplicate answer "${a}"`);
      seen.add(a);
    }
    const askedIf = q.askedIf ?? null;
    let parent = -1;
    let parentAnswer = -1;
    if (askedIf !== null) {
      if (typeof askedIf !== 'string') throw new SchemaError(`${where} (${q.name}): "askedIf" must be an answer column or null`);
      const idx = columnIndex.get(askedIf);
      if (idx === undefined) {
        throw new SchemaError(
          `${where} (${q.name}): askedIf "${askedIf}" is not an answer of an earlier question (questions must be listed parents first)`,
        );
      }
      parentAnswer = idx;
      parent = questions.find((p) => idx >= p.start && idx < p.end)!.index;
    }
    const columns = q.answers.map((a) => `${q.name}_${a}`);
    const question: Question = {
      name: q.name,
      answers: [...q.answers],
      askedIf,
      index: qi,
      start: offset,
      end: offset + q.answers.length,
      columns,
      parent,
      parentAnswer,
    };
    columns.forEach((c, i) => columnIndex.set(c, offset + i));
    offset += q.answers.length;
    questions.push(Object.freeze(question));
    byName.set(q.name, question);
  });
  const answerColumns = questions.flatMap((q) => q.columns);
  const answerQuestion = new Int32Array(offset);
  for (const q of questions) answerQuestion.fill(q.index, q.start, q.end);
  return Object.freeze({
    name: spec.name,
    description: spec.description ?? '',
    questions: Object.freeze(questions),
    answerColumns: Object.freeze(answerColumns),
    nAnswers: offset,
    answerQuestion,
    question(name: string): Question {
      const q = byName.get(name);
      if (!q) throw new SchemaError(`schema ${spec.name} has no question "${name}"; questions: ${[...byName.keys()].join(', ')}`);
      return q;
    },
  });
}

/**
 * Several campaigns' trees as one (`a+b`): questions of each in turn, names kept, so a
 * catalogue carries both sets of vote columns and a galaxy without votes for one tree gets
 * zero counts there (no information, zero loss). Question names must not clash (GZ2's carry
 * a `-gz2` suffix, as in Zoobot).
 */
export function combineSchemas(schemas: readonly Schema[]): Schema {
  const name = schemas.map((s) => s.name).join('+');
  return createSchema(
    {
      name,
      description: `${schemas.map((s) => s.name).join(' and ')} trees, answered independently`,
      questions: schemas.flatMap((s) => schemaToSpec(s).questions),
    },
    name,
  );
}

/** Read a schema from a JSON file (the `SchemaSpec` layout). */
export function loadSchemaFile(path: string): Schema {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SchemaError(`cannot read schema file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let spec: SchemaSpec;
  try {
    spec = JSON.parse(text);
  } catch (e) {
    throw new SchemaError(`schema file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return createSchema(spec, path);
}

/** The schema as plain JSON-able data (what `loadSchemaFile` reads back). */
export function schemaToSpec(schema: Schema): SchemaSpec {
  return {
    name: schema.name,
    description: schema.description,
    questions: schema.questions.map((q) => ({ name: q.name, answers: [...q.answers], askedIf: q.askedIf })),
  };
}

/**
 * Vote fractions per question: count / question total. A question nobody answered gets NaN
 * fractions (as the published GZ catalogues leave them empty), never a made-up 0.
 * @param counts flat vote counts in `schema.answerColumns` order
 */
export function votesToFractions(schema: Schema, counts: ArrayLike<number>): Float64Array {
  const out = new Float64Array(schema.nAnswers);
  for (const q of schema.questions) {
    let total = 0;
    for (let i = q.start; i < q.end; i++) total += counts[i];
    for (let i = q.start; i < q.end; i++) out[i] = total > 0 ? counts[i] / total : NaN;
  }
  return out;
}

/** Total votes per question. */
export function questionTotals(schema: Schema, counts: ArrayLike<number>): Float64Array {
  const out = new Float64Array(schema.questions.length);
  for (const q of schema.questions) {
    for (let i = q.start; i < q.end; i++) out[q.index] += counts[i];
  }
  return out;
}

/**
 * Probability that a volunteer reaches each question: the product of the fractions of the
 * answers on the path from the root (Zoobot's "joint" probabilities). Root questions get 1.
 * @param fractions flat per-question answer fractions (e.g. predicted α/Σα)
 */
export function reachProbabilities(schema: Schema, fractions: ArrayLike<number>): Float64Array {
  const out = new Float64Array(schema.questions.length);
  for (const q of schema.questions) {
    out[q.index] = q.parent < 0 ? 1 : out[q.parent] * fractions[q.parentAnswer];
  }
  return out;
}

/**
 * Check that vote counts are consistent with the tree: each count a non-negative integer, and
 * no question holding more votes than the answer that leads to it. Returns a description of
 * the first problem, or null.
 */
export function checkVoteCounts(schema: Schema, counts: ArrayLike<number>): string | null {
  for (let i = 0; i < schema.nAnswers; i++) {
    const v = counts[i];
    if (!Number.isFinite(v)) return `${schema.answerColumns[i]} is ${v}, expected a vote count`;
    if (v < 0 || !Number.isInteger(v)) return `${schema.answerColumns[i]} is ${v}, expected a non-negative integer`;
  }
  const totals = questionTotals(schema, counts);
  for (const q of schema.questions) {
    if (q.parent < 0) continue;
    const parentVotes = counts[q.parentAnswer];
    if (totals[q.index] > parentVotes) {
      return `${q.name} has ${totals[q.index]} votes but only ${parentVotes} volunteers answered ${q.askedIf}`;
    }
  }
  return null;
}
