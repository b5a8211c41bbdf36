import { basename, dirname, join, resolve } from "node:path";
import {
  aggregate,
  exitCodeFor,
  type LabelledReport,
  readReport,
  renderSummary,
  summarizeReport,
  writeFileAtomic,
  writeReport,
} from "@gpuci/report";
import { UsageError } from "../errors.js";
import { parseVerbArgs } from "./args.js";

/**
 * Label a report: its runner key or name when it has one, else the name of the folder it was
 * found in (actions/download-artifact puts each artifact in a folder named after it).
 */
export function labelFor(path: string, report: LabelledReport["report"]): string {
  return report.runner?.key ?? basename(dirname(resolve(path)));
}

/** `gpuci aggregate REPORT.json... --out DIR`. */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs("aggregate", argv, { out: { type: "string", short: "o" } });
  if (positionals.length === 0) throw new UsageError("gpuci aggregate needs at least one REPORT.json.");
  if (!values.out) throw new UsageError("gpuci aggregate needs --out DIR for the merged report.");
  const inputs: LabelledReport[] = [];
  for (const path of positionals) {
    const report = await readReport(path);
    inputs.push({ key: labelFor(path, report), report });
  }
  const merged = aggregate(inputs);
  const out = resolve(values.out);
  const { checkOutDir } = await import("../engine.js");
  await checkOutDir(out);
  await writeReport(join(out, "report.json"), merged);
  await writeFileAtomic(join(out, "report.md"), `${renderSummary(merged)}\n`);
  process.stderr.write(`gpuci: ${summarizeReport(merged)}\ngpuci: wrote ${join(out, "report.json")}\n`);
  return exitCodeFor(merged.status);
}
