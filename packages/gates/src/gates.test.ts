import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  evaluateGates,
  extractJsonl,
  fileStore,
  GatesConfigSchema,
  gitBranchStore,
  type HistoryEntry,
  MetricFileCache,
  mannWhitneyGreater,
  median,
  parseNpy,
  quantileSorted,
  regressionVerdict,
  seededRandom,
  sorted,
} from "./index.js";

async function dir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "gpuci-gates-"));
}
const find = (section: { findings: Array<{ id: string }> }, id: string) =>
  section.findings.find((f) => f.id === `gate.${id}`) as unknown as {
    status: string;
    summary?: string;
    remedy?: string;
    data?: Record<string, unknown>;
  };

describe("formats written by the real tools", () => {
  it("hyperfine --export-json", async () => {
    const d = await dir();
    execFileSync("hyperfine", ["--runs", "6", "--export-json", join(d, "hf.json"), "sleep 0.001"], {
      stdio: "ignore",
    });
    const { section } = await evaluateGates(
      [{ id: "hf", metric: { file: "hf.json", format: "hyperfine", name: "sleep 0.001" }, max: 1 }],
      { baseDir: d },
    );
    expect(find(section, "hf")).toMatchObject({ status: "pass", data: { unit: "s", direction: "smaller" } });
    expect(find(section, "hf").summary).toMatch(
      /^\d+(\.\d+)? ms \(≤ 1 s; a bare threshold is in s, the unit the metric reports\) — hf\.json: sleep 0\.001 \(median\)$/,
    );
  });

  it("pytest-benchmark --benchmark-json and pytest --junitxml", async () => {
    const d = await dir();
    await writeFile(
      join(d, "test_b.py"),
      "import pytest\ndef test_sum_small(benchmark):\n    benchmark(sum, range(1000))\ndef test_ok():\n    pass\ndef test_bad():\n    assert 1 == 2\n@pytest.mark.skip(reason='no gpu')\ndef test_gpu():\n    pass\n",
    );
    spawnSync(
      "/usr/bin/python3",
      [
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "test_b.py",
        "--benchmark-json=pb.json",
        "--benchmark-min-rounds=7",
        "--benchmark-max-time=0.05",
        "--junitxml=junit.xml",
      ],
      { cwd: d, stdio: "ignore" },
    );
    const { section } = await evaluateGates(
      [
        {
          id: "bench",
          metric: { file: "pb.json", format: "pytest-benchmark", name: "test_sum_small" },
          max: 1,
        },
        { id: "failures", metric: { file: "junit.xml", field: "failures" }, equals: 0 },
        { id: "passed", metric: { file: "junit.xml", field: "passed" }, min: 2 },
        { id: "skipped", metric: { file: "junit.xml", field: "skipped" }, max: 1 },
      ],
      { baseDir: d },
    );
    expect(find(section, "bench")).toMatchObject({ status: "pass", data: { unit: "s" } });
    expect(find(section, "failures")).toMatchObject({ status: "fail", data: { value: 1 } });
    expect(find(section, "failures").summary).toMatch(/4 tests, 1 failures, 0 errors, 1 skipped/);
    expect(find(section, "passed").data?.value).toBe(2);
    expect(find(section, "skipped").status).toBe("pass");
  });

  it("Google Benchmark with repetitions (built with g++)", async () => {
    const d = await dir();
    await writeFile(
      join(d, "bm.cc"),
      "#include <benchmark/benchmark.h>\nstatic void BM_Sum(benchmark::State& s){ long t=0; for (auto _ : s) { for (int i=0;i<256;i++) t+=i; benchmark::DoNotOptimize(t);} }\nBENCHMARK(BM_Sum);\nBENCHMARK_MAIN();\n",
    );
    execFileSync("g++", ["-O2", "bm.cc", "-o", "bm", "-lbenchmark", "-lpthread"], { cwd: d });
    execFileSync(
      "./bm",
      [
        "--benchmark_repetitions=5",
        "--benchmark_min_time=0.01",
        "--benchmark_format=json",
        "--benchmark_out=gb.json",
      ],
      { cwd: d, stdio: "ignore" },
    );
    const { section, outcomes } = await evaluateGates(
      [{ id: "gb", metric: { file: "gb.json", format: "google-benchmark", name: "BM_Sum" }, max: 1e9 }],
      { baseDir: d },
    );
    expect(find(section, "gb")).toMatchObject({ status: "pass", data: { unit: "ns" } });
    expect(find(section, "gb").summary).toMatch(/BM_Sum \(median of 5 repetitions\)/);
    expect(outcomes[0]?.samples).toHaveLength(5);
  });

  it("github-action-benchmark custom JSON (the format from its README)", async () => {
    const d = await dir();
    // customBiggerIsBetter / customSmallerIsBetter entries as documented by benchmark-action/github-action-benchmark.
    await writeFile(
      join(d, "custom.json"),
      JSON.stringify([
        { name: "My Custom Smaller Is Better Benchmark - CPU Load", unit: "Percent", value: 50 },
        {
          name: "My Custom Bigger Is Better Benchmark - Throughput",
          unit: "ops/sec",
          value: 1200,
          range: "3",
          extra: "Value for Tooltip: 25",
        },
      ]),
    );
    const { section } = await evaluateGates(
      [
        {
          id: "cpu",
          metric: {
            file: "custom.json",
            format: "benchmark-action",
            name: "My Custom Smaller Is Better Benchmark - CPU Load",
          },
          max: 40,
        },
        {
          id: "tput",
          metric: { file: "custom.json", format: "benchmark-action", name: "*Throughput" },
          min: 1000,
        },
      ],
      { baseDir: d },
    );
    expect(find(section, "cpu")).toMatchObject({
      status: "fail",
      data: { value: 50, unit: "Percent", threshold: "≤ 40 %" },
    });
    // A glob selects by pattern; the one match is its own gate, id tput[<name>].
    expect(find(section, "tput[My Custom Bigger Is Better Benchmark - Throughput]")).toMatchObject({
      status: "pass",
      data: { direction: "bigger", directionRule: "unit ops/sec is per time (a rate): bigger is better" },
    });
  });
});

