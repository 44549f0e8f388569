/** Built-in decision trees, as data. */
import { existsSync } from 'node:fs';
import { SchemaError } from '../errors.js';
import { combineSchemas, createSchema, loadSchemaFile, type Schema, type SchemaSpec } from './schema.js';

/** Galaxy Zoo DECaLS (DR5) tree: 10 questions, 34 answers (Walmsley et al. 2022). */
export const DECALS_DR5: SchemaSpec = {
  name: 'decals-dr5',
  description: 'Galaxy Zoo DECaLS, DR5 decision tree (Walmsley et al. 2022, MNRAS 509, 3966)',
  questions: [
    { name: 'smooth-or-featured', answers: ['smooth', 'featured-or-disk', 'artifact'], askedIf: null },
    { name: 'disk-edge-on', answers: ['yes', 'no'], askedIf: 'smooth-or-featured_featured-or-disk' },
    { name: 'has-spiral-arms', answers: ['yes', 'no'], askedIf: 'disk-edge-on_no' },
    { name: 'bar', answers: ['strong', 'weak', 'no'], askedIf: 'disk-edge-on_no' },
    { name: 'bulge-size', answers: ['dominant', 'large', 'moderate', 'small', 'none'], askedIf: 'disk-edge-on_no' },
    { name: 'how-rounded', answers: ['round', 'in-between', 'cigar-shaped'], askedIf: 'smooth-or-featured_smooth' },
    { name: 'edge-on-bulge', answers: ['boxy', 'none', 'rounded'], askedIf: 'disk-edge-on_yes' },
    { name: 'spiral-winding', answers: ['tight', 'medium', 'loose'], askedIf: 'has-spiral-arms_yes' },
    { name: 'spiral-arm-count', answers: ['1', '2', '3', '4', 'more-than-4', 'cant-tell'], askedIf: 'has-spiral-arms_yes' },
    { name: 'merging', answers: ['none', 'minor-disturbance', 'major-disturbance', 'merger'], askedIf: null },
  ],
};

/** Galaxy Zoo 2 tree (Willett et al. 2013), with Zoobot's `-gz2` question names. */
export const GZ2: SchemaSpec = {
  name: 'gz2',
  description: 'Galaxy Zoo 2 decision tree (Willett et al. 2013), Zoobot naming',
  questions: [
    { name: 'smooth-or-featured-gz2', answers: ['smooth', 'featured-or-disk', 'artifact'], askedIf: null },
    { name: 'disk-edge-on-gz2', answers: ['yes', 'no'], askedIf: 'smooth-or-featured-gz2_featured-or-disk' },
    { name: 'has-spiral-arms-gz2', answers: ['yes', 'no'], askedIf: 'disk-edge-on-gz2_no' },
    { name: 'bar-gz2', answers: ['yes', 'no'], askedIf: 'disk-edge-on-gz2_no' },
    { name: 'bulge-size-gz2', answers: ['dominant', 'obvious', 'just-noticeable', 'no'], askedIf: 'disk-edge-on-gz2_no' },
    { name: 'something-odd-gz2', answers: ['yes', 'no'], askedIf: null },
    {
      name: 'odd-feature-gz2',
      answers: ['ring', 'lens-or-arc', 'disturbed', 'irregular', 'other', 'merger', 'dust-lane'],
      askedIf: 'something-odd-gz2_yes',
    },
    { name: 'how-rounded-gz2', answers: ['round', 'in-between', 'cigar'], askedIf: 'smooth-or-featured-gz2_smooth' },
    { name: 'bulge-shape-gz2', answers: ['round', 'boxy', 'no-bulge'], askedIf: 'disk-edge-on-gz2_yes' },
    { name: 'spiral-winding-gz2', answers: ['tight', 'medium', 'loose'], askedIf: 'has-spiral-arms-gz2_yes' },
    { name: 'spiral-arm-count-gz2', answers: ['1', '2', '3', '4', 'more-than-4', 'cant-tell'], askedIf: 'has-spiral-arms-gz2_yes' },
  ],
};

const BUILTIN: Readonly<Record<string, Schema>> = Object.freeze({
  'decals-dr5': createSchema(DECALS_DR5),
  gz2: createSchema(GZ2),
});

/** Names of the built-in schemas. */
export const schemaNames = (): string[] => Object.keys(BUILTIN);

/**
 * A built-in schema by name, or a custom one from a `.json` path; several joined by `+` are
 * one combined tree (Zoobot pretrains on GZ2 and GZ DECaLS answers at once).
 * @example getSchema('decals-dr5').nAnswers // 34
 * @example getSchema('decals-dr5+gz2').nAnswers // 34 + 37
 */
export function getSchema(nameOrPath: string): Schema {
  const trees = schemaTrees(nameOrPath);
  return trees.length === 1 ? trees[0] : combineSchemas(trees);
}

/**
 * The campaigns' trees a name stands for: each part of `a+b` (a file whose name holds a `+`
 * is one tree), else the one tree. The simulator gives each its own volunteers.
 */
export function schemaTrees(nameOrPath: string): Schema[] {
  if (BUILTIN[nameOrPath] || !nameOrPath.includes('+') || existsSync(nameOrPath)) return [oneSchema(nameOrPath)];
  return nameOrPath.split('+').map(oneSchema);
}

function oneSchema(nameOrPath: string): Schema {
  const s = BUILTIN[nameOrPath];
  if (s) return s;
  if (nameOrPath.endsWith('.json')) return loadSchemaFile(nameOrPath);
  throw new SchemaError(`unknown schema "${nameOrPath}"; built-in schemas: ${schemaNames().join(', ')} (or a path to a .json schema file)`);
}
