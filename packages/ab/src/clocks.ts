import { regressionVerdict } from "@gpuci/gates";
import { parseUnit } from "@gpuci/report";

/**
 * How the A/B uses the SM clock it reads around every round's command:
 * - `auto`: when the clock varied, judge a time or a rate in cycle space if its values follow
 *   the clock, as measured if they do not, and on the rounds whose two sides ran at one clock
 *   state if they follow it in part; a clock
 *   that differs by side in most rounds (the change itself draws more power and throttles) is
 *   part of the change: judged in wall time.
 * - `cycles`: always judge times and rates in cycle space (compute-bound kernels).
 * - `stratify`: always keep only the rounds whose two sides ran at one clock state.
 * - `off`: wall time, clocks only shown.
 */
export type ClockMode = "auto" | "cycles" | "stratify" | "off";

/** What {@link clockSpace} judged on. */
export interface ClockSpace {
  /** The values the verdict is taken on (pairs kept in order). */
  base: number[];
  head: number[];
  /** wall: as measured; cycles: scaled to the reference clock; stratified: rounds at one clock state only. */
  space: "wall" | "cycles" | "stratified";
  /** Why, in words, for the finding. */
  why: string;
  /** The clock the cycle-space values are expressed at (the median of all readings), MHz. */
  referenceMHz?: number;
  /** Lowest and highest SM clock read over the rounds (MHz). */
  rangeMHz?: [number, number];
  /** Within-side elasticity of the metric to the clock (d log value / d log clock). */
  elasticity?: number;
  /** Rounds whose values were used (stratified: those at one clock state). */
  rounds: number;
  /** Rounds with a clock read on both sides. */
  clocked: number;
}

const fmtMHz = (x: number) => `${Math.round(x)} MHz`;