describe("metric sources and verdicts", () => {
  it("json path, jsonl and csv statistics, rate with where", async () => {
    const d = await dir();
    await writeFile(join(d, "qc.json"), JSON.stringify({ results: { qc: [{ runaway_rate: 0.03 }] } }));
    const lines = Array.from({ length: 101 }, (_, i) =>
      JSON.stringify({ t: i, ok: i % 10 !== 0, verdict: i % 4 === 0 ? "reject" : "accept" }),
    );
    await writeFile(join(d, "rows.jsonl"), `${lines.join("\n")}\n`);
    await writeFile(
      join(d, "lat.csv"),
      `name,latency_us\n${Array.from({ length: 100 }, (_, i) => `"k,${i}",${i + 1}`).join("\n")}\n`,
    );
    const { section } = await evaluateGates(
      [
        { id: "path", metric: { file: "qc.json", path: "results.qc[0].runaway_rate" }, max: 0.05 },
        { id: "median", metric: { file: "rows.jsonl", field: "t", stat: "median" }, equals: 50 },
        { id: "p95", metric: { file: "rows.jsonl", field: "t", stat: "p95" }, range: [94, 96] },
        { id: "rate", metric: { file: "rows.jsonl", field: "ok", stat: "rate" }, min: 0.89 },
        {
          id: "where",
          metric: { file: "rows.jsonl", field: "verdict", stat: "rate", where: { eq: "accept" } },
          min: 0.74,
        },
        { id: "csv", metric: { file: "lat.csv", column: "latency_us", stat: "p90" }, max: 91 },
        { id: "count", metric: { file: "lat.csv", column: "latency_us", stat: "count" }, equals: 100 },
      ],
      { baseDir: d },
    );
    for (const id of ["path", "median", "p95", "rate", "where", "csv", "count"])
      expect(find(section, id).status, id).toBe("pass");
    expect(find(section, "rate").data?.value).toBeCloseTo(90 / 101, 10);
    expect(find(section, "csv").data?.value).toBeCloseTo(90.1, 10);
  });

  it("NaN and Inf never pass unless allowed; Python's NaN is read", async () => {
    const d = await dir();
    await writeFile(join(d, "m.json"), '{"loss": NaN, "ppl": Infinity}');
    const { section } = await evaluateGates(
      [
        { id: "loss", metric: { file: "m.json", path: "loss" }, max: 10 },
        { id: "ppl", metric: { file: "m.json", path: "ppl" }, max: 1e9 },
        { id: "ok", metric: { file: "m.json", path: "loss" }, max: 10, allowNaN: true },
      ],
      { baseDir: d },
    );
    expect(find(section, "loss")).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/is NaN: NaN and Inf never pass/),
    });
    expect(find(section, "ppl").status).toBe("fail");
    expect(find(section, "ok").status).toBe("pass");
  });

  it("a missing file, field or a wrong type is an error finding with a remedy", async () => {
    const d = await dir();
    await writeFile(join(d, "m.json"), JSON.stringify({ acc: "high", nested: { x: 1 } }));
    await writeFile(join(d, "r.csv"), "a,b\n1,2\n");
    const { section } = await evaluateGates(
      [
        { id: "nofile", metric: { file: "missing.json", path: "x" }, max: 1 },
        { id: "nofield", metric: { file: "m.json", path: "nested.y" }, max: 1 },
        { id: "type", metric: { file: "m.json", path: "acc" }, min: 0.5 },
        { id: "col", metric: { file: "r.csv", column: "c" }, max: 1 },
      ],
      { baseDir: d },
    );
    expect(find(section, "nofile")).toMatchObject({
      status: "error",
      remedy: expect.stringMatching(/missing\.json/),
    });
    expect(find(section, "nofield")).toMatchObject({
      status: "error",
      summary: expect.stringMatching(/has no "nested\.y"/),
    });
    expect(find(section, "type")).toMatchObject({
      status: "error",
      summary: expect.stringMatching(/"high", not a number/),
    });
    expect(find(section, "col")).toMatchObject({
      status: "error",
      remedy: "Set metric.column to one of: a, b.",
    });
    expect(section.status).toBe("error");
  });

  it("a correctness gate blocks the benchmark gates after it; severity warn downgrades", async () => {
    const d = await dir();
    await writeFile(join(d, "m.json"), JSON.stringify({ correct: false, latency: 40 }));
    const { section } = await evaluateGates(
      [
        { id: "latency", metric: { file: "m.json", path: "latency" }, max: 50, after: ["correct"] },
        { id: "correct", metric: { file: "m.json", path: "correct" }, equals: true },
        { id: "soft", severity: "warn", metric: { file: "m.json", path: "latency" }, max: 10 },
      ],
      { baseDir: d },
    );
    expect(section.findings.map((f) => f.id)).toEqual(["gate.correct", "gate.latency", "gate.soft"]);
    expect(find(section, "correct").status).toBe("fail");
    expect(find(section, "latency")).toMatchObject({ status: "skip", summary: "blocked by correct" });
    expect(find(section, "soft").status).toBe("warn");
  });

  it("cycles and unknown after ids are config errors with a path", () => {
    const r = GatesConfigSchema.safeParse([
      { id: "a", metric: { file: "x.json", path: "v" }, max: 1, after: ["b"] },
      { id: "b", metric: { file: "x.json", path: "v" }, max: 1, after: ["a"] },
      { id: "c", metric: { file: "x.json", path: "v" }, max: 1, after: ["nope"] },
    ]);
    expect(r.success).toBe(false);
    const messages = r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^0\.after: gates form a cycle: a → b → a$/),
        expect.stringMatching(/^2\.after\.0: no gate "nope"/),
      ]),
    );
  });
});

