import { convert, directionOfUnit, UnitError } from "@gpuci/report";
import { applyStatTo } from "../stats.js";
import { type BenchRow, MetricError, type RowMetric, type RowStat } from "./common.js";

/** How `metric.name` selects: exactly, by glob (`*`, `?`), or by `/regex/flags`. */
export interface NameMatcher {
  kind: "exact" | "glob" | "regex";
  text: string;
  test(name: string): boolean;
}

/**
 * The matcher for a `metric.name`. Plain text matches exactly (brackets and dots are literal:
 * `test_mat[1024/64]`); `*` and `?` make a glob (`*` any run of characters, `?` one);
 * `/…/flags` is a regular expression; a leading `=` forces an exact match of the rest.
 */
export function nameMatcher(name: string): NameMatcher {
  if (name.startsWith("=")) {
    const exact = name.slice(1);
    return { kind: "exact", text: exact, test: (s) => s === exact };
  }
  const re = /^\/(.+)\/([dgimsuy]*)$/s.exec(name);
  if (re) {
    let rx: RegExp;
    try {
      rx = new RegExp(re[1]!, re[2]!.replace("g", ""));
    } catch (error) {
      throw new MetricError(
        `metric.name ${name} is not a valid regular expression (${(error as Error).message})`,
        "Fix the pattern, or write the name without the surrounding slashes for an exact match.",
      );
    }
    return { kind: "regex", text: name, test: (s) => rx.test(s) };
  }
  if (/[*?]/.test(name)) {
    const source = name
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/-]/g, "\\$&")))
      .join("");
    const rx = new RegExp(`^${source}$`, "s");
    return { kind: "glob", text: name, test: (s) => rx.test(s) };
  }
  return { kind: "exact", text: name, test: (s) => s === name };
}

/** True when `metric.name` selects by pattern (several benchmarks may match). */
export function isPattern(name: string | undefined): boolean {
  return name !== undefined && nameMatcher(name).kind !== "exact";
}

const namesOf = (r: BenchRow) => [r.name, ...(r.aliases ?? [])];

/**
 * Rows by each of their names, built once per list of rows: thousands of gates that each name
 * one benchmark of a shared, parsed file (MetricFileCache) find it without scanning every row.
 */
const nameIndexes = new WeakMap<readonly BenchRow[], Map<string, BenchRow[]>>();
function rowsNamed(rows: readonly BenchRow[], name: string): BenchRow[] {
  let index = nameIndexes.get(rows);
  if (!index) {
    index = new Map();
    for (const r of rows)
      for (const n of new Set(namesOf(r))) {
        const list = index.get(n);
        if (list) list.push(r);
        else index.set(n, [r]);
      }
    nameIndexes.set(rows, index);
  }
  return index.get(name)?.slice() ?? [];
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 40) return Math.abs(a.length - b.length);
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** "a, b, c, … (12 in all)". */
export function listNames(names: readonly string[], max = 8): string {
  const shown = names.slice(0, max).map((n) => JSON.stringify(n));
  return `${shown.join(", ")}${names.length > max ? `, … (${names.length} in all)` : ""}`;
}

/**
 * The rows `name` selects. Without a name a file of one benchmark is that one; an exact name that
 * matches nothing (or, in a malformed file, two rows) is an error that lists what exists — never
 * a suffix or substring guess; a pattern must match at least one.
 */
export function selectRows(rows: readonly BenchRow[], name: string | undefined, label: string): BenchRow[] {
  if (rows.length === 0)
    throw new MetricError(
      `${label} has no benchmarks`,
      `Check that the benchmark run wrote its results into ${label}.`,
    );
  if (name === undefined) {
    if (rows.length === 1) return [rows[0]!];
    throw new MetricError(
      `${label} has ${rows.length} benchmarks; say which with metric.name`,
      `Set metric.name to one of ${listNames(rows.map((r) => r.name))}, or a glob such as "${globHint(rows)}" for several.`,
    );
  }
  const m = nameMatcher(name);
  const hits =
    m.kind === "exact" && rows.length > 64
      ? rowsNamed(rows, m.text)
      : rows.filter((r) => namesOf(r).some((n) => m.test(n)));
  if (hits.length === 0) {
    const all = rows.map((r) => r.name);
    const close =
      m.kind === "exact"
        ? all
            .map((n) => ({ n, d: distance(n.toLowerCase(), name.toLowerCase()) }))
            .sort((a, b) => a.d - b.d)
            .slice(0, 3)
            .filter((x) => x.d <= Math.max(3, name.length / 3))
            .map((x) => x.n)
        : [];
    throw new MetricError(
      `no benchmark ${m.kind === "exact" ? `named "${name}"` : `matches ${m.kind} ${name}`} in ${label}${close.length ? `. Did you mean ${listNames(close)}?` : ""}`,
      `Names are matched exactly (brackets and dots included); use a glob (*) or /regex/ for several. The file has ${listNames(all)}.`,
    );
  }
  if (m.kind === "exact" && hits.length > 1)
    throw new MetricError(
      `${hits.length} benchmarks in ${label} are named "${name}"`,
      "The file repeats a name: rerun the benchmark so that each name appears once (repetitions of one benchmark are read as its samples).",
    );
  return hits;
}

