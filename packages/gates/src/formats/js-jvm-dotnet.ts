import { quantile } from "../stats.js";
import {
  type BenchRow,
  type FormatReader,
  isObject,
  MetricError,
  measureAt,
  notThisFormat,
  numbersAt,
  parseNumberText,
  type RowMetric,
  type RowStat,
} from "./common.js";

const BENCHMARKJS = /^(.+?) x ([\d,._]+(?:\.\d+)?) ops\/sec ±([\d.]+)% \((\d+) runs? sampled\)\s*$/;

/** benchmark.js's report lines: `name x 1,431,759 ops/sec ±0.74% (93 runs sampled)`. */
export const benchmarkJs: FormatReader = {
  id: "benchmarkjs",
  title: "benchmark.js (text)",
  url: "https://benchmarkjs.com/",
  kind: "text",
  produce: "node bench.js > FILE (printing String(event.target) per cycle)",
  fields: "rme (%)",
  bencher: "js_benchmark",
  gab: "benchmarkjs",
  sniff({ head }) {
    return /^.+ x [\d,.]+ ops\/sec ±[\d.]+% \(\d+ runs? sampled\)/m.test(head)
      ? "lines of NAME x N ops/sec ±R% (benchmark.js)"
      : undefined;
  },
  async read(input) {
    const rows: BenchRow[] = [];
    for (const line of (await input.text()).split("\n")) {
      const m = BENCHMARKJS.exec(line);
      if (!m) continue;
      rows.push({
        name: m[1]!,
        value: parseNumberText(m[2]!),
        unit: "ops/s",
        valueIs: `mean of ${m[4]} runs`,
        direction: "bigger",
        directionRule: "benchmark.js reports ops/sec: bigger is better",
        metrics: { rme: { value: Number(m[3]), unit: "%", valueIs: "relative margin of error" } },
      });
    }
    return rows;
  },
};

const JMH_MODES: Record<string, { direction: "smaller" | "bigger"; what: string }> = {
  thrpt: { direction: "bigger", what: "throughput" },
  avgt: { direction: "smaller", what: "average time" },
  sample: { direction: "smaller", what: "sampled time" },
  ss: { direction: "smaller", what: "single-shot time" },
};

/**
 * JMH's `-rf json` result list. The mode decides the direction (thrpt: bigger; avgt, sample, ss:
 * smaller) and `scoreUnit` the unit; `@Param` values join the name as `benchmark:{a=1, b=2}`
 * (also selectable without them when only one parameter set ran).
 */