describe("parity", () => {
  it("reads numpy's own .npy (float32, float64) and rejects other dtypes and Fortran order", async () => {
    const d = await dir();
    execFileSync(
      "python3",
      [
        "-c",
        `import numpy as np
a = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
np.save("b.npy", a)
np.save("a.npy", (a * (1 + 1e-3)).astype(np.float32))
np.save("i.npy", np.arange(4, dtype=np.int64))
np.save("f.npy", np.asfortranarray(a))
np.save("s.npy", np.zeros((4, 3), dtype=np.float32))`,
      ],
      { cwd: d },
    );
    const a = parseNpy(await readFile(join(d, "a.npy")));
    expect(a.shape).toEqual([3, 4]);
    expect(a.values[5]).toBeCloseTo((5 / 7) * 1.001, 6);
    expect(() => parseNpy(Buffer.from("not npy"))).toThrow(/not a \.npy file/);
    const { section } = await evaluateGates(
      [
        { id: "drift", parity: { a: { file: "a.npy" }, b: { file: "b.npy" }, maxDrift: 0.002 } },
        { id: "tight", parity: { a: { file: "a.npy" }, b: { file: "b.npy" }, rtol: 1e-5, atol: 0 } },
        { id: "int", parity: { a: { file: "i.npy" }, b: { file: "b.npy" }, maxDrift: 1 } },
        { id: "fortran", parity: { a: { file: "f.npy" }, b: { file: "b.npy" }, maxDrift: 1 } },
        { id: "shape", parity: { a: { file: "s.npy" }, b: { file: "b.npy" }, maxDrift: 1 } },
      ],
      { baseDir: d },
    );
    expect(find(section, "drift")).toMatchObject({ status: "pass" });
    expect((find(section, "drift").data as { relL2Drift: number }).relL2Drift).toBeCloseTo(1e-3, 6);
    expect(find(section, "tight")).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/11 outside atol 0 \+ rtol 0\.00001·\|b\|.*worst: \[2,3\]/),
    });
    expect(find(section, "int")).toMatchObject({
      status: "error",
      summary: expect.stringMatching(/dtype <i8/),
    });
    expect(find(section, "fortran").summary).toMatch(/Fortran order/);
    expect(find(section, "shape").summary).toMatch(/shapes differ: a is \(4, 3\), b is \(3, 4\)/);
  });
});