function globHint(rows: readonly BenchRow[]): string {
  const a = rows[0]!.name;
  const b = rows[1]!.name;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `${a.slice(0, i)}*`;
}

/** What a selected benchmark gives a gate (the shape of metric.ts's MetricValue). */
export interface SelectedValue {
  value: number;
  unit?: string;
  direction: "smaller" | "bigger";
  directionRule: string;
  samples?: number[];
  /** Which benchmark and statistic, in words. */
  what: string;
}

/** The statistic `stat` of a row's field, from what the tool wrote; an error names what exists. */
export function valueOfRow(
  row: BenchRow,
  options: {
    field?: string | undefined;
    stat?: string | undefined;
    unit?: string | undefined;
    direction?: "smaller" | "bigger" | undefined;
  },
  label: string,
): SelectedValue {
  if (row.error)
    throw new MetricError(
      `${label}: ${row.name}: ${row.error}`,
      "Fix the benchmark so it runs to completion; gpuci never judges a failed benchmark.",
    );
  if (row.noHeadline && !options.field)
    throw new MetricError(
      `${label}: ${row.name} ${row.noHeadline}`,
      "Set metric.field to the measure to judge.",
    );
  let target: RowMetric = row;
  let what = row.name;
  if (options.field) {
    const f = row.metrics?.[options.field];
    if (!f)
      throw new MetricError(
        `${label}: ${row.name} has no field "${options.field}"`,
        `Use metric.field ${Object.keys(row.metrics ?? {}).length ? `one of ${listNames(Object.keys(row.metrics ?? {}), 20)}` : "only without a field"} (or no field for the headline value).`,
      );
    target = f;
    what = `${row.name} ${options.field}`;
  }
  let value: number;
  let samples = target.samples;
  const stat = options.stat === "p50" ? "median" : options.stat;
  if (stat === undefined) {
    value = target.value;
    if (target.valueIs) what += ` (${target.valueIs})`;
  } else if (target.stats?.[stat as RowStat] !== undefined) {
    value = target.stats[stat as RowStat]!;
    what += ` ${stat}`;
  } else if (samples && samples.length > 0 && stat !== "cv") {
    value = applyStatTo(stat, samples);
    what += ` ${stat} of ${samples.length} samples`;
  } else if (
    target.valueIs === stat ||
    target.valueIs?.startsWith(`${stat} `) ||
    target.valueIs === `aggregate ${stat}`
  ) {
    value = target.value;
    what += ` ${stat}`;
  } else {
    const have = [
      ...(target.valueIs ? [target.valueIs] : []),
      ...Object.keys(target.stats ?? {}),
      ...(samples?.length ? ["samples (any stat)"] : []),
    ];
    throw new MetricError(
      `${label}: ${what} has no ${options.stat}${have.length ? `: the file has ${have.join(", ")}` : ""}`,
      `Use stat: ${[...new Set([...Object.keys(target.stats ?? {}), ...(target.valueIs && /^(median|mean|min|max)/.test(target.valueIs) ? [target.valueIs.split(" ")[0]!] : [])])].join(", ") || "(none: drop stat)"}${samples?.length ? "" : ", or rerun the benchmark with repetitions so the samples are in the file"}.`,
    );
  }
  let unit = target.unit || undefined;
  if (options.unit && options.unit !== unit) {
    if (unit === undefined)
      unit = options.unit; // the file gives none: the config says
    else {
      try {
        value = convert(value, unit, options.unit);
        samples = samples?.map((x) => convert(x, unit, options.unit));
        unit = options.unit;
      } catch (error) {
        if (error instanceof UnitError)
          throw new MetricError(
            `${label}: ${what} is in ${unit}; metric.unit ${options.unit} does not convert (${error.message})`,
            `Remove metric.unit (the file says ${unit}) or set a unit of the same kind.`,
          );
        throw error;
      }
    }
  }
  const byUnit = directionOfUnit(unit);
  const decided = options.direction
    ? { direction: options.direction, rule: `metric.direction: ${options.direction} (set in the config)` }
    : target.direction
      ? {
          direction: target.direction,
          rule: target.directionRule ?? `the tool says ${target.direction} is better`,
        }
      : (byUnit ?? {
          direction: "smaller" as const,
          rule: `assumed smaller is better: neither the tool nor the unit${unit ? ` (${unit})` : ""} says; set metric.direction`,
        });
  return {
    value,
    ...(unit ? { unit } : {}),
    direction: decided.direction,
    directionRule: decided.rule,
    ...(samples && samples.length ? { samples } : {}),
    what,
  };
}
