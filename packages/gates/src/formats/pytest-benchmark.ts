import { quantile } from "../stats.js";
import {
  type BenchRow,
  type FormatReader,
  isObject,
  MetricError,
  measureAt,
  notThisFormat,
  numbersAt,
  type RowStat,
} from "./common.js";

/** pytest-benchmark's `--benchmark-json` file: times in seconds, one entry per test. */
export const pytestBenchmark: FormatReader = {
  id: "pytest-benchmark",
  title: "pytest-benchmark JSON",
  url: "https://pytest-benchmark.readthedocs.io/",
  kind: "json",
  produce: "pytest --benchmark-json=FILE (add --benchmark-save-data for the samples)",
  fields: "ops (ops/s)",
  bencher: "python_pytest",
  gab: "pytest",
  sniff({ json }) {
    if (!isObject(json) || !Array.isArray(json.benchmarks)) return undefined;
    const b = json.benchmarks[0];
    if (isObject(b) && isObject(b.stats) && ("fullname" in b || "machine_info" in json))
      return "benchmarks[] with stats and fullname (pytest-benchmark)";
    return undefined;
  },
  async read(input) {
    const doc = await input.json();
    if (!isObject(doc) || !Array.isArray(doc.benchmarks))
      throw notThisFormat(input.label, 'pytest-benchmark JSON (no "benchmarks" list)', this.produce);
    return doc.benchmarks.map((b, i): BenchRow => {
      if (!isObject(b))
        throw new MetricError(
          `${input.label}: benchmarks[${i}] is ${JSON.stringify(b)}, not a benchmark object`,
          `Write it with ${this.produce}; gpuci refuses entries it cannot read.`,
        );
      if (typeof b.name !== "string")
        throw new MetricError(
          `${input.label}: benchmarks[${i}] has no name`,
          `Write it with ${this.produce}.`,
        );
      const s = isObject(b.stats) ? b.stats : {};
      const stats: Partial<Record<RowStat, number>> = {};
      for (const k of ["mean", "median", "min", "max", "stddev"] as const)
        if (s[k] !== undefined) stats[k] = measureAt(s[k], `${b.name} stats.${k}`, input.label);
      const samples = numbersAt(s.data, `${b.name} stats.data`, input.label);
      if (samples)
        for (const [j, x] of samples.entries()) measureAt(x, `${b.name} stats.data[${j}]`, input.label);
      if (samples && samples.length === 0)
        throw new MetricError(
          `${input.label}: ${b.name} stats.data is empty`,
          "Run the benchmark with at least one round.",
        );
      const value = stats.median ?? stats.mean;
      if (value === undefined && !samples)
        throw new MetricError(
          `${input.label}: ${b.name} has neither stats.median nor stats.data`,
          `Write it with ${this.produce}.`,
        );
      const ops = typeof s.ops === "number" ? s.ops : undefined;
      return {
        name: b.name,
        ...(typeof b.fullname === "string" && b.fullname !== b.name ? { aliases: [b.fullname] } : {}),
        value: value ?? quantile(samples!, 0.5),
        valueIs:
          stats.median !== undefined
            ? "median"
            : stats.mean !== undefined
              ? "mean"
              : `median of ${samples!.length} rounds`,
        unit: "s",
        stats,
        ...(samples ? { samples } : {}),
        ...(ops !== undefined ? { metrics: { ops: { value: ops, unit: "ops/s" } } } : {}),
      };
    });
  },
};
