import { hostname } from "node:os";
import { loadConfig } from "../config/load.js";
import { UsageError } from "../errors.js";
import { parseVerbArgs } from "./args.js";
import { printSection } from "./output.js";

/** `gpuci gates [-c gpuci.yml] [--json]`. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(
    "gates",
    argv,
    { config: { type: "string", short: "c" }, json: { type: "boolean" }, record: { type: "boolean" } },
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
    // Files only: nothing here can be re-run to confirm a one-value regression.
    confirmable: false,
    ...(values.record ? { recordDirty: true } : {}),
  });
  return printSection(section, started, values.json);
}
