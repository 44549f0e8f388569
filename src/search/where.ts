/**
 * `where` filters for similarity search: the WHERE clause of SQL, on catalogue columns.
 *
 * Supported (keywords in any case):
 *   comparisons    =  ==  !=  <>  <  <=  >  >=
 *   logic          AND  OR  NOT  ( … )
 *   sets, ranges   x [NOT] IN (a, b, …)    x [NOT] BETWEEN a AND b
 *   text           x [NOT] LIKE 'J10%'  (% any run, _ one character)   ILIKE (case-insensitive)   a || b
 *   missing        x IS [NOT] NULL
 *   arithmetic     + - * / %  and unary minus
 *   functions      abs(x)  lower(s)  upper(s)  length(s)  coalesce(a, b, …)
 *                  has_tag(list, 'ring')  — true when the comma-separated list holds the tag
 *                  (case-insensitive; made for Galaxy Zoo Talk-style `tags` columns)
 *   literals       12  -0.5  1e-3  'text' ('' inside for a quote)  TRUE  FALSE  NULL
 *   columns        bare names (`mag_r`), or double-quoted for other characters
 *                  (`"smooth-or-featured_smooth_fraction" > 0.8`)
 *
 * NULL logic is SQL's: a comparison with a missing value (empty cell, NULL, NaN) is unknown,
 * and rows whose filter is unknown are left out. A number compared with text that reads as a
 * number is compared as numbers (CSV catalogues may hold ids such as '007' as text).
 */
import type { Cell } from '../data/index.js';
import { OptionError } from '../errors.js';
import { suggestIds } from './suggest.js';

/** A parsed filter. */
export interface WhereFilter {
  /** The expression as given. */
  readonly source: string;
  /** Column names it reads, as written (resolve them against a catalogue before testing). */
  readonly columns: readonly string[];
  /** True when the row passes; `get` returns the row's value of a column (by name as written). */
  test(get: (column: string) => Cell): boolean;
}

type Value = Cell;
type Fn = (get: (column: string) => Cell) => Value;

type Token =
  | { kind: 'num'; value: number; at: number }
  | { kind: 'str'; value: string; at: number }
  | { kind: 'ident'; value: string; quoted: boolean; at: number }
  | { kind: 'op'; value: string; at: number }
  | { kind: 'end'; at: number };

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'LIKE', 'ILIKE', 'IS', 'NULL', 'TRUE', 'FALSE']);
const OPERATORS = ['<=', '>=', '<>', '!=', '==', '||', '=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ','];

function fail(source: string, at: number, message: string): never {
  const shown = source.length > 80 ? source.slice(0, 80) + '…' : source;
  throw new OptionError(`where: ${message} at character ${at + 1} of "${shown}"`);
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const at = i;
    if (ch === "'" || ch === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) fail(src, at, `unterminated ${ch === "'" ? 'string' : 'quoted column name'}`);
        if (src[i] === ch) {
          if (src[i + 1] === ch) {
            s += ch;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += src[i++];
      }
      out.push(ch === "'" ? { kind: 'str', value: s, at } : { kind: 'ident', value: s, quoted: true, at });
      continue;
    }
    const num = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ kind: 'num', value: Number(num[0]), at });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ kind: 'ident', value: id[0], quoted: false, at });
      i += id[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) fail(src, at, `unexpected character "${ch}"`);
    out.push({ kind: 'op', value: op, at });
    i += op.length;
  }
  out.push({ kind: 'end', at: src.length });
  return out;
}

const isMissing = (v: Value): v is null => v === null || (typeof v === 'number' && Number.isNaN(v));

/** Number for arithmetic and numeric comparison, or undefined when the value is not numeric. */
function asNumber(v: Value): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  return undefined;
}

/** −1, 0, 1, or null when either side is missing. */
function compare(a: Value, b: Value): number | null {
  if (isMissing(a) || isMissing(b)) return null;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const x = asNumber(a), y = asNumber(b);
  if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  const s = String(a), t = String(b);
  return s < t ? -1 : s > t ? 1 : 0;
}

