import { cutAtLine, escapeCell, escapeInline, escapePre, headText, tailText } from "./escape.js";
import {
  formatChangeCell,
  formatValue,
  type MetricRow,
  mermaidTrend,
  metricRows,
  sparkline,
  verdictPhrases,
} from "./metrics.js";
import {
  countPhrases,
  type Finding,
  formatDuration,
  isWorse,
  type Report,
  type Section,
  type Status,
} from "./model.js";
import { redactDeep } from "./redact.js";

/** GitHub rejects issue comments longer than this many characters. */
export const GITHUB_COMMENT_LIMIT = 65_536;

const ICON: Record<Status, string> = { pass: "✅", warn: "⚠️", fail: "❌", skip: "⏭️", error: "💥" };
const WORD: Record<Status, string> = {
  pass: "passed",
  warn: "passed with warnings",
  fail: "failed",
  skip: "skipped",
  error: "could not decide (error)",
};

/** Options for the pull-request comment. */
export interface CommentOptions {
  /** Keeps several gpuci comments apart in one pull request. Default "default". */
  id?: string;
  /** Extra hidden fields recorded in the marker (run id, attempt, head SHA). */
  meta?: Record<string, string | number>;
  /** Hidden data blocks to carry in the comment (e.g. the pull request's cost total). */
  dataBlocks?: Record<string, unknown>;
  /** Where the full report can be read when the comment had to be cut. */
  fullReportUrl?: string;
  /** Maximum length; default GitHub's 65,536. */
  maxLength?: number;
  /**
   * Trends of metrics with a base-branch history: Mermaid `xychart-beta` charts (GitHub draws
   * them), Unicode sparklines in the table, or none. Default mermaid.
   */
  charts?: "mermaid" | "sparkline" | "none";
}

/** At most this many Mermaid charts in one comment (regressions first); the rest get sparklines. */
const MAX_CHARTS = 5;

/** Mermaid trend charts for the first rows with at least 3 base-branch results. */
function trendBlock(rows: MetricRow[]): string {
  const charted = rows.filter((r) => (r.series?.length ?? 0) >= 3).slice(0, MAX_CHARTS);
  if (charted.length === 0) return "";
  const charts = charted.map((r) =>
    mermaidTrend({
      title: `${headText(r.finding.title, 100)}${r.unit ? ` (${headText(r.unit, 20)})` : ""}`,
      series: r.series!,
      ...(r.seriesLabels ? { labels: r.seriesLabels } : {}),
      ...(r.head !== undefined ? { head: r.head } : {}),
      ...(r.unit ? { unit: r.unit } : {}),
    }),
  );
  return `<details><summary>Trends: the last base-branch results, then this PR (${charted.length})</summary>\n\n${charts.join("\n\n")}\n\n</details>`;
}

/** The hidden first line that identifies gpuci's comment with this id. */
export function commentMarker(id = "default"): string {
  return `<!-- gpuci:comment id=${safeMarkerValue(id)} -->`;
}

function safeMarkerValue(value: string): string {
  return value.replace(/[^A-Za-z0-9._/:=-]/g, "_");
}

function metaLine(meta: Record<string, string | number> | undefined): string | undefined {
  if (!meta || Object.keys(meta).length === 0) return undefined;
  return `<!-- gpuci:meta ${JSON.stringify(meta).replace(/--/g, "\\u002d\\u002d")} -->`;
}

function dataLines(blocks: Record<string, unknown> | undefined): string[] {
  if (!blocks) return [];
  return Object.entries(blocks).map(
    ([name, value]) =>
      `<!-- gpuci:data ${safeMarkerValue(name)} ${Buffer.from(JSON.stringify(value)).toString("base64")} -->`,
  );
}

/** Read the hidden meta fields back from a comment body gpuci wrote. */
export function readCommentMeta(body: string): Record<string, string | number> | undefined {
  const m = /<!-- gpuci:meta (\{.*?\}) -->/.exec(body);
  if (!m?.[1]) return undefined;
  try {
    return JSON.parse(m[1]) as Record<string, string | number>;
  } catch {
    return undefined;
  }
}

