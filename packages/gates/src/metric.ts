import { stat as fsStat, readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { convert, directionOfUnit } from "@gpuci/report";
import { XMLParser } from "fast-xml-parser";
import {
  type BenchRow,
  formatById,
  formatInput,
  isPattern,
  listNames,
  MetricError,
  nameMatcher,
  normalizeText,
  selectRows,
  sniffFile,
  valueOfRow,
} from "./formats/index.js";
import { JUNIT_FIELDS, type Metric } from "./schema.js";
import { applyStatTo, mean, quantile, stddev } from "./stats.js";

export { MetricError };

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
  /** Why `direction`: the config, the tool, the unit's grammar, or an assumption said so. */
  directionRule?: string;
  /** The benchmark the name selected, for benchmark formats. */
  name?: string;
  /** The format that read it, and how it was chosen ("google-benchmark (sniffed: …)"). */
  format?: string;
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
 * The steps of a JSON path: `a.b[0].c`, `[-1]` from the end, and quoted keys for names with dots,
 * brackets or spaces: `results["time_units.time_unit_parse"]`, `['tests::bench_x'].latency`.
 * A leading `$` or `$.` is allowed. Throws a MetricError for a path that cannot be parsed.
 */
export function parsePath(path: string): Array<string | number> {
  const steps: Array<string | number> = [];
  let i = path.startsWith("$") ? 1 : 0;
  const n = path.length;
  const bad = (why: string): never => {
    throw new MetricError(
      `metric.path ${JSON.stringify(path)} cannot be read: ${why} (at character ${i + 1})`,
      'Write keys with dots, e.g. a.b[0].c; quote keys that contain dots or brackets: results["time_units.time_unit_parse"].',
    );
  };
  while (i < n) {
    const c = path[i];
    if (c === ".") {
      i++;
      if (i >= n || path[i] === "." || path[i] === "[") bad("an empty key");
      continue;
    }
    if (c === "[") {
      const q = path[i + 1];
      if (q === '"' || q === "'") {
        let j = i + 2;
        let key = "";
        while (j < n && path[j] !== q) {
          if (path[j] === "\\" && j + 1 < n) {
            key += path[j + 1];
            j += 2;
          } else key += path[j++];
        }
        if (j >= n || path[j + 1] !== "]") bad(`a quoted key that does not end with ${q}]`);
        steps.push(key);
        i = j + 2;
        continue;
      }
      const close = path.indexOf("]", i);
      if (close < 0) bad("a [ without ]");
      const inner = path.slice(i + 1, close);
      if (/^-?\d+$/.test(inner)) steps.push(Number(inner));
      else if (inner.length > 0)
        steps.push(inner); // [key] without quotes: a plain key
      else bad("empty brackets");
      i = close + 1;
      continue;
    }
    let j = i;
    while (j < n && path[j] !== "." && path[j] !== "[") j++;
    steps.push(path.slice(i, j));
    i = j;
  }
  return steps;
}

/** Read a path (see parsePath) from parsed JSON; undefined when any step is missing. */
export function getPath(value: unknown, path: string): unknown {
  if (path === "" || path === "$") return value;
  let cur = value;
  for (const step of parsePath(path)) {
    if (typeof step === "number") {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[step < 0 ? cur.length + step : step];
    } else {
      if (!cur || typeof cur !== "object" || Array.isArray(cur)) return undefined;
      // Own keys only: "length", "__proto__" or "constructor" are never JavaScript properties.
      if (!Object.hasOwn(cur, step)) return undefined;
      cur = (cur as Record<string, unknown>)[step];
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

/**
 * Parsed metric files shared by the gates of one evaluation: a pull request with thousands of
 * gates on one results file parses it once, not once per gate. An entry is valid while the
 * file's size, modification time (ns) and inode are unchanged (a re-run that rewrites the file
 * is read again); only files up to {@link MetricFileCache.MAX_FILE_BYTES} are kept, and at most
 * {@link MetricFileCache.MAX_TOTAL_BYTES} of them, so the readers that stream big files keep
 * their bounded memory. Cached values are shared: callers never change them.
 */
export class MetricFileCache {
  static readonly MAX_FILE_BYTES = 8 * 1024 * 1024;
  static readonly MAX_TOTAL_BYTES = 64 * 1024 * 1024;
  private readonly entries = new Map<string, { stamp: string; bytes: number; value: Promise<unknown> }>();
  private bytes = 0;
  /** Parses so far (misses), for tests and benchmarks. */
  loads = 0;

  async get<T>(key: string, file: string, load: () => Promise<T>): Promise<T> {
    const st = await fsStat(file, { bigint: true });
    const stamp = `${st.size}:${st.mtimeNs}:${st.ino}`;
    const hit = this.entries.get(key);
    if (hit?.stamp === stamp) return hit.value as Promise<T>;
    if (hit) {
      this.entries.delete(key);
      this.bytes -= hit.bytes;
    }
    this.loads += 1;
    const bytes = Number(st.size);
    const value = load();
    if (bytes > MetricFileCache.MAX_FILE_BYTES || this.bytes + bytes > MetricFileCache.MAX_TOTAL_BYTES)
      return value;
    this.entries.set(key, { stamp, bytes, value });
    this.bytes += bytes;
    // A file that could not be read is tried again by the next gate (the error names that gate's file).
    value.catch(() => {
      const e = this.entries.get(key);
      if (e?.value === value) {
        this.entries.delete(key);
        this.bytes -= e.bytes;
      }
    });
    return value;
  }
}

async function readJson(file: string): Promise<unknown> {
  const text = normalizeText(await readFile(file, "utf8"));
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

/** Which way is better for a generic metric, and why: the config, the unit's grammar, or an assumption. */
function decideDirection(
  metric: Pick<Metric, "direction">,
  unit: string | undefined,
  tool?: { direction: "smaller" | "bigger"; rule: string },
): { direction: "smaller" | "bigger"; directionRule: string } {
  if (metric.direction)
    return {
      direction: metric.direction,
      directionRule: `metric.direction: ${metric.direction} (set in the config)`,
    };
  if (tool) return { direction: tool.direction, directionRule: tool.rule };
  const byUnit = directionOfUnit(unit);
  if (byUnit) return { direction: byUnit.direction, directionRule: byUnit.rule };
  return {
    direction: "smaller",
    directionRule: `assumed smaller is better: no tool or unit${unit ? ` (${unit})` : ""} says; set metric.direction`,
  };
}

/** One item of a list by its exact name: without a name, the only one; else an error listing them. */
function pickNamed<T>(
  items: T[],
  key: (t: T) => string,
  name: string | undefined,
  file: string,
  what: string,
): T {
  if (items.length === 0)
    throw new MetricError(`${file} has no ${what}s`, `Check that the run produced results into ${file}.`);
  if (name === undefined) {
    if (items.length === 1) return items[0]!;
    throw new MetricError(
      `${file} has ${items.length} ${what}s; say which with metric.name`,
      `Set metric.name to one of ${listNames(items.map(key))}.`,
    );
  }
  const m = nameMatcher(name);
  const hits = items.filter((i) => m.test(key(i)));
  if (hits.length === 1) return hits[0]!;
  throw new MetricError(
    hits.length === 0
      ? `no ${what} named "${name}" in ${file}`
      : `${hits.length} ${what}s in ${file} match "${name}"`,
    `Names are matched exactly; use one of ${listNames(items.map(key))}.`,
  );
}

/** The aggregate of several benchmarks' values (`metric.over`). */
function combine(values: MetricValue[], over: string, pattern: string, label: string): MetricValue {
  const unit = values[0]!.unit;
  const directions = new Set(values.map((v) => v.direction));
  if (directions.size > 1)
    throw new MetricError(
      `${label}: the ${values.length} benchmarks matching ${pattern} disagree on which way is better`,
      "Set metric.direction, or select benchmarks of one kind.",
    );
  const xs = values.map((v) => {
    try {
      return convert(v.value, v.unit, unit);
    } catch (error) {
      throw new MetricError(
        `${label}: ${v.name} is in ${v.unit ?? "no unit"} and ${values[0]!.name} in ${unit ?? "no unit"}: ${(error as Error).message}`,
        "Select benchmarks whose units convert (a time with a time), or gate them one by one (over: each).",
      );
    }
  });
  if (over === "geomean" && xs.some((x) => !(x > 0)))
    throw new MetricError(`${label}: a geometric mean needs positive values`, "Use over: mean or median.");
  return {
    value: applyStatTo(over, xs),
    ...(unit ? { unit } : {}),
    direction: values[0]!.direction,
    ...(values[0]!.directionRule ? { directionRule: values[0]!.directionRule } : {}),
    source: `${label}: ${over} of ${values.length} benchmarks matching ${pattern} (${listNames(
      values.map((v) => v.name!),
      4,
    )})`,
    ...(values[0]!.format ? { format: values[0]!.format } : {}),
  };
}

/** A benchmark format's rows, selected and valued as the metric says. */
async function readBenchmarkRows(
  metric: Metric,
  file: string,
  label: string,
  reader: NonNullable<ReturnType<typeof formatById>>,
  evidence: string | undefined,
  size: number,
  cache: MetricFileCache | undefined,
): Promise<MetricValue[]> {
  const matcher = metric.name !== undefined ? nameMatcher(metric.name) : undefined;
  // Shared by the evaluation's gates when small enough (all rows, each gate selects its own);
  // a big file streams with only the rows this gate names kept.
  const rows: BenchRow[] =
    cache && size <= MetricFileCache.MAX_FILE_BYTES
      ? await cache.get(`rows\0${reader.id}\0${label}\0${file}`, file, () =>
          reader.read(formatInput(file, label, parseLooseJson), {}),
        )
      : await reader.read(formatInput(file, label, parseLooseJson), {
          ...(matcher ? { keep: (name: string) => matcher.test(name) } : {}),
        });
  const chosen = selectRows(rows, metric.name, label);
  const format = `${reader.id}${evidence ? ` (recognised: ${evidence})` : ""}`;
  const values = chosen.map((row): MetricValue => {
    const sel = valueOfRow(
      row,
      { field: metric.field, stat: metric.stat, unit: metric.unit, direction: metric.direction },
      label,
    );
    const nonFinite = sel.samples ? nonFiniteOf(sel.samples) : undefined;
    return {
      value: sel.value,
      ...(sel.unit ? { unit: sel.unit } : {}),
      direction: sel.direction,
      directionRule: sel.directionRule,
      ...(sel.samples ? { samples: sel.samples } : {}),
      ...(nonFinite ? { nonFinite } : {}),
      source: `${label}: ${sel.what}`,
      name: row.name,
      format,
    };
  });
  if (values.length > 1 && metric.over && metric.over !== "each")
    return [combine(values, metric.over, metric.name ?? "", label)];
  return values;
}

/**
 * Read every value a metric selects: one, or several when `metric.name` is a glob or /regex/
 * (one per benchmark, unless `metric.over` aggregates them). Without `format:` the reader is
 * chosen by content (and said so in `format`). Missing files, fields and wrong types become
 * MetricError with a remedy; NaN and Infinity come back as such.
 */
export async function readMetrics(
  metric: Metric,
  baseDir: string,
  defaults: { kernelResults?: string; cache?: MetricFileCache } = {},
): Promise<MetricValue[]> {
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
  const explicit = formatById(metric.format);
  if (explicit) return readBenchmarkRows(metric, file, fileLabel, explicit, undefined, size, defaults.cache);
  const ext = extname(given).toLowerCase();
  let format: NonNullable<Metric["format"]> | undefined = metric.format;
  if (!format) {
    if (metric.path !== undefined) format = "json";
    else if (metric.column !== undefined && ext !== ".jsonl" && ext !== ".ndjson") format = "csv";
    else if (
      (metric.field !== undefined || metric.column !== undefined) &&
      (ext === ".jsonl" || ext === ".ndjson")
    )
      format = "jsonl";
  }
  if (!format) {
    try {
      const sniffed = await sniffFile(file, fileLabel, size, parseLooseJson);
      if (sniffed.kind === "reader")
        return readBenchmarkRows(
          metric,
          file,
          fileLabel,
          sniffed.reader,
          sniffed.evidence,
          size,
          defaults.cache,
        );
      format = sniffed.format;
    } catch (error) {
      // A CSV or JSONL file with a named field reads as rows even when no tool format matches.
      if (metric.field !== undefined && ext === ".csv") format = "csv";
      else if (metric.field !== undefined && (ext === ".jsonl" || ext === ".ndjson")) format = "jsonl";
      else throw error;
    }
  }
  return [await readGeneric({ ...metric, format }, file, fileLabel, size, defaults.cache)];
}

/**
 * Read the one value a metric selects (see readMetrics); a pattern that matches several
 * benchmarks without an aggregate (`metric.over`) is an error that lists them.
 */
export async function readMetric(
  metric: Metric,
  baseDir: string,
  defaults: { kernelResults?: string; cache?: MetricFileCache } = {},
): Promise<MetricValue> {
  const values = await readMetrics(metric, baseDir, defaults);
  if (values.length === 1) return values[0]!;
  throw new MetricError(
    `metric.name ${metric.name} matches ${values.length} benchmarks in ${metric.file}: ${listNames(values.map((v) => v.name ?? "?"))}`,
    "Here one value is needed: name one benchmark exactly, or aggregate them with metric.over (mean, median, min, max, sum, geomean).",
  );
}

/** The generic formats: a JSON path, JSONL/CSV columns, gpuci's kernel results, JUnit counts. */
async function readGeneric(
  metric: Metric,
  file: string,
  fileLabel: string,
  size: number,
  cache?: MetricFileCache,
): Promise<MetricValue> {
  const format = metric.format!;
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
      const doc = cache ? await cache.get(`json\0${file}`, file, () => readJson(file)) : await readJson(file);
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
          ...decideDirection(metric, unit),
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
        ...decideDirection(metric, unit),
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
        ...decideDirection(metric, unit),
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
        ...decideDirection(
          metric,
          undefined,
          field === "gflops" || field === "gbps" || field === "correct"
            ? { direction: "bigger", rule: `kernel ${field}: bigger is better` }
            : { direction: "smaller", rule: `kernel ${field}: smaller is better` },
        ),
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
        ...decideDirection(
          metric,
          undefined,
          what === "passed" || what === "tests"
            ? { direction: "bigger", rule: `JUnit ${what}: bigger is better` }
            : { direction: "smaller", rule: `JUnit ${what}: smaller is better` },
        ),
        source: `${metric.file}: ${what} (${counts.tests} tests, ${counts.failures} failures, ${counts.errors} errors, ${counts.skipped} skipped)`,
      };
    }
    default:
      throw new MetricError(
        `format ${String(format)} is not one gpuci reads`,
        "Set metric.format to one of the formats in the README's table.",
      );
  }
}
