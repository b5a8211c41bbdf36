import { resolve } from "node:path";
import { loadConfig } from "../config/load.js";
import { UsageError } from "../errors.js";
import { parseVerbArgs } from "./args.js";
import { printSection } from "./output.js";

/** `gpuci ab [-c gpuci.yml] [--base REF] [--out DIR] [--json]`. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(
    "ab",
    argv,
    {
      config: { type: "string", short: "c" },
      base: { type: "string" },
      out: { type: "string", short: "o" },
      json: { type: "boolean" },
    },
    false,
  );
  const loaded = await loadConfig({ path: values.config });
  if (!loaded.config.ab)
    throw new UsageError(
      `${loaded.path ?? "gpuci.yml"} has no ab: section. Add one (see examples/ab/README.md) or pass -c PATH.`,
    );
  const { runAb } = await import("@gpuci/ab");
  const started = new Date();
  const { section } = await runAb(loaded.config.ab, {
    baseDir: loaded.baseDir,
    outDir: resolve(values.out ?? ".gpuci"),
    ...(values.base ? { base: values.base } : {}),
    baseBranch: loaded.config.history?.baseBranch ?? "main",
    ...(loaded.config.history?.remote ? { remote: loaded.config.history.remote } : {}),
    ...(loaded.config.cost ? { cost: loaded.config.cost } : {}),
    onProgress: (line) => process.stderr.write(`gpuci: ${line}\n`),
    // The benchmark's own output would drown the per-round lines; its tail is kept on failure.
  });
  return printSection(section, started, values.json);
}