/** Read one hidden data block back from a comment body gpuci wrote. */
export function readCommentData(body: string, name: string): unknown {
  const re = new RegExp(
    `<!-- gpuci:data ${safeMarkerValue(name).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} ([A-Za-z0-9+/=]+) -->`,
  );
  const m = re.exec(body);
  if (!m?.[1]) return undefined;
  try {
    return JSON.parse(Buffer.from(m[1], "base64").toString("utf8"));
  } catch {
    return undefined;
  }
}

const usd = (v: number) => (v > 0 && v < 0.1 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`);

/** "$0.42 this run, $3.10 this PR" from the report's meta, when the run was priced. */
function moneyPhrase(report: Report): string | undefined {
  const meta = report.meta as { costUsd?: unknown; prCost?: { costUsd?: unknown } } | undefined;
  const run = typeof meta?.costUsd === "number" ? meta.costUsd : undefined;
  const pr = typeof meta?.prCost?.costUsd === "number" ? meta.prCost.costUsd : undefined;
  const parts = [
    run !== undefined ? `${usd(run)} this run` : "",
    pr !== undefined ? `${usd(pr)} this PR` : "",
  ];
  return parts.filter(Boolean).join(", ") || undefined;
}

function countsLine(report: Report, rows: MetricRow[] = metricRows(report)): string {
  const ms = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  const verdicts = verdictPhrases(rows);
  const checks = countPhrases(report).join(" · ") || "no findings";
  const money = moneyPhrase(report);
  return `**${[...(verdicts.length ? [verdicts.join(" · ")] : []), ...(money ? [money] : [])].join(" · ") || checks}**${verdicts.length || money ? ` — checks: ${checks}` : ""} in ${formatDuration(ms)}`;
}

const VERDICT_ICON: Record<MetricRow["verdict"], string> = {
  regressed: "❌",
  inconclusive: "⚠️",
  improved: "🚀",
  unchanged: "✅",
};

function metricRow(r: MetricRow, charts: "sparkline" | "none"): string {
  const title = escapeCell(headText(r.finding.title, 120));
  const label = `${r.link ? `[${title}](${r.link})` : title}${r.noisy ? " <sub>noisy</sub>" : ""}`;
  const base = r.base !== undefined ? escapeCell(formatValue(r.base, r.unit)) : "—";
  const head = r.head !== undefined ? escapeCell(formatValue(r.head, r.unit)) : "—";
  const trend =
    charts === "sparkline" && r.series && r.series.length >= 3
      ? ` ${sparkline([...r.series, ...(r.head !== undefined ? [r.head] : [])])}`
      : "";
  return `| ${label} | ${base} | ${head}${trend} | ${formatChangeCell(r)} | ${VERDICT_ICON[r.verdict]} ${r.verdict} |`;
}

/**
 * The metrics table: every finding that compared head with a base, worst first. Regressed and
 * inconclusive rows stay open; when there are more than `open` rows, the rest are folded.
 */
export function metricsTable(
  rows: MetricRow[],
  options: { open?: number; charts?: "sparkline" | "none"; maxChars?: number } = {},
): string {
  if (rows.length === 0) return "";
  const open = options.open ?? 10;
  const maxChars = options.maxChars ?? Number.POSITIVE_INFINITY;
  const header = ["| metric | base | head | change [interval] | verdict |", "|---|---|---|---|---|"];
  let lines = rows.map((r) => metricRow(r, options.charts ?? "sparkline"));
  // Whole rows only: keep the worst rows that fit, and say where the rest are.
  let note = "";
  let used = header.join("\n").length + 200;
  let fit = 0;
  while (fit < lines.length && used + lines[fit]!.length + 1 <= maxChars) used += lines[fit++]!.length + 1;
  if (fit < lines.length) {
    note = `\n\n_…and ${lines.length - fit} more metrics: the full table is in the job summary._`;
    lines = lines.slice(0, fit);
  }
  const mustShow = rows
    .slice(0, lines.length)
    .filter((r) => r.verdict === "regressed" || r.verdict === "inconclusive").length;
  const shown = Math.max(mustShow, Math.min(open, lines.length));
  if (shown >= lines.length) return [...header, ...lines].join("\n") + note;
  return (
    [
      ...header,
      ...lines.slice(0, shown),
      "",
      `<details><summary>${lines.length - shown} more metrics</summary>`,
      "",
      ...header,
      ...lines.slice(shown),
      "",
      "</details>",
    ].join("\n") + note
  );
}

/**
 * Whether the stage table tells more than the counts and the metrics table: a stage failed or
 * errored for a reason that is not a metric row, or stages were skipped after a failure.
 */
function stageTableHelps(report: Report, rows: MetricRow[]): boolean {
  const metricFindings = new Set(rows.map((r) => r.finding));
  return report.sections.some(
    (s) =>
      ((s.status === "fail" || s.status === "error") &&
        s.findings.some((f) => (f.status === "fail" || f.status === "error") && !metricFindings.has(f))) ||
      (s.status === "skip" && s.findings.some((f) => /^not run: /.test(f.summary ?? ""))),
  );
}

function headline(report: Report): string {
  const where = report.runner?.key ?? report.runner?.name;
  const on = where ? ` on ${escapeInline(headText(where, 100))}` : "";
  if (report.cancelled)
    return `## 🛑 gpuci was cancelled (${escapeInline(headText(report.cancelled.signal, 20))})${on}: what finished before is below`;
  return `## ${ICON[report.status]} gpuci ${WORD[report.status]}${on}`;
}

