/** Arithmetic mean; NaN for no values. */
export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
}

/** Sample standard deviation (n − 1); NaN for fewer than two values. */
export function stddev(xs: ArrayLike<number>): number {
  if (xs.length < 2) return Number.NaN;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

/** Sorted copy as a Float64Array. */
export function sorted(xs: ArrayLike<number>): Float64Array {
  return Float64Array.from(xs as ArrayLike<number>).sort();
}

/** Quantile q ∈ [0, 1] of sorted values, linear interpolation (numpy's default, R type 7). */
export function quantileSorted(s: ArrayLike<number>, q: number): number {
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Median. */
export function median(xs: ArrayLike<number>): number {
  return quantileSorted(sorted(xs), 0.5);
}

/** A seeded PRNG (mulberry32) so bootstrap intervals are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(z / Math.SQRT2));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-((z / Math.SQRT2) ** 2));
  return z >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

/** Result of a one-sided Mann-Whitney U test. */
export interface MannWhitney {
  /** U statistic of sample `a` (number of pairs where a > b, ties counting ½). */
  u: number;
  /** P(U ≥ u) under H0: the probability that `a` is this much larger by chance. */
  p: number;
  method: "exact" | "normal";
}

/** Ranks with ties averaged; returns ranks and the tie-correction term Σ(t³ − t). */
function rank(values: number[]): { ranks: number[]; tieTerm: number } {
  const idx = values.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0]);
  const ranks = new Array<number>(values.length);
  let tieTerm = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[idx[k]![1]] = r;
    const t = j - i + 1;
    if (t > 1) tieTerm += t ** 3 - t;
    i = j + 1;
  }
  return { ranks, tieTerm };
}

/** Exact upper-tail distribution of U for sizes m, n without ties: P(U ≥ u). */
function exactUpperTail(m: number, n: number, u: number): number {
  // counts[k] = number of arrangements with U = k, built by the standard recursion.
  const max = m * n;
  const table = new Map<string, Float64Array>();
  const f = (i: number, j: number): Float64Array => {
    const key = `${i},${j}`;
    const hit = table.get(key);
    if (hit) return hit;
    const out = new Float64Array(i * j + 1);
    if (i === 0 || j === 0) out[0] = 1;
    else {
      // The largest element belongs to a (adds j to U) or to b (adds 0).
      const withA = f(i - 1, j);
      const withB = f(i, j - 1);
      for (let k = 0; k < withA.length; k++) out[k + j]! += withA[k]!;
      for (let k = 0; k < withB.length; k++) out[k]! += withB[k]!;
    }
    table.set(key, out);
    return out;
  };
  const counts = f(m, n);
  let total = 0;
  let tail = 0;
  for (let k = 0; k <= max; k++) {
    total += counts[k]!;
    if (k >= u) tail += counts[k]!;
  }
  return tail / total;
}

/**
 * One-sided Mann-Whitney U test of H1: values in `a` tend to be larger than in `b`.
 * Exact distribution for small samples without ties (m·n ≤ 400); otherwise the normal
 * approximation with tie correction and continuity correction.
 */
export function mannWhitneyGreater(a: readonly number[], b: readonly number[]): MannWhitney {
  const m = a.length;
  const n = b.length;
  if (m === 0 || n === 0) return { u: Number.NaN, p: Number.NaN, method: "normal" };
  const { ranks, tieTerm } = rank([...a, ...b]);
  let ra = 0;
  for (let i = 0; i < m; i++) ra += ranks[i]!;
  const u = ra - (m * (m + 1)) / 2;
  if (tieTerm === 0 && m * n <= 400)
    return { u, p: exactUpperTail(m, n, Math.ceil(u - 1e-9)), method: "exact" };
  const N = m + n;
  const mu = (m * n) / 2;
  const sigma = Math.sqrt(((m * n) / 12) * (N + 1 - tieTerm / (N * (N - 1))));
  if (sigma === 0) return { u, p: 1, method: "normal" };
  const z = (u - mu - 0.5) / sigma;
  return { u, p: 1 - normalCdf(z), method: "normal" };
}

/**
 * Bootstrap percentile interval of median(head) / median(base): resample each side with
 * replacement `iterations` times (seeded, so reports are reproducible).
 */
export function bootstrapMedianRatio(
  base: readonly number[],
  head: readonly number[],
  options: { iterations?: number; confidence?: number; seed?: number } = {},
): { low: number; high: number } {
  const iterations = options.iterations ?? 2000;
  const conf = options.confidence ?? 0.95;
  const rand = seededRandom(options.seed ?? 0x9e3779b9);
  const ratios = new Float64Array(iterations);
  const bs = new Float64Array(base.length);
  const hs = new Float64Array(head.length);
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < base.length; i++) bs[i] = base[Math.floor(rand() * base.length)]!;
    for (let i = 0; i < head.length; i++) hs[i] = head[Math.floor(rand() * head.length)]!;
    ratios[it] = quantileSorted(bs.sort(), 0.5) / quantileSorted(hs.sort(), 0.5);
  }
  // ratios holds base/head; invert at the end so the interval is head/base.
  const s = ratios.map((r) => 1 / r).sort();
  return { low: quantileSorted(s, (1 - conf) / 2), high: quantileSorted(s, 1 - (1 - conf) / 2) };
}
