import { exitCodeFor, renderText, shouldColor, summarizeReport } from "@gpuci/report";
import { runGpuci } from "../engine.js";
import { lineProgress } from "../progress.js";
import { parseVerbArgs } from "./args.js";

/** `gpuci run`: the main job. */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs("run", argv, {
    config: { type: "string", short: "c" },
    out: { type: "string", short: "o" },
    quiet: { type: "boolean", short: "q" },
    record: { type: "boolean" },
  });
  if (positionals.length) {
    const { UsageError } = await import("../errors.js");
    throw new UsageError(
      `gpuci run takes no positional arguments (got "${positionals.join(" ")}"). Use -c PATH for the config.`,
    );
  }
  const result = await runGpuci({
    configPath: values.config,
    outDir: values.out,
    ...(values.record ? { recordDirty: true } : {}),
    progress: lineProgress(process.stderr),
    output: { stdout: process.stdout, stderr: process.stderr },
  });
  const text = values.quiet
    ? `gpuci ${summarizeReport(result.report)}\n`
    : renderText(result.report, { color: shouldColor(process.stderr) });
  process.stderr.write(`\n${text}`);
  process.stderr.write(
    `gpuci: wrote ${result.reportPath}, ${result.markdownPath} (job summary) and ${result.commentPath} (the pull-request comment)\n`,
  );
  return exitCodeFor(result.report.status);
}
