import { createReport, exitCodeFor, renderText, type Section, shouldColor } from "@gpuci/report";
import { VERSION } from "../version.js";

/**
 * Print one stage's Section for a single-stage verb (preflight, gates, kernels, provenance):
 * as JSON with --json, else as terminal text; return the exit code its status maps to.
 */
export function printSection(section: Section, startedAt: Date, json: boolean | undefined): number {
  if (json) process.stdout.write(`${JSON.stringify(section, null, 2)}\n`);
  else {
    const report = createReport({
      sections: [section],
      startedAt,
      finishedAt: new Date(),
      tool: { name: "gpuci", version: VERSION },
    });
    process.stdout.write(renderText(report, { color: shouldColor(process.stdout) }));
  }
  return exitCodeFor(section.status);
}
