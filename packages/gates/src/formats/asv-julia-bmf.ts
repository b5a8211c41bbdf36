import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  type BenchRow,
  type FormatReader,
  isObject,
  MetricError,
  measureAt,
  notThisFormat,
  numbersAt,
  type RowMetric,
  type RowStat,
} from "./common.js";

/** asv's unit for a benchmark, from benchmarks.json or the benchmark's kind (its name's prefix). */
function asvUnit(name: string, meta: Record<string, unknown> | undefined): string {
  const u = meta && isObject(meta[name]) ? (meta[name] as Record<string, unknown>).unit : undefined;
  if (u === "seconds") return "s";
  if (u === "bytes") return "B";
  if (typeof u === "string" && u !== "unit") return u;
  const leaf = name.split(".").pop() ?? name;
  if (/^time_/.test(leaf)) return "s";
  if (/^(peak)?mem_/.test(leaf)) return "B";
  return "";
}

/** The cartesian product of asv's parameter lists, as "(a, b)" labels. */
function paramLabels(params: unknown): string[] {
  if (!Array.isArray(params) || params.length === 0) return [""];
  let out = [""];
  for (const axis of params) {
    const values = Array.isArray(axis) ? axis.map(String) : [String(axis)];
    out = out.flatMap((prefix) => values.map((v) => (prefix ? `${prefix}, ${v}` : v)));
  }
  return out.map((l) => `(${l})`);
}

/**
 * asv (airspeed velocity) results: `.asv/results/<machine>/<commit>-<env>.json`, version 1 (one
 * number or {result, params} per benchmark) and version 2 (`result_columns` naming each list
 * position). Names are asv's dotted ones (`time_units.time_unit_parse`, matched exactly);
 * parameterised benchmarks give one row per parameter set, `name(a, b)`. Units come from
 * `benchmarks.json` in the results folder above, else from the kind (time_ → s, mem_ → B).
 */
export const asv: FormatReader = {
  id: "asv",
  title: "asv results JSON",
  url: "https://asv.readthedocs.io/",
  kind: "json",
  produce: "asv run (then point at .asv/results/<machine>/<commit>-<env>.json)",
  fields: "—",
  bencher: "python_asv (console)",
  gab: "no",
  sniff({ json }) {
    return isObject(json) &&
      isObject(json.results) &&
      "commit_hash" in json &&
      (json.version === 1 || json.version === 2)
      ? `commit_hash and results (asv results, version ${String(json.version)})`
      : undefined;
  },
  async read(input) {
    const doc = await input.json();
    if (!isObject(doc) || !isObject(doc.results))
      throw notThisFormat(input.label, "asv results JSON", this.produce);
    let meta: Record<string, unknown> | undefined;
    for (const dir of [dirname(dirname(input.file)), dirname(input.file)]) {
      try {
        meta = JSON.parse(await readFile(join(dir, "benchmarks.json"), "utf8")) as Record<string, unknown>;
        break;
      } catch {
        // no benchmarks.json here
      }
    }
    const columns = Array.isArray(doc.result_columns) ? (doc.result_columns as string[]) : undefined;
    const rows: BenchRow[] = [];
    for (const [name, raw] of Object.entries(doc.results)) {
      const unit = asvUnit(name, meta);
      let values: unknown[];
      let params: unknown;
      let q25: unknown[] | undefined;
      let q75: unknown[] | undefined;
      if (columns && Array.isArray(raw)) {
        const col = (k: string) => raw[columns.indexOf(k)] as unknown;
        values = Array.isArray(col("result")) ? (col("result") as unknown[]) : [col("result")];
        params = col("params");
        q25 = Array.isArray(col("stats_q_25")) ? (col("stats_q_25") as unknown[]) : undefined;
        q75 = Array.isArray(col("stats_q_75")) ? (col("stats_q_75") as unknown[]) : undefined;
      } else if (isObject(raw)) {
        values = Array.isArray(raw.result) ? raw.result : [raw.result];
        params = raw.params;
      } else values = [raw];
      const labels = paramLabels(params);
      values.forEach((v, i) => {
        const rowName = `${name}${labels.length > 1 || labels[0] !== "" ? (labels[i] ?? `[${i}]`) : ""}`;
        if (v === null || v === undefined) {
          rows.push({
            name: rowName,
            value: Number.NaN,
            unit,
            error: "asv recorded no result (the benchmark failed or was skipped)",
          });
          return;
        }
        const value = unit === "s" || unit === "B" ? measureAt(v, rowName, input.label) : (v as number);
        if (typeof value !== "number")
          throw new MetricError(
            `${input.label}: ${rowName} is ${JSON.stringify(v)}, not a number`,
            "Rerun asv.",
          );
        const stats: Partial<Record<RowStat, number>> = { median: value };
        rows.push({
          name: rowName,
          value,
          unit,
          valueIs: "median (asv)",
          stats,
          metrics: {
            ...(typeof q25?.[i] === "number" ? { q25: { value: q25[i] as number, unit } } : {}),
            ...(typeof q75?.[i] === "number" ? { q75: { value: q75[i] as number, unit } } : {}),
          },
        });
      });
    }
    return rows;
  },
};

/**
 * Julia BenchmarkTools' JSON (`BenchmarkTools.save`): nested BenchmarkGroups whose leaves are a
 * TrialEstimate (time, memory, allocs) or a Trial (all times: the samples). Names join the group
 * keys with "/" ("fib/20"); times are nanoseconds, memory bytes.
 */
