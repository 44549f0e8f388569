/**
 * Pixel renderers for the light components of a galaxy, before the PSF.
 *
 * Each renderer draws one component into a scratch image at the cutout's pixel scale and
 * returns the bounding box it touched and the flux it put there. Profiles with an analytic
 * normalisation (Sérsic tables, Gaussians integrated over pixels) are drawn at unit total
 * flux, so only light falling outside the cutout is lost; components whose total has no closed
 * form (arms, bars, rings, arcs) are normalised by their drawn sum, which for them is the same
 * thing because they are laid out inside the frame.
 *
 * Pixel coordinates: column x to the right (west), row y downwards (south); sky offsets in
 * arcsec use x right and y up, position angles are east of north (see truth.ts).
 */
import { PROFILE_TABLE_SIZE, U_MAX, type RadialProfile } from './profiles.js';
import { paVector } from './geometry.js';

/** The cutout grid. */
export interface Grid {
  /** Cutout side, pixels. */
  size: number;
  /** Row stride of the working arrays (FFT size ≥ size). */
  stride: number;
  /** Cutout pixel scale, arcsec/pixel. */
  pix: number;
  /** Pixel coordinate of the cutout centre (the target's centre). */
  centre: number;
}

/** Pixel bounding box, [x0, x1) × [y0, y1). */
export interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export const EMPTY_BOX: Box = Object.freeze({ x0: 0, x1: 0, y0: 0, y1: 0 });

/** Bounding box of a disc of radius r (pixels) around (cx, cy), clipped to the cutout. */
export function discBox(g: Grid, cx: number, cy: number, r: number): Box {
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(g.size, Math.ceil(cx + r) + 1);
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(g.size, Math.ceil(cy + r) + 1);
  if (x1 <= x0 || y1 <= y0) return EMPTY_BOX;
  return { x0, x1, y0, y1 };
}

/** Pixel position of a sky offset (arcsec) from the target centre. */
export function skyToPix(g: Grid, dx: number, dy: number): [number, number] {
  return [g.centre + dx / g.pix, g.centre - dy / g.pix];
}

/**
 * Major-axis frame of a component: for a pixel offset (X, Y) (columns, rows) from its centre,
 * a = X·ca − Y·sa runs along the major axis and b = −X·sa − Y·ca across it.
 */
function axes(paDeg: number): [number, number] {
  return paVector(paDeg);
}

/** Zero a box of a scratch image. */
export function clearBox(img: Float64Array, g: Grid, b: Box): void {
  for (let y = b.y0; y < b.y1; y++) img.fill(0, y * g.stride + b.x0, y * g.stride + b.x1);
}

/** Sum of a box of an image. */
export function sumBox(img: Float64Array, g: Grid, b: Box): number {
  let s = 0;
  for (let y = b.y0; y < b.y1; y++) {
    const row = y * g.stride;
    for (let x = b.x0; x < b.x1; x++) s += img[row + x];
  }
  return s;
}

/** Union of two boxes. */
export function unionBox(a: Box, b: Box): Box {
  if (a.x1 <= a.x0) return b;
  if (b.x1 <= b.x0) return a;
  return { x0: Math.min(a.x0, b.x0), x1: Math.max(a.x1, b.x1), y0: Math.min(a.y0, b.y0), y1: Math.max(a.y1, b.y1) };
}

/** Table lookup of a radial profile at s = √(r/r_e) scaled by invDs. */
function profileAt(t: Float64Array, x: number): number {
  if (x >= PROFILE_TABLE_SIZE) return 0;
  const i = x | 0;
  const f = x - i;
  return t[i] + f * (t[i + 1] - t[i]);
}

/**
 * Add a Sérsic component of unit total flux (times `scale`) to `img`. The table carries the
 * normalisation, so the drawn sum is the fraction inside the cutout. Pixels near the centre
 * are integrated on sub-pixel grids (16×16 within 1.5 px, 4–8 per side out to ~4–6 px), which
 * keeps the cusp of n ≳ 4 profiles from biasing the total.
 * @param boxy 0 = elliptical isophotes … 1 = fully boxy (x⁴ + y⁴) isophotes
 * @param holeArcsec deplete the profile inside this radius (an inner ring's swept zone); the
 *   drawn sum is then no longer the analytic fraction — callers renormalise by it
 */
