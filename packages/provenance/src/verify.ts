import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { parseManifest } from "./artifacts.js";
import { findFiles } from "./glob.js";
import { hashFiles } from "./hash.js";

/** One file's verification result. */
export interface VerifyLine {
  path: string;
  status: "OK" | "FAILED" | "MISSING" | "ADDED";
  expected?: string;
  actual?: string;
}

/** The result of verifying a statement or manifest. */
export interface VerifyResult {
  ok: boolean;
  format: "intoto" | "manifest";
  lines: VerifyLine[];
}

/**
 * Re-hash every file a `provenance.intoto.json` or `manifest.sha256` names, relative to
 * `baseDir`. A statement also records its artifact globs, so files added since are reported
 * (for a manifest, pass the globs in `artifacts`).
 */
export async function verifyProvenance(
  file: string,
  options: { baseDir?: string; artifacts?: string[] } = {},
): Promise<VerifyResult> {
  const baseDir = options.baseDir ?? process.cwd();
  const text = await readFile(file, "utf8");
  let entries: Array<{ path: string; sha256: string }>;
  let format: VerifyResult["format"];
  let globs = options.artifacts ?? [];
  if (text.trimStart().startsWith("{")) {
    // The statement's schema (zod) is loaded only for a statement: a manifest needs none of it.
    const { ProvenanceStatementSchema } = await import("./statement.js");
    const parsed = ProvenanceStatementSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new Error(
        `${file} is not an in-toto Statement v1 with SLSA provenance: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`,
      );
    format = "intoto";
    entries = parsed.data.subject.flatMap((s) =>
      s.digest.sha256 ? [{ path: s.name, sha256: s.digest.sha256.toLowerCase() }] : [],
    );
    const recorded = parsed.data.predicate.buildDefinition.externalParameters.artifacts;
    if (!options.artifacts && Array.isArray(recorded))
      globs = recorded.filter((g): g is string => typeof g === "string");
  } else {
    format = "manifest";
    entries = parseManifest(text);
  }
  // Nothing to verify is not "all verified": an empty record proves nothing.
  if (entries.length === 0)
    throw new Error(
      `${file} lists no files, so there is nothing to verify. Verify the provenance.intoto.json or manifest.sha256 of a run that recorded artifacts (provenance.artifacts in gpuci.yml).`,
    );
  const abs = entries.map((e) => (isAbsolute(e.path) ? e.path : join(baseDir, e.path)));
  const digests = await hashFiles(abs);
  const lines: VerifyLine[] = entries.map((e, i) => {
    const d = digests[i]!;
    if (!d.sha256) return { path: e.path, status: "MISSING", expected: e.sha256 };
    return d.sha256 === e.sha256
      ? { path: e.path, status: "OK", expected: e.sha256, actual: d.sha256 }
      : { path: e.path, status: "FAILED", expected: e.sha256, actual: d.sha256 };
  });
  if (globs.length) {
    const known = new Set(entries.map((e) => e.path));
    const now = await findFiles(globs, baseDir);
    for (const p of now.sort()) if (!known.has(p)) lines.push({ path: p, status: "ADDED" });
  }
  return { ok: lines.every((l) => l.status === "OK"), format, lines };
}
