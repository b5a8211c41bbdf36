import { napiBackends } from "./backends/napi.js";
import type { Backend, Unavailable } from "./backends/types.js";
import { webgpuBackend } from "./backends/webgpu.js";
import {
  CATALOG,
  type Dtype,
  type KernelName,
  type KernelShape,
  type NativeShape,
  rng,
  TOLERANCE,
} from "./catalog.js";
import type { FixedReference } from "./reference.js";

/** Every backend this machine offers, and those it does not with the reason. */
export async function listBackends(
  which: "all" | "napi" | "webgpu" = "all",
): Promise<{ backends: Backend[]; unavailable: Unavailable[] }> {
  const backends: Backend[] = [];
  const unavailable: Unavailable[] = [];
  if (which === "all" || which === "napi") {
    const n = napiBackends();
    backends.push(...n.backends);
    unavailable.push(...n.unavailable);
  }
  if (which === "all" || which === "webgpu") {
    const w = await webgpuBackend();
    if (w.backend) backends.push(w.backend);
    if (w.unavailable) unavailable.push(w.unavailable);
  }
  return { backends, unavailable };
}

/** A shape as the backends take it: already normalized, or normalized by the catalog now. */
const native = (kernel: KernelName, shape: KernelShape | NativeShape): NativeShape =>
  "eps" in shape ? (shape as NativeShape) : CATALOG[kernel].normalize(shape);

/** The outcome of the correctness check. */
export interface CheckResult {
  correct: boolean;
  trials: number;
  maxAbsErr: number;
  maxRelErr: number;
  /** The worst element of the first failing trial (or of all trials when correct). */
  worst?: { index: number; got: number; expected: number };
  /** Elements left unwritten (still NaN from the poison) or NaN/Inf where the reference is finite. */
  badNonFinite: number;
  reason?: string;
}

/** Compare an output with its float64 reference: |out − ref| ≤ atol + rtol·|ref|; NaN/Inf positions must match. */
export function compareOutput(out: Float32Array, ref: Float64Array, tol: { atol: number; rtol: number }) {
  let maxAbs = 0;
  let maxRel = 0;
  let violations = 0;
  let badNonFinite = 0;
  let worst: CheckResult["worst"];
  let worstScore = -1;
  for (let i = 0; i < ref.length; i++) {
    const got = out[i]!;
    const want = ref[i]!;
    if (!Number.isFinite(got) || !Number.isFinite(want)) {
      const same = (Number.isNaN(got) && Number.isNaN(want)) || got === want;
      if (!same) {
        badNonFinite++;
        violations++;
        if (worstScore < Number.POSITIVE_INFINITY) {
          worst = { index: i, got, expected: want };
          worstScore = Number.POSITIVE_INFINITY;
        }
      }
      continue;
    }
    const d = Math.abs(got - want);
    const rel = want === 0 ? (d === 0 ? 0 : Number.POSITIVE_INFINITY) : d / Math.abs(want);
    if (d > maxAbs) maxAbs = d;
    if (rel > maxRel) maxRel = rel;
    const score = d - (tol.atol + tol.rtol * Math.abs(want));
    if (score > 0) violations++;
    if (score > worstScore) {
      worstScore = score;
      worst = { index: i, got, expected: want };
    }
  }
  return { maxAbs, maxRel, violations, badNonFinite, worst };
}

/**
 * Check a kernel for correctness on one backend: `trials` runs (default 5) with fresh seeded
 * inputs, the output poisoned with NaN before each launch, compared elementwise with the float64
 * reference. Stops at the first failing trial. With `fixed` (a user's reference files), one trial
 * on those inputs compared with that output.
 */