/** A stage's label, bounded: a part (runner key) and title are each cut to 100 characters. */
function sectionLabel(section: Section): string {
  const title = headText(section.title, 100);
  return section.part ? `${headText(section.part, 100)} › ${title}` : title;
}

/**
 * Keep whole table rows while they fit in `budget` characters; the rest become one line that
 * says how many were left out and where they are.
 */
function boundedRows(rows: string[], budget: number, what: string): string[] {
  let used = 0;
  let fit = 0;
  while (fit < rows.length && used + rows[fit]!.length + 1 <= budget) used += rows[fit++]!.length + 1;
  if (fit === rows.length) return rows;
  return [...rows.slice(0, fit), "", `_…and ${rows.length - fit} more ${what}: see the job summary._`];
}

function sectionTable(report: Report, budget = Number.POSITIVE_INFINITY): string {
  const rows = report.sections.map((s) => {
    const c = { pass: 0, warn: 0, fail: 0, skip: 0, error: 0 } as Record<Status, number>;
    for (const f of s.findings) c[f.status] += 1;
    const counts = (Object.keys(c) as Status[])
      .filter((k) => c[k] > 0)
      .map((k) => `${c[k]} ${k}`)
      .join(", ");
    return `| ${ICON[s.status]} | ${escapeCell(sectionLabel(s))} | ${s.status} | ${counts || "—"} | ${formatDuration(s.durationMs)} |`;
  });
  return [
    "| | Stage | Status | Findings | Time |",
    "|---|---|---|---|---|",
    ...boundedRows(rows, budget, "stages"),
  ].join("\n");
}

/** A matrix table for aggregated reports: one row per check, one column per runner. */
function partsTable(report: Report, budget = Number.POSITIVE_INFINITY): string | undefined {
  if (!report.parts || report.parts.length === 0) return undefined;
  // At most 20 runner columns in a comment; a wider matrix is in the job summary.
  const keys = report.parts.map((p) => p.key).slice(0, Number.isFinite(budget) ? 20 : undefined);
  const rows = new Map<string, Map<string, Status>>();
  for (const s of report.sections) {
    if (!s.part) continue;
    for (const f of s.findings) {
      const rowKey = `${s.title} › ${f.title}`;
      const row = rows.get(rowKey) ?? new Map<string, Status>();
      rows.set(rowKey, row);
      row.set(s.part, f.status);
    }
  }
  const header = `| Check | ${keys.map((k) => escapeCell(headText(k, 40))).join(" | ")} |`;
  const sep = `|---|${keys.map(() => "---").join("|")}|`;
  const overall = `| **Overall** | ${report.parts
    .slice(0, keys.length)
    .map((p) => `${ICON[p.status]} ${p.status}`)
    .join(" | ")} |`;
  const body = [...rows.entries()].map(
    ([name, row]) =>
      `| ${escapeCell(headText(name, 120))} | ${keys.map((k) => (row.has(k) ? `${ICON[row.get(k)!]} ${row.get(k)}` : "—")).join(" | ")} |`,
  );
  const wider =
    keys.length < report.parts.length
      ? ["", `_…and ${report.parts.length - keys.length} more runners: see the job summary._`]
      : [];
  return [header, sep, overall, ...boundedRows(body, budget, "checks"), ...wider].join("\n");
}

