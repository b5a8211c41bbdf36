import { hostname } from "node:os";
import { createReport, exitCodeFor, renderText, shouldColor } from "@gpuci/report";
import { loadConfig } from "../config/load.js";
import { UsageError } from "../errors.js";
import { VERSION } from "../version.js";
import { parseVerbArgs } from "./args.js";

/** `gpuci gates [-c gpuci.yml] [--json]`. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(
    "gates",
    argv,
    { config: { type: "string", short: "c" }, json: { type: "boolean" } },
    false,
  );
  const loaded = await loadConfig({ path: values.config });
  if (!loaded.config.gates?.length)
    throw new UsageError(
      `${loaded.path ?? "gpuci.yml"} has no gates: section. Add gates (see examples/llm-data-qc/gpuci.yml) or pass -c PATH.`,
    );
  const { evaluateGates } = await import("@gpuci/gates");
  const started = new Date();
  const { section } = await evaluateGates(loaded.config.gates, {
    baseDir: loaded.baseDir,
    ...(loaded.config.history ? { history: loaded.config.history } : {}),
    context: { runner: process.env.RUNNER_NAME ?? hostname() },
  });
  if (values.json) process.stdout.write(`${JSON.stringify(section, null, 2)}\n`);
  else {
    const report = createReport({
      sections: [section],
      startedAt: started,
      finishedAt: new Date(),
      tool: { name: "gpuci", version: VERSION },
    });
    process.stdout.write(renderText(report, { color: shouldColor(process.stdout) }));
  }
  return exitCodeFor(section.status);
}
