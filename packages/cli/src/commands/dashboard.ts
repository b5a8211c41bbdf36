import { isAbsolute, relative, resolve } from "node:path";
import { loadConfig } from "../config/load.js";
import { OutDirError, UsageError } from "../errors.js";
import { parseVerbArgs } from "./args.js";

/** `gpuci dashboard [-c gpuci.yml] [--out DIR] [--title TEXT]`: the history store as a static site. */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs("dashboard", argv, {
    config: { type: "string", short: "c" },
    out: { type: "string", short: "o" },
    title: { type: "string" },
  });
  if (positionals.length)
    throw new UsageError(
      `gpuci dashboard takes no positional arguments (got "${positionals.join(" ")}"). Use --out DIR for the site's folder.`,
    );
  const loaded = await loadConfig({ path: values.config });
  const gates = await import("@gpuci/gates");
  const { buildDashboard, githubCommitUrl } = await import("@gpuci/dashboard");
  const { execBounded } = await import("@gpuci/process");
  const history = gates.HistoryConfigSchema.parse(loaded.config.history ?? {});
  const store = gates.openHistory(history, loaded.baseDir);
  const read = await store.read();
  const refused = gates.describeRefused(read, store.description);
  // Commit links: the repository on GitHub, from Actions' environment or the remote's URL.
  const remote = history.remote && !history.remote.startsWith("-") ? history.remote : "origin";
  const url = await execBounded("git", ["remote", "get-url", "--end-of-options", remote], {
    cwd: loaded.baseDir,
    timeoutMs: 10_000,
  });
  const commitUrl = githubCommitUrl(url.exitCode === 0 ? url.stdout : undefined, process.env);
  const out = resolve(values.out ?? ".gpuci/site");
  let site: Awaited<ReturnType<typeof buildDashboard>>;
  try {
    site = await buildDashboard(read.entries, out, {
      baseBranch: history.baseBranch,
      // A file store inside the project is named relative to it (the site may be published).
      store:
        isAbsolute(store.description) && !relative(loaded.baseDir, store.description).startsWith("..")
          ? relative(loaded.baseDir, store.description)
          : store.description,
      window: history.window,
      ...(values.title ? { title: values.title } : {}),
      ...(commitUrl ? { commitUrl } : {}),
      ...(refused ? { refused } : {}),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code || /is a file, not a folder/.test((error as Error).message))
      throw new OutDirError(
        `--out ${out} cannot take the site (${code ?? (error as Error).message}). Pass a folder gpuci can write, e.g. --out .gpuci/site.`,
      );
    throw error;
  }
  const lines = [
    `gpuci dashboard: wrote ${site.outDir}/index.html (${site.metrics} metrics, ${site.runs} runs, ${(site.bytes / 1e6).toFixed(1)} MB in ${site.files.length} files; open it from disk or publish the folder)`,
  ];
  if (refused) lines.push(`  refused: ${refused}`);
  if (loaded.config.dashboard?.url)
    lines.push(`  published at ${loaded.config.dashboard.url} (dashboard.url)`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
