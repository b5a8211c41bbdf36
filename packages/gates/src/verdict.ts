import { median, normalCdf, quantileSorted } from "./stats.js";

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
}

/** What {@link regressionVerdict} decided, with everything needed to show why. */
export interface Verdict {
  verdict: VerdictOutcome;
  /** verdict === "regressed" (kept for callers that only ask yes/no). */
  regression: boolean;
  /** head/base, the Hodges-Lehmann estimate of the ratio (NaN when it cannot be formed). */
  ratio: number;
  /** The (1 − 2·alpha) interval of head/base; absent when the samples cannot give one. */
  ci?: { low: number; high: number };
  /** The interval's coverage, 1 − 2·alpha. */
  confidence: number;
  /** How much worse head is, as a fraction (negative: better), from the point estimate. */
  worseBy: number;
  /** One-sided p-value of "head is worse than base at all" (no margin). */
  p?: number;
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

/** Student-t quantile (Hill's 1970 approximation via the normal quantile; good to ~1e-4 for df ≥ 3). */
export function tQuantile(p: number, df: number): number {
  if (!Number.isFinite(df) || df > 1e6) return normalQuantile(p);
  const z = normalQuantile(p);
  const g1 = (z ** 3 + z) / 4;
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
  const g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384;
  const g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160;
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4;
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
 * Lag-1 autocorrelation of one or more series, each centred on its median, corrected for its
 * small-sample bias under AR(1), E[ρ̂] ≈ ρ − (1 + 4ρ)/n (Kendall 1954; Marriott & Pope 1954),
 * and clamped to [0, 0.9]: only positive correlation narrows an interval wrongly.
 */
export function lag1Autocorrelation(series: ReadonlyArray<readonly number[]>): number {
  let num = 0;
  let den = 0;
  let n = 0;
  for (const s of series) {
    if (s.length < 3) continue;
    const c = median(s);
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

interface Interval {
  est: number;
  low: number;
  high: number;
  p: number;
  method: string;
  halfWidthPerRootN?: number;
}

/**
 * Estimate, interval and p from sorted candidate values (pairwise differences or Walsh averages)
 * whose positive count is a rank statistic with null distribution `exact` (or normal with mean
 * `count / 2` and `sd`): the Hodges-Lehmann median, the order-statistic interval, and
 * P(statistic ≥ observed), using the symmetry of the null distribution.
 */
function rankInterval(
  sorted: Float64Array,
  exact: Float64Array | undefined,
  sd: number,
  alpha: number,
  method: string,
): Interval {
  const count = sorted.length;
  const idx = criticalIndex(exact, count, count / 2, sd, alpha);
  let positive = 0;
  for (let i = 0; i < count; i++) positive += sorted[i]! > 0 ? 1 : sorted[i] === 0 ? 0.5 : 0;
  const p = exact
    ? exact[Math.max(0, Math.floor(count - positive))]!
    : 1 - normalCdf((positive - count / 2 - 0.5) / sd);
  return {
    est: quantileSorted(sorted, 0.5),
    low: idx >= 1 ? sorted[idx - 1]! : Number.NEGATIVE_INFINITY,
    high: idx >= 1 ? sorted[count - idx]! : Number.POSITIVE_INFINITY,
    p,
    method,
  };
}

/** Hodges-Lehmann shift of y over x with the Moses distribution-free interval (Mann-Whitney). */
function unpairedInterval(x: readonly number[], y: readonly number[], alpha: number): Interval {
  const xs = thin(x, 500);
  const ys = thin(y, 500);
  const m = xs.length;
  const n = ys.length;
  const diffs = new Float64Array(m * n);
  let k = 0;
  for (const b of xs) for (const h of ys) diffs[k++] = h - b;
  diffs.sort();
  return rankInterval(
    diffs,
    m * n <= 2500 ? mannWhitneyCdf(m, n) : undefined,
    Math.sqrt((m * n * (m + n + 1)) / 12),
    alpha,
    "Hodges-Lehmann shift with the Moses (Mann-Whitney) interval on log values",
  );
}

/** Hodges-Lehmann pseudo-median of d with the Wilcoxon signed-rank interval (Walsh averages). */
function pairedInterval(d: readonly number[], alpha: number): Interval {
  const ds = d.length > 2000 ? thin(d, 2000) : [...d];
  const n = ds.length;
  const walsh = new Float64Array((n * (n + 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) walsh[k++] = (ds[i]! + ds[j]!) / 2;
  walsh.sort();
  return rankInterval(
    walsh,
    n <= 200 ? signedRankCdf(n) : undefined,
    Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24),
    alpha,
    "paired: Hodges-Lehmann with the Wilcoxon signed-rank interval on within-round log ratios",
  );
}

/** The margin on the log scale in the "worse" direction: log(1 + m) for smaller, −log(1 − m) for bigger. */
function logMargin(direction: "smaller" | "bigger", maxRegression: number): number {
  return direction === "smaller" ? Math.log1p(maxRegression) : -Math.log1p(-Math.min(maxRegression, 0.999));
}

/**
 * Classify an interval [low, high] of the log change in the "worse" direction against the
 * margin: regressed when all of it is beyond +margin, improved when all of it is beyond
 * −margin, unchanged when all of it is within ±margin, inconclusive otherwise.
 */
function classify(low: number, high: number, margin: number): VerdictOutcome {
  if (low > margin) return "regressed";
  if (high < -margin) return "improved";
  if (high < margin && low > -margin) return "unchanged";
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
  const minSamples = opts.minSamples ?? 5;
  const nBase = base.length;
  const nHead = head.length;
  const s = opts.direction === "smaller" ? 1 : -1;
  const pointRatio = median(head) / median(base);
  const common = { confidence, nBase, nHead };
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
    rho = opts.paired ? lag1Autocorrelation([lh.map((h, i) => h - lb[i]!)]) : lag1Autocorrelation([lb, lh]);
  const inflation = ar1Inflation(rho);
  const low = interval.est - inflation * (interval.est - interval.low);
  const high = interval.est + inflation * (interval.high - interval.est);

  // In the "worse" direction: for bigger-is-better a falling ratio is worse.
  const margin = logMargin(opts.direction, opts.maxRegression);
  const wLow = s === 1 ? low : -high;
  const wHigh = s === 1 ? high : -low;
  const wEst = s * interval.est;
  const verdict = classify(wLow, wHigh, margin);
  const ratio = Math.exp(interval.est);
  const finite = Number.isFinite(low) && Number.isFinite(high);
  const n = opts.paired ? nBase : Math.min(nBase, nHead);
  const more = verdict === "inconclusive" ? samplesToDecide(wEst, wLow, wHigh, margin, n) : undefined;
  const p = s === 1 ? interval.p : 1 - interval.p;
  return {
    verdict,
    regression: verdict === "regressed",
    ratio,
    ...(finite ? { ci: { low: Math.exp(low), high: Math.exp(high) } } : {}),
    worseBy: s * (ratio - 1),
    p: Math.min(1, Math.max(0, p)),
    method:
      interval.method +
      (rho > 0 ? `, widened ×${inflation.toFixed(2)} for lag-1 autocorrelation ${rho.toFixed(2)}` : ""),
    autocorrelation: rho,
    inflation,
    tooFewSamples: false,
    ...(verdict === "inconclusive"
      ? {
          reason: finite
            ? `the ${formatPercent(confidence)} interval reaches both sides of a ${(opts.maxRegression * 100).toFixed(1)} % change`
            : `${n} samples are too few for a ${formatPercent(confidence)} distribution-free interval`,
        }
      : {}),
    ...(more ? { samplesToDecide: more } : {}),
    ...common,
  };
}

/**
 * Judge one head value against a series of earlier base-branch values (one number a run):
 * a Student-t prediction interval for a new run's log value (Hahn & Meeker, Statistical
 * Intervals, 1991, §4.6), widened for the series' lag-1 autocorrelation, classified against
 * the margin like {@link regressionVerdict}.
 */
export function seriesVerdict(
  series: readonly number[],
  head: number,
  opts: Omit<VerdictOptions, "paired">,
): Verdict {
  const alpha = opts.alpha ?? DEFAULT_ALPHA;
  const confidence = 1 - 2 * alpha;
  const minSamples = opts.minSamples ?? 5;
  const s = opts.direction === "smaller" ? 1 : -1;
  const n = series.length;
  const base = {
    confidence,
    nBase: n,
    nHead: 1,
    method: "Student-t prediction interval of a new run against the base-branch series (log values)",
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
  if (!(head > 0) || series.some((v) => !(v > 0) || !Number.isFinite(v)) || !Number.isFinite(head))
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
  const rho = (opts.autocorrelation ?? "estimate") === "estimate" ? lag1Autocorrelation([logs]) : 0;
  const inflation = ar1Inflation(rho);
  const half = tQuantile(1 - alpha, n - 1) * sd * Math.sqrt(1 + 1 / n) * inflation;
  const est = Math.log(head) - mean;
  const margin = logMargin(opts.direction, opts.maxRegression);
  const wLow = s * est - half;
  const wHigh = s * est + half;
  const verdict = classify(wLow, wHigh, margin);
  const ratio = Math.exp(est);
  return {
    ...base,
    verdict,
    regression: verdict === "regressed",
    ratio,
    ci: { low: Math.exp(est - half), high: Math.exp(est + half) },
    worseBy: s * (ratio - 1),
    autocorrelation: rho,
    inflation,
    tooFewSamples: false,
    ...(verdict === "inconclusive"
      ? {
          reason: `the base-branch series varies too much (CV ≈ ${(sd * 100).toFixed(1)} %) for one run to decide a ${(opts.maxRegression * 100).toFixed(1)} % change at ${formatPercent(confidence)}`,
        }
      : {}),
  };
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
 * The looks of a sequential A/B: the rounds after which the verdict is asked again, from
 * `min` growing by a quarter to `max`. Each look spends alpha / looks (Bonferroni alpha
 * spending: the chance of any wrong claim over all looks stays ≤ alpha whatever the
 * correlation between looks).
 */
export function sequentialLooks(min: number, max: number): number[] {
  const looks: number[] = [];
  for (let r = Math.max(1, min); r < max; r = Math.max(r + 1, Math.ceil(r * 1.25))) looks.push(r);
  looks.push(max);
  return looks;
}
