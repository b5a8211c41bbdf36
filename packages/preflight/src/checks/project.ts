import { execBounded } from "@gpuci/process";
import { type Finding, tailText } from "@gpuci/report";
import { glob } from "tinyglobby";
import type { PreflightConfig } from "../schema.js";

/** `files`: each configured glob matches at least one file. */
export async function checkFiles(patterns: string[], cwd: string): Promise<Finding[]> {
  return Promise.all(
    patterns.map(async (pattern): Promise<Finding> => {
      const matches = await glob(pattern, { cwd, onlyFiles: true, dot: true });
      return matches.length > 0
        ? {
            id: `files.${pattern}`,
            title: `files: ${pattern}`,
            status: "pass",
            summary: `${matches.length} file(s), e.g. ${matches[0]}`,
          }
        : {
            id: `files.${pattern}`,
            title: `files: ${pattern}`,
            status: "fail",
            summary: `nothing matches ${pattern} in ${cwd}`,
            remedy:
              "Commit or generate the missing file before the GPU job (a header or compile unit left out of the commit is the usual cause), or fix the glob in preflight.files.",
          };
    }),
  );
}

/** `smoke`: each configured command exits 0 within its timeout. */
export async function checkSmoke(
  smoke: PreflightConfig["smoke"],
  cwd: string,
  env: NodeJS.ProcessEnv,
  defaultTimeoutMs: number,
): Promise<Finding[]> {
  return Promise.all(
    smoke.map(async (entry, i): Promise<Finding> => {
      const command = typeof entry === "string" ? entry : entry.command;
      const timeoutMs =
        typeof entry === "string" || !entry.timeoutSeconds ? defaultTimeoutMs : entry.timeoutSeconds * 1000;
      const r = await execBounded("/bin/sh", ["-c", command], { cwd, env, timeoutMs });
      const out = tailText(`${r.stdout}${r.stderr}`, 4000);
      const base = { id: `smoke.${i}`, title: `smoke: ${command}`, durationMs: Math.round(r.durationMs) };
      if (r.exitCode === 0) return { ...base, status: "pass", summary: "exited 0" };
      return {
        ...base,
        status: "fail",
        summary: r.timedOut
          ? `did not finish within ${timeoutMs / 1000} s`
          : `exited ${r.exitCode ?? r.signal}`,
        remedy:
          "Fix the import or build the smoke command exercises before spending GPU time; run it by hand to see the whole error.",
        details: out || undefined,
      };
    }),
  );
}

/** Exported dynamic symbols of a shared library, raw and demangled. */
async function librarySymbols(lib: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  const [raw, demangled] = await Promise.all([
    execBounded("nm", ["-D", "--defined-only", lib], { cwd, env, timeoutMs }),
    execBounded("nm", ["-D", "--defined-only", "-C", lib], { cwd, env, timeoutMs }),
  ]);
  const names = (text: string) =>
    text
      .split("\n")
      .map((l) => /^[0-9a-fA-F]*\s+[A-Za-z]\s+(.+)$/.exec(l.trim())?.[1])
      .filter((s): s is string => Boolean(s));
  return { raw, names: new Set([...names(raw.stdout), ...names(demangled.stdout)]) };
}

/** `symbols`: each configured shared library exports the named symbols. */
export async function checkSymbols(
  symbols: Record<string, string[]>,
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<Finding[]> {
  return Promise.all(
    Object.entries(symbols).map(async ([lib, wanted]): Promise<Finding> => {
      const base = { id: `symbols.${lib}`, title: `symbols: ${lib}` };
      const { raw, names } = await librarySymbols(lib, cwd, env, timeoutMs);
      if (raw.error?.code === "ENOENT")
        return {
          ...base,
          status: "error",
          summary: "nm is not installed",
          remedy: "Install binutils (apt-get install binutils).",
        };
      if (raw.exitCode !== 0)
        return {
          ...base,
          status: "fail",
          summary: `cannot read ${lib}: ${raw.stderr.trim().split("\n")[0] ?? `nm exited ${raw.exitCode}`}`,
          remedy: "Build the library before preflight runs, or fix its path in preflight.symbols.",
        };
      // A demangled C++ name matches with or without its parameter list.
      const withoutParams = new Set([...names].map((n) => n.replace(/\(.*$/, "")));
      const missing = wanted.filter((s) => !names.has(s) && !withoutParams.has(s));
      return missing.length === 0
        ? { ...base, status: "pass", summary: `exports ${wanted.join(", ")}` }
        : {
            ...base,
            status: "fail",
            summary: `missing ${missing.join(", ")} (${names.size} symbols exported)`,
            remedy:
              'The symbol was not compiled in or not exported: check that its source file is in the build (e.g. a BF16 compile unit), that it is not `static`, and `extern "C"` if Python loads it by name.',
          };
    }),
  );
}
