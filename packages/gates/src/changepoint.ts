import { seededRandom } from "@gpuci/report";
import { minPairedRounds, normalQuantile, sequentialPlan } from "./verdict.js";

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

/** Scratch arrays for one segment's splits, reused across its permutations. */
interface SplitBuffers {
  left: Float64Array;
  right: Float64Array;
  cnt: Float64Array;
  sum: Float64Array;
}

const splitBuffers = (len: number, ranks: number): SplitBuffers => ({
  left: new Float64Array(len + 1),
  right: new Float64Array(len + 1),
  cnt: new Float64Array(ranks + 1),
  sum: new Float64Array(ranks + 1),
});

/**
 * Σ|x_i − x_j| over the pairs inside each prefix of `x` (out[τ] for x[0..τ)), or of each suffix
 * read backwards (out[k] for the last k values) when `backwards`, by inserting the values into
 * Fenwick trees of counts and sums over their ranks: O(n log n).
 */
function pairSums(
  x: Float64Array,
  rank: Int32Array,
  backwards: boolean,
  out: Float64Array,
  buf: SplitBuffers,
): void {
  const n = x.length;
  const ranks = buf.cnt.length - 1;
  buf.cnt.fill(0);
  buf.sum.fill(0);
  let total = 0;
  let acc = 0;
  out[0] = 0;
  for (let t = 0; t < n; t++) {
    const k = backwards ? n - 1 - t : t;
    const v = x[k]!;
    let c = 0;
    let s = 0;
    for (let i = rank[k]! + 1; i > 0; i -= i & -i) {
      c += buf.cnt[i]!;
      s += buf.sum[i]!;
    }
    // Values at or below v add v − x_i each; those above add x_i − v.
    acc += c * v - s + (total - s) - (t - c) * v;
    for (let i = rank[k]! + 1; i <= ranks; i += i & -i) {
      buf.cnt[i]! += 1;
      buf.sum[i]! += v;
    }
    total += v;
    out[t + 1] = acc;
  }
}

/**
 * The best split of `x` by the E-statistic divergence (Székely & Rizzo's energy distance,
 * scaled as in Matteson & James 2014): large when the two sides differ in level. Every split
 * at once from prefix and suffix pair sums, O(n log n) instead of O(n³).
 */
function bestSplit(x: Float64Array, rank: Int32Array, minSegment: number, buf: SplitBuffers) {
  const len = x.length;
  pairSums(x, rank, false, buf.left, buf);
  pairSums(x, rank, true, buf.right, buf);
  const all = buf.left[len]!;
  let bestTau = -1;
  let bestQ = Number.NEGATIVE_INFINITY;
  for (let tau = minSegment; tau <= len - minSegment; tau++) {
    const l = buf.left[tau]!;
    const r = buf.right[len - tau]!;
    const between = all - l - r;
    const m = tau;
    const k = len - tau;
    const e =
      (2 * between) / (m * k) - (m > 1 ? (2 * l) / (m * (m - 1)) : 0) - (k > 1 ? (2 * r) / (k * (k - 1)) : 0);
    const q = ((m * k) / len) * e;
    if (q > bestQ) {
      bestQ = q;
      bestTau = tau;
    }
  }
  return { tau: bestTau, q: bestQ };
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
    const seg = Float64Array.from(x.slice(start, end));
    // Ranks once per segment: a permutation moves values and their ranks together.
    const byValue = Array.from(seg.keys()).sort((a, b) => seg[a]! - seg[b]!);
    const rank = new Int32Array(len);
    let ranks = 0;
    for (let i = 0; i < len; i++) {
      if (i > 0 && seg[byValue[i]!] !== seg[byValue[i - 1]!]) ranks++;
      rank[byValue[i]!] = ranks;
    }
    ranks++;
    const buf = splitBuffers(len, ranks);
    const observed = bestSplit(seg, rank, minSegment, buf);
    if (observed.tau < 0) continue;
    // A permutation whose statistic equals the observed one up to rounding counts as at least
    // as extreme (ties, e.g. from a coarse timer, must not depend on the order of summation).
    const atLeastQ = observed.q - 1e-9 * Math.abs(observed.q);
    // Once more permutations reach the statistic than a significant split allows, the split is
    // rejected whatever the rest give: skip their statistics (the random stream still advances
    // as if they ran, so later segments see the same permutations).
    const rejectAt = Math.floor(alpha * (permutations + 1));
    let atLeast = 0;
    const perm = Array.from(seg.keys());
    const px = new Float64Array(len);
    const pr = new Int32Array(len);
    for (let p = 0; p < permutations; p++) {
      if (atLeast >= rejectAt) {
        for (let i = len - 1; i > 0; i--) rand();
        continue;
      }
      for (let i = perm.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      for (let i = 0; i < len; i++) {
        px[i] = seg[perm[i]!]!;
        pr[i] = rank[perm[i]!]!;
      }
      if (bestSplit(px, pr, minSegment, buf).q >= atLeastQ) atLeast++;
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
 * sample size ((z₁₋ₐ + z₀.₉₅) · √2 · cv / ln(1 + m))² at the level the A/B decides at, with 95 %
 * power. `alphaPerLook` defaults to the per-look level of the default A/B design (rounds 6–40 at
 * alpha 0.025, Pocock-type spending: about 0.0066), not 0.025: sizing for a 95 % interval would
 * promise rounds that the sequential A/B cannot decide with. Never fewer than the pairs the
 * signed-rank interval needs at that level.
 */
export function roundsNeeded(cv: number, maxRegression: number, alphaPerLook?: number): number {
  const a = alphaPerLook ?? sequentialPlan(6, 40, 0.025, true).alphaPerLook;
  const z = normalQuantile(1 - a) + normalQuantile(0.95);
  return Math.max(minPairedRounds(a), Math.ceil(((z * Math.SQRT2 * cv) / Math.log1p(maxRegression)) ** 2));
}

/** Coefficient of variation of positive values (standard deviation of their logs). */
export function coefficientOfVariation(values: readonly number[]): number {
  const logs = values.filter((v) => v > 0).map(Math.log);
  if (logs.length < 2) return Number.NaN;
  const m = logs.reduce((a, b) => a + b, 0) / logs.length;
  return Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / (logs.length - 1));
}