describe("regression verdicts", () => {
  const lognormal = (rand: () => number, n: number, scale: number, cv: number) =>
    Array.from({ length: n }, () => {
      const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
      return scale * Math.exp(cv * z);
    });

  it("detects a 10 % slowdown and passes an A/A comparison", () => {
    const rand = seededRandom(11);
    const base = lognormal(rand, 20, 100, 0.03);
    const slow = lognormal(rand, 20, 110, 0.03);
    const same = lognormal(rand, 20, 100, 0.03);
    const opts = { direction: "smaller" as const, maxRegression: 0.05, alpha: 0.01, minSamples: 5 };
    const v = regressionVerdict(base, slow, opts);
    expect(v.regression).toBe(true);
    expect(v.ci!.low).toBeGreaterThan(1.05);
    expect(regressionVerdict(base, same, opts).regression).toBe(false);
    expect(regressionVerdict(base.slice(0, 3), slow.slice(0, 3), opts)).toMatchObject({
      tooFewSamples: true,
      regression: false,
    });
  });

  it("same-job A/B through gates, with too few samples as a warning that says how many", async () => {
    const d = await dir();
    const rand = seededRandom(5);
    await writeFile(join(d, "base.json"), JSON.stringify({ times: lognormal(rand, 20, 100, 0.03) }));
    await writeFile(join(d, "head.json"), JSON.stringify({ times: lognormal(rand, 20, 112, 0.03) }));
    await writeFile(join(d, "few.json"), JSON.stringify({ times: [1, 2, 3] }));
    const { section } = await evaluateGates(
      [
        {
          id: "ab",
          metric: { file: "head.json", path: "times", stat: "median", unit: "us" },
          baseline: { file: "base.json" },
        },
        {
          id: "few",
          metric: { file: "few.json", path: "times", stat: "median" },
          baseline: { file: "few.json" },
        },
      ],
      { baseDir: d },
    );
    expect(find(section, "ab")).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(
        /^regressed: \+1\d\.\d % \[\+\d+\.\d %, \+1\d\.\d %\] \(95 % interval\), margin 5\.0 %, n = 20 base \/ 20 head against base base\.json/,
      ),
    });
    expect(find(section, "ab").data).toMatchObject({
      nBase: 20,
      nHead: 20,
      maxRegression: 0.05,
      alpha: 0.025,
      verdict: "regressed",
      base: { value: expect.any(Number), n: 20 },
    });
    expect(find(section, "few")).toMatchObject({
      status: "warn",
      summary: expect.stringMatching(/need ≥ 5 a side \(have 3 and 3\)/),
    });
  });

  it("Mann-Whitney: exact small-sample p matches the known value", () => {
    // All of a above all of b, m = n = 5: P = 1 / C(10, 5) = 1/252.
    expect(mannWhitneyGreater([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]).p).toBeCloseTo(1 / 252, 10);
    expect(mannWhitneyGreater([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).p).toBeCloseTo(1, 10);
  });
});

