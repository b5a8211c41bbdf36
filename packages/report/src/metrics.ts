import { escapeMermaid } from "./escape.js";
import type { Finding, Report, Section } from "./model.js";
import { humanValue, parseUnit } from "./units.js";

/** The four verdicts a comparison can reach (gates' regressionVerdict, gpuci ab). */
export const VERDICTS = ["regressed", "inconclusive", "improved", "unchanged"] as const;
export type MetricVerdict = (typeof VERDICTS)[number];

/** One row of the metrics table: a finding that compared head with a base. */
export interface MetricRow {
  section: Section;
  finding: Finding;
  verdict: MetricVerdict;
  base?: number;
  head?: number;
  unit?: string;
  ratio: number;
  /** An end is open when the interval holds only values beyond it (tied samples): "(+5.0, +10.0]". */
  ci?: { low: number; high: number; lowOpen?: boolean; highOpen?: boolean };
  confidence?: number;
  /** Base-branch values, oldest first, for a trend (history gates). */
  series?: number[];
  /** Their commits, shortened, for the chart's x axis. */
  seriesLabels?: string[];
  /** Marked noisy: the history is too noisy for the margin. */
  noisy?: string;
  /** The metric's chart on the published dashboard (an http(s) URL), for the label's link. */
  link?: string;
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/**
 * The findings that carry a comparison (data.verdict and data.ratio), as table rows, worst
 * first: regressed, inconclusive, improved, unchanged. The renderer knows nothing of where
 * they came from: gates and gpuci ab put the same fields in `data`.
 */
export function metricRows(report: Report): MetricRow[] {
  const rows: MetricRow[] = [];
  for (const section of report.sections)
    for (const finding of section.findings) {
      const d = finding.data as Record<string, unknown> | undefined;
      const verdict = d?.verdict;
      const ratio = num(d?.ratio);
      if (typeof verdict !== "string" || !VERDICTS.includes(verdict as MetricVerdict) || ratio === undefined)
        continue;
      const base = num((d?.base as { value?: unknown } | undefined)?.value);
      const head = num((d?.head as { value?: unknown } | undefined)?.value) ?? num(d?.value);
      const ci = d?.ci as
        | { low?: unknown; high?: unknown; lowOpen?: unknown; highOpen?: unknown }
        | undefined;
      const low = num(ci?.low);
      const high = num(ci?.high);
      const points = Array.isArray(d?.series)
        ? (d.series as Array<{ value?: unknown; commit?: unknown } | number>)
            .map((x) =>
              typeof x === "number"
                ? { value: x, label: "" }
                : { value: num(x?.value), label: typeof x?.commit === "string" ? x.commit.slice(0, 7) : "" },
            )
            .filter((x): x is { value: number; label: string } => x.value !== undefined)
        : [];
      const series = points.map((p) => p.value);
      rows.push({
        section,
        finding,
        verdict: verdict as MetricVerdict,
        ratio,
        ...(base !== undefined ? { base } : {}),
        ...(head !== undefined ? { head } : {}),
        ...(typeof d?.unit === "string" ? { unit: d.unit } : {}),
        ...(low !== undefined && high !== undefined
          ? {
              ci: {
                low,
                high,
                ...(ci?.lowOpen === true ? { lowOpen: true } : {}),
                ...(ci?.highOpen === true ? { highOpen: true } : {}),
              },
            }
          : {}),
        ...(num(d?.confidence) !== undefined ? { confidence: num(d?.confidence) } : {}),
        ...(series.length ? { series, seriesLabels: points.map((p, i) => p.label || String(i + 1)) } : {}),
        ...(typeof d?.noisy === "string" ? { noisy: d.noisy } : {}),
        ...(typeof d?.dashboard === "string" && /^https?:\/\/[^\s<>"'()]+$/.test(d.dashboard)
          ? { link: d.dashboard }
          : {}),
      });
    }
  const rank = (v: MetricVerdict) => VERDICTS.indexOf(v);
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r.verdict) - rank(b.r.verdict) || a.i - b.i)
    .map((x) => x.r);
}

