import { execFileSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  bhQValues,
  evaluateGates,
  fileStore,
  holm,
  lag1Autocorrelation,
  minPairedRounds,
  normalQuantile,
  pocockAlpha,
  regressionVerdict,
  roundsNeeded,
  seededRandom,
  sequentialLooks,
  sequentialPlan,
  seriesVerdict,
  significantAutocorrelation,
  tCdf,
  tQuantile,
} from "./index.js";

const rand = seededRandom(7);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const noisy = (n: number, scale: number, cv: number) =>
  Array.from({ length: n }, () => scale * Math.exp(cv * gauss()));
const smaller = { direction: "smaller" as const, maxRegression: 0.05 };

describe("regressionVerdict: four honest outcomes", () => {
  it("regressed when the whole interval is beyond the margin, with the ratio and its interval", () => {
    const v = regressionVerdict(noisy(20, 100, 0.02), noisy(20, 115, 0.02), smaller);
    expect(v).toMatchObject({
      verdict: "regressed",
      regression: true,
      confidence: 0.95,
      nBase: 20,
      nHead: 20,
    });
    expect(v.ratio).toBeGreaterThan(1.1);
    expect(v.ci!.low).toBeGreaterThan(1.05);
    expect(v.ci!.high).toBeGreaterThan(v.ratio);
  });

  it("unchanged when the whole interval is inside ±margin; improved when all of it is faster than the margin", () => {
    expect(regressionVerdict(noisy(20, 100, 0.01), noisy(20, 100.5, 0.01), smaller).verdict).toBe(
      "unchanged",
    );
    expect(regressionVerdict(noisy(20, 100, 0.01), noisy(20, 80, 0.01), smaller).verdict).toBe("improved");
  });

  it("inconclusive when the interval straddles the margin, saying how many samples would likely decide", () => {
    const v = regressionVerdict(noisy(8, 100, 0.05), noisy(8, 105, 0.05), smaller);
    expect(v.verdict).toBe("inconclusive");
    expect(v.regression).toBe(false);
    expect(v.reason).toMatch(/interval reaches both sides of a 5\.0 % change/);
    expect(v.samplesToDecide).toBeGreaterThan(8);
  });

  it("bigger is better: a falling throughput is the regression", () => {
    const v = regressionVerdict(noisy(20, 1000, 0.01), noisy(20, 850, 0.01), {
      ...smaller,
      direction: "bigger",
    });
    expect(v.verdict).toBe("regressed");
    expect(v.worseBy).toBeGreaterThan(0.1);
  });

  it("paired rounds cancel a drift shared by base and head that an unpaired test cannot see through", () => {
    // The GPU warms up over the job: +30 % by the end, the same for both sides of a round.
    const drift = Array.from({ length: 20 }, (_, i) => 1 + (0.3 * i) / 19);
    const base = drift.map((d) => 100 * d * Math.exp(0.005 * gauss()));
    const head = drift.map((d) => 110 * d * Math.exp(0.005 * gauss()));
    expect(regressionVerdict(base, head, { ...smaller, paired: true }).verdict).toBe("regressed");
    expect(regressionVerdict(base, head, smaller).verdict).toBe("inconclusive");
  });

  it("refuses what it cannot judge: too few samples, unequal pairs, non-positive values", () => {
    expect(regressionVerdict([1, 2, 3], [1, 2, 3], smaller)).toMatchObject({
      verdict: "inconclusive",
      tooFewSamples: true,
    });
    expect(
      regressionVerdict([1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6], { ...smaller, paired: true }).reason,
    ).toMatch(/as many base as head/);
    expect(regressionVerdict([0, 1, 2, 3, 4], [1, 2, 3, 4, 5], smaller).reason).toMatch(/positive, finite/);
  });

  it("with 5 pairs no 95 % distribution-free interval exists (2⁻⁵ > 2.5 %): inconclusive, never a guess", () => {
    const v = regressionVerdict([100, 101, 99, 100, 102], [150, 151, 149, 150, 152], {
      ...smaller,
      paired: true,
    });
    expect(v.verdict).toBe("inconclusive");
    expect(v.ci).toBeUndefined();
    expect(v.reason).toMatch(/too few samples for a verdict: need ≥ 6 rounds/);
    // Told to try with 5 anyway, it still says why there is no interval.
    const forced = regressionVerdict([100, 101, 99, 100, 102], [150, 151, 149, 150, 152], {
      ...smaller,
      paired: true,
      minSamples: 5,
    });
    expect(forced.verdict).toBe("inconclusive");
    expect(forced.reason).toMatch(/too few for a 95 % distribution-free interval/);
  });

  it("widens the interval for autocorrelated samples", () => {
    let x = 0;
    const ar = Array.from({ length: 200 }, () => (x = 0.8 * x + gauss()));
    expect(lag1Autocorrelation([ar])).toBeGreaterThan(0.6);
    expect(lag1Autocorrelation([Array.from({ length: 200 }, gauss)])).toBeLessThan(0.2);
  });
});

