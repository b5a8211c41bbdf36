import { appendFile, mkdir, open, readFile, rename, rm } from "node:fs/promises";
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
    keep: z
      .strictObject({
        runs: z
          .number()
          .int()
          .min(100)
          .default(2000)
          .describe("Keep about this many of the newest runs (older shards of 100 runs are dropped)."),
        days: z.number().positive().optional().describe("Also drop runs older than this many days."),
        samples: z
          .number()
          .int()
          .min(0)
          .default(20)
          .describe(
            "Samples kept per result (evenly spaced, in order); values are kept to 6 significant digits.",
          ),
      })
      .prefault({})
      .describe("Retention: the store stays small however many runs it sees."),
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

/** Runs per shard file: appends rewrite (git) or grow (file) only the newest shard. */
export const SHARD_RUNS = 100;

/** The git-branch store repacks its repository every this many runs. */
const PACK_EVERY = 20;

/** How much history a store keeps. */
export interface Retention {
  runs: number;
  days?: number;
  samples: number;
}
const DEFAULT_RETENTION: Retention = { runs: 2000, samples: 20 };

const round6 = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(6)) : v);

/** An entry as stored: values to 6 significant digits, at most `samples` samples in order. */
export function compactEntry(entry: HistoryEntry, samples = DEFAULT_RETENTION.samples): HistoryEntry {
  const results: HistoryEntry["results"] = {};
  for (const [id, r] of Object.entries(entry.results)) {
    let kept = r.samples;
    if (kept && kept.length > samples) {
      const step = kept.length / samples;
      kept = Array.from({ length: samples }, (_, i) => kept![Math.floor(i * step)]!);
    }
    results[id] = {
      value: r.value === null ? null : round6(r.value),
      ...(r.unit ? { unit: r.unit } : {}),
      ...(kept?.length ? { samples: kept.map(round6) } : {}),
      ...(r.status ? { status: r.status } : {}),
    };
  }
  return { ...entry, results };
}

/** Serialize an entry; NaN becomes null (JSON cannot hold it). */
function serialize(entry: HistoryEntry): string {
  return `${JSON.stringify(entry, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v))}\n`;
}

/** Shard names, newest first: results.jsonl, results.1.jsonl, results.2.jsonl, … */
function shardName(base: string, i: number): string {
  return i === 0 ? base : base.replace(/(\.jsonl)?$/, `.${i}$1`);
}

const countLines = (text: string) => {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
};

/** Entries newer than `days` (all when unset). */
function withinDays(entries: HistoryEntry[], days: number | undefined, now = Date.now()): HistoryEntry[] {
  if (days === undefined) return entries;
  const cutoff = now - days * 86_400_000;
  return entries.filter((e) => Date.parse(e.at) >= cutoff);
}

/** Reads and appends history entries. */
export interface HistoryStore {
  readonly description: string;
  read(): Promise<HistoryEntry[]>;
  append(entry: HistoryEntry): Promise<void>;
}

/**
 * The embedded store: JSON lines in a file (default `.gpuci/history/results.jsonl`), sharded:
 * appends go to the newest file with O_APPEND (concurrent appends lose nothing); when it holds
 * 100 runs it is renamed to `results.1.jsonl` (older shards move up one) under a lock file, and
 * shards past `keep.runs` are deleted, so the store stays bounded.
 */
