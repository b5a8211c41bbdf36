import { regressionVerdict } from "@gpuci/gates";
import { describe, expect, it } from "vitest";
import { clockSpace } from "./clocks.js";

/** A kernel that needs `cycles` per run: its time at `mhz` is cycles / clock (µs with MHz). */
const at = (cycles: number, mhz: number) => cycles / mhz;

// Rounds of a GPU whose boost drops to 1500 MHz on every third command (the H200's boost is 1980).
const clocks = Array.from({ length: 24 }, (_, i) => (i % 3 === 2 ? 1500 : 1980));
const baseMHz = clocks.filter((_, i) => i % 2 === 0);
const headMHz = clocks.filter((_, i) => i % 2 === 1);
const wiggle = (i: number) => 1 + 0.002 * Math.sin(i * 1.7);

describe("clock-aware A/B (clockSpace)", () => {
  it("a compute-bound A/A whose clock jumps reads as unchanged in cycle space, and says so", () => {
    const base = baseMHz.map((c, i) => at(2e6, c) * wiggle(i));
    const head = headMHz.map((c, i) => at(2e6, c) * wiggle(i + 50));
    const s = clockSpace({ base, head, baseMHz, headMHz, unit: "us", mode: "auto", tolerance: 0.01 });
    expect(s.space).toBe("cycles");
    expect(s.referenceMHz).toBe(1980);
    expect(s.elasticity).toBeCloseTo(-1, 1);
    expect(s.why).toMatch(
      /^SM clock 1500–1980 MHz; the values follow it \(elasticity -1\.0\d\): judged in cycle space at 1980 MHz$/,
    );
    const opts = { direction: "smaller" as const, maxRegression: 0.05, paired: true };
    expect(regressionVerdict(s.base, s.head, opts).verdict).toBe("unchanged");
    // In wall time the same rounds cannot decide: a third of the pairs differ by 32 %.
    expect(regressionVerdict(base, head, opts).verdict).toBe("inconclusive");
  });

  it("a 10 % slowdown is found in cycle space through the clock jumps", () => {
    const base = baseMHz.map((c, i) => at(2e6, c) * wiggle(i));
    const head = headMHz.map((c, i) => at(2.2e6, c) * wiggle(i + 50));
    const s = clockSpace({ base, head, baseMHz, headMHz, unit: "ms", mode: "auto", tolerance: 0.01 });
    expect(s.space).toBe("cycles");
    const v = regressionVerdict(s.base, s.head, { direction: "smaller", maxRegression: 0.05, paired: true });
    expect(v.verdict).toBe("regressed");
    expect(v.ratio).toBeCloseTo(1.1, 2);
  });

  it("a rate scales the other way (tokens/s at a lower clock are fewer)", () => {
    const base = baseMHz.map((c, i) => c * 10 * wiggle(i));
    const head = headMHz.map((c, i) => c * 10 * wiggle(i + 50));
    const s = clockSpace({ base, head, baseMHz, headMHz, unit: "tokens/s", mode: "auto", tolerance: 0.01 });
    expect(s.space).toBe("cycles");
    expect(s.elasticity).toBeCloseTo(1, 1);
    expect(Math.max(...s.base) / Math.min(...s.base)).toBeLessThan(1.01);
  });

  it("a memory-bound kernel that does not follow the clock is judged as measured; one that follows it in part on the rounds at one clock state", () => {
    const base = baseMHz.map((_, i) => 100 * wiggle(i));
    const head = headMHz.map((_, i) => 100 * wiggle(i + 50));
    const memory = clockSpace({ base, head, baseMHz, headMHz, unit: "ms", mode: "auto", tolerance: 0.01 });
    expect(memory).toMatchObject({ space: "wall", base, head });
    expect(memory.why).toMatch(
      /^SM clock 1500–1980 MHz; the values do not follow it \(elasticity -?0\.0\d: memory-bound\?\)$/,
    );
    const halfBase = baseMHz.map((c, i) => 100 * Math.sqrt(1980 / c) * wiggle(i));
    const halfHead = headMHz.map((c, i) => 100 * Math.sqrt(1980 / c) * wiggle(i + 50));
    const half = clockSpace({
      base: halfBase,
      head: halfHead,
      baseMHz,
      headMHz,
      unit: "ms",
      mode: "auto",
      tolerance: 0.01,
    });
    expect(half.space).toBe("stratified");
    const same = baseMHz.filter((c, i) => c === headMHz[i]).length;
    expect(half.rounds).toBe(same);
    expect(half.head).toEqual(halfHead.filter((_, i) => baseMHz[i] === headMHz[i]));
    expect(half.why).toMatch(
      new RegExp(`follow it in part \\(elasticity -0\\.5\\d\\): judged on the ${same} of 12 rounds`),
    );
  });

  it("a head that runs lower-clocked in every round (it draws more power) is judged as measured", () => {
    const b = Array(12).fill(1980);
    const h = Array(12).fill(1830);
    const base = b.map((c, i) => at(2e6, c) * wiggle(i));
    const head = h.map((c, i) => at(2e6, c) * wiggle(i + 50));
    const s = clockSpace({ base, head, baseMHz: b, headMHz: h, unit: "us", mode: "auto", tolerance: 0.01 });
    expect(s.space).toBe("wall");
    expect(s.why).toMatch(/head ran slower-clocked than base in most rounds \(−7\.6 %\)/);
  });

  it("steady clocks, no clock read, or mode off: wall time", () => {
    const b = Array(8).fill(1980);
    const base = b.map((_, i) => 10 * wiggle(i));
    const head = b.map((_, i) => 10 * wiggle(i + 9));
    const steady = clockSpace({
      base,
      head,
      baseMHz: b,
      headMHz: b,
      unit: "ms",
      mode: "auto",
      tolerance: 0.01,
    });
    expect(steady).toMatchObject({ space: "wall", why: "SM clock 1980 MHz, steady (within 1 %)" });
    const none = clockSpace({
      base,
      head,
      baseMHz: [],
      headMHz: [],
      unit: "ms",
      mode: "cycles",
      tolerance: 0.01,
    });
    expect(none).toMatchObject({ space: "wall", why: "no SM clock was read while the commands ran" });
    const off = clockSpace({ base, head, baseMHz, headMHz, unit: "ms", mode: "off", tolerance: 0.01 });
    expect(off.space).toBe("wall");
    expect(off.base).toEqual(base);
  });
});
