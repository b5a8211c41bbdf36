import { seededRandom } from "@gpuci/report";

/** A step in a series: the level changed between index `at − 1` and `at`. */
export interface ChangePoint {
  /** The first index of the new level. */
  at: number;
  /** Median after / median before, over the segments either side. */
  ratio: number;
  /** Permutation p-value of the split. */
  p: number;
}

/** Options for {@link changePoints}. */
export interface ChangePointOptions {
  /** Significance of each split (default 0.01). */
  alpha?: number;
  /** Permutations per test (default 199: the smallest p is 0.005). */
  permutations?: number;
  /** Fewest points in a segment (default 3). */
  minSegment?: number;
  /** Smallest step worth naming, as a fraction of the level (default 0.01 = 1 %). */
  minStep?: number;
  seed?: number;
}

/**
 * The divergence of the E-statistic for a split of `x` at τ (Székely & Rizzo's energy
 * distance, scaled as in Matteson & James 2014): large when the two sides differ in level.
 */
function energyAt(d: Float64Array, n: number, tau: number, offset: number, len: number): number {
  let between = 0;
  let left = 0;
  let right = 0;
  for (let i = 0; i < len; i++)
    for (let j = i + 1; j < len; j++) {
      const v = d[(offset + i) * n + offset + j]!;
      if (i < tau && j >= tau) between += v;
      else if (j < tau) left += v;
      else if (i >= tau) right += v;
    }
  const m = tau;
  const k = len - tau;
  const e =
    (2 * between) / (m * k) -
    (m > 1 ? (2 * left) / (m * (m - 1)) : 0) -
    (k > 1 ? (2 * right) / (k * (k - 1)) : 0);
  return ((m * k) / len) * e;
}

function bestSplit(d: Float64Array, n: number, offset: number, len: number, minSegment: number) {
  let best = { tau: -1, q: Number.NEGATIVE_INFINITY };
  for (let tau = minSegment; tau <= len - minSegment; tau++) {
    const q = energyAt(d, n, tau, offset, len);
    if (q > best.q) best = { tau, q };
  }
  return best;
}

const medianOf = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Where did the level of a series step? E-divisive means (Matteson & James, "A Nonparametric
 * Approach for Multiple Change Point Analysis of Multivariate Data", JASA 2014; the method of
 * Apache Otava / Hunter): binary segmentation on the energy statistic, each split kept only
 * when a permutation test finds it significant (p ≤ alpha) and the step is at least `minStep`.
 * Works on log values, so steps are ratios. Deterministic for a given seed.
 */
export function changePoints(values: readonly number[], options: ChangePointOptions = {}): ChangePoint[] {
  const alpha = options.alpha ?? 0.01;
  const permutations = options.permutations ?? 199;
  const minSegment = options.minSegment ?? 3;
  const minStep = options.minStep ?? 0.01;
  const rand = seededRandom(options.seed ?? 0xc0ffee);
  const positive = values.every((v) => v > 0 && Number.isFinite(v));
  const x = values.map((v) => (positive ? Math.log(v) : v));
  const n = x.length;
  if (n < 2 * minSegment) return [];
  const found: ChangePoint[] = [];
  const segments: Array<[number, number]> = [[0, n]];
  while (segments.length) {
    const [start, end] = segments.pop()!;
    const len = end - start;
    if (len < 2 * minSegment) continue;
    const seg = x.slice(start, end);
    const dist = (arr: number[]) => {
      const d = new Float64Array(len * len);
      for (let i = 0; i < len; i++)
        for (let j = 0; j < len; j++) d[i * len + j] = Math.abs(arr[i]! - arr[j]!);
      return d;
    };
    const observed = bestSplit(dist(seg), len, 0, len, minSegment);
    if (observed.tau < 0) continue;
    let atLeast = 0;
    const perm = [...seg];
    for (let p = 0; p < permutations; p++) {
      for (let i = perm.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      if (bestSplit(dist(perm), len, 0, len, minSegment).q >= observed.q) atLeast++;
    }
    const pValue = (atLeast + 1) / (permutations + 1);
    const before = values.slice(start, start + observed.tau);
    const after = values.slice(start + observed.tau, end);
    const ratio = medianOf(after) / medianOf(before);
    if (pValue > alpha || !(Math.abs(ratio - 1) >= minStep)) continue;
    found.push({ at: start + observed.tau, ratio, p: pValue });
    segments.push([start, start + observed.tau], [start + observed.tau, end]);
  }
  return found.sort((a, b) => a.at - b.at);
}

/**
 * Paired A/B rounds likely needed to decide a change at the margin: the normal-approximation
 * sample size for a 95 % interval with 95 % power, ((1.96 + 1.645) · √2 · cv / ln(1 + m))².
 */
export function roundsNeeded(cv: number, maxRegression: number): number {
  return Math.max(2, Math.ceil((((1.96 + 1.645) * Math.SQRT2 * cv) / Math.log1p(maxRegression)) ** 2));
}

/** Coefficient of variation of positive values (standard deviation of their logs). */
export function coefficientOfVariation(values: readonly number[]): number {
  const logs = values.filter((v) => v > 0).map(Math.log);
  if (logs.length < 2) return Number.NaN;
  const m = logs.reduce((a, b) => a + b, 0) / logs.length;
  return Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / (logs.length - 1));
}
