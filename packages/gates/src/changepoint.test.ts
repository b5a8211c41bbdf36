import { seededRandom } from "@gpuci/report";
import { describe, expect, it } from "vitest";
import { type ChangePoint, type ChangePointOptions, changePoints } from "./index.js";

// The textbook form: the energy statistic summed over every pair for every split, O(n³) a
// split. changePoints computes the same statistic from prefix sums; this is the reference
// (with the same rule for a permutation that ties the observed statistic up to rounding).
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

function textbookChangePoints(values: readonly number[], options: ChangePointOptions = {}): ChangePoint[] {
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
      if (bestSplit(dist(perm), len, 0, len, minSegment).q >= observed.q - 1e-9 * Math.abs(observed.q))
        atLeast++;
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

describe("change points", () => {
  it("find the same steps, at the same runs with the same p-values, as the textbook O(n³) statistic", () => {
    const rand = seededRandom(21);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    let stepsFound = 0;
    for (let k = 0; k < 24; k++) {
      const n = 6 + Math.floor(rand() * 70);
      const stepAt = k % 3 === 0 ? -1 : Math.floor(n / 2);
      const values = Array.from({ length: n }, (_, i) => {
        const v = 10 * (i >= stepAt && stepAt >= 0 ? 1.1 : 1) * Math.exp(0.02 * gauss());
        // Some series have ties (a coarse timer): ranks must treat equal values as equal.
        return k % 4 === 1 ? Math.round(v * 10) / 10 : v;
      });
      const fast = changePoints(values, { permutations: 49, alpha: 0.05 });
      const reference = textbookChangePoints(values, { permutations: 49, alpha: 0.05 });
      expect(fast.map((c) => c.at)).toEqual(reference.map((c) => c.at));
      expect(fast.map((c) => c.p)).toEqual(reference.map((c) => c.p));
      for (const [i, c] of fast.entries()) expect(c.ratio).toBeCloseTo(reference[i]!.ratio, 12);
      stepsFound += fast.length;
    }
    expect(stepsFound).toBeGreaterThan(10);
  });
});
