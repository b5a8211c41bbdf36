// bench/gates-many: many gates on one results file — a pull request that gates every benchmark
// of a suite. N gates read one JSON file of N keys (`path:`), and N gates read one Google
// Benchmark file of N benchmarks (`name:`), through evaluateGates as `gpuci gates` runs them:
// with the evaluation's shared MetricFileCache (each file parsed once) and, for the smaller
// sizes, without sharing (each gate parses the file again, as before the cache) — one run, so
// the ratio is what counts on a shared machine.
// SIZES=1000,2000,40000 sets the gate counts; NO_SHARE_MAX (default 2000) the largest size run
// without sharing.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../packages/gates/dist/index.js", import.meta.url));
if (!existsSync(dist)) {
  console.error("bench/gates-many: build first (npm run build)");
  process.exit(1);
}
const { evaluateGates, MetricFileCache } = await import(dist);
const sizes = (process.env.SIZES ?? "1000,2000,40000").split(",").map(Number);
const noShareMax = Number(process.env.NO_SHARE_MAX ?? 2000);

/** A cache that never shares: every gate parses its file, as before. */
class NoSharing extends MetricFileCache {
  async get(_key, _file, load) {
    this.loads += 1;
    return load();
  }
}

function files(dir, n) {
  const flat = {};
  for (let i = 0; i < n; i++) flat[`k${i}`] = (i % 97) + 0.5;
  writeFileSync(join(dir, "flat.json"), JSON.stringify(flat));
  const benchmarks = [];
  for (let i = 0; i < n; i++)
    benchmarks.push({
      name: `BM_Kernel/${i}`,
      run_name: `BM_Kernel/${i}`,
      run_type: "iteration",
      repetitions: 1,
      repetition_index: 0,
      threads: 1,
      iterations: 1000,
      real_time: 100 + (i % 13),
      cpu_time: 100 + (i % 13),
      time_unit: "ns",
    });
  writeFileSync(
    join(dir, "gbench.json"),
    JSON.stringify({
      context: { date: "2026-12-04T00:00:00+00:00", num_cpus: 2, library_build_type: "release" },
      benchmarks,
    }),
  );
}

async function time(gates, dir, cache) {
  const t = performance.now();
  const r = await evaluateGates(gates, { baseDir: dir, metricCache: cache });
  const s = (performance.now() - t) / 1000;
  const bad = r.section.findings.filter((f) => f.status !== "pass").length;
  if (bad)
    throw new Error(
      `${bad} gates did not pass: ${r.section.findings.find((f) => f.status !== "pass").summary}`,
    );
  return { s, loads: cache.loads };
}

console.log(
  `bench/gates-many: ${availableParallelism()} cores, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(", ")}\n`,
);
console.log("| gates on one file | shared (parses) | not shared (parses) | ratio |");
console.log("|---|---|---|---|");
for (const n of sizes) {
  const dir = mkdtempSync(join(tmpdir(), "gpuci-gates-many-"));
  files(dir, n);
  const kinds = [
    {
      what: `${n.toLocaleString("en-US")} × path: in a JSON file of ${n.toLocaleString("en-US")} keys`,
      gates: Array.from({ length: n }, (_, i) => ({
        id: `g${i}`,
        metric: { file: "flat.json", path: `k${i}` },
        max: 1000,
      })),
    },
    {
      what: `${n.toLocaleString("en-US")} × name: in a Google Benchmark file of ${n.toLocaleString("en-US")} benchmarks`,
      gates: Array.from({ length: n }, (_, i) => ({
        id: `b${i}`,
        metric: { file: "gbench.json", format: "google-benchmark", name: `BM_Kernel/${i}` },
        max: "1ms",
      })),
    },
  ];
  for (const k of kinds) {
    const shared = await time(k.gates, dir, new MetricFileCache());
    const cell = (r) => `${r.s.toFixed(2)} s (${r.loads.toLocaleString("en-US")})`;
    if (n <= noShareMax) {
      const alone = await time(k.gates, dir, new NoSharing());
      console.log(`| ${k.what} | ${cell(shared)} | ${cell(alone)} | ${(alone.s / shared.s).toFixed(1)}× |`);
    } else console.log(`| ${k.what} | ${cell(shared)} | not run (above NO_SHARE_MAX) | |`);
  }
  rmSync(dir, { recursive: true, force: true });
}
