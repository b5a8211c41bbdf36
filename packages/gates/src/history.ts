import { appendFile, mkdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { execBounded } from "@gpuci/process";
import { z } from "zod";

/** The `history:` section of gpuci.yml: where earlier runs' gate results are kept. */
export const HistoryConfigSchema = z
  .strictObject({
    store: z
      .enum(["file", "git-branch"])
      .default("file")
      .describe(
        "file: JSON lines under .gpuci/history/; git-branch: committed to a branch of the repository.",
      ),
    path: z
      .string()
      .default(".gpuci/history/results.jsonl")
      .describe("file store: the JSON-lines file, relative to gpuci.yml."),
    branch: z
      .string()
      .default("gpuci-data")
      .describe("git-branch store: the branch results are committed to."),
    remote: z
      .string()
      .optional()
      .describe("git-branch store: fetch from and push to this remote (e.g. origin); local only when unset."),
    baseBranch: z.string().default("main").describe("The branch whose results are baselines."),
    window: z
      .number()
      .int()
      .min(3)
      .max(1000)
      .default(30)
      .describe(
        "One-number metrics: the last N base-branch results on the same GPU and driver form the base distribution.",
      ),
    record: z.boolean().default(true).describe("Append this run's results to the store."),
    onStep: z
      .enum(["warn", "fail", "off"])
      .default("warn")
      .describe(
        "On a push to the base branch, what a step against the last results does: warn, fail, or nothing.",
      ),
  })
  .describe("Where gate results of earlier runs live, for history baselines.");
export type HistoryConfig = z.infer<typeof HistoryConfigSchema>;

/** One run's results as stored. */
export const HistoryEntrySchema = z.object({
  v: z.literal(1),
  at: z.string(),
  commit: z.string(),
  branch: z.string().optional(),
  runner: z.string().optional(),
  gpu: z.string().optional(),
  driver: z.string().optional(),
  results: z.record(
    z.string(),
    z.object({
      value: z.number().nullable(),
      unit: z.string().optional(),
      samples: z.array(z.number()).optional(),
      status: z.string().optional(),
    }),
  ),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

function parseEntries(text: string): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const r = HistoryEntrySchema.safeParse(JSON.parse(line, (_k, v) => (v === "NaN" ? Number.NaN : v)));
      if (r.success) out.push(r.data);
    } catch {
      // A torn or foreign line: skip it.
    }
  }
  return out;
}

/** Serialize an entry; NaN becomes null (JSON cannot hold it). */
function serialize(entry: HistoryEntry): string {
  return `${JSON.stringify(entry, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v))}\n`;
}

/** Reads and appends history entries. */
export interface HistoryStore {
  readonly description: string;
  read(): Promise<HistoryEntry[]>;
  append(entry: HistoryEntry): Promise<void>;
}

/** The embedded store: JSON lines in a file (default `.gpuci/history/results.jsonl`). */
export function fileStore(path: string): HistoryStore {
  return {
    description: path,
    async read() {
      try {
        return parseEntries(await readFile(path, "utf8"));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw error;
      }
    },
    async append(entry) {
      await mkdir(dirname(path), { recursive: true });
      await appendFile(path, serialize(entry));
    },
  };
}

async function git(cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}, input?: string) {
  const r = await execBounded("git", args, {
    cwd,
    timeoutMs: 60_000,
    env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", ...extraEnv },
    ...(input !== undefined ? { input } : {}),
  });
  return r;
}

/**
 * The git-branch store: results committed to a branch of the repository (like
 * github-action-benchmark's gh-pages data), written with git plumbing so the working tree and
 * the index of the checkout are never touched. With a remote, reads fetch it first and a push
 * that loses a race is retried on top of the new tip.
 */
