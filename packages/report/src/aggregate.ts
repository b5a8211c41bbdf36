import { createReport, type Report, type ReportPart, rollUp, type Section } from "./model.js";

/** A report and the label it should carry in the aggregate (runner name or matrix key). */
export interface LabelledReport {
  key?: string;
  report: Report;
}

/**
 * Merge several reports (matrix jobs on several runners) into one. Each section is labelled
 * with its part's key; the overall status is the worst of all parts. Keys default to the
 * report's runner key or name, then `runner-N`; duplicates get a numeric suffix.
 */
export function aggregate(inputs: Array<Report | LabelledReport>): Report {
  if (inputs.length === 0) {
    throw new Error("aggregate() needs at least one report");
  }
  const seen = new Map<string, number>();
  const parts: ReportPart[] = [];
  const sections: Section[] = [];
  inputs.forEach((input, index) => {
    const labelled: LabelledReport = "report" in input ? input : { report: input };
    const report = labelled.report;
    let key = labelled.key ?? report.runner?.key ?? report.runner?.name ?? `runner-${index + 1}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    if (n > 0) key = `${key} (${n + 1})`;
    const part: ReportPart = {
      key,
      status: report.status,
      startedAt: report.startedAt,
      finishedAt: report.finishedAt,
    };
    if (report.runner) part.runner = report.runner;
    parts.push(part);
    for (const s of report.sections) sections.push({ ...s, part: key });
  });
  const starts = parts.map((p) => p.startedAt).sort();
  const ends = parts.map((p) => p.finishedAt).sort();
  const first = "report" in inputs[0]! ? inputs[0].report : inputs[0]!;
  const merged = createReport({
    sections,
    startedAt: starts[0]!,
    finishedAt: ends[ends.length - 1]!,
    tool: first.tool,
    runner: { key: "aggregate", name: `${parts.length} runners` },
  });
  merged.parts = parts;
  merged.status = rollUp([merged.status, ...parts.map((p) => p.status)]);
  return merged;
}
