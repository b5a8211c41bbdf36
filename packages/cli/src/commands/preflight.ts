import { createReport, exitCodeFor, renderText, shouldColor } from "@gpuci/report";
import { loadConfig } from "../config/load.js";
import { VERSION } from "../version.js";
import { parseVerbArgs } from "./args.js";

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
  if (values.json) {
    process.stdout.write(`${JSON.stringify(section, null, 2)}\n`);
  } else {
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
