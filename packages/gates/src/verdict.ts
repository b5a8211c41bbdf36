import { median, normalCdf, quantileSorted, seededRandom } from "./stats.js";

/** The four honest answers to "did head get worse than base?". */
export type VerdictOutcome = "regressed" | "unchanged" | "improved" | "inconclusive";

/** Options for {@link regressionVerdict}. */
export interface VerdictOptions {
  /** Which way is better. */
  direction: "smaller" | "bigger";
  /** The change the user accepts, as a fraction (0.05 = 5 %). */
  maxRegression: number;
  /**
   * One-sided error rate of each claim ("regressed", "unchanged", "improved"); the interval is
   * the (1 − 2·alpha) two-sided one. Default 0.025: a 95 % interval.
   */
  alpha?: number;
  /** base[i] and head[i] were measured together (one A/B round): judge the within-pair changes. */
  paired?: boolean;
  /**
   * Widen the interval for serial correlation estimated from the samples in their order
   * (a GPU warming, boosting or throttling during a run). Default "estimate".
   */
  autocorrelation?: "estimate" | "none";
  /** Fewest samples a side (pairs when paired) for any verdict. Default 5. */
  minSamples?: number;
  /**
   * How to name the interval's level in words when it is not its own coverage: a sequential
   * design's looks are labelled with the family level ("95 % sequential").
   */
  levelLabel?: string;
}

/** What {@link regressionVerdict} decided, with everything needed to show why. */
export interface Verdict {
  verdict: VerdictOutcome;
  /** verdict === "regressed" (kept for callers that only ask yes/no). */
  regression: boolean;
  /** head/base, the Hodges-Lehmann estimate of the ratio (NaN when it cannot be formed). */
  ratio: number;
  /**
   * The (1 − 2·alpha) interval of head/base; absent when the samples cannot give one. With tied
   * samples an end can be open (lowOpen, highOpen): the end value itself was rejected by the
   * test, only values beyond it are in the interval — "(+5.0 %, +10.0 %]".
   */
  ci?: { low: number; high: number; lowOpen?: boolean; highOpen?: boolean };
  /** The interval's coverage, 1 − 2·alpha. */
  confidence: number;
  /** The level's name in words when set by the caller (VerdictOptions.levelLabel). */
  levelLabel?: string;
  /** How much worse head is, as a fraction (negative: better), from the point estimate. */
  worseBy: number;
  /** One-sided p-value of "head is worse than base at all" (no margin). */
  p?: number;
  /**
   * One-sided p-value of "head is worse than base by more than the margin" (the null hypothesis is
   * a change of exactly maxRegression): what family-wise control across a pull request's
   * metrics (Holm) is applied to.
   */
  pMargin?: number;
  /** Two-sided p-value of "moved by more than the margin, either way" (for false-discovery control). */
  pMoved?: number;
  /** The statistic and interval used, in words. */
  method: string;
  nBase: number;
  nHead: number;
  /** Lag-1 autocorrelation used to widen the interval, and the widening factor. */
  autocorrelation?: number;
  inflation?: number;
  /** Fewer samples than minSamples: no verdict. */
  tooFewSamples: boolean;
  /** Why the verdict is inconclusive, in words. */
  reason?: string;
  /** Samples (pairs) a side that would likely decide an inconclusive verdict, from the current spread. */
  samplesToDecide?: number;
}

const DEFAULT_ALPHA = 0.025;