function truth(v: Value): boolean | null {
  if (isMissing(v)) return null;
  if (typeof v === 'boolean') return v;
  const n = asNumber(v);
  return n === undefined ? v !== '' : n !== 0;
}

function likeRegex(pattern: string, insensitive: boolean): RegExp {
  const body = pattern.replace(/[\\^$.*+?()[\]{}|%_]/g, (c) => (c === '%' ? '[\\s\\S]*' : c === '_' ? '[\\s\\S]' : `\\${c}`));
  return new RegExp(`^${body}$`, insensitive ? 'i' : '');
}

const FUNCTIONS: Record<string, { arity: [number, number]; fn: (args: Value[]) => Value }> = {
  abs: { arity: [1, 1], fn: ([x]) => (isMissing(x) ? null : Math.abs(asNumber(x) ?? NaN)) },
  lower: { arity: [1, 1], fn: ([s]) => (isMissing(s) ? null : String(s).toLowerCase()) },
  upper: { arity: [1, 1], fn: ([s]) => (isMissing(s) ? null : String(s).toUpperCase()) },
  length: { arity: [1, 1], fn: ([s]) => (isMissing(s) ? null : String(s).length) },
  coalesce: { arity: [1, Infinity], fn: (args) => args.find((a) => !isMissing(a)) ?? null },
  has_tag: {
    arity: [2, 2],
    fn: ([list, tag]) => {
      if (isMissing(tag)) return null;
      if (isMissing(list)) return false;
      const want = String(tag).trim().toLowerCase();
      return String(list).split(',').some((t) => t.trim().toLowerCase() === want);
    },
  },
};

/** Recursive-descent parser producing closures (one per node), so testing a row is cheap. */
class Parser {
  private pos = 0;
  readonly columns = new Set<string>();

