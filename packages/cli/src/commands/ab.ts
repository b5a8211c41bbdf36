import { resolve } from "node:path";
import { loadConfig } from "../config/load.js";
import { UsageError } from "../errors.js";
import { parseVerbArgs } from "./args.js";
import { printSections } from "./output.js";

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
  // The output folder is checked first: exit 2 with the fix, before any worktree or command.
  const outDir = resolve(values.out ?? ".gpuci");
  const { checkOutDir } = await import("../engine.js");
  await checkOutDir(outDir);
  const { runAb } = await import("@gpuci/ab");
  const { CostMeter } = await import("@gpuci/cost-budget");
  const { detectIdentity } = await import("../engine.js");
  const { redactText } = await import("@gpuci/report");
  const started = new Date();
  // The run's cost budget (cost.budget) bounds and prices the A/B here as in gpuci run.
  const meter = await CostMeter.open({
    baseDir: loaded.baseDir,
    config: loaded.config.cost,
    run: await detectIdentity(),
  });
  const { section, seconds, stoppedBy } = await runAb(loaded.config.ab, {
    baseDir: loaded.baseDir,
    outDir,
    ...(values.base ? { base: values.base } : {}),
    baseBranch: loaded.config.history?.baseBranch ?? "main",
    ...(loaded.config.history?.remote ? { remote: loaded.config.history.remote } : {}),
    ...(loaded.config.cost ? { cost: loaded.config.cost } : {}),
    costLimit: meter.limit(),
    onProgress: (line) => process.stderr.write(`gpuci: ${redactText(line)}\n`),
    // The benchmark's own output would drown the per-round lines; its tail is kept on failure.
  });
  meter.add(seconds, stoppedBy?.limit.startsWith("budget.") ? stoppedBy : undefined);
  const { cost } = await meter.close();
  // A base that cannot be resolved is a usage error (exit 2), as the message says how to fix it.
  const setup = section.findings.find((f) => f.id === "ab.setup");
  if (setup && (setup.data as { reason?: unknown } | undefined)?.reason === "base")
    throw new UsageError(
      `${redactText(setup.summary ?? "")}. ${values.base ? "Pass a --base that is a branch, tag or commit of this repository, or fetch it" : "Fix ab.base, or fetch it"}: ${redactText(setup.remedy ?? "")}`,
    );
  return printSections([section, cost], started, values.json);
}
