import {
  createReport,
  exitCodeFor,
  redactDeep,
  renderText,
  rollUp,
  type Section,
  shouldColor,
} from "@gpuci/report";
import { VERSION } from "../version.js";

/**
 * Print one stage's Section for a single-stage verb (preflight, gates, kernels, provenance):
 * as JSON with --json, else as terminal text; return the exit code its status maps to.
 * Everything printed passes the one redaction, JSON included.
 */
export function printSection(section: Section, startedAt: Date, json: boolean | undefined): number {
  return printSections([section], startedAt, json);
}

/**
 * Print a verb's Sections: the first as JSON with --json (the stage's own result), all of them
 * as terminal text otherwise; the exit code follows the worst of them.
 */
export function printSections(sections: Section[], startedAt: Date, json: boolean | undefined): number {
  if (json) process.stdout.write(`${JSON.stringify(redactDeep(sections[0]!), null, 2)}\n`);
  else {
    const report = createReport({
      sections,
      startedAt,
      finishedAt: new Date(),
      tool: { name: "gpuci", version: VERSION },
    });
    process.stdout.write(renderText(report, { color: shouldColor(process.stdout) }));
  }
  return exitCodeFor(rollUp(sections.map((s) => s.status)));
}
