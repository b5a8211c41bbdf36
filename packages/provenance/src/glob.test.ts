import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findFiles, globToRegExp } from "./index.js";

describe("artifact globs (picomatch matching, provenance's walk)", () => {
  it("finds dotfiles, odd names, symlinks (not followed) and FIFOs; skips what the pattern excludes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-glob-"));
    await mkdir(join(dir, "out/sub"), { recursive: true });
    await mkdir(join(dir, "real"));
    for (const name of [
      "a.txt",
      ".hidden",
      "back\\slash.txt",
      "new\nline.txt",
      "[br].txt",
      "b.txt",
      "sub/deep.json",
    ])
      await writeFile(join(dir, "out", name), "x");
    await writeFile(join(dir, "real/r.txt"), "r");
    await writeFile(join(dir, "other.txt"), "o");
    await symlink("a.txt", join(dir, "out/link.txt"));
    await symlink("../real", join(dir, "out/linkdir"));
    execFileSync("mkfifo", [join(dir, "out/fifo")]);

    expect(await findFiles(["out/**"], dir)).toEqual(
      [
        "out/.hidden",
        "out/[br].txt",
        "out/a.txt",
        "out/b.txt",
        "out/back\\slash.txt",
        "out/fifo",
        "out/link.txt",
        "out/linkdir",
        "out/new\nline.txt",
        "out/sub/deep.json",
      ].sort(),
    );
    expect(await findFiles(["out/*.txt"], dir)).toEqual(
      [
        "out/[br].txt",
        "out/a.txt",
        "out/b.txt",
        "out/back\\slash.txt",
        "out/link.txt",
        "out/new\nline.txt",
      ].sort(),
    );
    expect(await findFiles(["**/*.json", "./other.txt"], dir)).toEqual(["other.txt", "out/sub/deep.json"]);
    expect(await findFiles(["out/{a,b}.txt"], dir)).toEqual(["out/a.txt", "out/b.txt"]);
    // A class matches one character; an escaped bracket matches the literal name.
    expect(await findFiles(["out/[ab].txt"], dir)).toEqual(["out/a.txt", "out/b.txt"]);
    expect(await findFiles(["out/\\[br\\].txt"], dir)).toEqual(["out/[br].txt"]);
    expect(await findFiles(["missing/**"], dir)).toEqual([]);
  });

  it("matches with picomatch's grammar", () => {
    const re = globToRegExp("results/**/*.{json,npy}");
    expect(re.test("results/a.json")).toBe(true);
    expect(re.test("results/x/y/z.npy")).toBe(true);
    expect(re.test("results/.cache/z.npy")).toBe(true);
    expect(re.test("results/a.csv")).toBe(false);
    expect(re.test("other/a.json")).toBe(false);
  });
});
