import { z } from "zod";

/** The outcome of a check, a section or a whole report. */
export const StatusSchema = z.enum(["pass", "warn", "fail", "skip", "error"]);
/** The outcome of a check, a section or a whole report. `error` means gpuci could not decide. */
export type Status = z.infer<typeof StatusSchema>;

/** Severity order used by the roll-up: a later entry is worse. */
const SEVERITY: Record<Status, number> = { skip: 0, pass: 1, warn: 2, fail: 3, error: 4 };

/** One check's result: what was checked, the verdict, and what to do about a bad verdict. */
export const FindingSchema = z.object({
  id: z.string().min(1),
  title: z.string(),
  status: StatusSchema,
  summary: z.string().optional(),
  remedy: z.string().optional(),
  /** Preformatted text shown folded (an output tail, a diff). */
  details: z.string().optional(),
  data: z.unknown().optional(),
  durationMs: z.number().nonnegative().optional(),
});
/** One check's result: what was checked, the verdict, and what to do about a bad verdict. */
export type Finding = z.infer<typeof FindingSchema>;

/** The result of one stage (preflight, gates, …). */
export const SectionSchema = z.object({
  id: z.string().min(1),
  title: z.string(),
  status: StatusSchema,
  findings: z.array(FindingSchema),
  durationMs: z.number().nonnegative(),
  /** For aggregated reports: the runner/matrix key this section came from. */
  part: z.string().optional(),
});
/** The result of one stage (preflight, gates, …). */
export type Section = z.infer<typeof SectionSchema>;

/** Where a report was produced; `key` labels it in an aggregate (a matrix key or runner name). */
export const RunnerSchema = z.object({
  key: z.string().optional(),
  name: z.string().optional(),
  os: z.string().optional(),
  gpu: z.string().optional(),
});
export type Runner = z.infer<typeof RunnerSchema>;

/** One source report inside an aggregate. */
export const ReportPartSchema = z.object({
  key: z.string(),
  status: StatusSchema,
  startedAt: z.string(),
  finishedAt: z.string(),
  runner: RunnerSchema.optional(),
});
export type ReportPart = z.infer<typeof ReportPartSchema>;

/** The identifier written into every report.json. */
export const REPORT_SCHEMA = "gpuci.report/v1" as const;

/** A whole run's result, as written to report.json. */
export const ReportSchema = z.object({
  schema: z.literal(REPORT_SCHEMA),
  status: StatusSchema,
  startedAt: z.string(),
  finishedAt: z.string(),
  tool: z.object({ name: z.string(), version: z.string() }),
  sections: z.array(SectionSchema),
  runner: RunnerSchema.optional(),
  /** Present on aggregated reports: one entry per source report. */
  parts: z.array(ReportPartSchema).optional(),
  /** Free-form facts a renderer may show (config path, output folder, cost, …). */
  meta: z.record(z.string(), z.unknown()).optional(),
  /**
   * Set when the run was cancelled (SIGINT, SIGTERM or SIGHUP): the report holds what finished
   * before, and its status is never better than `error`.
   */
  cancelled: z.object({ signal: z.string(), at: z.string() }).optional(),
});
/** A whole run's result, as written to report.json. */
export type Report = z.infer<typeof ReportSchema>;

/** True when `a` is worse than `b` under the roll-up order skip < pass < warn < fail < error. */
export function isWorse(a: Status, b: Status): boolean {
  return SEVERITY[a] > SEVERITY[b];
}

/**
 * Roll several statuses into one: the worst wins. An empty list is `skip`; `error` never
 * rolls up to anything better than `error`.
 */
export function rollUp(statuses: Iterable<Status>): Status {
  let worst: Status = "skip";
  for (const s of statuses) if (isWorse(s, worst)) worst = s;
  return worst;
}

/** The exit code a report's status maps to: 0 for pass, warn and skip; 1 for fail and error. */
export function exitCodeFor(status: Status): 0 | 1 {
  return status === "fail" || status === "error" ? 1 : 0;
}

/** Build a Section whose status is the roll-up of its findings. */
export function createSection(
  id: string,
  title: string,
  findings: Finding[],
  durationMs: number,
  status?: Status,
): Section {
  return { id, title, status: status ?? rollUp(findings.map((f) => f.status)), findings, durationMs };
}

/** A Section that did not run, with the reason as its only finding. */
export function skippedSection(id: string, title: string, reason: string): Section {
  return createSection(
    id,
    title,
    [{ id: `${id}.skipped`, title, status: "skip", summary: reason }],
    0,
    "skip",
  );
}

/** Build a Report from its sections; the status is their roll-up. */
export function createReport(input: {
  sections: Section[];
  startedAt: Date | string;
  finishedAt: Date | string;
  tool: { name: string; version: string };
  runner?: Runner;
  meta?: Record<string, unknown>;
  cancelled?: { signal: string; at: string };
}): Report {
  const iso = (d: Date | string) => (typeof d === "string" ? d : d.toISOString());
  const report: Report = {
    schema: REPORT_SCHEMA,
    status: rollUp(input.sections.map((s) => s.status)),
    startedAt: iso(input.startedAt),
    finishedAt: iso(input.finishedAt),
    tool: input.tool,
    sections: input.sections,
  };
  if (input.runner) report.runner = input.runner;
  if (input.meta) report.meta = input.meta;
  if (input.cancelled) {
    report.cancelled = input.cancelled;
    report.status = rollUp([report.status, "error"]);
  }
  return report;
}

/** Counts of findings per status across a report. */
export function countFindings(report: Report): Record<Status, number> {
  const counts: Record<Status, number> = { pass: 0, warn: 0, fail: 0, skip: 0, error: 0 };
  for (const section of report.sections) for (const f of section.findings) counts[f.status] += 1;
  return counts;
}

/** The non-zero counts in words, worst first: ["1 error", "2 failed", "1 warning", "10 passed"]. */
export function countPhrases(report: Report): string[] {
  const c = countFindings(report);
  const parts: string[] = [];
  if (c.error) parts.push(`${c.error} error${c.error === 1 ? "" : "s"}`);
  if (c.fail) parts.push(`${c.fail} failed`);
  if (c.warn) parts.push(`${c.warn} warning${c.warn === 1 ? "" : "s"}`);
  if (c.pass) parts.push(`${c.pass} passed`);
  if (c.skip) parts.push(`${c.skip} skipped`);
  return parts;
}

/** A one-line summary such as "fail: 2 failed, 1 warning, 10 passed (12.3 s)". */
export function summarizeReport(report: Report): string {
  const ms = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  const time = Number.isFinite(ms) ? ` (${formatDuration(ms)})` : "";
  const cancel = report.cancelled ? `, cancelled by ${report.cancelled.signal}` : "";
  return `${report.status}: ${countPhrases(report).join(", ") || "no findings"}${time}${cancel}`;
}

/** Human duration: "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}