describe("history baselines", () => {
  function sh(cwd: string, ...args: string[]) {
    return execFileSync("git", args, {
      cwd,
      encoding: "utf8",
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@e",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@e",
      },
    }).trim();
  }

  it("compares with the merge-base's result; only new violations block; other GPUs are refused", async () => {
    const d = await dir();
    sh(d, "init", "-q", "-b", "main");
    await writeFile(join(d, "m.json"), JSON.stringify({ runaway: 0.08, latency: [100, 101, 99, 100, 102] }));
    sh(d, "add", ".");
    sh(d, "commit", "-q", "-m", "base");
    const history = { store: "file" as const, path: "h.jsonl", baseBranch: "main" };
    const gates = [
      { id: "runaway", metric: { file: "m.json", path: "runaway" }, max: 0.05 },
      {
        id: "lat",
        metric: { file: "m.json", path: "latency", stat: "median" as const },
        baseline: { history: true },
      },
    ];
    // On main: the first run records the baseline (runaway already over its limit there).
    const first = await evaluateGates(gates, {
      baseDir: d,
      history,
      env: {}, // a local run, not GitHub Actions
      context: { gpu: "NVIDIA L4", driver: "555.42.06" },
    });
    expect(find(first.section, "lat")).toMatchObject({
      status: "skip",
      summary: expect.stringMatching(/no baseline in history yet/),
    });
    // A pull request branch that makes latency 20 % worse.
    sh(d, "checkout", "-q", "-b", "pr");
    await writeFile(join(d, "m.json"), JSON.stringify({ runaway: 0.08, latency: [120, 121, 119, 122, 120] }));
    sh(d, "commit", "-q", "-am", "slower");
    const pr = await evaluateGates(gates, {
      baseDir: d,
      history,
      env: {}, // a local run, not GitHub Actions
      context: { gpu: "NVIDIA L4", driver: "555.42.06" },
    });
    expect(pr.baseline?.why).toBe("merge-base");
    expect(find(pr.section, "runaway")).toMatchObject({
      status: "warn",
      summary: expect.stringMatching(/already failing on the baseline/),
    });
    expect(find(pr.section, "lat")).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/^regressed: \+20\.0 % .*against baseline [0-9a-f]{12} \(merge-base/),
    });
    const strict = await evaluateGates([{ ...gates[0]!, blockExisting: true }], {
      baseDir: d,
      history,
      env: {}, // a local run, not GitHub Actions
      context: { gpu: "NVIDIA L4", driver: "555.42.06" },
    });
    expect(find(strict.section, "runaway").status).toBe("fail");
    const other = await evaluateGates(gates, {
      baseDir: d,
      history,
      env: {}, // a local run, not GitHub Actions
      context: { gpu: "NVIDIA H100 80GB HBM3", driver: "555.42.06" },
    });
    expect(find(other.section, "lat").summary).toMatch(
      /refusing to compare with baseline .* ran on NVIDIA L4 driver 555\.42\.06, this run on NVIDIA H100/,
    );
    const stored = (await fileStore(join(d, "h.jsonl")).read()).entries;
    expect(stored.map((e) => e.branch)).toEqual(["main", "pr", "pr", "pr"]);
  });

  it("the git-branch store commits results to a branch of a local bare repository", async () => {
    const root = await dir();
    const bare = join(root, "origin.git");
    sh(root, "init", "-q", "--bare", bare);
    const clone = async (name: string) => {
      sh(root, "clone", "-q", bare, name);
      const c = join(root, name);
      await writeFile(join(c, "README"), name);
      return c;
    };
    const a = await clone("a");
    sh(a, "add", ".");
    sh(a, "commit", "-q", "-m", "init");
    sh(a, "push", "-q", "origin", "HEAD:main");
    const b = await clone("b");
    const entry = (commit: string, value: number): HistoryEntry => ({
      v: 1,
      at: new Date().toISOString(),
      commit,
      branch: "main",
      results: { lat: { value } },
    });
    const sa = gitBranchStore(a, { branch: "gpuci-data", remote: "origin" });
    const sb = gitBranchStore(b, { branch: "gpuci-data", remote: "origin" });
    await sa.append(entry("c1", 10));
    await sb.append(entry("c2", 11)); // b has not fetched the branch yet: it must build on a's commit
    await sa.append(entry("c3", 12));
    expect((await sb.read()).entries.map((e) => e.commit)).toEqual(["c1", "c2", "c3"]);
    // Plumbing only: the checkout's working tree and index are untouched.
    expect(sh(a, "status", "--porcelain")).toBe("");
    expect(sh(root, "--git-dir", bare, "log", "--format=%s", "gpuci-data")).toBe(
      "gpuci: results for c3\ngpuci: results for c2\ngpuci: results for c1",
    );
  });
});