/** "12.3 ms", "1.234e-5 s": a value with its unit, 4 significant digits. */
export function formatValue(v: number, unit?: string): string {
  // A unit gpuci knows prints in the unit people read at a glance (37 µs, not 3.7e-5 s).
  if (Number.isFinite(v) && parseUnit(unit)) return humanValue(v, unit);
  const abs = Math.abs(v);
  const text =
    abs !== 0 && (abs >= 1e6 || abs < 1e-3)
      ? v.toExponential(2)
      : Number(v.toPrecision(4)).toLocaleString("en-US");
  return unit ? `${text} ${unit}` : text;
}

/** "+12.3 %" for a ratio of 1.123; "−0.4 %" below one. */
export function formatRatioChange(ratio: number): string {
  const pct = (ratio - 1) * 100;
  return `${pct >= 0 ? "+" : "−"}${Math.abs(pct).toFixed(1)} %`;
}

/**
 * "+12.3 % [+9.0, +13.9]", with the coverage when it is not 95 %; an open end is a parenthesis,
 * "+10.0 % (+5.0, +10.0]".
 */
export function formatChangeCell(row: Pick<MetricRow, "ratio" | "ci" | "confidence">): string {
  const bare = (r: number) => formatRatioChange(r).replace(" %", "");
  const ci = row.ci
    ? ` ${row.ci.lowOpen ? "(" : "["}${bare(row.ci.low)}, ${bare(row.ci.high)}${row.ci.highOpen ? ")" : "]"}`
    : "";
  const conf =
    row.ci && row.confidence !== undefined && Math.abs(row.confidence - 0.95) > 1e-9
      ? ` (${Number((row.confidence * 100).toFixed(row.confidence > 0.99 ? 2 : 1))} %)`
      : "";
  return `${formatRatioChange(row.ratio)}${ci}${conf}`;
}

/** Counts of each verdict, worst first, as phrases: "1 regressed", "12 unchanged". */
export function verdictPhrases(rows: MetricRow[]): string[] {
  return VERDICTS.map((v) => [v, rows.filter((r) => r.verdict === v).length] as const)
    .filter(([, n]) => n > 0)
    .map(([v, n]) => `${n} ${v}`);
}

const BLOCKS = "▁▂▃▄▅▆▇█";

/** A Unicode sparkline of values (▁▂▃▅▇), scaled between their min and max. */
export function sparkline(values: readonly number[]): string {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return "";
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  return values
    .map((v) =>
      Number.isFinite(v)
        ? BLOCKS[hi === lo ? 3 : Math.min(7, Math.floor(((v - lo) / (hi - lo)) * 7.999))]!
        : " ",
    )
    .join("");
}

/**
 * Text safe inside a Mermaid double-quoted string, never a directive (see escapeMermaid), and
 * never empty: Mermaid's xychart grammar rejects `title ""`.
 */
const mermaidText = (s: string) => {
  const text = escapeMermaid(s, 80);
  return text.trim() === "" ? "-" : text;
};

/**
 * A Mermaid `xychart-beta` line chart of a metric's base-branch values (oldest first) and this
 * head's value last, for GitHub to draw inside the comment. The x axis counts runs (commit
 * hashes would not fit under 30 points); `labels` (short hashes) name the range in the title.
 */
export function mermaidTrend(options: {
  title: string;
  series: readonly number[];
  labels?: readonly string[];
  head?: number;
  unit?: string;
}): string {
  const values = [...options.series, ...(options.head !== undefined ? [options.head] : [])].filter((v) =>
    Number.isFinite(v),
  );
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = (hi - lo) * 0.1 || Math.abs(hi) * 0.05 || 1;
  const n = (v: number) => Number(v.toPrecision(5));
  const first = options.labels?.[0];
  const last = options.labels?.[options.labels.length - 1];
  const range = first && last ? ` ${first}…${last}` : "";
  const xTitle = `${options.series.length} base-branch runs${range}${options.head !== undefined ? ", then this PR" : ""}`;
  return [
    "```mermaid",
    '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#0969da"}}}}%%',
    "xychart-beta",
    `    title "${mermaidText(options.title)}"`,
    `    x-axis "${mermaidText(xTitle)}" 1 --> ${values.length}`,
    `    y-axis "${mermaidText(options.unit ?? "value")}" ${n(lo - pad)} --> ${n(hi + pad)}`,
    `    line [${values.map(n).join(", ")}]`,
    "```",
  ].join("\n");
}