  constructor(private readonly src: string, private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos];
  }

  private isKeyword(word: string, offset = 0): boolean {
    const t = this.tokens[this.pos + offset];
    return t.kind === 'ident' && !t.quoted && t.value.toUpperCase() === word;
  }

  private isOp(op: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.value === op;
  }

  private expectOp(op: string): void {
    if (!this.isOp(op)) fail(this.src, this.peek().at, `expected "${op}"`);
    this.pos++;
  }

  parse(): Fn {
    if (this.peek().kind === 'end') fail(this.src, 0, 'empty expression');
    const e = this.or();
    const t = this.peek();
    if (t.kind !== 'end') fail(this.src, t.at, 'unexpected text after the expression');
    return e;
  }

  private or(): Fn {
    let left = this.and();
    while (this.isKeyword('OR')) {
      this.pos++;
      const a = left, b = this.and();
      left = (g) => {
        const x = truth(a(g));
        if (x === true) return true;
        const y = truth(b(g));
        return y === true ? true : x === null || y === null ? null : false;
      };
    }
    return left;
  }

  private and(): Fn {
    let left = this.not();
    while (this.isKeyword('AND')) {
      this.pos++;
      const a = left, b = this.not();
      left = (g) => {
        const x = truth(a(g));
        if (x === false) return false;
        const y = truth(b(g));
        return y === false ? false : x === null || y === null ? null : true;
      };
    }
    return left;
  }

  private not(): Fn {
    if (this.isKeyword('NOT')) {
      this.pos++;
      const a = this.not();
      return (g) => {
        const x = truth(a(g));
        return x === null ? null : !x;
      };
    }
    return this.predicate();
  }

  private predicate(): Fn {
    const left = this.additive();
    const t = this.peek();
    if (t.kind === 'op' && ['=', '==', '!=', '<>', '<', '<=', '>', '>='].includes(t.value)) {
      this.pos++;
      const right = this.additive();
      const test = {
        '=': (c: number) => c === 0, '==': (c: number) => c === 0, '!=': (c: number) => c !== 0, '<>': (c: number) => c !== 0,
        '<': (c: number) => c < 0, '<=': (c: number) => c <= 0, '>': (c: number) => c > 0, '>=': (c: number) => c >= 0,
      }[t.value]!;
      return (g) => {
        const c = compare(left(g), right(g));
        return c === null ? null : test(c);
      };
    }
    if (this.isKeyword('IS')) {
      this.pos++;
      const negate = this.isKeyword('NOT') ? (this.pos++, true) : false;
      if (!this.isKeyword('NULL')) fail(this.src, this.peek().at, 'expected NULL after IS');
      this.pos++;
      return (g) => isMissing(left(g)) !== negate;
    }
    const negate = this.isKeyword('NOT') && (this.isKeyword('IN', 1) || this.isKeyword('BETWEEN', 1) || this.isKeyword('LIKE', 1) || this.isKeyword('ILIKE', 1));
    if (negate) this.pos++;
    const wrap = (f: Fn): Fn => (negate ? (g) => { const x = truth(f(g)); return x === null ? null : !x; } : f);
    if (this.isKeyword('IN')) {
      this.pos++;
      this.expectOp('(');
      const items: Fn[] = [this.additive()];
      while (this.isOp(',')) {
        this.pos++;
        items.push(this.additive());
      }
      this.expectOp(')');
      return wrap((g) => {
        const v = left(g);
        if (isMissing(v)) return null;
        let unknown = false;
        for (const it of items) {
          const c = compare(v, it(g));
          if (c === 0) return true;
          if (c === null) unknown = true;
        }
        return unknown ? null : false;
      });
    }
    if (this.isKeyword('BETWEEN')) {
      this.pos++;
      const lo = this.additive();
      if (!this.isKeyword('AND')) fail(this.src, this.peek().at, 'expected AND in BETWEEN … AND …');
      this.pos++;
      const hi = this.additive();
      return wrap((g) => {
        const v = left(g);
        const a = compare(v, lo(g)), b = compare(v, hi(g));
        return a === null || b === null ? null : a >= 0 && b <= 0;
      });
    }
    if (this.isKeyword('LIKE') || this.isKeyword('ILIKE')) {
      const insensitive = this.isKeyword('ILIKE');
      this.pos++;
      const p = this.peek();
      if (p.kind !== 'str') fail(this.src, p.at, 'expected a quoted pattern after LIKE');
      this.pos++;
      const re = likeRegex(p.value, insensitive);
      return wrap((g) => {
        const v = left(g);
        return isMissing(v) ? null : re.test(String(v));
      });
    }
    return left;
  }

  private additive(): Fn {
    let left = this.multiplicative();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || !['+', '-', '||'].includes(t.value)) return left;
      this.pos++;
      const a = left, b = this.multiplicative();
      left = t.value === '||'
        ? (g) => { const x = a(g), y = b(g); return isMissing(x) || isMissing(y) ? null : String(x) + String(y); }
        : this.arithmetic(t, a, b);
    }
  }

  private multiplicative(): Fn {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || !['*', '/', '%'].includes(t.value)) return left;
      this.pos++;
      left = this.arithmetic(t, left, this.unary());
    }
  }

  private arithmetic(t: Token & { value: string }, a: Fn, b: Fn): Fn {
    const op = t.value;
    const num = (v: Value): number => {
      const n = asNumber(v);
      if (n === undefined) fail(this.src, t.at, `"${op}" needs numbers, got ${JSON.stringify(v)}`);
      return n;
    };
    return (g) => {
      const x = a(g), y = b(g);
      if (isMissing(x) || isMissing(y)) return null;
      const p = num(x), q = num(y);
      return op === '+' ? p + q : op === '-' ? p - q : op === '*' ? p * q : op === '/' ? p / q : p % q;
    };
  }

  private unary(): Fn {
    if (this.isOp('-')) {
      const at = this.peek().at;
      this.pos++;
      const a = this.unary();
      return (g) => {
        const v = a(g);
        if (isMissing(v)) return null;
        const n = asNumber(v);
        if (n === undefined) fail(this.src, at, `unary "-" needs a number, got ${JSON.stringify(v)}`);
        return -n;
      };
    }
    if (this.isOp('+')) this.pos++;
    return this.primary();
  }

  private primary(): Fn {
    const t = this.peek();
    if (t.kind === 'num' || t.kind === 'str') {
      this.pos++;
      const v = t.value;
      return () => v;
    }
    if (t.kind === 'op' && t.value === '(') {
      this.pos++;
      const e = this.or();
      this.expectOp(')');
      return e;
    }
    if (t.kind === 'ident') {
      this.pos++;
      const word = t.value.toUpperCase();
      if (!t.quoted && (word === 'TRUE' || word === 'FALSE')) return () => word === 'TRUE';
      if (!t.quoted && word === 'NULL') return () => null;
      if (!t.quoted && this.isOp('(')) return this.call(t.value, t.at);
      if (!t.quoted && KEYWORDS.has(word)) fail(this.src, t.at, `unexpected keyword ${word}`);
      const name = t.value;
      this.columns.add(name);
      return (g) => g(name);
    }
    fail(this.src, t.at, t.kind === 'end' ? 'the expression ends too early' : `unexpected "${t.value}"`);
  }

  private call(name: string, at: number): Fn {
    const f = FUNCTIONS[name.toLowerCase()];
    if (!f) fail(this.src, at, `unknown function ${name} (known: ${Object.keys(FUNCTIONS).join(', ')})`);
    this.expectOp('(');
    const args: Fn[] = [];
    if (!this.isOp(')')) {
      args.push(this.or());
      while (this.isOp(',')) {
        this.pos++;
        args.push(this.or());
      }
    }
    this.expectOp(')');
    const [lo, hi] = f.arity;
    if (args.length < lo || args.length > hi) {
      fail(this.src, at, `${name} takes ${lo === hi ? lo : `${lo} or more`} argument${hi === 1 ? '' : 's'}, got ${args.length}`);
    }
    return (g) => f.fn(args.map((a) => a(g)));
  }
}

