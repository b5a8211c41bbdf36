import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * Turn a glob into a RegExp over `/`-separated relative paths: `**` (any folders), `*` and `?`
 * (within one segment), `[abc]` / `[!abc]`, `{a,b}`. Dotfiles match; names may hold any
 * character, newlines included (the `s` flag).
 */
export function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        const atStart = i === 0 || pattern[i - 1] === "/";
        const atEnd = i + 2 === pattern.length || pattern[i + 2] === "/";
        if (atStart && atEnd) {
          if (pattern[i + 2] === "/") {
            re += "(?:.*/)?";
            i += 2;
          } else {
            re += ".*";
            i += 1;
          }
          continue;
        }
      }
      re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        let cls = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (cls.startsWith("!")) cls = `^${cls.slice(1)}`;
        re += `[${cls}]`;
        i = end;
      }
    } else if (c === "{") {
      const end = pattern.indexOf("}", i + 1);
      if (end < 0) re += "\\{";
      else {
        re += `(?:${pattern
          .slice(i + 1, end)
          .split(",")
          .map((alt) => globToRegExp(alt).source.slice(1, -1))
          .join("|")})`;
        i = end;
      }
    } else re += c.replace(/[.+^$()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

/** The folder a pattern can start walking from, and whether it needs to go deeper than its segments. */
function walkPlan(pattern: string): { root: string; maxDepth: number } {
  const segments = pattern.split("/");
  const staticSegs: string[] = [];
  for (const s of segments.slice(0, -1)) {
    if (/[*?[{]/.test(s)) break;
    staticSegs.push(s);
  }
  const rest = segments.length - staticSegs.length;
  return { root: staticSegs.join("/"), maxDepth: pattern.includes("**") ? Number.POSITIVE_INFINITY : rest };
}

/**
 * Every non-folder entry (files, symlinks, special files) under `baseDir` matching any pattern,
 * as `/`-separated relative paths, sorted. Symlinked folders are not followed.
 */
export async function findFiles(patterns: readonly string[], baseDir: string): Promise<string[]> {
  const found = new Set<string>();
  for (const raw of patterns) {
    const pattern = raw.replace(/^\.\//, "");
    const re = globToRegExp(pattern);
    const { root, maxDepth } = walkPlan(pattern);
    const walk = async (rel: string, depth: number): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(join(baseDir, rel), { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const path = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (depth + 1 < maxDepth) await walk(path, depth + 1);
        } else if (re.test(path)) found.add(path);
      }
    };
    await walk(root, 0);
  }
  return [...found].sort();
}