export async function checkKernel(
  backend: Backend,
  kernel: KernelName,
  shape: KernelShape | NativeShape,
  options: { dtype?: Dtype; trials?: number; seed?: number; fixed?: FixedReference } = {},
): Promise<CheckResult> {
  const spec = CATALOG[kernel];
  const s = native(kernel, shape);
  const dtype = options.dtype ?? "f32";
  const unsupported = backend.supports(kernel, dtype);
  if (unsupported) throw new Error(`${backend.name} cannot run ${kernel} in ${dtype}: ${unsupported}`);
  const tol = TOLERANCE[dtype];
  const fixed = options.fixed;
  const trials = fixed ? 1 : (options.trials ?? 5);
  let maxAbs = 0;
  let maxRel = 0;
  let worst: CheckResult["worst"];
  for (let t = 0; t < trials; t++) {
    const inputs = fixed ? fixed.inputs : spec.inputs(s, rng((options.seed ?? 1234) + t * 7919), dtype);
    const out = new Float32Array(spec.outputSize(s)).fill(Number.NaN);
    await backend.run(kernel, s, inputs, out, dtype);
    const ref = fixed ? fixed.output : spec.reference(inputs, s);
    const c = compareOutput(out, ref, tol);
    maxAbs = Math.max(maxAbs, c.maxAbs);
    maxRel = Math.max(maxRel, c.maxRel);
    worst = c.worst;
    if (c.violations > 0)
      return {
        correct: false,
        trials: t + 1,
        maxAbsErr: maxAbs,
        maxRelErr: maxRel,
        ...(c.worst ? { worst: c.worst } : {}),
        badNonFinite: c.badNonFinite,
        reason: `${c.violations} of ${ref.length} elements outside atol ${tol.atol} + rtol ${tol.rtol}·|ref|${c.badNonFinite ? ` (${c.badNonFinite} NaN/Inf where the reference is finite: unwritten or overflowed)` : ""}`,
      };
  }
  return {
    correct: true,
    trials,
    maxAbsErr: maxAbs,
    maxRelErr: maxRel,
    ...(worst ? { worst } : {}),
    badNonFinite: 0,
  };
}

/** Timing of one kernel on one backend. */
export interface BenchResult {
  samples: number[];
  medianMs: number;
  p20Ms: number;
  p80Ms: number;
  gflops: number;
  gbps: number;
  peakFraction?: number;
  /** Relative standard error of the median estimate reached (mean-based estimate). */
  relStdErr: number;
  /**
   * Set when the samples are too coarse to time this kernel: a sample of zero, or every sample
   * a multiple of one clock tick with the median under 50 ticks (a quantization error over 1 %).
   * Then the median and throughput mean nothing and are not reported.
   */
  belowResolution?: string;
}

/**
 * The tick of a quantized timer, when the samples show one: the smallest gap between distinct
 * sample values, if every sample is a whole multiple of it (to 0.1 % of a tick). Fine host or
 * GPU clocks give gaps far below any sample, and no common tick.
 */
export function timerTick(samples: number[]): number | undefined {
  const distinct = [...new Set(samples)].sort((a, b) => a - b);
  if (distinct.length < 2) return distinct[0] !== undefined && distinct[0] > 0 ? distinct[0] : undefined;
  let tick = Number.POSITIVE_INFINITY;
  for (let i = 1; i < distinct.length; i++) tick = Math.min(tick, distinct[i]! - distinct[i - 1]!);
  if (!(tick > 0)) return undefined;
  for (const x of distinct) {
    const k = x / tick;
    if (Math.abs(k - Math.round(k)) > 1e-3) return undefined;
  }
  return tick;
}

/** Why these samples cannot time the kernel (see BenchResult.belowResolution), or undefined. */
export function belowResolution(samples: number[]): string | undefined {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const zeros = samples.filter((x) => !(x > 0)).length;
  const tick = timerTick(samples);
  if (zeros > 0 || (tick !== undefined && median < 50 * tick && samples.length >= 3)) {
    const clock = tick !== undefined ? `the timer ticks every ${fmtMs(tick)}` : "the timer is too coarse";
    return `not timed: the kernel finishes within the timer's resolution (${zeros > 0 ? `${zeros} of ${samples.length} samples read 0; ` : ""}${clock}, median ${fmtMs(median)}): time a larger shape`;
  }
  return undefined;
}

const fmtMs = (ms: number) => (ms >= 1 ? `${ms.toPrecision(3)} ms` : `${(ms * 1000).toPrecision(3)} µs`);