export function fileStore(path: string, retention: Partial<Retention> = {}): HistoryStore {
  const keep = { ...DEFAULT_RETENTION, ...retention };
  const shards = Math.max(1, Math.ceil(keep.runs / SHARD_RUNS));
  const readShard = async (i: number) => {
    try {
      return await readFile(shardName(path, i), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
      throw error;
    }
  };
  const rotate = async () => {
    const lock = `${path}.lock`;
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(lock, "wx");
    } catch {
      return; // another run is rotating
    }
    try {
      if (countLines(await readShard(0)) < SHARD_RUNS) return;
      await rm(shardName(path, shards), { force: true });
      for (let i = shards - 1; i >= 0; i--)
        await rename(shardName(path, i), shardName(path, i + 1)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw error;
        });
      await rm(shardName(path, shards), { force: true });
    } finally {
      await handle.close();
      await rm(lock, { force: true });
    }
  };
  return {
    description: path,
    async read() {
      const texts = await Promise.all(Array.from({ length: shards }, (_, i) => readShard(shards - 1 - i)));
      return withinDays(parseEntries(texts.join("")), keep.days);
    },
    async append(entry) {
      await mkdir(dirname(path), { recursive: true });
      await appendFile(path, serialize(compactEntry(entry, keep.samples)));
      if (countLines(await readShard(0)) >= SHARD_RUNS) await rotate();
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
  options: { branch: string; remote?: string; file?: string; keep?: Partial<Retention> },
): HistoryStore {
  const file = options.file ?? "history/results.jsonl";
  const keep = { ...DEFAULT_RETENTION, ...options.keep };
  const shards = Math.max(1, Math.ceil(keep.runs / SHARD_RUNS));
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
  const readAt = async (commit: string | undefined, name = file) => {
    if (!commit) return "";
    const r = await git(repoDir, ["show", `${commit}:${name}`]);
    return r.exitCode === 0 ? r.stdout : "";
  };
  /** Blob ids of the shards at a commit, newest first (undefined where missing). */
  const shardBlobs = async (commit: string | undefined): Promise<Array<string | undefined>> => {
    const out: Array<string | undefined> = Array.from({ length: shards + 1 }, () => undefined);
    if (!commit) return out;
    const dir = dirname(file);
    const r = await git(repoDir, ["ls-tree", commit, `${dir}/`]);
    for (const line of r.stdout.split("\n")) {
      const m = /^\d+ blob ([0-9a-f]+)\t(.+)$/.exec(line);
      if (!m) continue;
      for (let i = 0; i <= shards; i++) if (m[2] === shardName(file, i)) out[i] = m[1];
    }
    return out;
  };
  return {
    description: `${options.remote ? `${options.remote}/` : ""}${options.branch}:${file}`,
    async read() {
      await fetch();
      const at = await tip();
      const texts: string[] = [];
      for (let i = shards - 1; i >= 0; i--) texts.push(await readAt(at, shardName(file, i)));
      return withinDays(parseEntries(texts.join("")), keep.days);
    },
    async append(entry) {
      for (let attempt = 0; attempt < 5; attempt++) {
        await fetch();
        const parent = await tip();
        const current = await readAt(parent);
        // A full newest shard moves up (shards past keep.runs fall off) and a new one starts.
        const full = countLines(current) >= SHARD_RUNS;
        const content = (full ? "" : current) + serialize(compactEntry(entry, keep.samples));
        const blob = await git(repoDir, ["hash-object", "-w", "--stdin"], {}, content);
        if (blob.exitCode !== 0) throw new Error(`git hash-object failed: ${blob.stderr.trim()}`);
        const moves: string[] = [];
        if (full) {
          const blobs = await shardBlobs(parent);
          for (let i = shards; i >= 1; i--) {
            const from = blobs[i - 1];
            if (i === shards) moves.push(`0 ${"0".repeat(40)}\t${shardName(file, i)}`);
            if (from && i < shards) moves.push(`100644 ${from}\t${shardName(file, i)}`);
          }
        }
        const index = join(tmpdir(), `gpuci-index-${process.pid}-${Date.now()}`);
        try {
          const env = { GIT_INDEX_FILE: index };
          if (parent) await git(repoDir, ["read-tree", parent], env);
          if (moves.length) {
            const idx = await git(repoDir, ["update-index", "--index-info"], env, `${moves.join("\n")}\n`);
            if (idx.exitCode !== 0) throw new Error(`git update-index failed: ${idx.stderr.trim()}`);
          }
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
              // A rotation starts the branch afresh: the tree holds every kept run, and the
              // dropped runs' commits become unreachable, so .git stays bounded too.
              ...(parent && !full ? ["-p", parent] : []),
              "-m",
              `gpuci: results for ${entry.commit.slice(0, 12)}${full ? " (shards rotated; history squashed)" : ""}`,
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
            const push = await git(repoDir, [
              "push",
              "--quiet",
              // The squashed tip replaces the old one only if nobody pushed in between.
              ...(full && parent ? [`--force-with-lease=${ref}:${parent}`] : []),
              options.remote,
              `${sha}:${ref}`,
            ]);
            if (push.exitCode === 0) {
              await git(repoDir, ["update-ref", `refs/remotes/${options.remote}/${options.branch}`, sha]);
              return;
            }
            if (/rejected|non-fast-forward|fetch first|stale info/i.test(push.stderr)) continue;
            throw new Error(
              `git push to ${options.remote} ${options.branch} failed: ${push.stderr.trim().split("\n")[0]}`,
            );
          }
          // No reflog for the data branch: it would keep every squashed commit reachable.
          const upd = await git(repoDir, [
            "-c",
            "core.logAllRefUpdates=false",
            "update-ref",
            ref,
            sha,
            ...(parent ? [parent] : []),
          ]);
          if (upd.exitCode === 0) {
            // Pack often: each run's shard is a near-copy of the last and deltas to almost
            // nothing in one pack, while loose copies would each cost the whole shard. (With a
            // remote, the pushes keep the packing to the server.)
            if (!options.remote && countLines(content) % PACK_EVERY === 0)
              await git(repoDir, ["repack", "-a", "-d", "-q"]);
            return;
          }
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
    ? gitBranchStore(baseDir, {
        branch: config.branch,
        keep: config.keep,
        ...(config.remote ? { remote: config.remote } : {}),
      })
    : fileStore(resolve(baseDir, config.path), config.keep);
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
