import { stat as fsStat, readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { JUNIT_FIELDS, type Metric } from "./schema.js";
import { mean, quantile, stddev } from "./stats.js";
import { ExtractError, type Extracted, extractCsv, extractJsonl, MissingColumnError } from "./stream.js";

/** A number read from a file, with what it means. */
export interface MetricValue {
  value: number;
  unit?: string;
  direction: "smaller" | "bigger";
  /** Individual samples, where the format has them (for regression tests). */
  samples?: number[];
  /** Human description of where the value came from. */
  source: string;
  /** Values read that are NaN or ±Infinity (a gate fails on any unless allowNaN), with the first line. */
  nonFinite?: { count: number; firstLine?: number };
}

/** The largest whole-file metric (JSON, XML) gpuci reads; line formats stream and have no limit. */
export const MAX_WHOLE_FILE_BYTES = 256 * 1024 * 1024;

function nonFiniteOf(samples: readonly number[] | undefined): MetricValue["nonFinite"] | undefined {
  if (!samples) return undefined;
  let count = 0;
  for (const x of samples) if (!Number.isFinite(x)) count++;
  return count ? { count } : undefined;
}

/** The unreadable rows a gate tolerates: `invalid.max` as a count or a percentage of `total`. */
export function toleratedRows(max: number | string | undefined, total: number): number {
  if (max === undefined) return 0;
  if (typeof max === "number") return max;
  return Math.floor((Number(max.slice(0, -1)) / 100) * total);
}

/** A value a benchmark file must hold as a number: null, "", [], true or text are refused, never read as 0 or 1. */
function numberAt(value: unknown, what: string, file: string): number {
  if (typeof value === "number") return value;
  throw new MetricError(
    `${file}: ${what} is ${JSON.stringify(value) ?? "missing"}, not a number`,
    "Rewrite the file with the benchmark tool; gpuci never reads a non-number as a value.",
  );
}

/** A list of numbers from a benchmark file; any other element is refused with its index. */
function numbersAt(value: unknown, what: string, file: string): number[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value))
    throw new MetricError(
      `${file}: ${what} is ${JSON.stringify(value)}, not a list of numbers`,
      "Rewrite the file with the benchmark tool.",
    );
  for (const [i, v] of value.entries()) numberAt(v, `${what}[${i}]`, file);
  return value as number[];
}

/** Every entry of a benchmark file's list is an object: `null` or a number is refused with its index. */
function objectsIn(list: unknown[], what: string, file: string): void {
  list.forEach((x, i) => {
    if (!x || typeof x !== "object" || Array.isArray(x))
      throw new MetricError(
        `${file}: ${what}[${i}] is ${JSON.stringify(x) ?? "missing"}, not an object`,
        "Rewrite the file with the benchmark tool.",
      );
  });
}

/** A metric that could not be read: a finding with a remedy, never a crash and never a pass. */
export class MetricError extends Error {
  constructor(
    message: string,
    readonly remedy: string,
  ) {
    super(message);
  }
}

/** The format of a metric file: explicit, else from its extension. */
export function inferFormat(metric: Pick<Metric, "file" | "format">): NonNullable<Metric["format"]> {
  if (metric.format) return metric.format;
  const ext = extname(metric.file ?? "").toLowerCase();
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  if (ext === ".csv") return "csv";
  if (ext === ".xml") return "junit";
  return "json";
}

/**
 * Read `a.b[0].c` from parsed JSON; undefined when any step is missing. Not full JSONPath.
 * Only the document's own fields are read: `v.length`, `constructor` or `__proto__` name
 * nothing in a JSON file, so they are missing, never a JavaScript property.
 */