describe("defects of the first verdicts, each fixed", () => {
  const flat = [
    100.4, 98.1, 101.9, 99.3, 102.6, 97.8, 100.9, 99.6, 101.2, 98.7, 100.1, 103.1, 97.5, 99.9, 100.5,
  ];

  it("one value against history does not depend on the history's order (no noise-driven widening)", () => {
    const sorted = [...flat].sort((a, b) => a - b); // a monotone order reads as autocorrelated
    const a = seriesVerdict(flat, 112, smaller);
    const b = seriesVerdict(sorted, 112, smaller);
    expect(a.verdict).toBe("regressed");
    expect(b.verdict).toBe(a.verdict);
    expect(b.ci!.low).toBeCloseTo(a.ci!.low, 12);
    expect(b.ci!.high).toBeCloseTo(a.ci!.high, 12);
    expect(b.inflation).toBe(1); // 15 results are too few to estimate serial correlation
  });

  it("a zero-variance history is floored at the recording resolution: one tick is not a regression", () => {
    const v = seriesVerdict(Array(15).fill(20), 21, smaller); // an integer timer at 20 ticks
    expect(v.verdict).not.toBe("regressed");
    expect(v.method).toMatch(/spread floored at the recording resolution \(1: ±1\.44 %\)/);
    expect(v.ci!.high - v.ci!.low).toBeGreaterThan(0);
  });

  it("log(21/20) is not beyond a 5 % margin: ties at the margin are not regressions", () => {
    const v = regressionVerdict(Array(10).fill(20), Array(10).fill(21), { ...smaller, maxRegression: 0.05 });
    expect(v.verdict).not.toBe("regressed");
  });

  it("the p-value for bigger-is-better is exact: fully separated 6 vs 6 is 1/924", () => {
    const v = regressionVerdict([10, 11, 12, 13, 14, 15], [1, 2, 3, 4, 5, 6], {
      direction: "bigger",
      maxRegression: 0.05,
      minSamples: 5,
      autocorrelation: "none",
    });
    expect(v.p).toBeCloseTo(1 / 924, 12);
    expect(v.pMargin).toBeCloseTo(1 / 924, 12);
  });

  it("bimodal independent clocks are not read as serially correlated", () => {
    const r = seededRandom(7);
    const bimodal = Array.from({ length: 40 }, () => (r() < 0.2 ? 108 : 100) * (1 + (r() - 0.5) * 0.01));
    expect(significantAutocorrelation([bimodal.map(Math.log)])).toBe(0);
  });

  it("a regression alone among many judged metrics that noise explains is held back (Holm)", async () => {
    const d = await mkdtemp(join(tmpdir(), "gpuci-holm-"));
    const store = fileStore(join(d, "h.jsonl"));
    const r = seededRandom(3);
    const ids = Array.from({ length: 20 }, (_, i) => `m${i}`);
    for (let k = 0; k < 30; k++)
      await store.append({
        v: 1,
        at: new Date(Date.UTC(2026, 0, 1 + k)).toISOString(),
        commit: `c${String(k).padStart(39, "0")}`,
        branch: "main",
        results: Object.fromEntries(ids.map((id) => [id, { value: 100 * (1 + 0.02 * (r() - 0.5) * 3.46) }])),
      });
    // m0 sits just past what its own interval calls regressed; the other 19 are unchanged.
    const head: Record<string, number> = Object.fromEntries(ids.map((id) => [id, 100]));
    head.m0 = 110.5;
    await writeFile(join(d, "m.json"), JSON.stringify(head));
    const gates = ids.map((id) => ({
      id,
      metric: { file: "m.json", path: id },
      baseline: { history: true },
    }));
    const { section } = await evaluateGates(gates, { baseDir: d, store, history: { record: false } });
    const m0 = section.findings.find((f) => f.id === "gate.m0")!;
    const data = m0.data as { verdict: string; pMargin: number; family: { survives: boolean } };
    expect(data.verdict).toBe("regressed");
    expect(data.family.survives).toBe(false);
    expect(m0.status).toBe("warn");
    expect(m0.summary).toMatch(
      /not a failure: p = .* does not survive Holm's correction over the 20 metrics/,
    );
    expect(section.findings.find((f) => f.id === "gates.family")!.summary).toMatch(
      /held back as likely noise: m0/,
    );
    // A large regression survives it.
    head.m0 = 130;
    await writeFile(join(d, "m.json"), JSON.stringify(head));
    const again = await evaluateGates(gates, { baseDir: d, store, history: { record: false } });
    expect(again.section.findings.find((f) => f.id === "gate.m0")!.status).toBe("fail");
  });
});

