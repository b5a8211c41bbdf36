import { lstat, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import { findEntries } from "./glob.js";
import { hashInto } from "./hash.js";

/** One artifact as recorded. Exactly one of sha256 / skipped / error is set. */
export interface Artifact {
  /** Path relative to the base folder, with `/` separators. */
  path: string;
  sha256?: string;
  size?: number;
  /** For a symlink that was hashed: where it points (relative to the base folder). */
  symlinkTo?: string;
  /** Why it was deliberately not hashed (special file, symlink leaving the workspace). */
  skipped?: string;
  /** Why it could not be read. */
  error?: string;
}

const inside = (base: string, target: string) => {
  const rel = relative(base, target);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
};

/**
 * Find artifacts matching `patterns` under `baseDir` and hash them in parallel.
 * Policy: regular files are hashed; a symlink to a regular file inside `baseDir` is hashed
 * (its target's bytes) and recorded with `symlinkTo`; a symlink leaving `baseDir` is skipped
 * (the record must not depend on files outside the workspace); a broken symlink is an error;
 * FIFOs, sockets and devices are skipped and never opened (reading a FIFO would block).
 * Symlinked folders are not followed.
 */
export async function collectArtifacts(patterns: readonly string[], baseDir: string): Promise<Artifact[]> {
  if (patterns.length === 0) return [];
  const { paths: matches, special } = await findEntries(patterns, baseDir);
  const base = await realpath(baseDir);
  const artifacts: Artifact[] = [];
  const toHash: Artifact[] = [];
  const toHashPaths: string[] = [];
  for (const rel of matches) {
    const path = sep === "/" ? rel : rel.split(sep).join("/");
    // A regular file, as its folder listing said: hashed without another stat.
    if (!special.has(rel)) {
      const artifact: Artifact = { path };
      artifacts.push(artifact);
      toHash.push(artifact);
      toHashPaths.push(rel);
      continue;
    }
    const abs = join(baseDir, rel);
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(abs);
    } catch (error) {
      artifacts.push({ path, error: (error as NodeJS.ErrnoException).code ?? String(error) });
      continue;
    }
    if (st.isDirectory()) continue;
    const artifact: Artifact = { path };
    if (st.isSymbolicLink()) {
      let target: string;
      try {
        target = await realpath(abs);
      } catch {
        artifacts.push({ path, error: "broken symlink" });
        continue;
      }
      const tst = await stat(target);
      if (!inside(base, target)) {
        artifacts.push({ path, skipped: `symlink to ${target}, outside the workspace` });
        continue;
      }
      if (!tst.isFile()) {
        if (!tst.isDirectory()) artifacts.push({ path, skipped: "symlink to a special file" });
        continue;
      }
      artifact.symlinkTo = relative(base, target).split(sep).join("/");
    } else if (!st.isFile()) {
      const kind = st.isFIFO()
        ? "fifo"
        : st.isSocket()
          ? "socket"
          : st.isCharacterDevice() || st.isBlockDevice()
            ? "device"
            : "special file";
      artifacts.push({ path, skipped: `not a regular file (${kind})` });
      continue;
    }
    artifacts.push(artifact);
    toHash.push(artifact);
    toHashPaths.push(rel);
  }
  await hashInto(toHashPaths, { knownRegular: true, baseDir }, (i, sha256, size, error) => {
    const a = toHash[i]!;
    if (sha256) {
      a.sha256 = sha256;
      a.size = size;
    } else a.error = error ?? "unreadable";
  });
  return artifacts.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** One manifest line in coreutils' format, escaping names with `\` or newlines as sha256sum does. */
export function manifestLine(sha256: string, path: string): string {
  if (/[\\\n\r]/.test(path)) {
    const escaped = path.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
    return `\\${sha256}  ${escaped}`;
  }
  return `${sha256}  ${path}`;
}

/** Parse a coreutils sha256 manifest (both text `  ` and binary ` *` separators). */
export function parseManifest(text: string): Array<{ sha256: string; path: string }> {
  const out: Array<{ sha256: string; path: string }> = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "" || raw.startsWith("#")) return;
    let line = raw;
    const escaped = line.startsWith("\\");
    if (escaped) line = line.slice(1);
    const m = /^([0-9a-fA-F]{64}) [ *](.*)$/.exec(line);
    if (!m) throw new Error(`line ${i + 1} is not "<sha256>  <path>": ${raw.slice(0, 80)}`);
    let path = m[2]!;
    if (escaped)
      path = path.replace(/\\(\\|n|r)/g, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : "\\"));
    out.push({ sha256: m[1]!.toLowerCase(), path });
  });
  return out;
}

/** The whole manifest for the hashed artifacts. */
export function renderManifest(artifacts: readonly Artifact[]): string {
  const lines = artifacts.filter((a) => a.sha256).map((a) => manifestLine(a.sha256!, a.path));
  return lines.length ? `${lines.join("\n")}\n` : "";
}
