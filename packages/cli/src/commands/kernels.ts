import { resolve } from "node:path";
import { loadConfig } from "../config/load.js";
import { UsageError } from "../errors.js";
import { parseVerbArgs } from "./args.js";
import { printSection } from "./output.js";

/** `gpuci kernels [-c gpuci.yml] [--backend napi|webgpu|all] [--kernel NAME] [--json] [--csv FILE]`. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(
    "kernels",
    argv,
    {
      config: { type: "string", short: "c" },
      backend: { type: "string", default: "all" },
      kernel: { type: "string" },
      json: { type: "boolean" },
      csv: { type: "string" },
    },
    false,
  );
  if (!["all", "napi", "webgpu"].includes(values.backend!))
    throw new UsageError(`--backend must be napi, webgpu or all (got "${values.backend}").`);
  const loaded = await loadConfig({ path: values.config });
  const { runKernels, KERNELS } = await import("@gpuci/cuda-kernels");
  const { redactText } = await import("@gpuci/report");
  if (values.kernel && !(KERNELS as readonly string[]).includes(values.kernel))
    throw new UsageError(`--kernel must be one of ${KERNELS.join(", ")} (got "${values.kernel}").`);
  const started = new Date();
  const { section } = await runKernels(loaded.config.kernels ?? [], {
    backend: values.backend as "all" | "napi" | "webgpu",
    baseDir: loaded.baseDir,
    ...(values.kernel ? { kernel: values.kernel } : {}),
    ...(values.csv ? { csv: resolve(values.csv) } : {}),
    onProgress: (line) => process.stderr.write(`gpuci: ${redactText(line)}\n`),
  });
  return printSection(section, started, values.json);
}
