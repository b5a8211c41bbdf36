import { convert } from "@gpuci/report";
import { quantile } from "../stats.js";
import {
  type BenchRow,
  type FormatReader,
  isObject,
  MetricError,
  measureAt,
  notThisFormat,
  type RowMetric,
  type RowStat,
} from "./common.js";

const AGGREGATES: Record<string, RowStat> = { mean: "mean", median: "median", stddev: "stddev", cv: "cv" };
const SUFFIX = /_(mean|median|stddev|cv|BigO|RMS)$/;

/** The numbers of one field (real_time, cpu_time, a counter) of one benchmark across its rows. */
interface FieldData {
  unit: string;
  samples: number[];
  stats: Partial<Record<RowStat, number>>;
}

/**
 * Google Benchmark's `--benchmark_format=json` (or `--benchmark_out`) file. Each benchmark picks
 * its own `time_unit`; repetitions are samples; aggregate rows (mean, median, stddev, cv) serve
 * `stat:`, also when only aggregates were reported (`--benchmark_report_aggregates_only`); BigO
 * and RMS rows of complexity benchmarks are the fields `BigO` and `RMS` of their benchmark.
 */
export const googleBenchmark: FormatReader = {
  id: "google-benchmark",
  title: "Google Benchmark JSON",
  url: "https://github.com/google/benchmark",
  kind: "json",
  produce: "--benchmark_format=json --benchmark_out=FILE (add --benchmark_repetitions=N for samples)",
  fields: "cpu_time, bytes_per_second, items_per_second, user counters, BigO, RMS",
  bencher: "cpp_google (console text)",
  gab: "googlecpp",
  sniff({ json }) {
    if (!isObject(json) || !Array.isArray(json.benchmarks)) return undefined;
    if (isObject(json.context) && ("library_build_type" in json.context || "num_cpus" in json.context))
      return "context.num_cpus/library_build_type and benchmarks[] (Google Benchmark)";
    const b = json.benchmarks[0];
    return isObject(b) && "time_unit" in b && ("real_time" in b || "run_type" in b)
      ? "benchmarks[] with real_time and time_unit (Google Benchmark)"
      : undefined;
  },
  async read(input) {
    const doc = await input.json();
    if (!isObject(doc) || !Array.isArray(doc.benchmarks))
      throw notThisFormat(input.label, 'Google Benchmark JSON (no "benchmarks" list)', this.produce);
    const label = input.label;
    const groups = new Map<
      string,
      { fields: Map<string, FieldData>; aliases: Set<string>; errors: string[]; complexity: RowMetric[] }
    >();
    for (const [i, raw] of doc.benchmarks.entries()) {
      if (!isObject(raw))
        throw new MetricError(
          `${label}: benchmarks[${i}] is ${JSON.stringify(raw)}, not a benchmark object`,
          "Rewrite the file with Google Benchmark; gpuci refuses entries it cannot read.",
        );
      const name = typeof raw.name === "string" ? raw.name : undefined;
      if (!name)
        throw new MetricError(
          `${label}: benchmarks[${i}] has no name`,
          "Rewrite the file with Google Benchmark.",
        );
      const runType = raw.run_type ?? (SUFFIX.test(name) ? "aggregate" : "iteration");
      let aggregate = typeof raw.aggregate_name === "string" ? raw.aggregate_name : undefined;
      let runName = typeof raw.run_name === "string" ? raw.run_name : name;
      if (runType === "aggregate" && aggregate === undefined) {
        const m = SUFFIX.exec(name);
        if (m) {
          aggregate = m[1]!;
          if (typeof raw.run_name !== "string") runName = name.slice(0, -m[0].length);
        }
      }
      let g = groups.get(runName);
      if (!g) {
        g = { fields: new Map(), aliases: new Set(), errors: [], complexity: [] };
        groups.set(runName, g);
      }
      if (name !== runName && runType === "iteration") g.aliases.add(name);
      if (raw.error_occurred === true) {
        g.errors.push(typeof raw.error_message === "string" ? raw.error_message : "error_occurred");
        continue;
      }
      const unit = typeof raw.time_unit === "string" ? raw.time_unit : "ns";
      if (aggregate === "BigO" || aggregate === "RMS") {
        if (aggregate === "BigO") {
          const v = raw.real_coefficient ?? raw.cpu_coefficient;
          if (typeof v === "number")
            g.complexity.push({ value: v, unit, valueIs: `BigO coefficient (${String(raw.big_o ?? "?")})` });
        } else if (typeof raw.rms === "number")
          g.complexity.push({ value: raw.rms, unit: "fraction", valueIs: "RMS" });
        continue;
      }
      // Each numeric field of the row: times in the row's unit, rates per second, counters as given.
      for (const [key, v] of Object.entries(raw)) {
        const isTime = key === "real_time" || key === "cpu_time";
        // Times must be numbers (null, "", [] or true are refused); other keys that are not
        // numbers are labels (name, time_unit, aggregate_name, label) and skipped.
        if (!isTime && typeof v !== "number") continue;
        if (
          [
            "iterations",
            "repetitions",
            "repetition_index",
            "threads",
            "family_index",
            "per_family_instance_index",
            "real_coefficient",
            "cpu_coefficient",
            "rms",
          ].includes(key)
        )
          continue;
        const fieldUnit =
          key === "real_time" || key === "cpu_time"
            ? unit
            : key === "bytes_per_second"
              ? "B/s"
              : key === "items_per_second"
                ? "items/s"
                : "";
        const isCv = aggregate === "cv" || raw.aggregate_unit === "percentage";
        let f = g.fields.get(key);
        if (!f) {
          f = { unit: fieldUnit, samples: [], stats: {} };
          g.fields.set(key, f);
        }
        const value = isTime ? measureAt(v, `${name} ${key}`, label) : (v as number);
        // A later row in another time unit is converted to the first row's unit.
        const inUnit = isCv || fieldUnit === f.unit ? value : convert(value, fieldUnit, f.unit);
        if (runType === "aggregate") {
          const stat = aggregate ? AGGREGATES[aggregate] : undefined;
          if (stat) f.stats[stat] = inUnit;
        } else f.samples.push(inUnit);
      }
    }
    const rows: BenchRow[] = [];
    for (const [name, g] of groups) {
      const field = (f: FieldData | undefined): RowMetric | undefined => {
        if (!f) return undefined;
        if (f.samples.length === 0 && f.stats.median === undefined && f.stats.mean === undefined)
          return undefined;
        const value =
          f.samples.length > 1
            ? quantile(f.samples, 0.5)
            : f.samples.length === 1
              ? f.samples[0]!
              : (f.stats.median ?? f.stats.mean)!;
        return {
          value,
          unit: f.unit,
          valueIs:
            f.samples.length > 1
              ? `median of ${f.samples.length} repetitions`
              : f.samples.length === 1
                ? "one run"
                : `aggregate ${f.stats.median !== undefined ? "median" : "mean"}`,
          ...(f.samples.length ? { samples: f.samples } : {}),
          ...(Object.keys(f.stats).length ? { stats: f.stats } : {}),
        };
      };
      const real = field(g.fields.get("real_time"));
      const metrics: Record<string, RowMetric> = {};
      for (const [key, f] of g.fields) {
        if (key === "real_time") continue;
        const m = field(f);
        if (m) metrics[key] = m;
      }
      for (const c of g.complexity) metrics[c.valueIs!.startsWith("BigO") ? "BigO" : "RMS"] = c;
      if (!real && g.errors.length === 0 && Object.keys(metrics).length === 0) continue;
      // A complexity family (BM_Sort_BigO, BM_Sort_RMS) has no time of its own: its headline is
      // the BigO coefficient, and stat: is refused with what exists.
      const headline = real ?? metrics.BigO ?? metrics.RMS ?? { value: Number.NaN, unit: "" };
      rows.push({
        name,
        ...(g.aliases.size ? { aliases: [...g.aliases] } : {}),
        ...headline,
        metrics,
        ...(g.errors.length ? { error: `Google Benchmark reported an error: ${g.errors[0]}` } : {}),
      });
    }
    return rows;
  },
};
