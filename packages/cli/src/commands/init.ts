import { accessSync, constants } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { delimiter, dirname, join, relative, resolve } from "node:path";
import { loadConfig } from "../config/load.js";
import { describeScan, renderConfig, renderWorkflow, scanProject } from "../init.js";
import { parseVerbArgs } from "./args.js";

/** True when `program` is an executable on PATH. */
function onPath(program: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** `gpuci init [--dir DIR] [--force]`: write gpuci.yml and a workflow for the project found. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(
    "init",
    argv,
    { dir: { type: "string", short: "C" }, force: { type: "boolean", short: "f" } },
    false,
  );
  const root = resolve(values.dir ?? ".");
  if (!(await stat(root).catch(() => undefined))?.isDirectory()) {
    const { UsageError } = await import("../errors.js");
    throw new UsageError(`${root} is not a folder. Pass the project folder with --dir DIR.`);
  }
  const scan = await scanProject(root, onPath);
  const found = describeScan(scan);
  process.stderr.write(
    found.length
      ? `gpuci init: found ${found.join("; ")}\n`
      : "gpuci init: found no benchmark suite, CUDA source or training script; writing a starting config\n",
  );
  const files = [
    { path: join(root, "gpuci.yml"), text: renderConfig(scan) },
    { path: join(root, ".github/workflows/gpuci.yml"), text: renderWorkflow() },
  ];
  let wrote = 0;
  for (const f of files) {
    const shown = relative(process.cwd(), f.path) || f.path;
    if (!values.force && (await exists(f.path))) {
      process.stderr.write(`gpuci init: kept ${shown}: it exists (pass --force to replace it)\n`);
      continue;
    }
    await mkdir(dirname(f.path), { recursive: true });
    await writeFile(f.path, f.text);
    process.stderr.write(`gpuci init: wrote ${shown}\n`);
    wrote++;
  }
  // gpuci's output folder never belongs in the repository.
  const ignore = join(root, ".gitignore");
  const ignored = (await readFile(ignore, "utf8").catch(() => undefined)) ?? "";
  if (!ignored.split(/\r?\n/).some((l) => /^\/?\.gpuci\/?\s*$/.test(l))) {
    await writeFile(ignore, `${ignored}${ignored && !ignored.endsWith("\n") ? "\n" : ""}.gpuci/\n`);
    process.stderr.write(`gpuci init: added .gpuci/ to ${relative(process.cwd(), ignore) || ignore}\n`);
  }
  // What gpuci wrote must be a config gpuci accepts; a ConfigInvalidError here exits 2 with
  // the located problem.
  await loadConfig({ path: join(root, "gpuci.yml") });
  process.stderr.write(
    wrote
      ? `gpuci init: gpuci.yml is valid. Next: npx gpuci run${values.dir ? ` -c ${join(values.dir, "gpuci.yml")}` : ""}\n`
      : "gpuci init: nothing written\n",
  );
  return 0;
}