export function getPath(value: unknown, path: string): unknown {
  if (path === "" || path === "$") return value;
  const steps = path
    .replace(/^\$\.?/, "")
    .split(/\.|(?=\[)/)
    .filter(Boolean);
  let cur = value;
  for (const step of steps) {
    const index = /^\[(-?\d+)\]$/.exec(step);
    if (index) {
      if (!Array.isArray(cur)) return undefined;
      const i = Number(index[1]);
      cur = cur[i < 0 ? cur.length + i : i];
    } else {
      const key = step.replace(/^\[["']?|["']?\]$/g, "");
      if (!cur || typeof cur !== "object") return undefined;
      if (Array.isArray(cur) ? !/^\d+$/.test(key) : !Object.hasOwn(cur, key)) return undefined;
      cur = (cur as Record<string, unknown>)[key];
    }
  }
  return cur;
}

/**
 * Parse JSON that may contain Python's NaN / Infinity / -Infinity as values (json.dump's
 * default). Only bare tokens outside strings are read as numbers: "loss went NaN" stays text.
 */
export function parseLooseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw error;
  }
  let out = "";
  let from = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string, honouring escapes.
      i++;
      while (i < text.length && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
      i++;
      continue;
    }
    const token = text.startsWith("NaN", i)
      ? "NaN"
      : text.startsWith("Infinity", i)
        ? "Infinity"
        : text.startsWith("-Infinity", i)
          ? "-Infinity"
          : undefined;
    if (token) {
      out += `${text.slice(from, i)}"__gpuci_${token}__"`;
      i += token.length;
      from = i;
      continue;
    }
    i++;
  }
  out += text.slice(from);
  return JSON.parse(out, (_k, v) =>
    v === "__gpuci_NaN__"
      ? Number.NaN
      : v === "__gpuci_Infinity__"
        ? Number.POSITIVE_INFINITY
        : v === "__gpuci_-Infinity__"
          ? Number.NEGATIVE_INFINITY
          : v,
  );
}

/** A list of samples as an extraction, for the statistics. */
function samplesExtracted(xs: readonly number[]): Extracted {
  return {
    values: Float64Array.from(xs),
    rows: xs.length,
    missing: 0,
    nulls: 0,
    nonNumeric: 0,
    nonFinite: 0,
    matched: 0,
    invalid: 0,
  };
}

function applyStat(stat: NonNullable<Metric["stat"]>, ex: Extracted): number {
  const v = ex.values;
  switch (stat) {
    case "count":
      return ex.rows - ex.missing - ex.nulls;
    case "rate":
      return ex.rows - ex.missing === 0 ? Number.NaN : ex.matched / (ex.rows - ex.missing);
    case "sum": {
      let s = 0;
      for (let i = 0; i < v.length; i++) s += v[i]!;
      return s;
    }
    case "mean":
      return mean(v);
    case "stddev":
      return stddev(v);
    case "min":
    case "max": {
      if (v.length === 0) return Number.NaN;
      let m = v[0]!;
      for (let i = 1; i < v.length; i++) m = stat === "min" ? Math.min(m, v[i]!) : Math.max(m, v[i]!);
      return m;
    }
    default: {
      const q =
        stat === "median" || stat === "p50" ? 0.5 : stat === "p90" ? 0.9 : stat === "p95" ? 0.95 : 0.99;
      return quantile(v, q);
    }
  }
}

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, "utf8");
  try {
    return parseLooseJson(text);
  } catch (error) {
    throw new MetricError(
      `${file} is not valid JSON (${(error as Error).message})`,
      "Check that the command that writes it finished; a truncated file usually means it crashed.",
    );
  }
}

/**
 * The size of a metric file, refusing what is not there and what is not a regular file: a FIFO
 * would block the read forever and a device never ends.
 */
export async function statMetricFile(file: string, label: string): Promise<number> {
  let info: Awaited<ReturnType<typeof fsStat>>;
  try {
    info = await fsStat(file);
  } catch {
    throw new MetricError(
      `${label} does not exist`,
      `Make the command that writes ${label} run before the gates (run: in gpuci.yml), or fix the file name.`,
    );
  }
  if (!info.isFile())
    throw new MetricError(
      `${label} is ${info.isDirectory() ? "a directory" : info.isFIFO() ? "a FIFO (named pipe)" : info.isSocket() ? "a socket" : "a device or special file"}, not a regular file`,
      "Point the gate at the file the command writes; gpuci reads only regular files.",
    );
  return info.size;
}

