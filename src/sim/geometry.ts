/** Sky geometry helpers shared by the population model and the renderers. */

export const DEG = Math.PI / 180;

export const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

/** Projected axis ratio of a thick disk (DESIGN §3b). */
export function diskAxisRatio(inclinationDeg: number, q0: number): number {
  const c = Math.cos(inclinationDeg * DEG);
  return Math.sqrt(c * c * (1 - q0 * q0) + q0 * q0);
}

/** Position angle on the sky (deg east of north) → unit vector (x right, y up). */
export function paVector(paDeg: number): [number, number] {
  return [-Math.sin(paDeg * DEG), Math.cos(paDeg * DEG)];
}

/**
 * Sky offset (arcsec) of a disk-plane point: (a along the line of nodes, b across it),
 * projected with axis ratio q and rotated to the disk PA.
 */
export function diskToSky(a: number, b: number, q: number, paDeg: number): [number, number] {
  const [ux, uy] = paVector(paDeg); // major axis direction
  const bq = b * q;
  // minor-axis direction is the major axis rotated by +90°: (−uy, ux)
  return [a * ux - bq * uy, a * uy + bq * ux];
}
