import { escapeCell, escapeInline, escapePre, headText, tailText } from "./escape.js";
import {
  countPhrases,
  type Finding,
  formatDuration,
  isWorse,
  type Report,
  type Section,
  type Status,
} from "./model.js";

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

function countsLine(report: Report): string {
  const ms = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  return `**${countPhrases(report).join(" · ") || "no findings"}** in ${formatDuration(ms)}`;
}

function headline(report: Report): string {
  const where = report.runner?.key ?? report.runner?.name;
  return `## ${ICON[report.status]} gpuci ${WORD[report.status]}${where ? ` on ${escapeInline(where)}` : ""}`;
}

function sectionLabel(section: Section): string {
  return section.part ? `${section.part} › ${section.title}` : section.title;
}

function sectionTable(report: Report): string {
  const rows = report.sections.map((s) => {
    const c = { pass: 0, warn: 0, fail: 0, skip: 0, error: 0 } as Record<Status, number>;
    for (const f of s.findings) c[f.status] += 1;
    const counts = (Object.keys(c) as Status[])
      .filter((k) => c[k] > 0)
      .map((k) => `${c[k]} ${k}`)
      .join(", ");
    return `| ${ICON[s.status]} | ${escapeCell(sectionLabel(s))} | ${s.status} | ${counts || "—"} | ${formatDuration(s.durationMs)} |`;
  });
  return ["| | Stage | Status | Findings | Time |", "|---|---|---|---|---|", ...rows].join("\n");
}

/** A matrix table for aggregated reports: one row per check, one column per runner. */
function partsTable(report: Report): string | undefined {
  if (!report.parts || report.parts.length === 0) return undefined;
  const keys = report.parts.map((p) => p.key);
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
  const header = `| Check | ${keys.map(escapeCell).join(" | ")} |`;
  const sep = `|---|${keys.map(() => "---").join("|")}|`;
  const overall = `| **Overall** | ${report.parts.map((p) => `${ICON[p.status]} ${p.status}`).join(" | ")} |`;
  const body = [...rows.entries()].map(
    ([name, row]) =>
      `| ${escapeCell(name)} | ${keys.map((k) => (row.has(k) ? `${ICON[row.get(k)!]} ${row.get(k)}` : "—")).join(" | ")} |`,
  );
  return [header, sep, overall, ...body].join("\n");
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

function attentionBlock(item: AttentionItem, detailsMax: number): string {
  const { section, finding } = item;
  const lines = [
    `- ${ICON[finding.status]} **${escapeInline(sectionLabel(section))} › ${escapeInline(finding.title)}** (\`${escapeInline(finding.id).replace(/`/g, "")}\`)${finding.summary ? ` — ${escapeInline(headText(finding.summary, 2000))}` : ""}`,
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
  return `| ${ICON[f.status]} | ${escapeCell(sectionLabel(section))} | ${escapeCell(f.title)} | ${escapeCell(headText(f.summary ?? "", 500))} | ${f.durationMs === undefined ? "" : formatDuration(f.durationMs)} |`;
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
export function renderComment(report: Report, options: CommentOptions = {}): string {
  const max = options.maxLength ?? GITHUB_COMMENT_LIMIT;
  const where = options.fullReportUrl
    ? `[the full report](${encodeURI(options.fullReportUrl).replace(/[()]/g, encodeURIComponent)})`
    : "the job summary and report.json";
  const head = [
    commentMarker(options.id),
    metaLine(options.meta),
    ...dataLines(options.dataBlocks),
    headline(report),
    "",
    countsLine(report),
    "",
    partsTable(report) ?? sectionTable(report),
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

  // 3. Keep as many attention items (worst first) as fit.
  const kept: string[] = [];
  const reserve = 400;
  let used = assemble([], "", "x".repeat(300)).length;
  for (const block of blocks) {
    if (used + block.length + 1 > max - reserve) break;
    kept.push(block);
    used += block.length + 1;
  }
  const dropped = items.length - kept.length;
  const note = `Cut to fit GitHub's limit: ${[cutPassing, "long output", `${dropped} more findings that need attention`].filter(Boolean).join(", ")}; see ${where}`;
  body = assemble(kept, "", note);
  return body.length <= max ? body : `${body.slice(0, max - 20)}\n\n<sub>…cut</sub>`;
}

/** Render the job summary: everything, every finding with its details. */
export function renderSummary(report: Report): string {
  const out: string[] = [headline(report), "", countsLine(report), ""];
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