describe("streaming extraction", () => {
  it("matches a naive JSON.parse over 20 MB with nested keys, strings, NaN and bad lines (several workers)", async () => {
    const d = await dir();
    const rand = seededRandom(3);
    const lines: string[] = [];
    let expected = 0;
    let sum = 0;
    for (let i = 0; i < 150_000; i++) {
      const k = rand();
      if (k < 0.01) lines.push(`{"g":{"f":999},"f":${i}}`);
      else if (k < 0.02) lines.push(`{"name":"f","other":1}`);
      else if (k < 0.025) lines.push("garbage");
      else
        lines.push(
          JSON.stringify({
            id: i,
            f: Math.round(rand() * 1e6) / 1e3,
            t: "x".repeat(Math.floor(rand() * 80)),
          }),
        );
      const last = lines[lines.length - 1]!;
      if (last.startsWith("{") && !last.includes('"name"')) {
        expected++;
        sum += JSON.parse(last).f;
      }
    }
    await writeFile(join(d, "x.jsonl"), `${lines.join("\n")}\n`);
    const ex = await extractJsonl(join(d, "x.jsonl"), "f", { workers: 3 });
    expect(ex.values.length).toBe(expected);
    expect(ex.invalid).toBe(lines.filter((l) => l === "garbage").length);
    expect(Array.from(ex.values).reduce((a, b) => a + b, 0)).toBeCloseTo(sum, 3);
  });
});

