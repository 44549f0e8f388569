/**
 * Artificial redshifting: the same galaxy placed further away (or nearer). Angular sizes scale
 * with the angular-diameter distance, magnitudes with the distance modulus (surface
 * brightness dims as (1+z)⁴ through both). Used to measure the "redshift bias" of the vote
 * model: the same galaxy, further away, should look smoother to volunteers.
 */
import { angularDiameterDistanceMpc, distanceModulus } from './profiles.js';
import type { GalaxyTruth } from './truth.js';

/** A copy of `t` moved to redshift z (0 < z < 1). Colours and stars are unchanged. */
export function redshiftTruth(t: GalaxyTruth, z: number): GalaxyTruth {
  if (!(z > 0 && z < 1) || !(t.redshift > 0)) return structuredClone(t);
  const s = angularDiameterDistanceMpc(t.redshift) / angularDiameterDistanceMpc(z);
  const dm = distanceModulus(z) - distanceModulus(t.redshift);
  const c: GalaxyTruth = structuredClone(t);
  c.redshift = z;
  c.magR += dm;
  c.r50Arcsec *= s;
  c.fovArcsec = Math.min(240, Math.max(16, t.fovArcsec * s));
  const f = c.fovArcsec / t.fovArcsec;
  if (c.bulge) Object.assign(c.bulge, { reArcsec: c.bulge.reArcsec * s, dx: c.bulge.dx * s, dy: c.bulge.dy * s });
  if (c.disk) Object.assign(c.disk, { scaleArcsec: c.disk.scaleArcsec * s, dx: c.disk.dx * s, dy: c.disk.dy * s, holeArcsec: c.disk.holeArcsec * s });
  if (c.bar) c.bar.lengthArcsec *= s;
  if (c.arms) c.arms.innerArcsec *= s;
  if (c.ring) Object.assign(c.ring, { radiusArcsec: c.ring.radiusArcsec * s, widthArcsec: c.ring.widthArcsec * s, dx: c.ring.dx * s, dy: c.ring.dy * s });
  if (c.dust) Object.assign(c.dust, { widthArcsec: c.dust.widthArcsec * s, offsetArcsec: c.dust.offsetArcsec * s, lengthArcsec: c.dust.lengthArcsec * s });
  for (const k of c.clumps) Object.assign(k, { dx: k.dx * s, dy: k.dy * s, sigmaArcsec: k.sigmaArcsec * s });
  for (const k of c.companions) Object.assign(k, { dx: k.dx * s, dy: k.dy * s, reArcsec: k.reArcsec * s, magR: k.magR + dm });
  for (const k of c.tails) Object.assign(k, { originDx: k.originDx * s, originDy: k.originDy * s, lengthArcsec: k.lengthArcsec * s, widthArcsec: k.widthArcsec * s });
  for (const k of c.shells) Object.assign(k, { radiusArcsec: k.radiusArcsec * s, widthArcsec: k.widthArcsec * s });
  if (c.lens) Object.assign(c.lens, { thetaEArcsec: c.lens.thetaEArcsec * s, widthArcsec: c.lens.widthArcsec * s, magR: c.lens.magR + dm });
  for (const k of c.stars) Object.assign(k, { dx: k.dx * f, dy: k.dy * f });
  return c;
}