/**
 * Parse a `where` expression (see the module comment for the grammar).
 * @throws OptionError naming the position of a syntax error
 * @example parseWhere("has_tag(tags, 'ring') AND mag_r < 17").test((c) => row[c]) // true or false
 */
export function parseWhere(source: string): WhereFilter {
  const parser = new Parser(source, tokenize(source));
  const fn = parser.parse();
  return { source, columns: [...parser.columns], test: (get) => truth(fn(get)) === true };
}

/**
 * Match the column names a filter uses to a table's columns: exact spelling first, then a
 * unique case-insensitive match.
 * @returns written name → table column
 * @throws OptionError for a name the table does not have, listing near names
 */
export function resolveColumns(names: readonly string[], available: readonly string[], what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of names) {
    if (available.includes(name)) {
      out.set(name, name);
      continue;
    }
    const folded = available.filter((c) => c.toLowerCase() === name.toLowerCase());
    if (folded.length === 1) {
      out.set(name, folded[0]);
      continue;
    }
    const contains = available.filter((c) => c.toLowerCase().includes(name.toLowerCase()) || name.toLowerCase().includes(c.toLowerCase()));
    const near = [...new Set([...suggestIds(name, available, 3), ...contains])].slice(0, 5);
    const list = near.length > 0 ? `similar: ${near.join(', ')}` : `columns: ${available.slice(0, 20).join(', ')}${available.length > 20 ? ', …' : ''}`;
    const quoting = near.some((c) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(c)) ? '; names with other characters than letters, digits and _ go in double quotes' : '';
    throw new OptionError(`no column "${name}" in ${what} (${list})${quoting}`);
  }
  return out;
}