describe("confirming a one-value regression", () => {
  async function history() {
    const d = await mkdtemp(join(tmpdir(), "gpuci-confirm-"));
    const store = fileStore(join(d, "h.jsonl"));
    const r = seededRandom(5);
    for (let k = 0; k < 30; k++)
      await store.append({
        v: 1,
        at: new Date(Date.UTC(2026, 0, 1 + k)).toISOString(),
        commit: `c${String(k).padStart(39, "0")}`,
        branch: "main",
        results: { lat: { value: 100 * (1 + 0.02 * (r() - 0.5) * 3.46) } },
      });
    await writeFile(join(d, "m.json"), JSON.stringify({ lat: 130 })); // an outlier run, or a regression
    return { d, store };
  }
  const gate = [{ id: "lat", metric: { file: "m.json", path: "lat" }, baseline: { history: true } }];

  it("an outlier run is not reproduced by the re-runs: a warning, never a failure", async () => {
    const { d, store } = await history();
    const { section } = await evaluateGates(gate, {
      baseDir: d,
      store,
      history: { record: false },
      confirmations: { lat: [100.5] },
    });
    const f = section.findings.find((x) => x.id === "gate.lat")!;
    expect(f.status).toBe("warn");
    expect(f.summary).toMatch(/confirming re-run \(100\.5: (unchanged|inconclusive)\).*not reproduced/);
    expect(f.data).toMatchObject({ confirm: { first: 130, values: [100.5] }, unconfirmed: true });
    expect((f.data as { confirm: { each: string[] } }).confirm.each).not.toContain("regressed");
  });

  it("a regression every re-run reproduces fails, judged on the median", async () => {
    const { d, store } = await history();
    const { section } = await evaluateGates(gate, {
      baseDir: d,
      store,
      history: { record: false },
      confirmations: { lat: [128, 131] },
    });
    const f = section.findings.find((x) => x.id === "gate.lat")!;
    expect(f.status).toBe("fail");
    expect(f.data).toMatchObject({ confirm: { each: ["regressed", "regressed"] }, nHead: 3 });
    expect((f.data as { ratio: number }).ratio).toBeCloseTo(1.3, 1);
  });

  it("with nothing to re-run (gpuci gates on files) a marginal one-value regression is held to the single-shot rule", async () => {
    const { d, store } = await history();
    await writeFile(join(d, "m.json"), JSON.stringify({ lat: 110.5 }));
    const strict = await evaluateGates(gate, {
      baseDir: d,
      store,
      history: { record: false },
      confirmable: false,
    });
    const f = strict.section.findings.find((x) => x.id === "gate.lat")!;
    expect(f.data).toMatchObject({ verdict: "regressed", singleShot: true });
    expect(f.status).toBe("warn");
    expect(f.summary).toMatch(/single-shot rule: nothing can re-run it here/);
    const normal = await evaluateGates(gate, { baseDir: d, store, history: { record: false } });
    expect(normal.section.findings.find((x) => x.id === "gate.lat")!.status).toBe("fail");
  });
});

