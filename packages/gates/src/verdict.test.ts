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
  verdictText,
} from "./index.js";
import { tiedMannWhitneyPmf, tiedSignedRankPmf } from "./verdict.js";

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

describe("ties: exact distributions given the tie pattern (coarse timers)", () => {
  const none = { ...smaller, autocorrelation: "none" as const };

  /** All ways to pick k of the indices 0..n−1. */
  function* choose(n: number, k: number, from = 0, picked: number[] = []): Generator<number[]> {
    if (picked.length === k) {
      yield picked;
      return;
    }
    for (let i = from; i <= n - (k - picked.length); i++) yield* choose(n, k, i + 1, [...picked, i]);
  }
  /** Mann-Whitney U of head over base, ties a half (brute force over all pairs). */
  const mwU = (base: number[], head: number[]) => {
    let u = 0;
    for (const h of head) for (const b of base) u += h > b + 1e-12 ? 1 : h >= b - 1e-12 ? 0.5 : 0;
    return u;
  };
  /** Every relabelling of the pooled values into base and head: the permutation distribution of U. */
  const mwPermutations = (base: number[], head: number[]) => {
    const pooled = [...base, ...head];
    const us: number[] = [];
    for (const h of choose(pooled.length, head.length)) {
      const hs = new Set(h);
      us.push(
        mwU(
          pooled.filter((_, i) => !hs.has(i)),
          h.map((i) => pooled[i]!),
        ),
      );
    }
    return us;
  };
  /** Pratt's signed-rank T⁺ (mid-ranks of |z| with zeros ranked, zeros unsigned). */
  const prattT = (z: number[]) => {
    const a = z.map(Math.abs);
    let t = 0;
    z.forEach((v, i) => {
      if (v <= 1e-12) return;
      const below = a.filter((x) => x < a[i]! - 1e-12).length;
      const tied = a.filter((x) => Math.abs(x - a[i]!) <= 1e-12).length;
      t += below + (tied + 1) / 2;
    });
    return t;
  };
  /** Every sign pattern of the nonzero values: the permutation distribution of T⁺. */
  const prattPermutations = (z: number[]) => {
    const out: number[] = [];
    for (let mask = 0; mask < 2 ** z.length; mask++) {
      // Zeros have no sign: count each of their patterns once.
      if (z.some((v, i) => Math.abs(v) <= 1e-12 && mask & (1 << i))) continue;
      out.push(prattT(z.map((v, i) => (mask & (1 << i) ? -Math.abs(v) : Math.abs(v)))));
    }
    return out;
  };
  const tail = (xs: number[], at: number, upper: boolean) =>
    xs.filter((x) => (upper ? x >= at - 1e-9 : x <= at + 1e-9)).length / xs.length;

  it("the tied Mann-Whitney distribution equals the enumeration of every relabelling (m = n = 5)", () => {
    // Pooled groups (ascending) of sizes 2, 3, 1, 4: ten values, five of them head.
    const values = [1, 1, 2, 2, 2, 3, 4, 4, 4, 4];
    const pmf = tiedMannWhitneyPmf([2, 3, 1, 4], 5);
    const brute = new Float64Array(2 * 25 + 1);
    const all = mwPermutations(values.slice(0, 5), values.slice(5));
    for (const u of all) brute[2 * u]! += 1 / all.length;
    expect(all.length).toBe(252);
    expect(pmf.length).toBe(brute.length);
    for (let i = 0; i < pmf.length; i++) expect(pmf[i]).toBeCloseTo(brute[i]!, 14);
    // Without ties it is the classical distribution: P(U = 0) = 1/252 and symmetric.
    const untied = tiedMannWhitneyPmf([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 5);
    expect(untied[0]).toBeCloseTo(1 / 252, 15);
    for (let i = 0; i <= 50; i++) expect(untied[i]).toBeCloseTo(untied[50 - i]!, 15);
  });

  it("the tied signed-rank distribution (zeros per Pratt) equals the enumeration of every sign pattern", () => {
    const z = [0, 0.1, -0.1, 0.2, 0.2, -0.2, 0.3, 0.5];
    // |z| ranks: 1 (the zero), 2.5 ×2, 5 ×3, 7, 8: nonzero groups of sizes 2, 3, 1, 1.
    const pmf = tiedSignedRankPmf([2, 3, 1, 1], [5, 10, 14, 16]);
    const all = prattPermutations(z);
    expect(all.length).toBe(128);
    const brute = new Float64Array(pmf.length);
    for (const t of all) brute[Math.round(2 * t)]! += 1 / all.length;
    for (let i = 0; i < pmf.length; i++) expect(pmf[i]).toBeCloseTo(brute[i]!, 14);
  });

  it("unpaired: p-values and the interval are those of the exact permutation test inverted by brute force", () => {
    const cases: Array<[number[], number[], number, boolean]> = [
      // base, head, tied groups of the pooled values, whether the interval's ends are open
      [[20, 20, 21, 21, 21, 22], [21, 22, 22, 22, 23], 3, false],
      [[20, 21, 21, 22, 20, 20], [22, 22, 23, 21, 23], 4, true],
    ];
    for (const [base, head, groups, open] of cases) {
      const v = regressionVerdict(base, head, { ...none, minSamples: 5 });
      expect(v.method).toContain(`exact with ties (${groups} tied groups)`);
      const lb = base.map(Math.log);
      const lh = head.map(Math.log);
      // p: P(U ≥ observed) over every relabelling, at no change and at the margin.
      const at = (shift: number, upper: boolean) => {
        const shifted = lh.map((h) => h - shift);
        return tail(mwPermutations(lb, shifted), mwU(lb, shifted), upper);
      };
      expect(v.p).toBeCloseTo(at(0, true), 14);
      expect(v.pMargin).toBeCloseTo(at(Math.log(1.05), true), 14);
      // The interval: the shifts (every pairwise difference and the stretches between) that
      // neither one-sided test rejects at 2.5 %.
      const d = [...new Set(lh.flatMap((h) => lb.map((b) => h - b)))].sort((a, b) => a - b);
      const candidates = d.flatMap((x, i) => (i + 1 < d.length ? [x, (x + d[i + 1]!) / 2] : [x]));
      const kept = candidates.filter((s) => at(s, true) > 0.025 && at(s, false) > 0.025);
      expect(kept.length).toBeGreaterThan(0);
      const onDiff = (s: number) => d.some((x) => Math.abs(x - s) < 1e-12);
      // An end inside a stretch reaches to the difference beside it, which itself is out: open.
      const lowEnd = onDiff(kept[0]!) ? kept[0]! : d.filter((x) => x < kept[0]!).at(-1)!;
      const highEnd = onDiff(kept.at(-1)!) ? kept.at(-1)! : d.find((x) => x > kept.at(-1)!)!;
      expect(Math.log(v.ci!.low)).toBeCloseTo(lowEnd, 12);
      expect(Math.log(v.ci!.high)).toBeCloseTo(highEnd, 12);
      expect(!!v.ci!.lowOpen).toBe(!onDiff(kept[0]!));
      expect(!!v.ci!.highOpen).toBe(!onDiff(kept.at(-1)!));
      expect(!!v.ci!.lowOpen && !!v.ci!.highOpen).toBe(open);
    }
  });

  it("paired: p-values and the interval are those of Pratt's signed-rank test inverted by brute force", () => {
    const base = [20, 20, 20, 20, 20, 20, 20, 20, 20, 20];
    const head = [20, 21, 21, 21, 22, 22, 21, 23, 20, 21];
    const v = regressionVerdict(base, head, { ...none, paired: true });
    expect(v.method).toMatch(/exact with ties \(3 tied groups; zeros per Pratt\)/);
    const d = head.map((h, i) => Math.log(h) - Math.log(base[i]!));
    const at = (shift: number, upper: boolean) => {
      const z = d.map((x) => x - shift);
      return tail(prattPermutations(z), prattT(z), upper);
    };
    expect(v.p).toBeCloseTo(at(0, true), 14);
    expect(v.pMargin).toBeCloseTo(at(Math.log(1.05), true), 14);
    const w: number[] = [];
    for (let i = 0; i < d.length; i++) for (let j = i; j < d.length; j++) w.push((d[i]! + d[j]!) / 2);
    const walsh = [...w].sort((a, b) => a - b).filter((x, i, a) => i === 0 || x - a[i - 1]! > 1e-12);
    const candidates = walsh.flatMap((x, i) => (i + 1 < walsh.length ? [x, (x + walsh[i + 1]!) / 2] : [x]));
    const kept = candidates.filter((s) => at(s, true) > 0.025 && at(s, false) > 0.025);
    const onWalsh = (s: number) => walsh.some((x) => Math.abs(x - s) < 1e-12);
    const lowEnd = onWalsh(kept[0]!) ? kept[0]! : walsh.filter((x) => x < kept[0]!).at(-1)!;
    const highEnd = onWalsh(kept.at(-1)!) ? kept.at(-1)! : walsh.find((x) => x > kept.at(-1)!)!;
    expect(Math.log(v.ci!.low)).toBeCloseTo(lowEnd, 12);
    expect(Math.log(v.ci!.high)).toBeCloseTo(highEnd, 12);
  });

  it("without ties the results are those of the untied exact intervals, digit for digit", () => {
    // Values with six decimals: no two equal. The numbers are the verdict's before tie handling.
    const base = [
      96.533425, 96.594395, 94.473163, 98.804336, 96.169353, 101.920285, 98.506386, 102.441427, 99.693251,
      97.867082, 102.798204, 96.477304,
    ];
    const head = [
      107.864272, 106.680381, 104.029475, 108.296436, 111.303448, 107.627704, 103.033434, 102.481332,
      109.890676, 108.679435, 109.139788, 106.691879,
    ];
    const u = regressionVerdict(base, head, none);
    expect([u.ci!.low, u.ci!.high, u.p, u.pMargin, u.pMoved]).toEqual([
      1.0616150001929379, 1.116672163017326, 7.396023010506792e-7, 0.0027797952484989773,
      0.005559590496997955,
    ]);
    expect(u.method).toBe("Hodges-Lehmann shift with the Moses (Mann-Whitney) interval on log values");
    const p = regressionVerdict(base, head, { ...none, paired: true });
    expect([p.ci!.low, p.ci!.high, p.p, p.pMargin, p.pMoved]).toEqual([
      1.0559988524364898, 1.1098070873293968, 0.000244140625, 0.004638671875, 0.00927734375,
    ]);
    expect(p.method).toBe(
      "paired: Hodges-Lehmann with the Wilcoxon signed-rank interval on within-round log ratios",
    );
    expect(u.ci!.lowOpen ?? p.ci!.lowOpen ?? u.ci!.highOpen ?? p.ci!.highOpen).toBeUndefined();
  });

  it("a coarse timer's +10 % that the untied interval left inconclusive is decided, the interval open at the margin", () => {
    // A timer of one tick at ~20 ticks: base mostly 20, head mostly 22.
    const base = [20, 21, 19, 20, 20, 21, 20, 20, 21, 20, 19, 20, 20, 21, 20, 20, 21, 20, 20, 21];
    const head = [22, 22, 21, 22, 23, 22, 22, 22, 21, 22, 22, 22, 23, 22, 22, 22, 22, 22, 22, 22];
    const v = regressionVerdict(base, head, none);
    expect(v.verdict).toBe("regressed");
    expect(v.method).toMatch(/exact with ties \(5 tied groups\)/);
    // The interval's low end is one tick (21/20, exactly the 5 % margin), and open: the test
    // rejects a change of exactly 5 %, so only changes beyond it are in the interval.
    expect(v.ci).toMatchObject({ low: expect.closeTo(1.05, 12), lowOpen: true });
    expect(v.pMargin).toBeLessThan(0.025);
    expect(verdictText(v, 0.05)).toMatch(/^regressed: \+10\.0 % \(\+5\.0 %, \+10\.0 %\] \(95 % interval\)/);
    // Paired rounds: the same.
    const b = [20, 20, 21, 21, 20, 20, 21, 20, 20, 20, 21, 20];
    const h = [22, 23, 22, 22, 22, 22, 22, 21, 23, 22, 22, 22];
    const pv = regressionVerdict(b, h, { ...none, paired: true });
    expect(pv.verdict).toBe("regressed");
    expect(pv.ci).toMatchObject({ low: expect.closeTo(1.05, 12), lowOpen: true });
  });

  it("beyond the exact sizes the tie-corrected normal approximation decides, and says so", () => {
    const r = seededRandom(12);
    const g = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    const tick = (level: number) => Math.round(level * Math.exp(0.02 * g()));
    const base = Array.from({ length: 60 }, () => tick(20));
    const head = Array.from({ length: 60 }, () => tick(22));
    const u = regressionVerdict(base, head, none);
    expect(u.method).toMatch(/normal approximation with tie-corrected variance \(\d+ tied groups\)$/);
    expect(u.verdict).toBe("regressed");
    expect(regressionVerdict(base, base.slice().reverse(), none).verdict).toBe("unchanged");
    const d = Array.from({ length: 240 }, () => tick(20));
    const e = Array.from({ length: 240 }, () => tick(22));
    const p = regressionVerdict(d, e, { ...none, paired: true });
    expect(p.method).toMatch(
      /normal approximation with tie-corrected variance \(\d+ tied groups; zeros per Pratt\)$/,
    );
    expect(p.verdict).toBe("regressed");
  });

  it("all values tied on each side (zero variance) stays sane: one tick at the margin is not a regression", () => {
    const twenty = Array(12).fill(20);
    for (const paired of [false, true]) {
      const oneTick = regressionVerdict(twenty, Array(12).fill(21), { ...smaller, paired });
      expect(oneTick.verdict).toBe("inconclusive");
      expect(oneTick.ci).toEqual({ low: expect.closeTo(1.05, 12), high: expect.closeTo(1.05, 12) });
      expect(oneTick.method).toMatch(/exact with ties \(2 tied groups\)|exact with ties \(1 tied group;/);
      const same = regressionVerdict(twenty, twenty, { ...smaller, paired });
      expect(same).toMatchObject({ verdict: "unchanged", p: 1, ci: { low: 1, high: 1 } });
      expect(regressionVerdict(twenty, Array(12).fill(22), { ...smaller, paired }).verdict).toBe("regressed");
    }
  });
});