export function drawSersic(
  img: Float64Array, g: Grid, p: RadialProfile, reArcsec: number, q: number, paDeg: number,
  dx: number, dy: number, scale = 1, boxy = 0, holeArcsec = 0,
): Box {
  const re = Math.max(reArcsec / g.pix, 0.05);
  const [cx, cy] = skyToPix(g, dx, dy);
  const box = discBox(g, cx, cy, re * U_MAX);
  if (box === EMPTY_BOX) return box;
  const [ca, sa] = axes(paDeg);
  const t = p.intensity;
  const invDs = p.invDs;
  const invRe2 = 1 / (re * re);
  const invQ = 1 / q;
  const norm = (scale * invRe2) * invQ; // intensity per pixel for unit flux
  const hole = holeArcsec / g.pix;
  const invHole2 = hole > 0 ? 1 / (hole * hole) : 0;
  const evalAt = (X: number, Y: number): number => {
    const a = X * ca - Y * sa;
    const b = (-X * sa - Y * ca) * invQ;
    const r2 = a * a + b * b;
    let u2 = r2 * invRe2;
    if (boxy > 0) {
      const a2 = a * a;
      const b2 = b * b;
      const ub = Math.sqrt(a2 * a2 + b2 * b2) * invRe2;
      u2 += boxy * (ub - u2);
    }
    const v = profileAt(t, Math.sqrt(Math.sqrt(u2)) * invDs);
    if (hole <= 0) return v;
    // Depleted inner zone: 75% of the light removed well inside the hole radius.
    const h2 = r2 * invHole2;
    return v * (1 - 0.75 * Math.exp(-h2 * h2));
  };
  const sub2 = re < 2 ? 8 : 4;
  const r2 = re < 2 ? 6 : 4;
  for (let y = box.y0; y < box.y1; y++) {
    const Y = y - cy;
    const row = y * g.stride;
    for (let x = box.x0; x < box.x1; x++) {
      const X = x - cx;
      const d2 = X * X + Y * Y;
      let v: number;
      if (d2 < r2 * r2) {
        const k = d2 < 2.25 ? 16 : sub2;
        let acc = 0;
        const step = 1 / k;
        const off = 0.5 * step - 0.5;
        for (let j = 0; j < k; j++) {
          const yy = Y + off + j * step;
          for (let i = 0; i < k; i++) acc += evalAt(X + off + i * step, yy);
        }
        v = acc / (k * k);
      } else {
        v = evalAt(X, Y);
      }
      img[row + x] += norm * v;
    }
  }
  return box;
}

/** Standard normal CDF via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

const gx = new Float64Array(4096);
const gy = new Float64Array(4096);

/**
 * Add a circular Gaussian of total `flux` centred at pixel (cx, cy), integrated exactly over
 * each pixel (separable erf differences), so even sub-pixel blobs keep their flux.
 */
export function drawGaussian(img: Float64Array, g: Grid, cx: number, cy: number, sigmaPx: number, flux: number): Box {
  const s = Math.max(sigmaPx, 0.05);
  const box = discBox(g, cx, cy, 4.5 * s + 1);
  if (box === EMPTY_BOX) return box;
  const inv = 1 / s;
  for (let x = box.x0; x < box.x1; x++) gx[x - box.x0] = phi((x + 0.5 - cx) * inv) - phi((x - 0.5 - cx) * inv);
  for (let y = box.y0; y < box.y1; y++) gy[y - box.y0] = phi((y + 0.5 - cy) * inv) - phi((y - 0.5 - cy) * inv);
  for (let y = box.y0; y < box.y1; y++) {
    const wy = flux * gy[y - box.y0];
    if (wy === 0) continue;
    const row = y * g.stride;
    for (let x = box.x0; x < box.x1; x++) img[row + x] += wy * gx[x - box.x0];
  }
  return box;
}

/** Disk-plane description shared by arms, bars and rings. */
export interface DiskFrame {
  dx: number;
  dy: number;
  q: number;
  paDeg: number;
}

/**
 * Visit pixels of a disk-plane region: calls fn(index, xd, yd) with disk-plane coordinates in
 * pixels (xd along the line of nodes, yd deprojected by 1/q) for pixels whose disk-plane
 * radius is below rMax (pixels).
 */