const quantile = (sorted: number[], q: number) => {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo]! + (sorted[Math.ceil(pos)]! - sorted[lo]!) * (pos - lo);
};

/**
 * Time a kernel (only after it passed checkKernel): warm up for at least 3 runs or 25 ms, then
 * sample until the standard error is under 0.5 % of the median, at most `maxSamples` (100) or
 * `budgetMs` (2 s). Caches are flushed between samples where the backend allows.
 */
export async function benchKernel(
  backend: Backend,
  kernel: KernelName,
  shape: KernelShape | NativeShape,
  options: { dtype?: Dtype; maxSamples?: number; budgetMs?: number; minSamples?: number } = {},
): Promise<BenchResult> {
  const spec = CATALOG[kernel];
  const s = native(kernel, shape);
  const dtype = options.dtype ?? "f32";
  const maxSamples = options.maxSamples ?? 100;
  const minSamples = Math.min(options.minSamples ?? 10, maxSamples);
  const budget = options.budgetMs ?? 2000;
  const r = rng(99);
  const inputs = spec.inputs(s, r, dtype);
  const out = new Float32Array(spec.outputSize(s));
  const warmStart = performance.now();
  for (let i = 0; i < 3 || performance.now() - warmStart < 25; i++)
    await backend.run(kernel, s, inputs, out, dtype);
  const samples: number[] = [];
  const start = performance.now();
  let relStdErr = Number.POSITIVE_INFINITY;
  while (samples.length < maxSamples) {
    backend.flush?.();
    samples.push(await backend.run(kernel, s, inputs, out, dtype));
    if (samples.length >= minSamples) {
      const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
      const sd = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (samples.length - 1));
      const sorted = [...samples].sort((a, b) => a - b);
      relStdErr = sd / Math.sqrt(samples.length) / quantile(sorted, 0.5);
      if (relStdErr < 0.005) break;
    }
    if (performance.now() - start > budget && samples.length >= 3) break;
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const medianMs = quantile(sorted, 0.5);
  const peak = backend.info().peakFlops?.[dtype];
  const gflops = spec.flops(s) / (medianMs * 1e6);
  const coarse = belowResolution(samples);
  return {
    ...(coarse ? { belowResolution: coarse } : {}),
    samples,
    medianMs,
    p20Ms: quantile(sorted, 0.2),
    p80Ms: quantile(sorted, 0.8),
    gflops,
    gbps: (spec.bytes(s) * (dtype === "f16" ? 0.5 : 1)) / (medianMs * 1e6),
    ...(peak ? { peakFraction: (gflops * 1e9) / peak } : {}),
    relStdErr,
  };
}

/**
 * A/B: time two implementations interleaved (ABAB…), so drift on a noisy machine hits both
 * alike; sample i of each is a pair for gates' regressionVerdict(a, b, { paired: true }).
 */
export async function benchAB(
  a: Backend,
  b: Backend,
  kernel: KernelName,
  shape: KernelShape,
  samples = 20,
  options: { dtype?: Dtype } = {},
): Promise<{ a: number[]; b: number[] }> {
  const spec = CATALOG[kernel];
  const s = spec.normalize(shape);
  const dtype = options.dtype ?? "f32";
  for (const x of [a, b]) {
    const unsupported = x.supports(kernel, dtype);
    if (unsupported) throw new Error(`${x.name} cannot run ${kernel} in ${dtype}: ${unsupported}`);
  }
  const inputs = spec.inputs(s, rng(7), dtype);
  const out = new Float32Array(spec.outputSize(s));
  for (const x of [a, b]) for (let i = 0; i < 3; i++) await x.run(kernel, s, inputs, out, dtype);
  const ra: number[] = [];
  const rb: number[] = [];
  for (let i = 0; i < samples; i++) {
    a.flush?.();
    ra.push(await a.run(kernel, s, inputs, out, dtype));
    b.flush?.();
    rb.push(await b.run(kernel, s, inputs, out, dtype));
  }
  return { a: ra, b: rb };
}
