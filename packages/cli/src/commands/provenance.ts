import { resolve } from "node:path";
import { UsageError } from "../errors.js";
import { VERSION } from "../version.js";
import { parseVerbArgs } from "./args.js";

/** `gpuci provenance [-c gpuci.yml] [--artifacts GLOB...] [--out DIR]` and `gpuci provenance verify FILE`. */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "verify") return verify(argv.slice(1));
  const { values, positionals } = parseVerbArgs("provenance", argv, {
    config: { type: "string", short: "c" },
    artifacts: { type: "string", multiple: true },
    out: { type: "string", short: "o" },
    json: { type: "boolean" },
  });
  if (positionals.length)
    throw new UsageError(
      `unexpected "${positionals[0]}": use "gpuci provenance verify FILE" to verify, or --artifacts GLOB to add files.`,
    );
  // Loaded here, not above: `verify` needs neither the config schema nor YAML.
  const { loadConfig } = await import("../config/load.js");
  const { printSection } = await import("./output.js");
  const loaded = await loadConfig({ path: values.config });
  const outDir = resolve(values.out ?? ".gpuci");
  const { checkOutDir } = await import("../engine.js");
  await checkOutDir(outDir);
  const { recordProvenance } = await import("@gpuci/provenance");
  const started = new Date();
  const { section } = await recordProvenance({
    config: loaded.config.provenance,
    baseDir: loaded.baseDir,
    outDir,
    artifacts: values.artifacts ?? [],
    ...(loaded.path && loaded.sha256 ? { config_file: { path: loaded.path, sha256: loaded.sha256 } } : {}),
    startedAt: started,
    argv: ["gpuci", "provenance", ...argv],
    toolVersion: VERSION,
  });
  return printSection(section, started, values.json);
}

async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs("provenance", argv, {
    base: { type: "string" },
    artifacts: { type: "string", multiple: true },
  });
  if (positionals.length !== 1)
    throw new UsageError(
      "gpuci provenance verify needs one FILE: a provenance.intoto.json or a manifest.sha256.",
    );
  // Only what verifying needs: no config schema, no YAML, no report model.
  const { verifyProvenance } = await import("@gpuci/provenance/verify");
  let result: Awaited<ReturnType<typeof verifyProvenance>>;
  try {
    result = await verifyProvenance(positionals[0]!, {
      baseDir: resolve(values.base ?? "."),
      ...(values.artifacts ? { artifacts: values.artifacts } : {}),
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new UsageError(
      e.code === "ENOENT"
        ? `${positionals[0]} does not exist. Pass the provenance.intoto.json or manifest.sha256 gpuci wrote.`
        : e.message,
    );
  }
  // One write, redacted once: file names are output too.
  const { redactText } = await import("@gpuci/report/redact");
  process.stdout.write(
    redactText(result.lines.map((l) => `${JSON.stringify(l.path).slice(1, -1)}: ${l.status}\n`).join("")),
  );
  const bad = result.lines.filter((l) => l.status !== "OK");
  process.stderr.write(
    bad.length
      ? `gpuci: ${bad.length} of ${result.lines.length} file(s) did not verify (${[...new Set(bad.map((b) => b.status))].join(", ")})\n`
      : `gpuci: all ${result.lines.length} file(s) verified\n`,
  );
  return result.ok ? 0 : 1;
}