function forDiskPlane(g: Grid, f: DiskFrame, rMax: number, fn: (i: number, xd: number, yd: number, r: number) => void): Box {
  const [cx, cy] = skyToPix(g, f.dx, f.dy);
  const box = discBox(g, cx, cy, rMax);
  if (box === EMPTY_BOX) return box;
  const [ca, sa] = axes(f.paDeg);
  const invQ = 1 / f.q;
  const r2max = rMax * rMax;
  for (let y = box.y0; y < box.y1; y++) {
    const Y = y - cy;
    const row = y * g.stride;
    for (let x = box.x0; x < box.x1; x++) {
      const X = x - cx;
      const xd = X * ca - Y * sa;
      const yd = (-X * sa - Y * ca) * invQ;
      const r2 = xd * xd + yd * yd;
      if (r2 < r2max) fn(row + x, xd, yd, Math.sqrt(r2));
    }
  }
  return box;
}

/** Spiral-arm parameters in pixel units. */
export interface ArmsSpec {
  count: number;
  pitchDeg: number;
  sense: number;
  innerPx: number;
  scalePx: number;
  sharpness: number;
  phaseDeg: number;
  flocculent: boolean;
}

/**
 * Logarithmic spiral arms as a modulation of an exponential disk: light ∝ e^{−r/h} ·
 * [(1 + cos ψ)/2]^p with ψ = m(±θ − ln(r/r_in)/tan φ) + φ₀, switched on smoothly at r_in.
 * Flocculent disks get a second, differently pitched pattern that breaks arms into segments.
 * Returns the drawn sum (unnormalised).
 */
export function drawArms(img: Float64Array, g: Grid, f: DiskFrame, a: ArmsSpec): { box: Box; sum: number } {
  const invTan = 1 / Math.tan((a.pitchDeg * Math.PI) / 180);
  const m = a.count;
  const p = Math.max(1, Math.round(a.sharpness));
  const phase = (a.phaseDeg * Math.PI) / 180;
  const h = a.scalePx;
  const rin = Math.max(a.innerPx, 0.5);
  const rMax = Math.min(6 * h, 2 * g.size);
  const tan2 = 1 / Math.tan((Math.min(a.pitchDeg * 1.8, 50) * Math.PI) / 180);
  // Everything that depends on radius only — ln(r/r_in) and the radial weight (exponential
  // disk × switch-on ramp) — is tabulated on a 0.25 px grid.
  const RES = 4;
  const nr = Math.ceil(rMax * RES) + 2;
  const lnT = radialScratch(nr, 0);
  const wT = radialScratch(nr, 1);
  for (let k = 0; k < nr; k++) {
    const r = Math.max(k / RES, 1e-3);
    lnT[k] = Math.log(r / rin);
    const x = (r - 0.6 * rin) / (0.7 * rin);
    const ramp = x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x);
    wT[k] = ramp * Math.exp(-r / h);
  }
  const [cx, cy] = skyToPix(g, f.dx, f.dy);
  const box = discBox(g, cx, cy, rMax);
  if (box === EMPTY_BOX) return { box, sum: 0 };
  const [ca, sa] = axes(f.paDeg);
  const invQ = 1 / f.q;
  const r2min = (0.6 * rin) ** 2;
  const r2max = rMax * rMax;
  const ms = m * a.sense;
  const mInvTan = m * invTan;
  const floc = a.flocculent;
  let sum = 0;
  for (let y = box.y0; y < box.y1; y++) {
    const Y = y - cy;
    const row = y * g.stride;
    for (let x = box.x0; x < box.x1; x++) {
      const X = x - cx;
      const xd = X * ca - Y * sa;
      const yd = (-X * sa - Y * ca) * invQ;
      const r2 = xd * xd + yd * yd;
      if (r2 <= r2min || r2 >= r2max) continue;
      const t = Math.sqrt(r2) * RES;
      const k = t | 0;
      const fr = t - k;
      const lr = lnT[k] + fr * (lnT[k + 1] - lnT[k]);
      const rw = wT[k] + fr * (wT[k + 1] - wT[k]);
      const th = Math.atan2(yd, xd);
      let c = 0.5 * (1 + Math.cos(ms * th - lr * mInvTan + phase));
      let w = c;
      for (let j = 1; j < p; j++) w *= c;
      if (floc) {
        c = 0.5 * (1 + Math.cos(2 * ms * th - 1.7 * lr * tan2 + 1.3 * phase));
        w *= 0.25 + 0.75 * c * c;
      }
      const v = w * rw;
      img[row + x] += v;
      sum += v;
    }
  }
  return { box, sum };
}

const radialTables: Float64Array[] = [new Float64Array(0), new Float64Array(0)];
function radialScratch(n: number, which: number): Float64Array {
  if (radialTables[which].length < n) radialTables[which] = new Float64Array(n);
  return radialTables[which];
}