interface AttentionItem {
  section: Section;
  finding: Finding;
}

function attentionItems(report: Report): AttentionItem[] {
  const items: AttentionItem[] = [];
  for (const section of report.sections)
    for (const finding of section.findings)
      if (finding.status === "fail" || finding.status === "error" || finding.status === "warn")
        items.push({ section, finding });
  // Worst first, stable within a status.
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) =>
      isWorse(a.item.finding.status, b.item.finding.status)
        ? -1
        : isWorse(b.item.finding.status, a.item.finding.status)
          ? 1
          : a.i - b.i,
    )
    .map((x) => x.item);
}

/** One finding's first line: status, stage › title and id, each bounded. */
function attentionLine(item: AttentionItem): string {
  const { section, finding } = item;
  return `- ${ICON[finding.status]} **${escapeInline(sectionLabel(section))} › ${escapeInline(headText(finding.title, 200))}** (<code>${escapeInline(headText(finding.id, 120))}</code>)`;
}

function attentionBlock(item: AttentionItem, detailsMax: number): string {
  const { finding } = item;
  const lines = [
    `${attentionLine(item)}${finding.summary ? ` — ${escapeInline(headText(finding.summary, 2000))}` : ""}`,
  ];
  if (finding.remedy) lines.push(`  <br>**Fix:** ${escapeInline(headText(finding.remedy, 2000))}`);
  if (finding.details && detailsMax > 0) {
    lines.push(
      `  <details><summary>details</summary>\n\n<pre>${escapePre(tailText(finding.details, detailsMax))}</pre>\n\n  </details>`,
    );
  }
  return lines.join("\n");
}

function findingRow(section: Section, f: Finding): string {
  return `| ${ICON[f.status]} | ${escapeCell(sectionLabel(section))} | ${escapeCell(headText(f.title, 200))} | ${escapeCell(headText(f.summary ?? "", 500))} | ${f.durationMs === undefined ? "" : formatDuration(f.durationMs)} |`;
}

function passingTable(report: Report): { table: string; count: number } {
  const rows: string[] = [];
  for (const s of report.sections)
    for (const f of s.findings) if (f.status === "pass" || f.status === "skip") rows.push(findingRow(s, f));
  return {
    table: ["| | Stage | Check | Result | Time |", "|---|---|---|---|---|", ...rows].join("\n"),
    count: rows.length,
  };
}

function footer(report: Report, note?: string): string {
  const tool = `${escapeInline(report.tool.name)} ${escapeInline(report.tool.version)}`;
  return `<sub>${note ? `${note} · ` : ""}${tool} · ${escapeInline(report.finishedAt)}</sub>`;
}

/**
 * Render the pull-request comment: the verdict first, then failing and warning findings with
 * their remedies, passing details folded, and a hidden marker that identifies the comment.
 * The result never exceeds `maxLength` (GitHub's 65,536 by default): passing details go first,
 * then long details, then the least severe attention items, and the comment says what was cut.
 */