describe("seriesVerdict: one number a run against the base-branch series", () => {
  it("a flat history decides a +15 % run as regressed and a +0.5 % run as unchanged", () => {
    const series = noisy(30, 100, 0.01);
    expect(seriesVerdict(series, 115, smaller).verdict).toBe("regressed");
    expect(seriesVerdict(series, 100.5, smaller).verdict).toBe("unchanged");
  });

  it("a history too noisy for the margin is inconclusive with the reason", () => {
    const v = seriesVerdict(noisy(30, 100, 0.06), 104, smaller);
    expect(v.verdict).toBe("inconclusive");
    expect(v.reason).toMatch(/varies too much \(CV ≈ \d/);
  });
});

describe("helpers", () => {
  it("normal and t quantiles match tables", () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
    expect(tQuantile(0.975, 10)).toBeCloseTo(2.228139, 5);
    expect(tQuantile(0.975, 29)).toBeCloseTo(2.04523, 5);
    // Exact at small df too (a series approximation was 11 % low at df = 1).
    expect(tQuantile(0.975, 1)).toBeCloseTo(12.7062, 3);
    expect(tQuantile(0.975, 2)).toBeCloseTo(4.302653, 5);
    expect(tCdf(2.228139, 10)).toBeCloseTo(0.975, 6);
  });

  it("Holm keeps family-wise error; Benjamini-Hochberg q-values are monotone", () => {
    expect(holm([0.001, 0.04, 0.03, 0.5], 0.05)).toEqual([true, false, false, false]);
    expect(holm([0.001, 0.012, 0.03], 0.05)).toEqual([true, true, true]);
    expect(bhQValues([0.01, 0.04, 0.03, 0.5]).map((q) => Number(q.toFixed(3)))).toEqual([
      0.04, 0.053, 0.053, 0.5,
    ]);
  });

  it("the sequential plan looks only where a look can decide, with Pocock-type spending", () => {
    const plan = sequentialPlan(5, 40, 0.025, true);
    // Bonferroni over the 10 looks gave 0.25 % each, and rounds 5 and 7 could never decide.
    expect(plan.looks[0]).toBeGreaterThanOrEqual(6);
    for (const n of plan.looks) expect(2 ** -n).toBeLessThanOrEqual(plan.alphaPerLook);
    expect(plan.alphaPerLook).toBeGreaterThan(0.025 / plan.looks.length);
    expect(plan.alphaPerLook).toBeLessThan(0.025);
    expect(plan.method).toMatch(
      /^95 % sequential: \d+ looks \(rounds .*\) at 98\.\d+ % each, Pocock-type spending$/,
    );
    // Pocock's constant for 5 equally spaced looks, one-sided 2.5 % (two-sided 5 %): c ≈ 2.413.
    expect(pocockAlpha([0.2, 0.4, 0.6, 0.8, 1], 0.025)).toBeCloseTo(1 - 0.99209, 3);
  });

  it("paired verdicts need the pairs their level can decide with; A/B sizing uses the A/B's level", () => {
    const base = [100, 101, 99, 100, 102];
    const v = regressionVerdict(
      base,
      base.map((x) => x * 1.3),
      { direction: "smaller", maxRegression: 0.05, paired: true },
    );
    // Five pairs all +30 %: p = 1/32 > 2.5 %, no 95 % signed-rank interval exists.
    expect(v).toMatchObject({ verdict: "inconclusive", tooFewSamples: true });
    expect(v.reason).toMatch(/need ≥ 6 rounds/);
    const six = [...base, 100];
    expect(
      regressionVerdict(
        six,
        six.map((x) => x * 1.3),
        { direction: "smaller", maxRegression: 0.05, paired: true },
      ).verdict,
    ).toBe("regressed");
    // CV 3 %, margin 5 %: 10 rounds at a 95 % interval, 13 at the default A/B's per-look level.
    expect(roundsNeeded(0.03, 0.05, 0.025)).toBe(10);
    expect(roundsNeeded(0.03, 0.05)).toBe(13);
    // A quiet series still needs the pairs the interval exists with.
    expect(roundsNeeded(0.001, 0.05)).toBe(minPairedRounds(sequentialPlan(6, 40, 0.025).alphaPerLook));
  });

  it("sequential looks start at min, grow by a quarter and end at max", () => {
    expect(sequentialLooks(5, 40)).toEqual([5, 7, 9, 12, 15, 19, 24, 30, 38, 40]);
    expect(sequentialLooks(3, 3)).toEqual([3]);
  });
});

