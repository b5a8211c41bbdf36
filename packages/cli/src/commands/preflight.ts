import { loadConfig } from "../config/load.js";
import { parseVerbArgs } from "./args.js";
import { printSection } from "./output.js";

/** `gpuci preflight [-c gpuci.yml] [--json] [--local]`. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(
    "preflight",
    argv,
    {
      config: { type: "string", short: "c" },
      json: { type: "boolean" },
      local: { type: "boolean" },
    },
    false,
  );
  const loaded = await loadConfig({ path: values.config });
  const { runPreflight } = await import("@gpuci/preflight");
  const started = new Date();
  const { section } = await runPreflight(loaded.config.preflight, {
    cwd: loaded.baseDir,
    local: values.local,
  });
  return printSection(section, started, values.json);
}