/** Bar parameters in pixel units. */
export interface BarSpec {
  lengthPx: number;
  q: number;
  angleDeg: number;
  shapeExp: number;
}

/** Ferrers (n = 2) bar in the disk plane, isophotes from elliptical (c = 2) to boxy (c = 4). */
export function drawBar(img: Float64Array, g: Grid, f: DiskFrame, b: BarSpec): { box: Box; sum: number } {
  const L = Math.max(b.lengthPx, 0.5);
  const W = Math.max(b.q * L, 0.3);
  const ang = (b.angleDeg * Math.PI) / 180;
  const cb = Math.cos(ang);
  const sb = Math.sin(ang);
  const wBox = (b.shapeExp - 2) / 2;
  let sum = 0;
  const box = forDiskPlane(g, f, L * 1.05, (i, xd, yd) => {
    const xb = (xd * cb + yd * sb) / L;
    const yb = (-xd * sb + yd * cb) / W;
    const e = xb * xb + yb * yb;
    const x2 = xb * xb;
    const y2 = yb * yb;
    const m2 = e + wBox * (Math.sqrt(x2 * x2 + y2 * y2) - e);
    if (m2 >= 1) return;
    const v = (1 - m2) * (1 - m2);
    img[i] += v;
    sum += v;
  });
  return { box, sum };
}

/**
 * Gaussian ring of radius R in its own plane; `knots` > 0 breaks it into bright clumps
 * (collisional rings); barEnhance brightens the ends of the bar axis (inner rings).
 */
export function drawRing(
  img: Float64Array, g: Grid, f: DiskFrame, radiusPx: number, widthPx: number, knots: number, knotPhase: number,
): { box: Box; sum: number } {
  const w = Math.max(widthPx, 0.4);
  const inv2w2 = 1 / (2 * w * w);
  let sum = 0;
  const box = forDiskPlane(g, f, radiusPx + 4 * w, (i, xd, yd, r) => {
    const d = r - radiusPx;
    let v = Math.exp(-d * d * inv2w2);
    if (knots > 0) {
      const th = Math.atan2(yd, xd);
      const c1 = 0.5 * (1 + Math.cos(knots * th + knotPhase));
      const c2 = 0.5 * (1 + Math.cos(Math.round(knots * 0.6) * th + 2.1 * knotPhase));
      v *= 0.25 + 0.75 * c1 * c1 * c1 * (0.5 + 0.5 * c2);
    }
    img[i] += v;
    sum += v;
  });
  return { box, sum };
}

/**
 * A circular arc (shell or lensed arc) around pixel (cx, cy): radial profile Gaussian of width
 * wIn inside the radius and wOut outside (shells have sharp outer edges), angular window of
 * full width spanDeg centred on angleDeg (east of north) with soft ends.
 */
export function drawArc(
  img: Float64Array, g: Grid, cx: number, cy: number, radiusPx: number, wIn: number, wOut: number, angleDeg: number, spanDeg: number,
): { box: Box; sum: number } {
  const box = discBox(g, cx, cy, radiusPx + 4 * Math.max(wIn, wOut));
  if (box === EMPTY_BOX) return { box, sum: 0 };
  const [ux, uy] = paVector(angleDeg); // sky direction (x right, y up)
  const half = ((spanDeg / 2) * Math.PI) / 180;
  const soft = Math.max(0.15, half * 0.3);
  const inIn = 1 / (2 * wIn * wIn);
  const inOut = 1 / (2 * wOut * wOut);
  const rLo = radiusPx - 4 * wIn;
  const rHi = radiusPx + 4 * wOut;
  let sum = 0;
  for (let y = box.y0; y < box.y1; y++) {
    const sy = cy - y; // up
    const row = y * g.stride;
    for (let x = box.x0; x < box.x1; x++) {
      const sx = x - cx;
      const r = Math.sqrt(sx * sx + sy * sy);
      if (r < rLo || r > rHi) continue;
      // angle from the arc centre direction
      const c = (sx * ux + sy * uy) / (r || 1);
      const s = (sx * uy - sy * ux) / (r || 1);
      const dth = Math.abs(Math.atan2(s, c));
      let wa = 1;
      if (dth > half) {
        const e = (dth - half) / soft;
        wa = Math.exp(-e * e);
      }
      const d = r - radiusPx;
      const v = wa * Math.exp(-d * d * (d < 0 ? inIn : inOut));
      img[row + x] += v;
      sum += v;
    }
  }
  return { box, sum };
}