export function gitBranchStore(
  repoDir: string,
  options: { branch: string; remote?: string; file?: string },
): HistoryStore {
  const file = options.file ?? "history/results.jsonl";
  const ref = `refs/heads/${options.branch}`;
  const fetch = async () => {
    if (!options.remote) return;
    await git(repoDir, [
      "fetch",
      "--quiet",
      options.remote,
      `+${ref}:refs/remotes/${options.remote}/${options.branch}`,
    ]);
  };
  const tip = async (): Promise<string | undefined> => {
    const name = options.remote ? `refs/remotes/${options.remote}/${options.branch}` : ref;
    const r = await git(repoDir, ["rev-parse", "--verify", "--quiet", name]);
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  };
  const readAt = async (commit: string | undefined) => {
    if (!commit) return "";
    const r = await git(repoDir, ["show", `${commit}:${file}`]);
    return r.exitCode === 0 ? r.stdout : "";
  };
  return {
    description: `${options.remote ? `${options.remote}/` : ""}${options.branch}:${file}`,
    async read() {
      await fetch();
      return parseEntries(await readAt(await tip()));
    },
    async append(entry) {
      for (let attempt = 0; attempt < 5; attempt++) {
        await fetch();
        const parent = await tip();
        const content = (await readAt(parent)) + serialize(entry);
        const blob = await git(repoDir, ["hash-object", "-w", "--stdin"], {}, content);
        if (blob.exitCode !== 0) throw new Error(`git hash-object failed: ${blob.stderr.trim()}`);
        const index = join(tmpdir(), `gpuci-index-${process.pid}-${Date.now()}`);
        try {
          const env = { GIT_INDEX_FILE: index };
          if (parent) await git(repoDir, ["read-tree", parent], env);
          const add = await git(
            repoDir,
            ["update-index", "--add", "--cacheinfo", `100644,${blob.stdout.trim()},${file}`],
            env,
          );
          if (add.exitCode !== 0) throw new Error(`git update-index failed: ${add.stderr.trim()}`);
          const tree = await git(repoDir, ["write-tree"], env);
          const commit = await git(
            repoDir,
            [
              "commit-tree",
              tree.stdout.trim(),
              ...(parent ? ["-p", parent] : []),
              "-m",
              `gpuci: results for ${entry.commit.slice(0, 12)}`,
            ],
            {
              GIT_AUTHOR_NAME: "gpuci",
              GIT_AUTHOR_EMAIL: "gpuci@users.noreply.github.com",
              GIT_COMMITTER_NAME: "gpuci",
              GIT_COMMITTER_EMAIL: "gpuci@users.noreply.github.com",
            },
          );
          if (commit.exitCode !== 0) throw new Error(`git commit-tree failed: ${commit.stderr.trim()}`);
          const sha = commit.stdout.trim();
          if (options.remote) {
            const push = await git(repoDir, ["push", "--quiet", options.remote, `${sha}:${ref}`]);
            if (push.exitCode === 0) {
              await git(repoDir, ["update-ref", `refs/remotes/${options.remote}/${options.branch}`, sha]);
              return;
            }
            if (/rejected|non-fast-forward|fetch first/i.test(push.stderr)) continue;
            throw new Error(
              `git push to ${options.remote} ${options.branch} failed: ${push.stderr.trim().split("\n")[0]}`,
            );
          }
          const upd = await git(repoDir, ["update-ref", ref, sha, ...(parent ? [parent] : [])]);
          if (upd.exitCode === 0) return;
        } finally {
          await rm(index, { force: true });
        }
      }
      throw new Error(
        `could not append to ${options.branch} after 5 attempts (other runs kept pushing); try again`,
      );
    },
  };
}

/** Open the store a `history:` section describes. */
export function openHistory(config: HistoryConfig, baseDir: string): HistoryStore {
  return config.store === "git-branch"
    ? gitBranchStore(baseDir, { branch: config.branch, ...(config.remote ? { remote: config.remote } : {}) })
    : fileStore(resolve(baseDir, config.path));
}

/** The run's identity for choosing and recording baselines. */
export interface RunContext {
  commit?: string;
  branch?: string;
  runner?: string;
  gpu?: string;
  driver?: string;
}

/** Facts of the current checkout: HEAD, branch, and the merge-base with the base branch. */
export async function gitContext(
  baseDir: string,
  baseBranch: string,
  remote?: string,
): Promise<{ commit?: string; branch?: string; mergeBase?: string }> {
  const head = await git(baseDir, ["rev-parse", "--verify", "HEAD"]);
  if (head.exitCode !== 0) return {};
  const branch = await git(baseDir, ["symbolic-ref", "--quiet", "--short", "HEAD"]);
  const baseRef = remote ? `${remote}/${baseBranch}` : baseBranch;
  const mb = await git(baseDir, ["merge-base", "HEAD", baseRef]);
  return {
    commit: head.stdout.trim(),
    ...(branch.exitCode === 0 ? { branch: branch.stdout.trim() } : {}),
    ...(mb.exitCode === 0 ? { mergeBase: mb.stdout.trim() } : {}),
  };
}

/** How a baseline was chosen. */
export interface ChosenBaseline {
  entry: HistoryEntry;
  why: "merge-base" | "newest on base branch";
}

/**
 * A gate's values on the base branch, oldest first: the last `window` results on the same GPU
 * and driver as this run (where both are known), excluding this commit. One number a run, so
 * a metric without samples still gets a history verdict.
 */
export function baseSeries(
  entries: HistoryEntry[],
  gateId: string,
  opts: { baseBranch: string; commit?: string; gpu?: string; driver?: string; window: number },
): Array<{ commit: string; at: string; value: number }> {
  return entries
    .filter(
      (e) =>
        e.branch === opts.baseBranch &&
        e.commit !== opts.commit &&
        (!opts.gpu || !e.gpu || e.gpu === opts.gpu) &&
        (!opts.driver || !e.driver || e.driver === opts.driver),
    )
    .map((e) => ({ commit: e.commit, at: e.at, value: e.results[gateId]?.value }))
    .filter((x): x is { commit: string; at: string; value: number } => typeof x.value === "number")
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
    .slice(-opts.window);
}

/**
 * The baseline: the merge-base commit's result when present (newest such entry), else the
 * newest entry recorded on the base branch. Entries of the current commit are never used.
 */
export function chooseBaseline(
  entries: HistoryEntry[],
  opts: { mergeBase?: string; baseBranch: string; commit?: string },
): ChosenBaseline | undefined {
  const usable = entries.filter((e) => e.commit !== opts.commit);
  const byTime = (a: HistoryEntry, b: HistoryEntry) => (a.at < b.at ? 1 : -1);
  if (opts.mergeBase) {
    const mb = usable.filter((e) => e.commit === opts.mergeBase).sort(byTime)[0];
    if (mb) return { entry: mb, why: "merge-base" };
  }
  const newest = usable.filter((e) => e.branch === opts.baseBranch).sort(byTime)[0];
  return newest ? { entry: newest, why: "newest on base branch" } : undefined;
}
