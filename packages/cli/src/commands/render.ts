import { writeFile } from "node:fs/promises";
import { readReport, renderComment, renderSummary, renderText, shouldColor } from "@gpuci/report";
import { UsageError } from "../errors.js";
import { parseVerbArgs } from "./args.js";

const FORMATS = ["comment", "summary", "text"] as const;

/** `gpuci render REPORT.json --format comment|summary|text`. */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs("render", argv, {
    format: { type: "string", short: "f", default: "text" },
    id: { type: "string" },
    out: { type: "string", short: "o" },
  });
  if (positionals.length !== 1)
    throw new UsageError(`gpuci render needs exactly one REPORT.json (got ${positionals.length}).`);
  const format = values.format as (typeof FORMATS)[number];
  if (!FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${FORMATS.join(", ")} (got "${values.format}").`);
  const report = await readReport(positionals[0]!);
  const text =
    format === "comment"
      ? `${renderComment(report, { id: values.id })}\n`
      : format === "summary"
        ? `${renderSummary(report)}\n`
        : renderText(report, { color: values.out ? false : shouldColor(process.stdout) });
  if (values.out) {
    try {
      await writeFile(values.out, text);
    } catch (error) {
      const { OutDirError } = await import("../errors.js");
      throw new OutDirError(
        `--out ${values.out} cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Pass a file in a folder that exists and is writable.`,
      );
    }
  } else process.stdout.write(text);
  return 0;
}
