/**
 * Defaults and range checks of options, declared as data: `train()` and `finetune()` resolve
 * and validate the same kinds of settings (epochs, batch size, rates, fractions), and one
 * helper of each keeps their behaviour and error messages the same.
 */
import { OptionError } from '../errors.js';

/** Fields of `O` given a default: no longer optional. */
export type WithDefaults<O, K extends keyof O> = Omit<O, K> & { [P in K]-?: Exclude<O[P], undefined> };

/**
 * `options` with each field that is undefined (absent, or passed as `undefined`, as a CLI
 * does for a flag not given) taken from `defaults`.
 */
export function withDefaults<O extends object, K extends keyof O>(options: O, defaults: { [P in K]-?: Exclude<O[P], undefined> }): WithDefaults<O, K> {
  const out = { ...options } as Record<string, unknown>;
  for (const [k, v] of Object.entries(defaults)) if (out[k] === undefined) out[k] = v;
  return out as WithDefaults<O, K>;
}

/** What a numeric option must be: optionally an integer, within optional bounds. */
export interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
  /** `min` itself is excluded. */
  minOpen?: boolean;
  /** `max` itself is excluded. */
  maxOpen?: boolean;
}

/** An integer ≥ `min`. */
export const integerFrom = (min: number): NumberRule => ({ integer: true, min });
/** A number > 0. */
export const positive: NumberRule = { min: 0, minOpen: true };
/** A number ≥ 0. */
export const nonNegative: NumberRule = { min: 0 };
/** A number strictly between 0 and 1. */
export const openFraction: NumberRule = { min: 0, max: 1, minOpen: true, maxOpen: true };

function describeRule(r: NumberRule): string {
  const lo = r.min === undefined ? '' : `${r.minOpen ? '(' : '['}${r.min}`;
  const hi = r.max === undefined ? '' : `${r.max}${r.maxOpen ? ')' : ']'}`;
  const kind = r.integer ? 'an integer ' : '';
  if (lo && hi) return `${kind}in ${lo}, ${hi}`;
  if (lo) return `${kind}${r.minOpen ? '>' : '≥'} ${r.min}`;
  if (hi) return `${kind}${r.maxOpen ? '<' : '≤'} ${r.max}`;
  return r.integer ? 'an integer' : 'a number';
}

function satisfies(v: unknown, r: NumberRule): boolean {
  if (typeof v !== 'number' || Number.isNaN(v)) return false;
  if (r.integer && !Number.isInteger(v)) return false;
  if (r.min !== undefined && (r.minOpen ? !(v > r.min) : !(v >= r.min))) return false;
  if (r.max !== undefined && (r.maxOpen ? !(v < r.max) : !(v <= r.max))) return false;
  return true;
}

/**
 * Check `values[name]` against `rules[name]` for every rule, in the rules' order.
 * @param context prefix of the message, e.g. the function name
 * @throws OptionError for the first value outside its rule, e.g.
 *   `train: valFraction must be in (0, 1), got 1`
 */
export function checkNumbers<T extends object>(context: string, values: T, rules: Partial<Record<keyof T & string, NumberRule>>): void {
  for (const [name, rule] of Object.entries(rules) as [keyof T & string, NumberRule][]) {
    const v = values[name];
    if (!satisfies(v, rule)) throw new OptionError(`${context}: ${name} must be ${describeRule(rule)}, got ${String(v)}`);
  }
}
