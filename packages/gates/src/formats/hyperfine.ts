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

/** hyperfine's `--export-json` file: one result per command, times in seconds. */
export const hyperfine: FormatReader = {
  id: "hyperfine",
  title: "hyperfine JSON",
  url: "https://github.com/sharkdp/hyperfine",
  kind: "json",
  produce: "hyperfine --export-json FILE",
  fields: "user, system (s)",
  bencher: "shell_hyperfine",
  gab: "no",
  sniff({ json }) {
    if (!isObject(json) || !Array.isArray(json.results)) return undefined;
    const r = json.results[0];
    return isObject(r) && "command" in r && ("times" in r || "mean" in r)
      ? "results[] with command and times (hyperfine)"
      : undefined;
  },
  async read(input) {
    const doc = await input.json();
    if (!isObject(doc) || !Array.isArray(doc.results))
      throw notThisFormat(input.label, 'hyperfine JSON (no "results" list)', this.produce);
    return doc.results.map((r, i): BenchRow => {
      if (!isObject(r) || typeof r.command !== "string")
        throw new MetricError(
          `${input.label}: results[${i}] has no command`,
          `Write it with ${this.produce}.`,
        );
      const times = numbersAt(r.times, `${r.command} times`, input.label) ?? [];
      for (const [j, t] of times.entries()) measureAt(t, `${r.command} times[${j}]`, input.label);
      const stats: Partial<Record<RowStat, number>> = {};
      for (const k of ["mean", "median", "min", "max", "stddev"] as const)
        if (r[k] !== undefined && r[k] !== null) stats[k] = measureAt(r[k], `${r.command} ${k}`, input.label);
      const value = stats.median ?? stats.mean;
      if (value === undefined && times.length === 0)
        throw new MetricError(
          `${input.label}: ${r.command} has no times and no median`,
          "Run hyperfine with --runs ≥ 1 and --export-json.",
        );
      const metrics: BenchRow["metrics"] = {};
      for (const k of ["user", "system"] as const)
        if (typeof r[k] === "number") metrics[k] = { value: r[k], unit: "s", valueIs: "mean" };
      return {
        name: r.command,
        value: value ?? quantile(times, 0.5),
        valueIs:
          stats.median !== undefined
            ? "median"
            : stats.mean !== undefined
              ? "mean"
              : `median of ${times.length} runs`,
        unit: "s",
        stats,
        ...(times.length ? { samples: times } : {}),
        metrics,
      };
    });
  },
};