export const julia: FormatReader = {
  id: "julia",
  title: "Julia BenchmarkTools JSON",
  url: "https://juliaci.github.io/BenchmarkTools.jl/",
  kind: "json",
  produce: 'BenchmarkTools.save("FILE", median(results))',
  fields: "memory (B), allocs, gctime (ns)",
  bencher: "no",
  gab: "julia",
  sniff({ json }) {
    return Array.isArray(json) && isObject(json[0]) && "BenchmarkTools" in json[0]
      ? "a [versions, data] pair with BenchmarkTools (Julia)"
      : undefined;
  },
  async read(input) {
    const doc = await input.json();
    if (!Array.isArray(doc) || doc.length < 2)
      throw notThisFormat(input.label, "BenchmarkTools JSON", this.produce);
    const rows: BenchRow[] = [];
    const visit = (node: unknown, path: string[]) => {
      if (!Array.isArray(node) || node.length < 2 || !isObject(node[1])) return;
      const [kind, body] = node as [string, Record<string, unknown>];
      if (kind === "BenchmarkGroup" && isObject(body.data)) {
        for (const [k, v] of Object.entries(body.data)) visit(v, [...path, k]);
        return;
      }
      const name = path.join("/");
      const metrics: Record<string, RowMetric> = {};
      if (typeof body.memory === "number") metrics.memory = { value: body.memory, unit: "B" };
      if (typeof body.allocs === "number") metrics.allocs = { value: body.allocs, unit: "allocs/op" };
      if (kind === "TrialEstimate") {
        rows.push({
          name,
          value: measureAt(body.time, `${name} time`, input.label),
          unit: "ns",
          valueIs: "the saved estimate (median, minimum or mean, as saved)",
          metrics: {
            ...metrics,
            ...(typeof body.gctime === "number" ? { gctime: { value: body.gctime, unit: "ns" } } : {}),
          },
        });
      } else if (kind === "Trial") {
        const times = numbersAt(body.times, `${name} times`, input.label) ?? [];
        if (times.length === 0) return;
        const sorted = [...times].sort((a, b) => a - b);
        rows.push({
          name,
          value: sorted[Math.floor((sorted.length - 1) / 2)]!,
          unit: "ns",
          valueIs: `median of ${times.length} samples`,
          samples: times,
          stats: { min: sorted[0]!, max: sorted[sorted.length - 1]! },
          metrics,
        });
      }
    };
    for (const top of doc.slice(1)) {
      if (Array.isArray(top) && Array.isArray(top[0])) for (const g of top) visit(g, []);
      else visit(top, []);
    }
    return rows;
  },
};

/** Bencher's built-in measures: their units (the BMF value is in these). */
const BMF_UNITS: Record<string, string> = {
  latency: "ns",
  throughput: "ops/s",
  "file-size": "B",
  "build-time": "s",
  instructions: "instructions",
  cycles: "cycles",
};

/**
 * Bencher Metric Format: `{ "<benchmark>": { "<measure>": { "value": n, "lower_value"?,
 * "upper_value"? } } }`. The headline is the latency measure when there is one, else the only
 * measure; every measure is a field. Keys may hold dots and colons (`tests::bench_x`): names are
 * matched exactly.
 */
export const bmf: FormatReader = {
  id: "bmf",
  title: "Bencher Metric Format (BMF) JSON",
  url: "https://bencher.dev/docs/reference/bencher-metric-format/",
  kind: "json",
  produce: "any tool that writes BMF (bencher run --adapter json)",
  fields: "each measure (latency, throughput, file-size, custom)",
  bencher: "json (BMF)",
  gab: "no",
  sniff({ json }) {
    if (!isObject(json)) return undefined;
    const entries = Object.values(json);
    if (entries.length === 0) return undefined;
    const ok = entries.every(
      (b) =>
        isObject(b) &&
        Object.values(b).length > 0 &&
        Object.values(b).every((m) => isObject(m) && typeof m.value === "number"),
    );
    return ok ? "{benchmark: {measure: {value}}} (Bencher Metric Format)" : undefined;
  },
  async read(input) {
    const doc = await input.json();
    if (!isObject(doc)) throw notThisFormat(input.label, "Bencher Metric Format JSON", this.produce);
    return Object.entries(doc).map(([name, measures]): BenchRow => {
      if (!isObject(measures))
        throw new MetricError(
          `${input.label}: ${name} is not an object of measures`,
          "Write BMF: {name: {measure: {value}}}.",
        );
      const metrics: Record<string, RowMetric> = {};
      for (const [measure, m] of Object.entries(measures)) {
        if (!isObject(m) || typeof m.value !== "number")
          throw new MetricError(
            `${input.label}: ${name} ${measure} has no numeric value`,
            "Each measure needs value: NUMBER.",
          );
        metrics[measure] = {
          value: m.value,
          unit: BMF_UNITS[measure] ?? "",
          ...(typeof m.lower_value === "number" && typeof m.upper_value === "number"
            ? { stats: { min: m.lower_value, max: m.upper_value } }
            : {}),
        };
      }
      const head =
        metrics.latency ?? (Object.keys(metrics).length === 1 ? Object.values(metrics)[0] : undefined);
      return head
        ? { name, ...head, valueIs: metrics.latency ? "latency" : Object.keys(metrics)[0]!, metrics }
        : {
            name,
            value: Number.NaN,
            unit: "",
            metrics,
            noHeadline: `has ${Object.keys(metrics).length} measures and no latency: choose one with metric.field (${Object.keys(metrics).join(", ")})`,
          };
    });
  },
};