export const jmh: FormatReader = {
  id: "jmh",
  title: "JMH JSON",
  url: "https://github.com/openjdk/jmh",
  kind: "json",
  produce: "java -jar benchmarks.jar -rf json -rff FILE",
  fields: "secondary metrics (·gc.alloc.rate, …)",
  bencher: "java_jmh",
  gab: "jmh",
  sniff({ json }) {
    return Array.isArray(json) && isObject(json[0]) && "jmhVersion" in json[0] && "primaryMetric" in json[0]
      ? "a list with jmhVersion and primaryMetric (JMH)"
      : undefined;
  },
  async read(input) {
    const doc = await input.json();
    if (!Array.isArray(doc)) throw notThisFormat(input.label, "JMH JSON (a list of results)", this.produce);
    return doc.map((r, i): BenchRow => {
      if (!isObject(r) || typeof r.benchmark !== "string" || !isObject(r.primaryMetric))
        throw new MetricError(
          `${input.label}: entry ${i} is not a JMH result`,
          `Write it with ${this.produce}.`,
        );
      const params = isObject(r.params)
        ? Object.entries(r.params)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(", ")
        : "";
      const mode = typeof r.mode === "string" ? JMH_MODES[r.mode] : undefined;
      const metric = (m: Record<string, unknown>, what: string): RowMetric => {
        const raw = Array.isArray(m.rawData) ? (m.rawData as unknown[]).flat() : [];
        const samples = numbersAt(raw, `${what} rawData`, input.label) ?? [];
        const pct = isObject(m.scorePercentiles) ? m.scorePercentiles : {};
        const stats: Partial<Record<RowStat, number>> = {};
        for (const [k, stat] of [
          ["0.0", "min"],
          ["50.0", "median"],
          ["90.0", "p90"],
          ["95.0", "p95"],
          ["99.0", "p99"],
          ["100.0", "max"],
        ] as const)
          if (typeof pct[k] === "number") stats[stat] = pct[k] as number;
        if (typeof m.score !== "number")
          throw new MetricError(`${input.label}: ${what} has no score`, `Write it with ${this.produce}.`);
        return {
          value: m.score,
          unit: typeof m.scoreUnit === "string" ? m.scoreUnit : "",
          valueIs: "score (JMH)",
          stats,
          ...(samples.length ? { samples } : {}),
        };
      };
      const primary = metric(r.primaryMetric, r.benchmark);
      const metrics: Record<string, RowMetric> = {};
      if (isObject(r.secondaryMetrics))
        for (const [k, v] of Object.entries(r.secondaryMetrics))
          if (isObject(v)) metrics[k] = metric(v, `${r.benchmark} ${k}`);
      const name = params ? `${r.benchmark}:{${params}}` : r.benchmark;
      return {
        name,
        ...(params
          ? { aliases: [`${r.benchmark.split(".").pop()}:{${params}}`] }
          : { aliases: [r.benchmark.split(".").pop()!] }),
        ...primary,
        ...(mode
          ? {
              direction: mode.direction,
              directionRule: `JMH mode ${String(r.mode)} is ${mode.what}: ${mode.direction} is better`,
            }
          : {}),
        metrics,
      };
    });
  },
};

/**
 * BenchmarkDotNet's full JSON export (`*-report-full.json`, `--exporters json`): per benchmark its
 * statistics in nanoseconds (the workload's original values are the samples) and, with the memory
 * diagnoser, allocated bytes per operation.
 */
export const benchmarkDotNet: FormatReader = {
  id: "benchmarkdotnet",
  title: "BenchmarkDotNet JSON",
  url: "https://benchmarkdotnet.org/articles/configs/exporters.html",
  kind: "json",
  produce: "dotnet run -c Release -- --exporters json (BenchmarkDotNet.Artifacts/results/*-report-full.json)",
  fields: "allocated (B/op), gen0 (collections)",
  bencher: "c_sharp_dot_net",
  gab: "benchmarkdotnet",
  sniff({ json }) {
    return isObject(json) && Array.isArray(json.Benchmarks) && isObject(json.HostEnvironmentInfo)
      ? "Benchmarks[] with HostEnvironmentInfo (BenchmarkDotNet)"
      : undefined;
  },
  async read(input) {
    const doc = await input.json();
    if (!isObject(doc) || !Array.isArray(doc.Benchmarks))
      throw notThisFormat(input.label, 'BenchmarkDotNet JSON (no "Benchmarks" list)', this.produce);
    return doc.Benchmarks.map((b, i): BenchRow => {
      if (!isObject(b) || typeof b.FullName !== "string")
        throw new MetricError(
          `${input.label}: Benchmarks[${i}] has no FullName`,
          `Write it with ${this.produce}.`,
        );
      const params = typeof b.Parameters === "string" && b.Parameters ? `(${b.Parameters})` : "";
      const name = `${b.FullName}${params}`;
      const s = isObject(b.Statistics) ? b.Statistics : undefined;
      if (!s)
        return { name, value: Number.NaN, unit: "", error: "no Statistics (the benchmark did not run)" };
      const stats: Partial<Record<RowStat, number>> = {};
      for (const [k, stat] of [
        ["Mean", "mean"],
        ["Median", "median"],
        ["Min", "min"],
        ["Max", "max"],
        ["StandardDeviation", "stddev"],
      ] as const)
        if (typeof s[k] === "number") stats[stat] = measureAt(s[k], `${name} Statistics.${k}`, input.label);
      const samples = numbersAt(s.OriginalValues, `${name} Statistics.OriginalValues`, input.label);
      const metrics: Record<string, RowMetric> = {};
      if (isObject(b.Memory)) {
        if (typeof b.Memory.BytesAllocatedPerOperation === "number")
          metrics.allocated = { value: b.Memory.BytesAllocatedPerOperation, unit: "B/op" };
        if (typeof b.Memory.Gen0Collections === "number")
          metrics.gen0 = { value: b.Memory.Gen0Collections, unit: "", valueIs: "Gen0 collections" };
      }
      const value = stats.median ?? stats.mean;
      if (value === undefined)
        return { name, value: Number.NaN, unit: "", error: "no Mean or Median in Statistics" };
      return {
        name,
        aliases: [`${String(b.Type ?? "")}.${String(b.Method ?? "")}${params}`],
        value,
        unit: "ns",
        valueIs: stats.median !== undefined ? "median" : "mean",
        stats,
        ...(samples?.length ? { samples } : {}),
        metrics,
      };
    });
  },
};

