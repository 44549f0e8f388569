/**
 * Per-class classification metrics in the astronomers' vocabulary: completeness (the share of
 * a class's galaxies classified as that class — recall) and purity (the share of galaxies
 * classified as a class that truly belong to it — precision). Domínguez Sánchez et al. 2019
 * report survey transfer this way, since accuracy alone hides a starved minority class.
 */
import { OptionError } from '../errors.js';

/** Counts and rates of one class. Rates are null when undefined (no true / no predicted galaxies). */
export interface ClassScore {
  /** Galaxies truly of this class. */
  n: number;
  /** Galaxies predicted as this class. */
  predicted: number;
  /** Correctly predicted galaxies of this class. */
  correct: number;
  completeness: number | null;
  purity: number | null;
}

/** What {@link completenessPurity} returns. */
export interface ClassificationScore {
  n: number;
  accuracy: number;
  /** Per class, in `classes` order. */
  perClass: Record<string, ClassScore>;
}

/**
 * Accuracy, completeness and purity per class of predicted labels against true ones.
 * @param classes class names to report (default: the sorted distinct true and predicted labels);
 *   a label outside them is an error.
 * @example completenessPurity(['E', 'S', 'S'], ['E', 'E', 'S']).perClass.E // { n: 1, predicted: 2, correct: 1, completeness: 1, purity: 0.5 }
 */
export function completenessPurity(truth: readonly string[], predicted: readonly string[], classes?: readonly string[]): ClassificationScore {
  if (truth.length !== predicted.length) throw new OptionError(`completenessPurity: ${truth.length} true labels but ${predicted.length} predictions`);
  if (truth.length === 0) throw new OptionError('completenessPurity: no labels');
  const names = classes ?? [...new Set([...truth, ...predicted])].sort();
  const perClass: Record<string, ClassScore> = {};
  for (const c of names) perClass[c] = { n: 0, predicted: 0, correct: 0, completeness: null, purity: null };
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = perClass[truth[i]];
    const p = perClass[predicted[i]];
    if (!t || !p) throw new OptionError(`completenessPurity: label "${t ? predicted[i] : truth[i]}" (row ${i}) is not one of ${names.join(', ')}`);
    t.n++;
    p.predicted++;
    if (truth[i] === predicted[i]) {
      t.correct++;
      correct++;
    }
  }
  for (const s of Object.values(perClass)) {
    s.completeness = s.n > 0 ? s.correct / s.n : null;
    s.purity = s.predicted > 0 ? s.correct / s.predicted : null;
  }
  return { n: truth.length, accuracy: correct / truth.length, perClass };
}