/** "95 %", "99.5 %": a coverage without spurious digits. */
export function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(fraction > 0.99 ? 2 : 1))} %`;
}

/** Inverse standard normal CDF (Acklam's rational approximation, |relative error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** ln Γ(x) (Lanczos, g = 7, n = 9; |relative error| < 1e-14 for x > 0). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The regularized incomplete beta I_x(a, b) by its continued fraction (Lentz; Numerical Recipes §6.4). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const tiny = 1e-300;
  let f = 1;
  let c = 1;
  let d = 0;
  for (let m = 0; m <= 500; m++) {
    for (const even of [true, false]) {
      let num: number;
      if (m === 0 && even) num = 1;
      else if (even) num = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
      else num = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
      d = 1 + num * d;
      if (Math.abs(d) < tiny) d = tiny;
      d = 1 / d;
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      const cd = c * d;
      f *= cd;
      if (Math.abs(1 - cd) < 1e-15) return (front * (f - 1)) / a;
    }
  }
  return (front * (f - 1)) / a;
}

/** Student-t CDF P(T ≤ t) with df degrees of freedom (exact, via the incomplete beta). */
export function tCdf(t: number, df: number): number {
  if (!Number.isFinite(df) || df > 1e7) return normalCdf(t);
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * Student-t quantile: exact to 1e-12 (the t CDF inverted by bisection then Newton steps), for
 * any df ≥ 1. (An earlier series approximation was 11 % low at df = 1.)
 */
export function tQuantile(p: number, df: number): number {
  if (!Number.isFinite(df) || df > 1e7) return normalQuantile(p);
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  if (p < 0.5) return -tQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

const cdfCache = new Map<string, Float64Array>();
function cached(key: string, make: () => Float64Array): Float64Array {
  let hit = cdfCache.get(key);
  if (!hit) {
    if (cdfCache.size > 256) cdfCache.clear();
    hit = make();
    cdfCache.set(key, hit);
  }
  return hit;
}

/** P(U ≤ u) for every u of the Mann-Whitney statistic with sizes m, n (no ties), exact. */
function mannWhitneyCdf(m: number, n: number): Float64Array {
  return cached(`mw${m},${n}`, () => mannWhitneyCdfUncached(m, n));
}

function mannWhitneyCdfUncached(m: number, n: number): Float64Array {
  // p[j][u] for the current i: probability that U = u with i values of one side and j of the other.
  let prev: Float64Array[] = Array.from({ length: n + 1 }, () => Float64Array.of(1));
  for (let i = 1; i <= m; i++) {
    const cur: Float64Array[] = [Float64Array.of(1)];
    for (let j = 1; j <= n; j++) {
      const out = new Float64Array(i * j + 1);
      const a = prev[j]!; // largest value from the i-side: adds j
      const b = cur[j - 1]!; // largest value from the j-side: adds 0
      const wa = i / (i + j);
      const wb = j / (i + j);
      for (let u = 0; u < a.length; u++) out[u + j]! += wa * a[u]!;
      for (let u = 0; u < b.length; u++) out[u]! += wb * b[u]!;
      cur.push(out);
    }
    prev = cur;
  }
  const pmf = prev[n]!;
  const cdf = new Float64Array(pmf.length);
  let s = 0;
  for (let u = 0; u < pmf.length; u++) cdf[u] = s += pmf[u]!;
  return cdf;
}

/** P(T ≤ t) for every t of the Wilcoxon signed-rank statistic with n pairs (no ties), exact. */
function signedRankCdf(n: number): Float64Array {
  return cached(`sr${n}`, () => signedRankCdfUncached(n));
}

function signedRankCdfUncached(n: number): Float64Array {
  const max = (n * (n + 1)) / 2;
  let p = new Float64Array(max + 1);
  p[0] = 1;
  for (let i = 1; i <= n; i++) {
    const next = new Float64Array(max + 1);
    for (let t = 0; t <= max; t++) {
      const v = p[t]!;
      if (v === 0) continue;
      next[t]! += v / 2;
      if (t + i <= max) next[t + i]! += v / 2;
    }
    p = next;
  }
  let s = 0;
  for (let t = 0; t <= max; t++) p[t] = s += p[t]!;
  return p;
}

/**
 * The order-statistic index k (1-based) of a distribution-free interval: the largest k with
 * P(S ≤ k − 1) ≤ alpha for the null distribution of a statistic on 0..max. 0 when even the
 * most extreme value is too likely (too few samples for this alpha).
 */
function criticalIndex(
  cdf: Float64Array | undefined,
  max: number,
  mean: number,
  sd: number,
  alpha: number,
): number {
  if (cdf) {
    let k = 0;
    while (k <= max && cdf[k]! <= alpha) k++;
    return k;
  }
  // Normal approximation with continuity correction for large samples.
  return Math.max(0, Math.floor(mean - normalQuantile(1 - alpha) * sd + 0.5));
}

/** Evenly spaced order statistics: at most `max` values carrying the same distribution. */
function thin(xs: readonly number[], max: number): number[] {
  if (xs.length <= max) return [...xs];
  const s = Float64Array.from(xs).sort();
  return Array.from({ length: max }, (_, i) => quantileSorted(s, (i + 0.5) / max));
}

/**
 * Lag-1 autocorrelation of one or more series, each centred on its mean (a median centre reads
 * skewed independent samples, such as bimodal GPU clocks, as correlated), corrected for its
 * small-sample bias under AR(1), E[ρ̂] ≈ ρ − (1 + 4ρ)/n (Kendall 1954; Marriott & Pope 1954),
 * and clamped to [0, 0.9]: only positive correlation narrows an interval wrongly.
 */
export function lag1Autocorrelation(series: ReadonlyArray<readonly number[]>): number {
  let num = 0;
  let den = 0;
  let n = 0;
  for (const s of series) {
    if (s.length < 3) continue;
    let c = 0;
    for (const x of s) c += x;
    c /= s.length;
    for (let i = 0; i < s.length; i++) {
      den += (s[i]! - c) ** 2;
      if (i + 1 < s.length) num += (s[i]! - c) * (s[i + 1]! - c);
    }
    n += s.length;
  }
  if (den === 0 || n === 0) return 0;
  const perSeries = n / series.filter((s) => s.length >= 3).length;
  const raw = num / den;
  return Math.min(0.9, Math.max(0, raw + (1 + 4 * raw) / perSeries));
}

/** Interval widening for a lag-1 autocorrelation rho under an AR(1) model: sqrt((1+ρ)/(1−ρ)). */
export const ar1Inflation = (rho: number) => Math.sqrt((1 + rho) / (1 - rho));

/**
 * The serial correlation to correct for, or 0: only from at least 20 values, and only when the
 * bias-corrected estimate is significant at 5 % one-sided (ρ̂ > 1.645/√n, Bartlett's standard
 * error of ρ̂ under independence). Half of all independent histories would otherwise be widened
 * by noise in ρ̂ (sd ≈ 0.26 at n = 15).
 */
export function significantAutocorrelation(series: ReadonlyArray<readonly number[]>): number {
  const usable = series.filter((s) => s.length >= 3);
  const n = usable.reduce((a, s) => a + s.length, 0);
  if (n < 20) return 0;
  const rho = lag1Autocorrelation(usable);
  return rho > 1.645 / Math.sqrt(n) ? rho : 0;
}

interface Interval {
  est: number;
  low: number;
  high: number;
  method: string;
  /**
   * The end itself is outside the confidence set, only values beyond it are in (tied samples:
   * the test rejects at the candidate shift but not just past it).
   */
  lowOpen?: boolean;
  highOpen?: boolean;
  halfWidthPerRootN?: number;
  /** P(statistic ≥ observed) for "sign·(change) > shift", exact or normal. */
  pAt(sign: 1 | -1, shift: number): number;
}

/**
 * Estimate, interval and p from sorted candidate values (pairwise differences or Walsh averages)
 * whose positive count is a rank statistic with null distribution `exact` (or normal with mean
 * `count / 2` and `sd`): the Hodges-Lehmann median, the order-statistic interval, and
 * P(statistic ≥ observed), using the symmetry of the null distribution. A p-value at a shift
 * that ties with a candidate (a tie or a zero at that shift) comes from `tiedAt`, the
 * distribution given the ties.
 */
function rankInterval(
  sorted: Float64Array,
  exact: Float64Array | undefined,
  sd: number,
  alpha: number,
  method: string,
  tiedAt: (sign: 1 | -1, shift: number) => number,
): Interval {
  const count = sorted.length;
  const idx = criticalIndex(exact, count, count / 2, sd, alpha);
  const pAt = (sign: 1 | -1, shift: number): number => {
    // The count of candidates beyond the shift in the given direction (ties count a half), and
    // P(S ≥ that count) = P(S ≤ count − observed) by the symmetry of the null distribution.
    let positive = 0;
    let tied = false;
    for (let i = 0; i < count; i++) {
      const v = sign * sorted[i]! - shift;
      if (v > TIE_TOL) positive += 1;
      else if (v >= -TIE_TOL) {
        positive += 0.5;
        tied = true;
      }
    }
    if (tied) return tiedAt(sign, shift);
    const p = exact
      ? exact[Math.min(count, Math.max(0, Math.floor(count - positive)))]!
      : 1 - normalCdf((positive - count / 2 - 0.5) / sd);
    return Math.min(1, Math.max(0, p));
  };
  return {
    est: quantileSorted(sorted, 0.5),
    low: idx >= 1 ? sorted[idx - 1]! : Number.NEGATIVE_INFINITY,
    high: idx >= 1 ? sorted[count - idx]! : Number.POSITIVE_INFINITY,
    method,
    pAt,
  };
}

/** Whether sorted values hold two equal ones. */
function hasTies(values: readonly number[]): boolean {
  const s = Float64Array.from(values).sort();
  for (let i = 1; i < s.length; i++) if (s[i] === s[i - 1]) return true;
  return false;
}

/**
 * Hodges-Lehmann shift of y over x with the Moses distribution-free interval (Mann-Whitney);
 * when a sample has tied values, the Mann-Whitney test with ties inverted instead.
 */
function unpairedInterval(x: readonly number[], y: readonly number[], alpha: number): Interval {
  const xs = thin(x, 500);
  const ys = thin(y, 500);
  const m = xs.length;
  const n = ys.length;
  const diffs = new Float64Array(m * n);
  let k = 0;
  for (const b of xs) for (const h of ys) diffs[k++] = h - b;
  diffs.sort();
  const method = "Hodges-Lehmann shift with the Moses (Mann-Whitney) interval on log values";
  if (hasTies(xs) || hasTies(ys)) return unpairedTiedInterval(xs, ys, diffs, alpha, method);
  const tiedAt = (sign: 1 | -1, shift: number) => {
    const t = tiedMannWhitneyTails(
      tally(Float64Array.from(xs).sort()),
      tally(Float64Array.from(ys).sort()),
      m,
      n,
      sign * shift,
      unpairedTiedExact(m, n),
    );
    return Math.min(1, Math.max(0, sign === 1 ? t.upper : t.lower));
  };
  return rankInterval(
    diffs,
    m * n <= 2500 ? mannWhitneyCdf(m, n) : undefined,
    Math.sqrt((m * n * (m + n + 1)) / 12),
    alpha,
    method,
    tiedAt,
  );
}

/**
 * Hodges-Lehmann pseudo-median of d with the Wilcoxon signed-rank interval (Walsh averages);
 * when differences are tied, the signed-rank test with ties and zeros inverted instead.
 */
function pairedInterval(d: readonly number[], alpha: number): Interval {
  const ds = d.length > 2000 ? thin(d, 2000) : [...d];
  const n = ds.length;
  const walsh = new Float64Array((n * (n + 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) walsh[k++] = (ds[i]! + ds[j]!) / 2;
  walsh.sort();
  const method = "paired: Hodges-Lehmann with the Wilcoxon signed-rank interval on within-round log ratios";
  if (hasTies(ds)) return pairedTiedInterval(ds, walsh, alpha, method);
  const tiedAt = (sign: 1 | -1, shift: number) => {
    const t = tiedSignedRankTails(ds, sign * shift, pairedTiedExact(n));
    return Math.min(1, Math.max(0, sign === 1 ? t.upper : t.lower));
  };
  return rankInterval(
    walsh,
    n <= 200 ? signedRankCdf(n) : undefined,
    Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24),
    alpha,
    method,
    tiedAt,
  );
}

// ---------------------------------------------------------------------------------------------
// Ties. A coarse timer records few distinct values, so many are tied; the null distributions
// above assume none and are then conservative (an interval too wide to decide). With ties the
// tests below use the exact permutation distribution conditional on the observed tie pattern,
// with mid-ranks (Hollander & Wolfe, Nonparametric Statistical Methods, 3rd ed. 2014, §3.1 and
// §4.1 "ties"; computed by a shift-algorithm style recursion over tied groups, Streitberg &
// Röhmel 1986), and the interval by inverting the test over every candidate shift, each shift
// re-ranked with its own ties. Samples without ties keep the order-statistic intervals above
// (identical results); beyond the exact sizes, a normal approximation with the tie-corrected
// variance.

/** Absolute tolerance on log values under which two values (or a value and a shift) are tied. */
const TIE_TOL = 1e-12;

/** C(t, j) for j = 0..t as doubles (exact up to 2^53, then rounded; t ≤ 1000 here). */
function binomialRow(t: number): Float64Array {
  const row = new Float64Array(t + 1);
  row[0] = 1;
  for (let j = 1; j <= t; j++) row[j] = (row[j - 1]! * (t - j + 1)) / j;
  return row;
}

/**
 * The exact null distribution of 2U, the doubled Mann-Whitney statistic with mid-ranks (ties
 * count a half), for `n` values drawn without replacement from pooled groups of tied values of
 * the given sizes in ascending order: P(2U = u) for u = 0..2·n·(N − n). A recursion over the
 * groups on (values chosen so far, partial rank sum): a group of t values of which j are chosen
 * adds j mid-ranks with weight C(t, j) (Streitberg & Röhmel 1986's shift algorithm, grouped).
 */
export function tiedMannWhitneyPmf(sizes: readonly number[], n: number): Float64Array {
  return cached(`mwt${n}:${sizes.join(",")}`, () => {
    const N = sizes.reduce((a, b) => a + b, 0);
    const m = N - n;
    const width = 2 * m * n + 1;
    // f[k][s]: weight of k chosen among the groups so far with 2·(rank sum) − k(k+1) = s.
    const f: Float64Array[] = Array.from({ length: n + 1 }, () => new Float64Array(width));
    f[0]![0] = 1;
    let c = 0;
    for (const t of sizes) {
      const binom = binomialRow(t);
      const kMin = Math.max(0, n - (N - c));
      for (let k = Math.min(n, c); k >= kMin; k--) {
        const src = f[k]!;
        const sMax = Math.min(width - 1, 2 * k * (c - k));
        for (let j = Math.min(t, n - k); j >= 1; j--) {
          const dst = f[k + j]!;
          const w = binom[j]!;
          const step = j * (2 * c + t - 2 * k - j);
          for (let s = 0; s <= sMax; s++) {
            const v = src[s]!;
            if (v !== 0) dst[s + step]! += w * v;
          }
        }
      }
      c += t;
    }
    const pmf = f[n]!;
    let total = 0;
    for (let u = 0; u < width; u++) total += pmf[u]!;
    for (let u = 0; u < width; u++) pmf[u] = pmf[u]! / total;
    return pmf;
  });
}

/**
 * The exact null distribution of 2T⁺, the doubled Wilcoxon signed-rank statistic with mid-ranks
 * and zeros handled per Pratt (1959) — zeros are ranked with the rest, then carry no sign —
 * given the nonzero tied groups (sizes and doubled mid-ranks): each nonzero value is positive or
 * negative with probability ½. P(2T⁺ = s) for s = 0..Σ t·r2.
 */
export function tiedSignedRankPmf(sizes: readonly number[], doubledRanks: readonly number[]): Float64Array {
  return cached(`srt${sizes.join(",")}:${doubledRanks.join(",")}`, () => {
    let max = 0;
    for (let g = 0; g < sizes.length; g++) max += sizes[g]! * doubledRanks[g]!;
    let p = new Float64Array(max + 1);
    p[0] = 1;
    let reach = 0;
    for (let g = 0; g < sizes.length; g++) {
      const t = sizes[g]!;
      const r2 = doubledRanks[g]!;
      const binom = binomialRow(t);
      const scale = 2 ** -t;
      const next = new Float64Array(max + 1);
      for (let s = 0; s <= reach; s++) {
        const v = p[s]!;
        if (v === 0) continue;
        for (let j = 0; j <= t; j++) next[s + j * r2]! += v * binom[j]! * scale;
      }
      reach += t * r2;
      p = next;
    }
    return p;
  });
}

/** Distinct sorted values and how often each occurs (exact equality: the values as recorded). */
function tally(sortedValues: ArrayLike<number>): { values: number[]; counts: number[] } {
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sortedValues.length; i++) {
    const v = sortedValues[i]!;
    if (values.length > 0 && v === values[values.length - 1]) counts[counts.length - 1]!++;
    else {
      values.push(v);
      counts.push(1);
    }
  }
  return { values, counts };
}

/** Number of groups of two or more equal values. */
const tiedGroups = (counts: readonly number[]) => counts.filter((c) => c > 1).length;

/** Sorted distinct values, merging neighbours closer than the tie tolerance. */
function distinctSorted(sorted: Float64Array): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < sorted.length; i++)
    if (out.length === 0 || sorted[i]! - out[out.length - 1]! > TIE_TOL) out.push(sorted[i]!);
  return Float64Array.from(out);
}

/**
 * A test's tail probabilities at a shift, from its exact or approximate conditional
 * distribution: P(S ≥ observed) and P(S ≤ observed).
 */
interface Tails {
  upper: number;
  lower: number;
}

function pmfTails(pmf: Float64Array, observed: number): Tails {
  let upper = 0;
  let lower = 0;
  for (let u = 0; u < pmf.length; u++) {
    if (u >= observed - 1e-9) upper += pmf[u]!;
    if (u <= observed + 1e-9) lower += pmf[u]!;
  }
  return { upper: Math.min(1, upper), lower: Math.min(1, lower) };
}

function normalTails(observed: number, mean: number, sd: number, correction: number): Tails {
  if (!(sd > 0)) return { upper: observed <= mean + 1e-9 ? 1 : 0, lower: observed >= mean - 1e-9 ? 1 : 0 };
  return {
    upper: 1 - normalCdf((observed - mean - correction) / sd),
    lower: normalCdf((observed - mean + correction) / sd),
  };
}

/**
 * The interval of a shift by test inversion over the candidate shifts: the distinct values of
 * `sortedCandidates` (pairwise differences or Walsh averages, where the statistic steps) and the
 * open stretches between them. The low end is the first candidate the upper-tail test does not
 * reject at alpha, the high end the last one the lower-tail test does not reject; each is found
 * by bisection (the statistic steps down as the shift grows).
 */
function invertTest(
  sortedCandidates: Float64Array,
  tails: (shift: number) => Tails,
  alpha: number,
): { low: number; high: number; lowOpen: boolean; highOpen: boolean } {
  const d = distinctSorted(sortedCandidates);
  const K = d.length;
  // Region r of 0..2K: even r is the open stretch below d[r/2] (above d[K−1] for r = 2K), odd r
  // is d[(r−1)/2] itself.
  const at = (r: number): number => {
    if (r % 2 === 1) return d[(r - 1) / 2]!;
    if (r === 0) return d[0]! - 1;
    if (r === 2 * K) return d[K - 1]! + 1;
    return (d[r / 2 - 1]! + d[r / 2]!) / 2;
  };
  const memo = new Map<number, Tails>();
  const t = (r: number) => {
    let hit = memo.get(r);
    if (!hit) {
      hit = tails(at(r));
      memo.set(r, hit);
    }
    return hit;
  };
  // First region not rejected by the upper tail (the statistic falls as r grows).
  let lo = 0;
  let hi = 2 * K;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t(mid).upper > alpha) hi = mid;
    else lo = mid + 1;
  }
  const low = lo % 2 === 1 ? d[(lo - 1) / 2]! : lo === 0 ? Number.NEGATIVE_INFINITY : d[lo / 2 - 1]!;
  // An even region is an open stretch: its lower end, a candidate shift, was rejected.
  const lowOpen = lo % 2 === 0 && lo > 0;
  // Last region not rejected by the lower tail.
  lo = 0;
  hi = 2 * K;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (t(mid).lower > alpha) lo = mid;
    else hi = mid - 1;
  }
  const high = lo % 2 === 1 ? d[(lo - 1) / 2]! : lo === 2 * K ? Number.POSITIVE_INFINITY : d[lo / 2]!;
  return { low, high, lowOpen, highOpen: lo % 2 === 0 && lo < 2 * K };
}

/**
 * Mann-Whitney with ties, head shifted by `shift` against base (log values, each sorted): the
 * pooled tied groups, the observed doubled statistic 2U (pairs with head − shift above base,
 * ties a half), and its tails, exact when the work allows, else normal with the tie-corrected
 * variance mn/12·(N + 1 − Σ(t³ − t)/(N(N − 1))) (Hollander & Wolfe §4.1).
 */
function tiedMannWhitneyTails(
  base: { values: number[]; counts: number[] },
  head: { values: number[]; counts: number[] },
  m: number,
  n: number,
  shift: number,
  exact: boolean,
): Tails {
  const sizes: number[] = [];
  let twoU = 0;
  let baseBelow = 0;
  let i = 0;
  let j = 0;
  while (i < base.values.length || j < head.values.length) {
    // Which comes first: the next base value (c > 0), the next shifted head value, or both tied.
    let c: number;
    if (i >= base.values.length) c = -1;
    else if (j >= head.values.length) c = 1;
    else c = head.values[j]! - base.values[i]! - shift;
    if (c > TIE_TOL) {
      sizes.push(base.counts[i]!);
      baseBelow += base.counts[i++]!;
    } else if (c < -TIE_TOL) {
      const k = head.counts[j++]!;
      sizes.push(k);
      twoU += k * 2 * baseBelow;
    } else {
      const b = base.counts[i++]!;
      const k = head.counts[j++]!;
      sizes.push(b + k);
      twoU += k * (2 * baseBelow + b);
      baseBelow += b;
    }
  }
  if (exact) {
    // Choose the smaller side: its 2U mirrors the other's (2U_base = 2mn − 2U_head).
    if (n <= m) return pmfTails(tiedMannWhitneyPmf(sizes, n), twoU);
    const t = pmfTails(tiedMannWhitneyPmf(sizes, m), 2 * m * n - twoU);
    return { upper: t.lower, lower: t.upper };
  }
  const N = m + n;
  let ties = 0;
  for (const t of sizes) ties += t ** 3 - t;
  const variance = ((m * n) / 12) * (N + 1 - ties / (N * (N - 1)));
  return normalTails(twoU, m * n, 2 * Math.sqrt(Math.max(0, variance)), 1);
}

/**
 * Wilcoxon signed-rank with ties and zeros (Pratt 1959) for the differences minus `shift`: mid-
 * ranks of |d − shift| over all values, zeros included, then the sum of the positive ones' ranks
 * (doubled), and its tails given the tie pattern — exact, or normal with mean Σr/2 and variance
 * Σr²/4 over the nonzero ranks (Hollander & Wolfe §3.1, comment on ties and zeros).
 */
function tiedSignedRankTails(d: readonly number[], shift: number, exact: boolean): Tails {
  const z = d.map((v) => v - shift).sort((a, b) => Math.abs(a) - Math.abs(b));
  const sizes: number[] = [];
  const r2: number[] = [];
  let observed = 0;
  let mean = 0;
  let variance = 0;
  let i = 0;
  while (i < z.length) {
    let j = i + 1;
    while (j < z.length && Math.abs(z[j]!) - Math.abs(z[i]!) <= TIE_TOL) j++;
    const t = j - i;
    const rank2 = 2 * i + t + 1; // doubled mid-rank of ranks i+1..j
    if (Math.abs(z[i]!) > TIE_TOL) {
      sizes.push(t);
      r2.push(rank2);
      for (let k = i; k < j; k++) if (z[k]! > 0) observed += rank2;
      mean += (t * rank2) / 2;
      variance += (t * rank2 * rank2) / 4;
    }
    i = j;
  }
  if (exact) return pmfTails(tiedSignedRankPmf(sizes, r2), observed);
  return normalTails(observed, mean, Math.sqrt(variance), 1);
}

/**
 * Whether the tied exact distribution is used for an unpaired interval of m and n values: at
 * the sizes the untied one is (m·n ≤ 2500). Each candidate shift the inversion tries costs a
 * recursion of about (m + n)·min(m, n)·m·n steps: ≤ 0.2 s a verdict at 50 a side, 0.4–3 s at
 * 100 (bench/RESULTS.md); beyond, the normal approximation with the tie-corrected variance.
 */
function unpairedTiedExact(m: number, n: number): boolean {
  return m * n <= 2500;
}

/** Whether the tied exact distribution is used for n paired differences: n ≤ 200, as untied. */
function pairedTiedExact(n: number): boolean {
  return n <= 200;
}

/**
 * The unpaired interval when a sample has tied values: the same Hodges-Lehmann estimate, and
 * the Mann-Whitney test with ties inverted over the candidate shifts (module comment above).
 */
function unpairedTiedInterval(
  xs: readonly number[],
  ys: readonly number[],
  diffs: Float64Array,
  alpha: number,
  method: string,
): Interval {
  const m = xs.length;
  const n = ys.length;
  const base = tally(Float64Array.from(xs).sort());
  const head = tally(Float64Array.from(ys).sort());
  const pooled = tally(Float64Array.from([...xs, ...ys]).sort());
  const exact = unpairedTiedExact(m, n);
  const tails = (shift: number) => tiedMannWhitneyTails(base, head, m, n, shift, exact);
  const { low, high, lowOpen, highOpen } = invertTest(diffs, tails, alpha);
  const groups = tiedGroups(pooled.counts);
  return {
    est: quantileSorted(diffs, 0.5),
    low,
    high,
    lowOpen,
    highOpen,
    method: `${method}, ${exact ? "exact with ties" : "normal approximation with tie-corrected variance"} (${groups} tied group${groups === 1 ? "" : "s"})`,
    pAt: (sign, shift) => {
      const t = tails(sign * shift);
      return Math.min(1, Math.max(0, sign === 1 ? t.upper : t.lower));
    },
  };
}

/**
 * The paired interval when the within-pair differences have ties (a coarse timer: equal
 * differences, and zeros where both sides read the same): the same Hodges-Lehmann estimate, and
 * the signed-rank test with ties and zeros (Pratt 1959) inverted over the candidate shifts.
 */
function pairedTiedInterval(
  ds: readonly number[],
  walsh: Float64Array,
  alpha: number,
  method: string,
): Interval {
  const exact = pairedTiedExact(ds.length);
  const tails = (shift: number) => tiedSignedRankTails(ds, shift, exact);
  const { low, high, lowOpen, highOpen } = invertTest(walsh, tails, alpha);
  const groups = tiedGroups(tally(Float64Array.from(ds, Math.abs).sort()).counts);
  return {
    est: quantileSorted(walsh, 0.5),
    low,
    high,
    lowOpen,
    highOpen,
    method: `${method}, ${exact ? "exact with ties" : "normal approximation with tie-corrected variance"} (${groups} tied group${groups === 1 ? "" : "s"}; zeros per Pratt)`,
    pAt: (sign, shift) => {
      const t = tails(sign * shift);
      return Math.min(1, Math.max(0, sign === 1 ? t.upper : t.lower));
    },
  };
}

/** The margin on the log scale in the "worse" direction: log(1 + m) for smaller, −log(1 − m) for bigger. */
function logMargin(direction: "smaller" | "bigger", maxRegression: number): number {
  return direction === "smaller" ? Math.log1p(maxRegression) : -Math.log1p(-Math.min(maxRegression, 0.999));
}

/**
 * Classify an interval [low, high] of the log change in the "worse" direction against the
 * margin: regressed when all of it is beyond +margin, improved when all of it is beyond
 * −margin, unchanged when all of it is within ±margin, inconclusive otherwise. An open end
 * (the tied rank tests' interval, whose end value itself was rejected) lies beyond a margin it
 * sits on.
 */
function classify(
  low: number,
  high: number,
  margin: number,
  open: { low?: boolean; high?: boolean } = {},
): VerdictOutcome {
  // A tolerance at the margin: an interval that ends exactly on it (log(21/20) against a 5 %
  // margin, a coarse timer's one tick) is not beyond it, unless that end is open.
  const tol = 1e-9 * Math.max(1, Math.abs(margin));
  const above = (x: number, at: number, isOpen?: boolean) => x > at + tol || (!!isOpen && x >= at - tol);
  const below = (x: number, at: number, isOpen?: boolean) => x < at - tol || (!!isOpen && x <= at + tol);
  if (above(low, margin, open.low)) return "regressed";
  if (below(high, -margin, open.high)) return "improved";
  if (below(high, margin, open.high) && above(low, -margin, open.low)) return "unchanged";
  return "inconclusive";
}

/** Samples a side that would likely shrink the interval enough to decide, from its width now. */
function samplesToDecide(
  est: number,
  low: number,
  high: number,
  margin: number,
  n: number,
): number | undefined {
  if (!Number.isFinite(low) || !Number.isFinite(high)) return undefined;
  const half = (high - low) / 2;
  // The nearest boundary the estimate could be decided against.
  const distance = Math.min(Math.abs(est - margin), Math.abs(est + margin));
  if (distance < 1e-12 || half <= 0) return undefined;
  const need = Math.ceil(n * (half / distance) ** 2);
  return need > n ? need : n + 1;
}

/**
 * Did head get worse than base? One pure function behind every comparison gpuci makes
 * (`baseline:` gates, the kernels' A/B, `gpuci ab`). On log values it estimates the change
 * with Hodges-Lehmann and a distribution-free interval — the Wilcoxon signed-rank interval of
 * within-pair changes when `paired`, else the Moses (Mann-Whitney) interval — widened for
 * estimated serial correlation, and answers with four outcomes against the margin:
 * regressed (the whole interval is worse than maxRegression), unchanged (the whole interval
 * is within ±maxRegression), improved, or inconclusive.
 */
export function regressionVerdict(
  base: readonly number[],
  head: readonly number[],
  opts: VerdictOptions,
): Verdict {
  const alpha = opts.alpha ?? DEFAULT_ALPHA;
  const confidence = 1 - 2 * alpha;
  // Paired: the signed-rank interval exists only from log₂(1/alpha) pairs (6 at 95 %).
  const minSamples = opts.minSamples ?? (opts.paired ? Math.max(5, minPairedRounds(alpha)) : 5);
  const nBase = base.length;
  const nHead = head.length;
  const s = opts.direction === "smaller" ? 1 : -1;
  const pointRatio = median(head) / median(base);
  const common = { confidence, nBase, nHead, ...(opts.levelLabel ? { levelLabel: opts.levelLabel } : {}) };
  const level = opts.levelLabel ?? formatPercent(confidence);
  const fallback = (reason: string, tooFew = false): Verdict => ({
    verdict: "inconclusive",
    regression: false,
    ratio: pointRatio,
    worseBy: s * (pointRatio - 1),
    method: opts.paired ? "paired rounds" : "two samples",
    tooFewSamples: tooFew,
    reason,
    ...common,
  });
  if (opts.paired && nBase !== nHead)
    return fallback(`paired samples need as many base as head values (have ${nBase} and ${nHead})`);
  if (nBase < minSamples || nHead < minSamples)
    return fallback(
      `too few samples for a verdict: need ≥ ${minSamples} ${opts.paired ? "rounds" : "a side"} (have ${nBase} and ${nHead})`,
      true,
    );
  if ([...base, ...head].some((v) => !(v > 0) || !Number.isFinite(v)))
    return fallback("a ratio needs positive, finite values on both sides");

  const lb = base.map(Math.log);
  const lh = head.map(Math.log);
  const interval = opts.paired
    ? pairedInterval(
        lh.map((h, i) => h - lb[i]!),
        alpha,
      )
    : unpairedInterval(lb, lh, alpha);
  let rho = 0;
  if ((opts.autocorrelation ?? "estimate") === "estimate")
    rho = opts.paired
      ? significantAutocorrelation([lh.map((h, i) => h - lb[i]!)])
      : significantAutocorrelation([lb, lh]);
  const inflation = ar1Inflation(rho);
  const low = interval.est - inflation * (interval.est - interval.low);
  const high = interval.est + inflation * (interval.high - interval.est);

  // In the "worse" direction: for bigger-is-better a falling ratio is worse.
  const margin = logMargin(opts.direction, opts.maxRegression);
  const wLow = s === 1 ? low : -high;
  const wHigh = s === 1 ? high : -low;
  const wEst = s * interval.est;
  // Open ends (tied samples) stay open only where the interval was not widened.
  const lowOpen = inflation === 1 && !!interval.lowOpen;
  const highOpen = inflation === 1 && !!interval.highOpen;
  const verdict = classify(
    wLow,
    wHigh,
    margin,
    s === 1 ? { low: lowOpen, high: highOpen } : { low: highOpen, high: lowOpen },
  );
  const ratio = Math.exp(interval.est);
  const finite = Number.isFinite(low) && Number.isFinite(high);
  const n = opts.paired ? nBase : Math.min(nBase, nHead);
  const more = verdict === "inconclusive" ? samplesToDecide(wEst, wLow, wHigh, margin, n) : undefined;
  // Both p-values in the "worse" direction: for bigger-is-better a falling value is worse.
  const p = interval.pAt(s, 0);
  // Against the margin: a distribution-free p-value, widened like the interval when the samples
  // are serially correlated (the shift is scaled back by the inflation).
  const pMargin = interval.pAt(s, inflation > 1 ? wEst - (wEst - margin) / inflation : margin);
  return {
    verdict,
    regression: verdict === "regressed",
    ratio,
    ...(finite
      ? {
          ci: {
            low: Math.exp(low),
            high: Math.exp(high),
            ...(lowOpen ? { lowOpen } : {}),
            ...(highOpen ? { highOpen } : {}),
          },
        }
      : {}),
    worseBy: s * (ratio - 1),
    p,
    pMargin,
    pMoved: Math.min(1, 2 * Math.min(pMargin, interval.pAt(-s as 1 | -1, margin))),
    method:
      interval.method +
      (rho > 0 ? `, widened ×${inflation.toFixed(2)} for lag-1 autocorrelation ${rho.toFixed(2)}` : ""),
    autocorrelation: rho,
    inflation,
    tooFewSamples: false,
    ...(verdict === "inconclusive"
      ? {
          reason: finite
            ? `the ${level} interval reaches both sides of a ${(opts.maxRegression * 100).toFixed(1)} % change`
            : `${n} samples are too few for a ${level} distribution-free interval`,
        }
      : {}),
    ...(more ? { samplesToDecide: more } : {}),
    ...common,
  };
}

/**
 * The resolution the values were recorded at: the tick of a quantized timer (every value a whole
 * multiple of the smallest gap between distinct values), else the last decimal place the values
 * are written with. Undefined when the values say nothing (one value with full float precision).
 */
export function valueResolution(values: readonly number[]): number | undefined {
  const finite = values.filter((v) => Number.isFinite(v) && v > 0);
  if (finite.length === 0) return undefined;
  const distinct = [...new Set(finite)].sort((a, b) => a - b);
  let tick: number | undefined;
  if (distinct.length >= 2) {
    let g = Number.POSITIVE_INFINITY;
    for (let i = 1; i < distinct.length; i++) g = Math.min(g, distinct[i]! - distinct[i - 1]!);
    if (g > 0 && distinct.every((v) => Math.abs(v / g - Math.round(v / g)) < 1e-6)) tick = g;
  }
  // Decimal places as written: "20.5" → 0.1, "4.05e-5" → 1e-7; 15+ significant digits say nothing.
  let unit = 0;
  for (const v of finite) {
    const m = /^(\d+)(?:\.(\d+))?(?:e([-+]\d+))?$/.exec(String(v));
    if (!m) continue;
    const digits = (m[1]!.replace(/^0+/, "") + (m[2] ?? "")).replace(/^0+/, "").length;
    if (digits >= 15) continue;
    const exp = Number(m[3] ?? 0) - (m[2]?.length ?? 0);
    unit = Math.max(unit, 10 ** exp);
  }
  const r = Math.max(tick ?? 0, unit);
  return r > 0 ? r : undefined;
}

/**
 * Judge one head value against a series of earlier base-branch values (one number a run): the
 * exact Student-t prediction interval for a new run's log value (Hahn & Meeker, Statistical
 * Intervals, 1991, §4.6), classified against the margin like {@link regressionVerdict}.
 *
 * Two corrections, each said in the verdict's method when it applies: serial correlation inflates
 * only the variance of the series' mean (the 1/n term: sd·√(1 + f/n), f = (1+ρ)/(1−ρ)), and only
 * when ρ is significant and estimated from 20 or more results; and the spread has a floor of the
 * recording resolution's quantization noise, q/√12 (Sheppard 1898), so a series of identical
 * values (a zero-variance history) or a coarse timer never gives a zero-width interval.
 */
export function seriesVerdict(
  series: readonly number[],
  headValue: number | readonly number[],
  opts: Omit<VerdictOptions, "paired">,
): Verdict {
  // Several head values (the run and its confirming re-runs) are judged by their median, whose
  // variance is a fraction of one value's: 1/2 for two, 0.449 for three (the median of three
  // normal values, Tukey 1977), about π/(2k) beyond; one outlier among three never decides.
  const heads = typeof headValue === "number" ? [headValue] : [...headValue];
  const head = median(heads);
  const k = heads.length;
  const headVariance = k === 1 ? 1 : k === 2 ? 0.5 : k === 3 ? 0.4487 : Math.PI / (2 * k);
  const alpha = opts.alpha ?? DEFAULT_ALPHA;
  const confidence = 1 - 2 * alpha;
  const minSamples = opts.minSamples ?? 5;
  const s = opts.direction === "smaller" ? 1 : -1;
  const n = series.length;
  const base = {
    confidence,
    nBase: n,
    nHead: k,
    method:
      k === 1
        ? "Student-t prediction interval of a new run against the base-branch series (log values)"
        : `Student-t prediction interval of the median of ${k} runs (this one and ${k - 1} confirming) against the base-branch series (log values)`,
  };
  const pointRatio = head / median(series);
  if (n < minSamples)
    return {
      ...base,
      verdict: "inconclusive",
      regression: false,
      ratio: pointRatio,
      worseBy: s * (pointRatio - 1),
      tooFewSamples: true,
      reason: `too few base-branch results for a verdict: need ≥ ${minSamples} (have ${n})`,
    };
  if (
    heads.some((h) => !(h > 0) || !Number.isFinite(h)) ||
    series.some((v) => !(v > 0) || !Number.isFinite(v))
  )
    return {
      ...base,
      verdict: "inconclusive",
      regression: false,
      ratio: pointRatio,
      worseBy: s * (pointRatio - 1),
      tooFewSamples: false,
      reason: "a ratio needs positive, finite values",
    };
  const logs = series.map(Math.log);
  const mean = logs.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const notes: string[] = [];
  // The floor: quantization noise of the resolution, relative to the level (log scale).
  const q = valueResolution([...series, ...heads]);
  const floor = q !== undefined ? q / Math.sqrt(12) / Math.exp(mean) : 0;
  const spread = Math.max(sd, floor);
  if (floor > sd)
    notes.push(
      `spread floored at the recording resolution (${formatResolution(q!)}: ±${(floor * 100).toFixed(2)} %)`,
    );
  const rho = (opts.autocorrelation ?? "estimate") === "estimate" ? significantAutocorrelation([logs]) : 0;
  const f = (1 + rho) / (1 - rho);
  if (rho > 0)
    notes.push(
      `mean term widened for significant lag-1 autocorrelation ${rho.toFixed(2)} (×${Math.sqrt(f).toFixed(2)} on 1/n)`,
    );
  const se = spread * Math.sqrt(headVariance + f / n);
  const half = tQuantile(1 - alpha, n - 1) * se;
  const est = Math.log(head) - mean;
  const margin = logMargin(opts.direction, opts.maxRegression);
  const wLow = s * est - half;
  const wHigh = s * est + half;
  const verdict = classify(wLow, wHigh, margin);
  const ratio = Math.exp(est);
  const pMargin = 1 - tCdf((s * est - margin) / se, n - 1);
  const p = 1 - tCdf((s * est) / se, n - 1);
  return {
    ...base,
    method: `${base.method}${notes.length ? `; ${notes.join("; ")}` : ""}`,
    verdict,
    regression: verdict === "regressed",
    ratio,
    ci: { low: Math.exp(est - half), high: Math.exp(est + half) },
    worseBy: s * (ratio - 1),
    p,
    pMargin,
    pMoved: Math.min(1, 2 * Math.min(pMargin, tCdf((s * est + margin) / se, n - 1))),
    autocorrelation: rho,
    inflation: Math.sqrt(f),
    tooFewSamples: false,
    ...(verdict === "inconclusive"
      ? {
          reason: `the base-branch series varies too much (CV ≈ ${(spread * 100).toFixed(1)} %) for one run to decide a ${(opts.maxRegression * 100).toFixed(1)} % change at ${formatPercent(confidence)}`,
        }
      : {}),
  };
}

function formatResolution(q: number): string {
  return Number(q.toPrecision(3)).toString();
}

/**
 * The fewest pairs a paired verdict at `alpha` can ever decide with: the Wilcoxon signed-rank
 * interval (1 − 2·alpha) exists only when its most extreme value, with probability 2⁻ⁿ, is
 * rare enough: 2⁻ⁿ ≤ alpha, so n ≥ log₂(1/alpha).
 */
export function minPairedRounds(alpha: number): number {
  let n = 1;
  while (n < 1100 && 2 ** -n > alpha) n++;
  return n;
}

/**
 * Candidate looks of a sequential A/B: the round counts after which the verdict may be asked
 * again, from `min` growing by a quarter to `max` ({@link sequentialPlan} keeps those that can
 * decide and sets their level).
 */
export function sequentialLooks(min: number, max: number): number[] {
  const looks: number[] = [];
  for (let r = Math.max(1, min); r < max; r = Math.max(r + 1, Math.ceil(r * 1.25))) looks.push(r);
  looks.push(max);
  return looks;
}

/**
 * Holm's step-down procedure (Holm 1979): which of m hypotheses to reject with family-wise error
 * ≤ alpha. Sort the p-values; reject the i-th smallest while p(i) ≤ alpha / (m − i + 1).
 */
export function holm(pValues: readonly number[], alpha: number): boolean[] {
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const reject = new Array<boolean>(pValues.length).fill(false);
  const m = pValues.length;
  for (let k = 0; k < m; k++) {
    if (!(order[k]!.p <= alpha / (m - k))) break;
    reject[order[k]!.i] = true;
  }
  return reject;
}

/**
 * Benjamini-Hochberg q-values (Benjamini & Hochberg 1995): the smallest false-discovery rate at
 * which each hypothesis would be rejected.
 */
export function bhQValues(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const q = new Array<number>(m).fill(1);
  let running = 1;
  for (let k = m - 1; k >= 0; k--) {
    running = Math.min(running, (order[k]!.p * m) / (k + 1));
    q[order[k]!.i] = Math.min(1, running);
  }
  return q;
}

/** A sequential design: when to look, and the nominal level of each look's interval. */
export interface SequentialPlan {
  /** Round counts after which the verdict is asked (each one can decide at its level). */
  looks: number[];
  /** One-sided error rate of each look's claims; the interval at a look is 1 − 2·alphaPerLook. */
  alphaPerLook: number;
  /** The design in words, for the finding. */
  method: string;
}

const pocockCache = new Map<string, number>();

/**
 * Pocock's constant nominal level for looks at information fractions t (Pocock 1977): the c with
 * P(max_k W(t_k)/√t_k > c) = alpha for Brownian motion W, by Monte Carlo (100,000 seeded paths,
 * so the same looks always give the same level); the per-look level is 1 − Φ(c).
 */
export function pocockAlpha(fractions: readonly number[], alpha: number): number {
  const key = `${alpha}:${fractions.map((f) => f.toFixed(6)).join(",")}`;
  const hit = pocockCache.get(key);
  if (hit !== undefined) return hit;
  const rand = seededRandom(1977);
  const paths = 100_000;
  const maxZ = new Float64Array(paths);
  for (let p = 0; p < paths; p++) {
    let w = 0;
    let t = 0;
    let best = Number.NEGATIVE_INFINITY;
    for (const f of fractions) {
      const dt = f - t;
      w += Math.sqrt(dt) * (Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
      t = f;
      best = Math.max(best, w / Math.sqrt(f));
    }
    maxZ[p] = best;
  }
  maxZ.sort();
  const c = maxZ[Math.min(paths - 1, Math.floor((1 - alpha) * paths))]!;
  const a = 1 - normalCdf(c);
  if (pocockCache.size > 64) pocockCache.clear();
  pocockCache.set(key, a);
  return a;
}

/** The smallest one-sided p-value an exact rank interval can reach with n samples (pairs). */
function smallestP(n: number, paired: boolean): number {
  if (paired) return 2 ** -n;
  // Mann-Whitney with n a side: 1 / C(2n, n).
  let c = 1;
  for (let i = 1; i <= n; i++) c = (c * (n + i)) / i;
  return 1 / c;
}

/**
 * The sequential A/B design: looks from `min` (at least 6 pairs when paired: with 5, no 95 %
 * signed-rank interval exists) growing by a quarter to `max`, keeping only looks that can decide
 * at their level, with Pocock-type spending (the same nominal level at every look, chosen so the
 * chance of any wrong claim over all looks is `alpha`) instead of Bonferroni's alpha / looks.
 */
export function sequentialPlan(min: number, max: number, alpha: number, paired = true): SequentialPlan {
  let looks = sequentialLooks(Math.max(min, paired ? 6 : 5), Math.max(max, paired ? 6 : 5));
  let a = alpha;
  for (let i = 0; i < 5; i++) {
    const last = looks[looks.length - 1]!;
    a =
      looks.length === 1
        ? alpha
        : pocockAlpha(
            looks.map((n) => n / last),
            alpha,
          );
    const decidable = looks.filter((n) => smallestP(n, paired) <= a);
    if (decidable.length === looks.length || decidable.length === 0) break;
    looks = decidable;
  }
  return {
    looks,
    alphaPerLook: a,
    method: `${formatPercent(1 - 2 * alpha)} sequential: ${looks.length} look${looks.length > 1 ? "s" : ""} (rounds ${looks.join(", ")}) at ${formatPercent(1 - 2 * a)} each, Pocock-type spending`,
  };
}