function pickNamed<T extends Record<string, unknown>>(
  items: T[],
  key: (t: T) => string,
  name: string | undefined,
  file: string,
  what: string,
): T {
  if (items.length === 0)
    throw new MetricError(
      `${file} has no ${what}s`,
      `Check that the benchmark run produced results into ${file}.`,
    );
  if (!name) {
    if (items.length === 1) return items[0]!;
    throw new MetricError(
      `${file} has ${items.length} ${what}s; say which with metric.name`,
      `Set metric.name to one of: ${items.slice(0, 10).map(key).join(", ")}${items.length > 10 ? ", …" : ""}.`,
    );
  }
  const hit = items.find((i) => key(i) === name) ?? items.find((i) => key(i).endsWith(name));
  if (!hit)
    throw new MetricError(
      `no ${what} named "${name}" in ${file}`,
      `Use one of: ${items.slice(0, 10).map(key).join(", ")}${items.length > 10 ? ", …" : ""}.`,
    );
  return hit;
}

/**
 * Read a metric from its file. Missing files, fields and wrong types become MetricError
 * (with a remedy that names the file and field); NaN and Infinity come back as such.
 */
export async function readMetric(
  metric: Metric,
  baseDir: string,
  defaults: { kernelResults?: string } = {},
): Promise<MetricValue> {
  const given = metric.file ?? (metric.format === "kernels" ? defaults.kernelResults : undefined);
  if (!given)
    throw new MetricError(
      metric.format === "kernels" ? "no kernel results in this run" : "metric.file is missing",
      metric.format === "kernels"
        ? "Configure kernels: in gpuci.yml (gates then read this run's results), or set metric.file to a kernels.json."
        : "Set metric.file.",
    );
  metric = { ...metric, file: given };
  const fileLabel: string = given;
  const file = resolve(baseDir, given);
  const size = await statMetricFile(file, fileLabel);
  const format = inferFormat(metric);
  // JSON and XML formats are read whole; JSONL and CSV stream and have no size limit.
  if (format !== "jsonl" && format !== "csv" && size > MAX_WHOLE_FILE_BYTES)
    throw new MetricError(
      `${fileLabel} is ${Math.round(size / 1024 / 1024)} MiB; gpuci reads whole JSON/XML files up to ${MAX_WHOLE_FILE_BYTES / 1024 / 1024} MiB`,
      "Write many rows as JSON lines (format: jsonl) or CSV, which gpuci streams, or point metric.file at a summary.",
    );
  const unit = metric.unit;
  switch (format) {
    case "json": {
      if (!metric.path)
        throw new MetricError(
          "metric.path is missing",
          `Set metric.path to the field of ${metric.file} to judge, e.g. results.accuracy.`,
        );
      const doc = await readJson(file);
      const v = getPath(doc, metric.path);
      if (v === undefined)
        throw new MetricError(
          `${metric.file} has no "${metric.path}"`,
          `Check the path (dots and [index]); the top-level keys are: ${doc && typeof doc === "object" ? Object.keys(doc).slice(0, 12).join(", ") : "(none)"}.`,
        );
      if (Array.isArray(v) && v.every((x) => typeof x === "number")) {
        const ex: Extracted = samplesExtracted(v);
        return {
          value: applyStat(metric.stat ?? "mean", ex),
          samples: v,
          ...(nonFiniteOf(v) ? { nonFinite: nonFiniteOf(v)! } : {}),
          direction: metric.direction ?? "smaller",
          ...(unit ? { unit } : {}),
          source: `${metric.file}: ${metric.stat ?? "mean"} of ${metric.path} (${v.length} values)`,
        };
      }
      const value = typeof v === "boolean" ? Number(v) : v;
      if (typeof value !== "number")
        throw new MetricError(
          `${metric.file}: ${metric.path} is ${JSON.stringify(v).slice(0, 60)}, not a number`,
          `Point metric.path at a number (or a list of numbers) in ${metric.file}.`,
        );
      return {
        value,
        direction: metric.direction ?? "smaller",
        ...(unit ? { unit } : {}),
        source: `${metric.file}: ${metric.path}`,
      };
    }
    case "jsonl":
    case "csv": {
      const field = format === "jsonl" ? (metric.field ?? metric.column) : (metric.column ?? metric.field);
      if (!field)
        throw new MetricError(
          `metric.${format === "jsonl" ? "field" : "column"} is missing`,
          `Name the ${format === "jsonl" ? "field" : "column"} of ${metric.file} to aggregate.`,
        );
      const stat = metric.stat ?? "mean";
      const options = {
        ...(metric.where ? { where: metric.where } : {}),
        ...(metric.timeoutSeconds ? { timeoutMs: metric.timeoutSeconds * 1000 } : {}),
      };
      let ex: Extracted;
      try {
        ex =
          format === "jsonl"
            ? await extractJsonl(file, field, options)
            : await extractCsv(file, field, options);
      } catch (error) {
        if (error instanceof MissingColumnError)
          throw new MetricError(
            `${metric.file} ${error.message}`,
            error.header.length
              ? `Set metric.column to one of: ${error.header.join(", ")}.`
              : "Write a header row first.",
          );
        if (error instanceof ExtractError)
          throw new MetricError(`${metric.file}: ${error.message}`, error.remedy);
        throw error;
      }
      const rowWord = format === "jsonl" ? "line" : "row";
      if (ex.rows === 0 && ex.invalid === 0)
        throw new MetricError(
          `${metric.file} has no rows`,
          `The command that writes ${metric.file} produced nothing; check its output.`,
        );
      // Strict reading: every row that could not be read is counted, and any beyond the gate's
      // tolerance fails it. For numbers, a null or a non-number where a number belongs is unreadable
      // (pandas writes NaN as an empty cell; "1000" in quotes is text).
      const numeric = stat !== "count" && stat !== "rate";
      const parts: string[] = [];
      if (ex.invalid)
        parts.push(
          `${ex.invalid} not ${format === "jsonl" ? "a valid JSON object" : "a valid CSV record"} (first at line ${ex.firstInvalidLine}${ex.invalidReason ? `: ${ex.invalidReason}` : ""})`,
        );
      if (numeric && ex.nulls)
        parts.push(
          `${ex.nulls} where "${field}" is ${format === "jsonl" ? "null" : "empty or NA"} (first at line ${ex.firstNullLine})`,
        );
      if (numeric && ex.nonNumeric)
        parts.push(
          `${ex.nonNumeric} where "${field}" is not a number (first at line ${ex.firstNonNumericLine})`,
        );
      const unreadable = ex.invalid + (numeric ? ex.nulls + ex.nonNumeric : 0);
      const total = ex.rows + ex.invalid;
      const tolerated = toleratedRows(metric.invalid?.max, total);
      if (unreadable > tolerated)
        throw new MetricError(
          `${metric.file}: ${unreadable} of ${total} ${rowWord}s could not be read: ${parts.join("; ")}`,
          `Fix the command that writes ${metric.file}${
            unreadable === total
              ? ` (check the ${format === "jsonl" ? "field" : "column"} name "${field}" and the format)`
              : ""
          }. gpuci never drops a row it cannot read; to tolerate a known number, set metric.invalid: { max: ${unreadable} } on this gate.`,
        );
      if (numeric && ex.values.length === 0)
        throw new MetricError(
          `no ${rowWord} of ${metric.file} has "${field}"`,
          `Check the ${format === "jsonl" ? "field" : "column"} name "${field}" (case matters).`,
        );
      if (!numeric && ex.rows - ex.missing === 0)
        throw new MetricError(
          `no ${rowWord} of ${metric.file} has "${field}"`,
          `Check the ${format === "jsonl" ? "field" : "column"} name "${field}" (case matters).`,
        );
      const value = applyStat(stat, ex);
      const notes = [
        ex.missing ? `${ex.missing} without ${field}` : "",
        unreadable ? `${unreadable} unreadable, tolerated by invalid.max` : "",
      ]
        .filter(Boolean)
        .join(", ");
      return {
        value,
        direction: metric.direction ?? "smaller",
        ...(unit ? { unit } : {}),
        ...(ex.values.length <= 100_000 && numeric ? { samples: Array.from(ex.values) } : {}),
        ...(numeric && ex.nonFinite
          ? {
              nonFinite: {
                count: ex.nonFinite,
                ...(ex.firstNonFiniteLine !== undefined ? { firstLine: ex.firstNonFiniteLine } : {}),
              },
            }
          : {}),
        source: `${metric.file}: ${stat} of ${field} over ${ex.rows} ${rowWord}s${notes ? ` (${notes})` : ""}`,
      };
    }
    case "pytest-benchmark": {
      const doc = (await readJson(file)) as { benchmarks?: Array<Record<string, unknown>> };
      if (!Array.isArray(doc?.benchmarks))
        throw new MetricError(
          `${metric.file} is not pytest-benchmark JSON (no "benchmarks" list)`,
          "Write it with pytest --benchmark-json=FILE.",
        );
      objectsIn(doc.benchmarks, "benchmarks", fileLabel);
      const b = pickNamed(
        doc.benchmarks,
        (x) => String(x.fullname ?? x.name),
        metric.name,
        fileLabel,
        "benchmark",
      );
      const stats = (b.stats ?? {}) as Record<string, unknown>;
      const stat = metric.stat ?? "median";
      const key = stat === "p50" ? "median" : stat;
      const data = numbersAt(stats.data, `${b.name} stats.data`, fileLabel);
      let value =
        stats[key] === undefined ? undefined : numberAt(stats[key], `${b.name} stats.${key}`, fileLabel);
      if (data && data.length === 0)
        throw new MetricError(
          `${fileLabel}: ${b.name} stats.data is empty`,
          "Run the benchmark with at least one round.",
        );
      if (value === undefined && data) value = applyStat(stat, samplesExtracted(data));
      if (value === undefined)
        throw new MetricError(
          `pytest-benchmark has no "${stat}" for ${b.name}`,
          "Use one of min, max, mean, stddev, median (or run with --benchmark-save-data... for percentiles).",
        );
      return {
        value,
        unit: unit ?? "s",
        direction: metric.direction ?? "smaller",
        ...(data ? { samples: data } : {}),
        ...(nonFiniteOf(data) ? { nonFinite: nonFiniteOf(data)! } : {}),
        source: `${metric.file}: ${b.name} ${stat}`,
      };
    }
    case "google-benchmark": {
      const doc = (await readJson(file)) as { benchmarks?: Array<Record<string, unknown>> };
      if (!Array.isArray(doc?.benchmarks))
        throw new MetricError(
          `${metric.file} is not Google Benchmark JSON`,
          "Write it with --benchmark_format=json --benchmark_out=FILE.",
        );
      objectsIn(doc.benchmarks, "benchmarks", fileLabel);
      const runs = doc.benchmarks.filter((x) => (x.run_type ?? "iteration") === "iteration");
      const names = [...new Set(doc.benchmarks.map((x) => String(x.run_name ?? x.name)))];
      const name = pickNamed(
        names.map((n) => ({ n })),
        (x) => x.n,
        metric.name,
        fileLabel,
        "benchmark",
      ).n;
      const mine = runs.filter((x) => String(x.run_name ?? x.name) === name);
      const stat = metric.stat ?? "median";
      const agg = doc.benchmarks.find(
        (x) =>
          x.run_type === "aggregate" &&
          String(x.run_name) === name &&
          x.aggregate_name === (stat === "p50" ? "median" : stat),
      );
      const timeOf = (x: Record<string, unknown>) => {
        const t = numberAt(x.real_time, `${name} real_time`, fileLabel);
        if (t < 0)
          throw new MetricError(
            `${fileLabel}: ${name} real_time is ${t}, a negative time`,
            "Rewrite the file with the benchmark tool; a time is never below zero.",
          );
        return t;
      };
      const samples = mine.map(timeOf);
      const value = agg ? timeOf(agg) : applyStat(stat, samplesExtracted(samples));
      const tu = String((agg ?? mine[0])?.time_unit ?? "ns");
      return {
        value,
        unit: unit ?? tu,
        direction: metric.direction ?? "smaller",
        samples,
        ...(nonFiniteOf(samples) ? { nonFinite: nonFiniteOf(samples)! } : {}),
        source: `${metric.file}: ${name} real_time ${agg ? `(aggregate ${stat})` : `${stat} of ${samples.length} repetitions`}`,
      };
    }
    case "hyperfine": {
      const doc = (await readJson(file)) as { results?: Array<Record<string, unknown>> };
      if (!Array.isArray(doc?.results))
        throw new MetricError(
          `${metric.file} is not hyperfine JSON`,
          "Write it with hyperfine --export-json FILE.",
        );
      const r = pickNamed(doc.results, (x) => String(x.command), metric.name, fileLabel, "command");
      const times = numbersAt(r.times, `${r.command} times`, fileLabel) ?? [];
      const stat = metric.stat ?? "median";
      const key = stat === "p50" ? "median" : stat;
      if (r[key] === undefined && times.length === 0)
        throw new MetricError(
          `${fileLabel}: ${r.command} has no times and no ${key}`,
          "Run hyperfine with --runs ≥ 1 and --export-json.",
        );
      const value =
        r[key] !== undefined
          ? numberAt(r[key], `${r.command} ${key}`, fileLabel)
          : applyStat(stat, samplesExtracted(times));
      return {
        value,
        unit: unit ?? "s",
        direction: metric.direction ?? "smaller",
        samples: times,
        ...(nonFiniteOf(times) ? { nonFinite: nonFiniteOf(times)! } : {}),
        source: `${metric.file}: ${r.command} ${stat}`,
      };
    }
    case "benchmark-action": {
      const doc = (await readJson(file)) as Array<{
        name?: string;
        unit?: string;
        value?: unknown;
        range?: string;
      }>;
      if (!Array.isArray(doc))
        throw new MetricError(
          `${metric.file} is not github-action-benchmark custom JSON (a list of {name, unit, value})`,
          "Write a JSON list of {name, unit, value} objects.",
        );
      const b = pickNamed(
        doc as Array<Record<string, unknown>>,
        (x) => String(x.name),
        metric.name,
        fileLabel,
        "benchmark",
      ) as { name: string; unit?: string; value?: unknown };
      if (typeof b.value !== "number")
        throw new MetricError(`${b.name} has no numeric value`, "Each entry needs value: NUMBER.");
      const direction =
        metric.direction ??
        (b.unit && /\/s|ops|per\s?sec|throughput|tflops|gflops|bigger/i.test(b.unit) ? "bigger" : "smaller");
      return {
        value: b.value,
        ...((unit ?? b.unit) ? { unit: unit ?? b.unit } : {}),
        direction,
        source: `${metric.file}: ${b.name}`,
      };
    }
    case "kernels": {
      // gpuci's own kernel results (kernels.json, written by the kernels stage): one row per
      // (kernel, shape, dtype, backend), selected by name "<kernel> <shape> <dtype> on <backend>".
      const rows = (await readJson(file)) as Array<Record<string, unknown>>;
      if (!Array.isArray(rows))
        throw new MetricError(
          `${metric.file} is not gpuci's kernels.json`,
          "Point metric.file at the kernels.json that gpuci run writes in its output folder.",
        );
      const label = (r: Record<string, unknown>) => `${r.kernel} ${r.shape} ${r.dtype} on ${r.backend}`;
      const row = pickNamed(rows, label, metric.name, fileLabel, "kernel result");
      const field = metric.field ?? "medianMs";
      const v = row[field];
      if (v === undefined || v === null)
        throw new MetricError(
          `${label(row)} has no ${field}${row.correct === false ? " (the kernel was wrong, so it was never timed)" : ""}`,
          `Use a field of: ${Object.keys(row).join(", ")}.`,
        );
      const value = typeof v === "boolean" ? Number(v) : Number(v);
      return {
        value,
        unit:
          unit ??
          (field.endsWith("Ms") ? "ms" : field === "gflops" ? "GFLOP/s" : field === "gbps" ? "GB/s" : ""),
        direction:
          metric.direction ??
          (field === "gflops" || field === "gbps" || field === "correct" ? "bigger" : "smaller"),
        source: `${metric.file}: ${label(row)} ${field}`,
      };
    }
    case "junit": {
      const xml = await readFile(file, "utf8");
      let doc: Record<string, unknown>;
      try {
        doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml, true) as Record<
          string,
          unknown
        >;
      } catch (error) {
        throw new MetricError(
          `${metric.file} is not valid XML (${(error as Error).message})`,
          "Write it with the test runner's JUnit option (pytest --junitxml=FILE).",
        );
      }
      const root = (doc.testsuites ?? doc) as Record<string, unknown>;
      const suites = ([] as Array<Record<string, unknown>>).concat(
        (root.testsuite as Array<Record<string, unknown>>) ?? [],
      );
      if (suites.length === 0)
        throw new MetricError(
          `${metric.file} has no <testsuite>`,
          "Check that the test runner wrote JUnit XML.",
        );
      const chosen = metric.name
        ? [pickNamed(suites, (s) => String(s.name), metric.name, fileLabel, "test suite")]
        : suites;
      // Count what the file shows: a suite's attribute when it has one (a non-negative integer,
      // else refused), otherwise its <testcase> elements with <failure>/<error>/<skipped>; nested
      // suites are counted too.
      const asList = (v: unknown) =>
        ([] as Array<Record<string, unknown>>).concat((v as Array<Record<string, unknown>>) ?? []);
      const elementCount = (
        suite: Record<string, unknown>,
        k: "tests" | "failures" | "errors" | "skipped",
      ): number => {
        const cases = asList(suite.testcase);
        const own =
          k === "tests"
            ? cases.length
            : cases.filter(
                (c) => c[k === "failures" ? "failure" : k === "errors" ? "error" : "skipped"] !== undefined,
              ).length;
        return own + asList(suite.testsuite).reduce((n, child) => n + countOf(child, k), 0);
      };
      const countOf = (
        suite: Record<string, unknown>,
        k: "tests" | "failures" | "errors" | "skipped",
      ): number => {
        const raw = suite[k] ?? (k === "skipped" ? suite.skip : undefined);
        if (raw === undefined) return elementCount(suite, k);
        const text = String(raw).trim();
        if (!/^\d+$/.test(text))
          throw new MetricError(
            `${metric.file}: suite ${String(suite.name ?? "?")} has ${k}="${text}", not a count`,
            "Rewrite the file with the test runner's JUnit option; gpuci refuses counts it cannot read.",
          );
        // A suite's count covers the suites inside it: one that says less than they hold
        // contradicts itself, and is refused rather than read as the smaller number.
        const inner = asList(suite.testsuite).reduce((n, child) => n + countOf(child, k), 0);
        if (Number(text) < inner)
          throw new MetricError(
            `${metric.file}: suite ${String(suite.name ?? "?")} says ${k}="${text}", but the suites inside it hold ${inner}`,
            "Rewrite the file with the test runner's JUnit option; gpuci refuses a file whose counts contradict each other.",
          );
        return Number(text);
      };
      const sum = (k: "tests" | "failures" | "errors" | "skipped") =>
        chosen.reduce((s, x) => s + countOf(x, k), 0);
      const counts = {
        tests: sum("tests"),
        failures: sum("failures"),
        errors: sum("errors"),
        skipped: sum("skipped"),
      };
      const what = metric.field ?? metric.column ?? "failures";
      const table: Record<string, number> = {
        ...counts,
        passed: counts.tests - counts.failures - counts.errors - counts.skipped,
      };
      if (!(what in table))
        throw new MetricError(
          `junit has no count "${what}"`,
          `Use metric.field: ${JUNIT_FIELDS.join(", ")}.`,
        );
      return {
        value: table[what]!,
        unit: "tests",
        direction: what === "passed" || what === "tests" ? "bigger" : "smaller",
        source: `${metric.file}: ${what} (${counts.tests} tests, ${counts.failures} failures, ${counts.errors} errors, ${counts.skipped} skipped)`,
      };
    }
  }
}
