/**
 * The contract every benchmark format reader implements: sniff (is this file mine, and why) and
 * read (rows of name, value, unit, samples, direction). Selection by name, the statistic, units
 * and direction rules are applied in one place (select.ts), never inside a reader.
 */

/** A metric that could not be read: a finding with a remedy, never a crash and never a pass. */
export class MetricError extends Error {
  constructor(
    message: string,
    readonly remedy: string,
  ) {
    super(message);
  }
}

/** The statistics a row may carry, in the row's unit (cv is a fraction). */
export const ROW_STATS = [
  "mean",
  "median",
  "min",
  "max",
  "stddev",
  "cv",
  "p50",
  "p90",
  "p95",
  "p99",
] as const;
export type RowStat = (typeof ROW_STATS)[number];

/** A number a row carries: its headline, or one more (bytes_per_second, allocs/op, noise). */
export interface RowMetric {
  /** The value the tool reports, in `unit`. */
  value: number;
  /** "" when the tool gives none; then comparing needs `metric.unit` and `metric.direction`. */
  unit: string;
  /** Which statistic `value` is, when the tool says ("median of 5 repetitions", "mean"). */
  valueIs?: string;
  /** Individual measurements in `unit`, where the tool writes them (repetitions, runs). */
  samples?: number[];
  /** Aggregates the tool computed, in `unit` (cv as a fraction). */
  stats?: Partial<Record<RowStat, number>>;
  direction?: "smaller" | "bigger";
  /** Why that direction: "JMH mode thrpt is a throughput", "nvbench hint item_rate". */
  directionRule?: string;
}

/** One benchmark (one name) in a file, as its tool wrote it. */
export interface BenchRow extends RowMetric {
  /** The name the tool gives it; selection matches it exactly, or by glob or /regex/. */
  name: string;
  /** Other exact names that select it (pytest's fullname, Google Benchmark's run_name). */
  aliases?: string[];
  /** Other numbers of the same benchmark, selected with `metric.field`. */
  metrics?: Record<string, RowMetric>;
  /** The tool reported that this benchmark failed: selecting it is an error with this text. */
  error?: string;
  /** There is no headline value, only fields: selecting it without metric.field is this error. */
  noHeadline?: string;
}

/** Hints for a reader. */
export interface ReadOptions {
  keep?(name: string): boolean;
}

/** What a reader is given: the file, read lazily. */
export interface FormatInput {
  /** Absolute path. */
  file: string;
  /** As the config names it (for messages). */
  label: string;
  /** The whole text, UTF-8 BOM removed and CRLF/CR turned into LF. */
  text(): Promise<string>;
  /** The whole file as JSON (Python's NaN/Infinity accepted), BOM removed. */
  json(): Promise<unknown>;
}

/** What a sniffer looks at: the parsed JSON when the file is JSON, else the first 64 KiB of text. */
export interface SniffInput {
  json?: unknown;
  /** The start of the file (BOM removed, CRLF normalised). */
  head: string;
  /** Lower-case extension with the dot (".json"); "" when none. */
  ext: string;
}

/** A benchmark tool's output format. */
export interface FormatReader {
  /** The `format:` value. */
  id: string;
  /** The tool and its output, as users know it: "go test -bench (text)". */
  title: string;
  /** Where the tool lives. */
  url: string;
  /** JSON formats are sniffed from the parsed document; text formats from the first lines. */
  kind: "json" | "text" | "xml" | "csv";
  /** Why this file is in this format ("has context.library_build_type and benchmarks[]"), else undefined. */
  sniff(input: SniffInput): string | undefined;
  /**
   * Read the rows. `options.keep`, when given, says which names will be selected: a streaming
   * reader may return only the names of the others (no values), to stay small on huge files.
   */
  read(input: FormatInput, options?: ReadOptions): Promise<BenchRow[]>;
  /** How the tool writes the file (shown in remedies and the README table). */
  produce: string;
  /** What `metric.field` selects besides the headline, for the README table. */
  fields?: string;
  /** Support in peers, for the README table: how Bencher and github-action-benchmark read it. */
  bencher: string;
  gab: string;
}

/** A value a benchmark file must hold as a number: null, "", [], true or text are refused. */
export function numberAt(value: unknown, what: string, file: string): number {
  if (typeof value === "number") return value;
  throw new MetricError(
    `${file}: ${what} is ${JSON.stringify(value) ?? "missing"}, not a number`,
    "Rewrite the file with the benchmark tool; gpuci never reads a non-number as a value.",
  );
}

/** A time or size a benchmark measured: a number that is not negative. */
export function measureAt(value: unknown, what: string, file: string): number {
  const v = numberAt(value, what, file);
  if (v < 0)
    throw new MetricError(
      `${file}: ${what} is ${v}, a negative measurement`,
      "A time, size or count below zero means the tool or the clock failed: rerun the benchmark.",
    );
  return v;
}

/** A list of numbers from a benchmark file; any other element is refused with its index. */
export function numbersAt(value: unknown, what: string, file: string): number[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value))
    throw new MetricError(
      `${file}: ${what} is ${JSON.stringify(value)?.slice(0, 60)}, not a list of numbers`,
      "Rewrite the file with the benchmark tool.",
    );
  for (const [i, v] of value.entries()) numberAt(v, `${what}[${i}]`, file);
  return value as number[];
}

/** A number written as text by a tool ("1,234.5", "12_345", "5.4e3"); NaN when it is not one. */
export function parseNumberText(text: string): number {
  const t = text.trim().replace(/[,_]/g, "");
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number.NaN;
  return Number(t);
}

/** A plain object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The file does not hold what the reader expects. */
export function notThisFormat(label: string, what: string, produce: string): MetricError {
  return new MetricError(`${label} is not ${what}`, `Write it with ${produce}.`);
}