/**
 * Vitest's `vitest bench --outputJson FILE`: files → groups → benchmarks, times in milliseconds
 * (mean, median, p75 … p999) and `hz` (ops/s) as a field.
 */
export const vitestBench: FormatReader = {
  id: "vitest-bench",
  title: "Vitest bench JSON",
  url: "https://vitest.dev/guide/features.html#benchmarking",
  kind: "json",
  produce: "vitest bench --run --outputJson FILE",
  fields: "hz (ops/s), rme (%)",
  bencher: "js_vitest",
  gab: "no",
  sniff({ json }) {
    if (!isObject(json) || !Array.isArray(json.files)) return undefined;
    const f = json.files[0];
    return isObject(f) && Array.isArray(f.groups)
      ? "files[].groups[].benchmarks[] (vitest bench)"
      : undefined;
  },
  async read(input) {
    const doc = await input.json();
    if (!isObject(doc) || !Array.isArray(doc.files))
      throw notThisFormat(input.label, "vitest bench JSON", this.produce);
    const rows: BenchRow[] = [];
    for (const f of doc.files) {
      if (!isObject(f) || !Array.isArray(f.groups)) continue;
      for (const g of f.groups) {
        if (!isObject(g) || !Array.isArray(g.benchmarks)) continue;
        const group = typeof g.fullName === "string" ? g.fullName : "";
        for (const b of g.benchmarks) {
          if (!isObject(b) || typeof b.name !== "string") continue;
          const stats: Partial<Record<RowStat, number>> = {};
          for (const [k, stat] of [
            ["mean", "mean"],
            ["median", "median"],
            ["min", "min"],
            ["max", "max"],
            ["sd", "stddev"],
            ["p99", "p99"],
          ] as const)
            if (typeof b[k] === "number") stats[stat] = measureAt(b[k], `${b.name} ${k}`, input.label);
          const samples = numbersAt(b.samples, `${b.name} samples`, input.label);
          const value = stats.median ?? stats.mean ?? (samples?.length ? quantile(samples, 0.5) : undefined);
          if (value === undefined) continue;
          rows.push({
            name: group ? `${group} > ${b.name}` : b.name,
            aliases: [b.name],
            value,
            unit: "ms",
            valueIs: stats.median !== undefined ? "median" : "mean",
            stats,
            ...(samples?.length ? { samples } : {}),
            metrics: {
              ...(typeof b.hz === "number" ? { hz: { value: b.hz, unit: "ops/s" } } : {}),
              ...(typeof b.rme === "number" ? { rme: { value: b.rme, unit: "%" } } : {}),
            },
          });
        }
      }
    }
    return rows;
  },
};

/** Parse a number from text or refuse it with where it was. */
export function numberText(text: string, where: string, label: string): number {
  const v = parseNumberText(text);
  if (Number.isNaN(v))
    throw new MetricError(`${label}: ${where} "${text}" is not a number`, "Rewrite the file with the tool.");
  return v;
}