/** +1: the value scales with the clock's period (a time); −1: with the clock (a rate); 0: neither or unknown. */
function clockExponent(unit: string | undefined): { exponent: number; known: boolean } {
  const u = parseUnit(unit);
  if (!u) return { exponent: 0, known: false };
  if (u.dimension === "time" || u.dimension === "time-per") return { exponent: 1, known: true };
  if (u.dimension === "rate") return { exponent: -1, known: true };
  return { exponent: 0, known: true };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * The values one metric is judged on, given the SM clock each side's command ran at in each
 * round (undefined: not read). Cycle space multiplies a time by clock/reference (a time
 * divided by the clock's period is a count of cycles, expressed back in time at the reference
 * clock) and divides a rate by it: a compute-bound kernel whose GPU boosted lower in one
 * command reads the same in cycle space (the comparison nvbench makes possible by recording
 * the SM clock of every measurement). A memory-bound kernel does not follow the SM clock, so
 * `auto` measures how the values follow it (the within-side log-log slope, ordinary least
 * squares): cycle space from three quarters of full scaling, as measured below one quarter,
 * and only the rounds at one clock state in between.
 */
export function clockSpace(input: {
  base: number[];
  head: number[];
  baseMHz: Array<number | undefined>;
  headMHz: Array<number | undefined>;
  unit?: string;
  mode: ClockMode;
  /** A relative clock difference at most this is one clock state (0.01 = 1 %). */
  tolerance: number;
}): ClockSpace {
  const { base, head, baseMHz, headMHz, mode, tolerance } = input;
  const n = Math.min(base.length, head.length);
  const wall = (why: string, extra: Partial<ClockSpace> = {}): ClockSpace => ({
    base: base.slice(0, n),
    head: head.slice(0, n),
    space: "wall",
    why,
    rounds: n,
    clocked: 0,
    ...extra,
  });
  const both: number[] = [];
  for (let i = 0; i < n; i++) if (baseMHz[i] !== undefined && headMHz[i] !== undefined) both.push(i);
  if (mode === "off") return wall("clock-aware judging is off (ab.clocks.mode)");
  if (!both.length) return wall("no SM clock was read while the commands ran");
  const all = both.flatMap((i) => [baseMHz[i]!, headMHz[i]!]);
  const reference = median(all);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const common = { referenceMHz: reference, rangeMHz: [lo, hi] as [number, number], clocked: both.length };
  const range =
    Math.round(lo) === Math.round(hi) ? `SM clock ${fmtMHz(lo)}` : `SM clock ${Math.round(lo)}–${fmtMHz(hi)}`;
  const sameState = (i: number) =>
    Math.abs(Math.log(headMHz[i]! / baseMHz[i]!)) <= Math.log1p(tolerance) + 1e-12;
  const varied = all.some((c) => Math.abs(Math.log(c / reference)) > Math.log1p(tolerance));
  const { exponent, known } = clockExponent(input.unit);

  const stratified = (why: string): ClockSpace => {
    const keep = both.filter(sameState);
    return {
      base: keep.map((i) => base[i]!),
      head: keep.map((i) => head[i]!),
      space: "stratified",
      why: `${why}: judged on the ${keep.length} of ${n} rounds whose two sides ran at one clock state (within ${fmtPct(tolerance)})`,
      rounds: keep.length,
      ...common,
    };
  };
  const cycles = (why: string, elasticity?: number): ClockSpace => ({
    base: both.map((i) => base[i]! * (baseMHz[i]! / reference) ** exponent),
    head: both.map((i) => head[i]! * (headMHz[i]! / reference) ** exponent),
    space: "cycles",
    why: `${why}: judged in cycle space at ${fmtMHz(reference)}${both.length < n ? ` (${n - both.length} rounds without a clock left out)` : ""}`,
    rounds: both.length,
    ...common,
    ...(elasticity !== undefined ? { elasticity } : {}),
  });

  if (mode === "cycles") {
    if (exponent === 0)
      return stratified(
        `${range}; ${input.unit ? `unit ${input.unit}` : "a metric without a unit"} has no cycle space`,
      );
    return cycles(range);
  }
  if (mode === "stratify") return stratified(range);

  // auto
  if (!varied) return wall(`${range}, steady (within ${fmtPct(tolerance)})`, common);
  // A clock that differs by side in most rounds is the change's own doing (it draws more power,
  // runs hotter): part of what the user ships, so judged as measured.
  const bm = both.map((i) => baseMHz[i]!);
  const hm = both.map((i) => headMHz[i]!);
  for (const direction of ["bigger", "smaller"] as const) {
    const v = regressionVerdict(bm, hm, { direction, maxRegression: tolerance, paired: true, alpha: 0.025 });
    if (v.verdict === "regressed")
      return wall(
        `${range}: head ran ${direction === "bigger" ? "slower" : "faster"}-clocked than base in most rounds (${fmtSigned(v.ratio - 1)}), as a change that draws ${direction === "bigger" ? "more" : "less"} power does; judged as measured`,
        common,
      );
  }
  if (exponent === 0 && known) return wall(`${range}; unit ${input.unit} does not follow the clock`, common);
  if (exponent === 0) return stratified(`${range}; a metric without a unit`);
  // How the values follow the clock: the within-side log-log slope (each side centred on its mean).
  let sxy = 0;
  let sxx = 0;
  for (const side of [
    { v: base, c: baseMHz },
    { v: head, c: headMHz },
  ]) {
    const xs = both.map((i) => Math.log(side.c[i]!));
    const ys = both.map((i) => Math.log(side.v[i]!));
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    xs.forEach((x, k) => {
      sxy += (x - mx) * (ys[k]! - my);
      sxx += (x - mx) ** 2;
    });
  }
  // The value's expected slope: −1 for a time (cycles / clock), +1 for a rate.
  const expected = -exponent;
  if (sxx <= 0 || !all.every((c) => c > 0)) return stratified(`${range}, varying only between the sides`);
  const slope = sxy / sxx;
  // The share of full scaling: ≥ 3/4 cycle space, ≤ 1/4 as measured (the clock does not move
  // them: memory-bound), between the two only the rounds at one clock state can be trusted.
  const share = slope / expected;
  if (share >= 0.75) return cycles(`${range}; the values follow it (elasticity ${slope.toFixed(2)})`, slope);
  if (share <= 0.25)
    return wall(`${range}; the values do not follow it (elasticity ${slope.toFixed(2)}: memory-bound?)`, {
      ...common,
      elasticity: slope,
    });
  return {
    ...stratified(`${range}; the values follow it in part (elasticity ${slope.toFixed(2)})`),
    elasticity: slope,
  };
}

function fmtPct(f: number): string {
  return `${Number((f * 100).toPrecision(3))} %`;
}

function fmtSigned(f: number): string {
  return `${f >= 0 ? "+" : "−"}${Math.abs(f * 100).toFixed(1)} %`;
}
