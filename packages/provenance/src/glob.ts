import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import picomatch from "picomatch";

/**
 * A glob as a RegExp over `/`-separated relative paths, by picomatch (the matcher tinyglobby
 * uses): `**`, `*`, `?`, `[abc]`, `{a,b}`. Dotfiles match, and names may hold any character,
 * newlines included (the `s` flag): a name built to dodge a manifest is still matched.
 */
export function globToRegExp(pattern: string): RegExp {
  return picomatch.makeRe(pattern, { dot: true, flags: "s" });
}

/** The folder a pattern can start walking from, and whether it needs to go deeper than its segments. */
function walkPlan(pattern: string): { root: string; maxDepth: number } {
  const segments = pattern.split("/");
  const staticSegs: string[] = [];
  for (const s of segments.slice(0, -1)) {
    if (/[*?[{\\]/.test(s)) break;
    staticSegs.push(s);
  }
  const rest = segments.length - staticSegs.length;
  return { root: staticSegs.join("/"), maxDepth: pattern.includes("**") ? Number.POSITIVE_INFINITY : rest };
}

/** What matched: every path, sorted, and those that are not regular files (to look at closer). */
export interface FoundEntries {
  paths: string[];
  /** Paths the folder listing showed as symlinks, FIFOs, sockets or devices. */
  special: Set<string>;
}

/**
 * Every non-folder entry (files, symlinks, special files) under `baseDir` matching any pattern,
 * as `/`-separated relative paths, sorted, with the ones that are not regular files marked (from
 * the folder listing: no extra stat). Symlinked folders are not followed.
 *
 * Matching is picomatch's; the walk is ours because provenance must see what tinyglobby's walker
 * leaves out: a symlink is recorded as a link (not followed, not dropped), and FIFOs and names
 * with newlines are listed so that nothing in an artifact folder goes unrecorded.
 */
export async function findEntries(patterns: readonly string[], baseDir: string): Promise<FoundEntries> {
  const found = new Set<string>();
  const special = new Set<string>();
  for (const raw of patterns) {
    const pattern = raw.replace(/^\.\//, "");
    const re = globToRegExp(pattern);
    const { root, maxDepth } = walkPlan(pattern);
    const walk = async (rel: string, depth: number): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(rel ? `${baseDir}/${rel}` : baseDir, { withFileTypes: true });
      } catch {
        return;
      }
      const prefix = rel ? `${rel}/` : "";
      for (const e of entries) {
        const path = prefix + e.name;
        if (e.isDirectory()) {
          if (depth + 1 < maxDepth) await walk(path, depth + 1);
        } else if (re.test(path)) {
          found.add(path);
          if (!e.isFile()) special.add(path);
        }
      }
    };
    await walk(root, 0);
  }
  return { paths: [...found].sort(), special };
}

/** The paths {@link findEntries} finds. */
export async function findFiles(patterns: readonly string[], baseDir: string): Promise<string[]> {
  return (await findEntries(patterns, baseDir)).paths;
}
