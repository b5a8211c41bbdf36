import { seededRandom } from "@gpuci/report";
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

/** Put the k-th smallest value at index k (Floyd–Rivest selection, expected O(n)); NaN sorts last. */
function select(a: Float64Array, k: number, left = 0, right = a.length - 1): void {
  while (right > left) {
    if (right - left > 600) {
      const n = right - left + 1;
      const i = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (i - n / 2 < 0 ? -1 : 1);
      select(
        a,
        k,
        Math.max(left, Math.floor(k - (i * s) / n + sd)),
        Math.min(right, Math.floor(k + ((n - i) * s) / n + sd)),
      );
    }
    const t = a[k]!;
    let i = left;
    let j = right;
    const swap = (x: number, y: number) => {
      const tmp = a[x]!;
      a[x] = a[y]!;
      a[y] = tmp;
    };
    swap(left, k);
    if (a[right]! > t) swap(left, right);
    while (i < j) {
      swap(i, j);
      i++;
      j--;
      while (a[i]! < t) i++;
      while (a[j]! > t) j--;
    }
    if (a[left] === t) swap(left, j);
    else {
      j++;
      swap(j, right);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

/**
 * Quantile q ∈ [0, 1] with linear interpolation (numpy's default), by selection instead of a
 * full sort: O(n) for the millions of values a streamed column can have. NaN values make the
 * result NaN, as a sort-based quantile would.
 */
export function quantile(xs: ArrayLike<number>, q: number): number {
  const n = xs.length;
  if (n === 0) return Number.NaN;
  const a = Float64Array.from(xs as ArrayLike<number>);
  for (let i = 0; i < n; i++) if (Number.isNaN(a[i]!)) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  select(a, lo);
  const x = a[lo]!;
  if (pos === lo) return x;
  let next = Number.POSITIVE_INFINITY;
  for (let i = lo + 1; i < n; i++) if (a[i]! < next) next = a[i]!;
  return x + (next - x) * (pos - lo);
}

/** Median. */
export function median(xs: ArrayLike<number>): number {
  return quantile(xs, 0.5);
}

/**
 * One statistic over a list of values: mean, median/p50, min, max, stddev, sum, p90/p95/p99,
 * geomean (of positive values). NaN for an empty list.
 */
export function applyStatTo(stat: string, xs: ArrayLike<number>): number {
  if (xs.length === 0) return Number.NaN;
  switch (stat) {
    case "mean":
      return mean(xs);
    case "median":
    case "p50":
      return quantile(xs, 0.5);
    case "p90":
      return quantile(xs, 0.9);
    case "p95":
      return quantile(xs, 0.95);
    case "p99":
      return quantile(xs, 0.99);
    case "stddev":
      return stddev(xs);
    case "min":
    case "max": {
      let m = xs[0]!;
      for (let i = 1; i < xs.length; i++) m = stat === "min" ? Math.min(m, xs[i]!) : Math.max(m, xs[i]!);
      return m;
    }
    case "sum": {
      let s = 0;
      for (let i = 0; i < xs.length; i++) s += xs[i]!;
      return s;
    }
    case "geomean": {
      let s = 0;
      for (let i = 0; i < xs.length; i++) s += Math.log(xs[i]!);
      return Math.exp(s / xs.length);
    }
    default:
      return Number.NaN;
  }
}

/** A seeded PRNG (mulberry32) so bootstrap intervals are reproducible (shared with the kernels). */
export { seededRandom };

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