describe("history verdicts for one number a run", () => {
  it("judges a single-value metric against the last base-branch results on the same GPU", async () => {
    const d = await mkdtemp(join(tmpdir(), "gpuci-series-"));
    const store = fileStore(join(d, "h.jsonl"));
    const values = noisy(12, 50, 0.01);
    for (const [i, v] of values.entries())
      await store.append({
        v: 1,
        at: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
        commit: `c${String(i).padStart(39, "0")}`,
        branch: "main",
        gpu: "NVIDIA L4",
        results: { mean: { value: v } },
      });
    // A different GPU's results never enter the series.
    await store.append({
      v: 1,
      at: "2026-02-01T00:00:00Z",
      commit: "x".repeat(40),
      branch: "main",
      gpu: "NVIDIA H100",
      results: { mean: { value: 5 } },
    });
    await writeFile(join(d, "m.json"), JSON.stringify({ mean: 58 }));
    const { section } = await evaluateGates(
      [{ id: "mean", metric: { file: "m.json", path: "mean" }, baseline: { history: true } }],
      { baseDir: d, store, history: { record: false }, context: { gpu: "NVIDIA L4" } },
    );
    const f = section.findings[0]!;
    expect(f.status).toBe("fail");
    expect(f.summary).toMatch(/^regressed: \+1\d\.\d % .* against the last 12 base-branch results/);
    expect((f.data as { series: unknown[] }).series).toHaveLength(12);
  });
});

describe("history on the base branch: steps and noisy metrics", () => {
  async function mainRepo(values: number[], head: number) {
    const d = await mkdtemp(join(tmpdir(), "gpuci-step-"));
    const run = (...args: string[]) =>
      execFileSync("git", args, {
        cwd: d,
        encoding: "utf8",
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: "t",
          GIT_AUTHOR_EMAIL: "t@e",
          GIT_COMMITTER_NAME: "t",
          GIT_COMMITTER_EMAIL: "t@e",
        },
      }).trim();
    run("init", "-q", "-b", "main");
    await writeFile(join(d, "m.json"), JSON.stringify({ mean: head }));
    run("add", ".");
    run("commit", "-q", "-m", "head");
    const store = fileStore(join(d, "h.jsonl"));
    for (const [i, v] of values.entries())
      await store.append({
        v: 1,
        at: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
        commit: `${String(i).padStart(2, "0")}${"a".repeat(38)}`,
        branch: "main",
        results: { mean: { value: v } },
      });
    return { d, store };
  }

  it("a push to the base branch that steps the level is a warning naming the commit range, not a failure", async () => {
    const { d, store } = await mainRepo(noisy(12, 50, 0.01), 58);
    const { section } = await evaluateGates(
      [{ id: "mean", metric: { file: "m.json", path: "mean" }, baseline: { history: true } }],
      { baseDir: d, store, history: { record: false }, env: {} },
    );
    const f = section.findings[0]!;
    expect(f.status).toBe("warn");
    expect(f.summary).toMatch(/the level stepped \+1\d\.\d % between 11a{10} and [0-9a-f]{12}/);
    expect(f.remedy).toMatch(/bisect between 11a{10} and/);
    expect((f.data as { step: { from: string } }).step.from).toBe(`11${"a".repeat(38)}`);
  });

  it("marks a metric whose history is too noisy for the margin", async () => {
    const { d, store } = await mainRepo(noisy(20, 50, 0.08), 50);
    const { section } = await evaluateGates(
      [{ id: "mean", metric: { file: "m.json", path: "mean" }, baseline: { history: true } }],
      { baseDir: d, store, history: { record: false }, env: {} },
    );
    const data = section.findings[0]!.data as { noisy?: string; verdict: string };
    expect(data.verdict).toBe("inconclusive");
    expect(data.noisy).toMatch(/needs about \d+ paired A\/B rounds \(more than 40\)/);
  });
});