export function renderComment(unredacted: Report, options: CommentOptions = {}): string {
  const report = redactDeep(unredacted);
  const max = options.maxLength ?? GITHUB_COMMENT_LIMIT;
  const where = options.fullReportUrl
    ? `[the full report](${encodeURI(options.fullReportUrl).replace(/[()]/g, encodeURIComponent)})`
    : "the job summary and report.json";
  const rows = metricRows(report);
  // Every table in the head is bounded, so the attention list always has room.
  const stageBudget = Math.floor(max / 8);
  const stages =
    partsTable(report, stageBudget) ??
    (stageTableHelps(report, rows) ? sectionTable(report, stageBudget) : undefined);
  const fromMeta = (report.meta as { charts?: unknown } | undefined)?.charts;
  const charts =
    options.charts ??
    (fromMeta === "mermaid" || fromMeta === "sparkline" || fromMeta === "none" ? fromMeta : "mermaid");
  const table = metricsTable(rows, {
    charts: charts === "sparkline" ? "sparkline" : "none",
    maxChars: Math.floor(max / 2),
  });
  const trends = charts === "mermaid" ? trendBlock(rows) : "";
  const head = [
    commentMarker(options.id),
    metaLine(options.meta),
    ...dataLines(options.dataBlocks),
    headline(report),
    "",
    countsLine(report, rows),
    ...(table ? ["", table] : []),
    ...(trends ? ["", trends] : []),
    ...(stages ? ["", stages] : []),
  ]
    .filter((l): l is string => l !== undefined)
    .join("\n");
  const items = attentionItems(report);
  const passing = passingTable(report);
  const passingBlock =
    passing.count > 0
      ? `<details><summary>Passed and skipped checks (${passing.count})</summary>\n\n${passing.table}\n\n</details>`
      : "";

  const assemble = (blocks: string[], passingPart: string, note?: string) =>
    [
      head,
      blocks.length ? `\n### Needs attention\n\n${blocks.join("\n")}` : "",
      passingPart ? `\n${passingPart}` : "",
      "",
      footer(report, note),
    ].join("\n");

  // 1. Everything.
  let blocks = items.map((i) => attentionBlock(i, 4000));
  let body = assemble(blocks, passingBlock);
  if (body.length <= max) return body;

  // 2. Without passing details, with shorter attention details.
  const cutPassing = passing.count > 0 ? `${passing.count} passing checks` : "";
  for (const detailsMax of [1500, 400, 0]) {
    blocks = items.map((i) => attentionBlock(i, detailsMax));
    const note = `Cut to fit GitHub's limit: ${[cutPassing, detailsMax < 4000 ? "long output" : ""].filter(Boolean).join(" and ")}; see ${where}`;
    body = assemble(blocks, "", note);
    if (body.length <= max) return body;
  }

  // 3. Keep as many attention items (worst first) as fit whole, then the rest as one line each
  //    (status, stage › title, id), so no failure is hidden behind a large one before it.
  const kept: string[] = [];
  const reserve = 400;
  let used = assemble([], "", "x".repeat(300)).length;
  let i = 0;
  for (; i < blocks.length; i++) {
    if (used + blocks[i]!.length + 1 > max - reserve) break;
    kept.push(blocks[i]!);
    used += blocks[i]!.length + 1;
  }
  const whole = kept.length;
  for (; i < items.length; i++) {
    const line = attentionLine(items[i]!);
    if (used + line.length + 1 > max - reserve) break;
    kept.push(line);
    used += line.length + 1;
  }
  const dropped = items.length - i;
  const shortened = i - whole;
  const note = `Cut to fit GitHub's limit: ${[cutPassing, "long output", shortened > 0 ? `${shortened} findings shown by title only` : "", dropped > 0 ? `${dropped} more findings that need attention` : ""].filter(Boolean).join(", ")}; see ${where}`;
  body = assemble(kept, "", note);
  return body.length <= max ? body : cutAtLine(body, max, `<sub>${note}</sub>`);
}

/** Render the job summary: everything, every finding with its details. */
export function renderSummary(unredacted: Report): string {
  const report = redactDeep(unredacted);
  const rows = metricRows(report);
  const out: string[] = [headline(report), "", countsLine(report, rows), ""];
  if (rows.length) out.push(metricsTable(rows, { open: rows.length }), "");
  const parts = partsTable(report);
  if (parts) out.push(parts, "");
  for (const section of report.sections) {
    out.push(
      `### ${ICON[section.status]} ${escapeInline(sectionLabel(section))} — ${section.status} (${formatDuration(section.durationMs)})`,
      "",
    );
    if (section.findings.length === 0) {
      out.push("_No findings._", "");
      continue;
    }
    out.push("| | Check | Result | Fix | Time |", "|---|---|---|---|---|");
    for (const f of section.findings)
      out.push(
        `| ${ICON[f.status]} | ${escapeCell(f.title)} <br><sub>${escapeCell(f.id)}</sub> | ${escapeCell(f.summary ?? "")} | ${escapeCell(f.remedy ?? "")} | ${f.durationMs === undefined ? "" : formatDuration(f.durationMs)} |`,
      );
    out.push("");
    for (const f of section.findings)
      if (f.details)
        out.push(
          `<details><summary>${escapeInline(f.title)}: details</summary>\n\n<pre>${escapePre(tailText(f.details, 20_000))}</pre>\n\n</details>`,
          "",
        );
  }
  out.push(footer(report));
  return out.join("\n");
}