describe("properties", () => {
  it("median and quantiles stay within the data and are monotone", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 1, maxLength: 200 }),
        (xs) => {
          const s = sorted(xs);
          const m = median(xs);
          expect(m).toBeGreaterThanOrEqual(s[0]!);
          expect(m).toBeLessThanOrEqual(s[s.length - 1]!);
          expect(quantileSorted(s, 0.9)).toBeGreaterThanOrEqual(quantileSorted(s, 0.5));
        },
      ),
    );
  });

  it("Mann-Whitney p is a probability and the two one-sided tests are complementary without ties", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { minLength: 4, maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        (xs, cut) => {
          const k = Math.max(1, Math.min(xs.length - 1, Math.floor(xs.length / (cut + 1))));
          const a = xs.slice(0, k);
          const b = xs.slice(k);
          const g = mannWhitneyGreater(a, b).p;
          const l = mannWhitneyGreater(b, a).p;
          expect(g).toBeGreaterThanOrEqual(0);
          expect(g).toBeLessThanOrEqual(1);
          if (a.length * b.length <= 400) expect(g + l).toBeGreaterThanOrEqual(1 - 1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("the JSONL scanner never throws on garbage and counts every line", async () => {
    const d = await dir();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 40 }), { maxLength: 30 }), async (lines) => {
        const p = join(d, "g.jsonl");
        await writeFile(p, lines.join("\n"));
        const ex = await extractJsonl(p, "f");
        const nonEmpty = lines
          .join("\n")
          .replace(/^\ufeff/, "")
          .split("\n")
          .filter((l) => !/^[ \t\r]*$/.test(l)).length;
        expect(ex.rows + ex.invalid).toBe(nonEmpty);
      }),
      { numRuns: 40 },
    );
  });

  it("parseNpy rejects random bytes with a clear error, never a crash", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          parseNpy(Buffer.from(bytes));
        } catch (error) {
          expect((error as Error).message).toMatch(/npy|dtype|truncated|Fortran/);
        }
      }),
    );
  });
});

describe("many gates on one results file", () => {
  it("parse it once per evaluation (JSON paths and benchmark names), and a rewritten file is read again", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-gates-many-"));
    const n = 300;
    const flat: Record<string, number> = {};
    for (let i = 0; i < n; i++) flat[`k${i}`] = i;
    await writeFile(join(dir, "flat.json"), JSON.stringify(flat));
    const benchmarks = Array.from({ length: n }, (_, i) => ({
      name: `BM_K/${i}`,
      run_name: `BM_K/${i}`,
      run_type: "iteration",
      iterations: 10,
      real_time: 100 + i,
      cpu_time: 100 + i,
      time_unit: "ns",
    }));
    await writeFile(join(dir, "gb.json"), JSON.stringify({ context: {}, benchmarks }));
    const gates = [
      ...Array.from({ length: n }, (_, i) => ({
        id: `p${i}`,
        metric: { file: "flat.json", path: `k${i}` },
        max: 1000,
      })),
      ...Array.from({ length: n }, (_, i) => ({
        id: `b${i}`,
        metric: { file: "gb.json", format: "google-benchmark" as const, name: `BM_K/${i}` },
        max: "1us",
      })),
    ];
    const cache = new MetricFileCache();
    const r = await evaluateGates(gates, { baseDir: dir, metricCache: cache });
    expect(cache.loads).toBe(2);
    expect(r.section.findings.filter((f) => f.status === "pass")).toHaveLength(2 * n);
    // Each gate got its own value, not a neighbour's.
    expect(find(r.section, "p123").summary).toMatch(/^123 \(≤ 1,000\)/);
    expect(find(r.section, "b7").summary).toMatch(/^107 ns \(≤ 1 µs\)/);
    // A command that rewrites the file (a confirming re-run) is read again, not served from the cache.
    flat.k5 = 5000;
    await writeFile(join(dir, "flat.json"), JSON.stringify(flat));
    const again = await evaluateGates(gates.slice(0, 10), { baseDir: dir, metricCache: cache });
    expect(cache.loads).toBe(3);
    expect(find(again.section, "p5")).toMatchObject({ status: "fail" });
  });
});