describe("strict metric reading: never a pass on garbage", () => {
  const gate = (
    file: string,
    metric: Record<string, unknown>,
    extra: Record<string, unknown> = { max: 100 },
  ) => ({
    id: "g",
    metric: { file, ...metric },
    ...extra,
  });
  async function statusOf(
    name: string,
    text: string,
    metric: Record<string, unknown>,
    extra?: Record<string, unknown>,
  ) {
    const d = await mkdtemp(join(tmpdir(), "gpuci-strict-"));
    await writeFile(join(d, name), text);
    const { section } = await evaluateGates([gate(name, metric, extra)], { baseDir: d });
    return section.findings[0]!;
  }

  it("benchmark formats refuse null, empty strings, lists and booleans instead of reading 0 or 1", async () => {
    for (const bad of [null, "", [], true]) {
      const gb = await statusOf(
        "gb.json",
        JSON.stringify({
          benchmarks: [
            { name: "BM_x", run_name: "BM_x", run_type: "iteration", real_time: bad, time_unit: "ns" },
          ],
        }),
        { format: "google-benchmark", name: "BM_x" },
      );
      expect(gb).toMatchObject({
        status: "error",
        summary: expect.stringMatching(/real_time is .*not a number/),
      });
      const hf = await statusOf(
        "hf.json",
        JSON.stringify({ results: [{ command: "x", times: [0.1, bad, 0.2] }] }),
        {
          format: "hyperfine",
        },
      );
      expect(hf).toMatchObject({
        status: "error",
        summary: expect.stringMatching(/times\[1\] is .*not a number/),
      });
      const pb = await statusOf(
        "pb.json",
        JSON.stringify({ benchmarks: [{ name: "test_x", fullname: "t::test_x", stats: { median: bad } }] }),
        { format: "pytest-benchmark" },
      );
      expect(pb).toMatchObject({
        status: "error",
        summary: expect.stringMatching(/stats\.median is .*not a number/),
      });
    }
  });

  it("JUnit counts what the file shows: <failure/> children without attributes fail; empty or negative counts are refused", async () => {
    const junit = (suite: string) => `<?xml version="1.0"?><testsuites>${suite}</testsuites>`;
    const children = await statusOf(
      "a.xml",
      junit(
        '<testsuite name="s"><testcase name="a"/><testcase name="b"><failure message="boom"/></testcase></testsuite>',
      ),
      { field: "failures" },
      { max: 0 },
    );
    expect(children).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/^1 tests? is not ≤ 0/),
    });
    const nested = await statusOf(
      "n.xml",
      junit(
        '<testsuite name="outer"><testsuite name="inner"><testcase name="x"><error/></testcase></testsuite></testsuite>',
      ),
      { field: "errors" },
      { max: 0 },
    );
    expect(nested.status).toBe("fail");
    for (const bad of ['failures=""', 'failures="-1"', 'failures="two"']) {
      const f = await statusOf(
        "b.xml",
        junit(`<testsuite name="s" tests="1" ${bad}><testcase name="a"/></testsuite>`),
        { field: "failures" },
        { max: 0 },
      );
      expect(f).toMatchObject({ status: "error", summary: expect.stringMatching(/not a count/) });
    }
  });
});

describe("parity never passes on nothing", () => {
  it("refuses empty arrays, zero-size arrays and all-NaN against all-NaN", async () => {
    const d = await mkdtemp(join(tmpdir(), "gpuci-parity-empty-"));
    const cases: Array<[string, unknown, RegExp]> = [
      ["empty", [], /both arrays are empty/],
      ["zero-size", [[], []], /both arrays are empty/],
      ["all-NaN", ["NaN", "NaN"], /no finite value/],
    ];
    for (const [name, value, message] of cases) {
      const text = JSON.stringify({ v: value }).replace(/"NaN"/g, "NaN");
      await writeFile(join(d, `${name}.json`), text);
      const { section } = await evaluateGates(
        [
          {
            id: "p",
            parity: {
              a: { file: `${name}.json`, path: "v" },
              b: { file: `${name}.json`, path: "v" },
              maxDrift: 0.01,
            },
          },
        ],
        { baseDir: d },
      );
      expect(section.findings[0], name).toMatchObject({
        status: "error",
        summary: expect.stringMatching(message),
      });
    }
  });
});
