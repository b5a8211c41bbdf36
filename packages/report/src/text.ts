import { stripControl } from "./escape.js";
import { formatChangeCell, formatValue, metricRows, sparkline } from "./metrics.js";
import { formatDuration, type Report, type Status, summarizeReport } from "./model.js";
import { redactDeep } from "./redact.js";

/** Options for terminal rendering. */
export interface TextOptions {
  /** Use ANSI colours. Default: only when stdout is a TTY and NO_COLOR is unset (FORCE_COLOR forces). */
  color?: boolean;
  /** Show passing findings too (default true). */
  verbose?: boolean;
}

const MARK: Record<Status, string> = { pass: "✓", warn: "!", fail: "✗", skip: "-", error: "E" };
const COLOR: Record<Status, string> = { pass: "32", warn: "33", fail: "31", skip: "90", error: "35" };

/** Whether a stream should get colour: a TTY, NO_COLOR unset; FORCE_COLOR=1 forces it on. */
export function shouldColor(stream: { isTTY?: boolean } = process.stdout): boolean {
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== "" && force !== "0" && force !== "false") return true;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") return false;
  return Boolean(stream.isTTY);
}

/** Render a report for a terminal: one line per finding, remedies indented under failures. */
export function renderText(unredacted: Report, options: TextOptions = {}): string {
  const report = redactDeep(unredacted);
  const color = options.color ?? shouldColor();
  const verbose = options.verbose ?? true;
  const paint = (status: Status, text: string) => (color ? `\u001b[${COLOR[status]}m${text}\u001b[0m` : text);
  const dim = (text: string) => (color ? `\u001b[2m${text}\u001b[0m` : text);
  const clean = (text: string) => stripControl(text).replace(/\n/g, " ");
  const lines: string[] = [];
  for (const section of report.sections) {
    const label = section.part ? `${section.part} › ${section.title}` : section.title;
    lines.push(
      `${paint(section.status, section.status.toUpperCase().padEnd(5))} ${clean(label)} ${dim(formatDuration(section.durationMs))}`,
    );
    for (const f of section.findings) {
      if (!verbose && (f.status === "pass" || f.status === "skip")) continue;
      const time = f.durationMs === undefined ? "" : ` ${dim(formatDuration(f.durationMs))}`;
      lines.push(
        `  ${paint(f.status, MARK[f.status])} ${clean(f.title)}${f.summary ? `: ${clean(f.summary)}` : ""}${time}`,
      );
      if (f.remedy && f.status !== "pass" && f.status !== "skip")
        lines.push(`      ${dim("fix:")} ${clean(f.remedy)}`);
    }
  }
  // The same metrics table as the comment: base → head, change and interval, verdict, trend.
  const rows = metricRows(report);
  if (rows.length) {
    const VERDICT_STATUS = {
      regressed: "fail",
      inconclusive: "warn",
      improved: "pass",
      unchanged: "pass",
    } as const;
    lines.push("", "Metrics (base → head, change [interval], verdict):");
    const width = Math.min(40, Math.max(...rows.map((r) => clean(r.finding.title).length)));
    for (const r of rows) {
      const values = `${r.base !== undefined ? formatValue(r.base, r.unit) : "—"} → ${r.head !== undefined ? formatValue(r.head, r.unit) : "—"}`;
      const trend =
        r.series && r.series.length >= 3
          ? `  ${sparkline([...r.series, ...(r.head !== undefined ? [r.head] : [])])}`
          : "";
      lines.push(
        `  ${clean(r.finding.title).slice(0, 40).padEnd(width)}  ${values}  ${formatChangeCell(r)}  ${paint(VERDICT_STATUS[r.verdict], r.verdict)}${trend}`,
      );
    }
  }
  lines.push("", paint(report.status, `gpuci ${summarizeReport(report)}`));
  return `${lines.join("\n")}\n`;
}
