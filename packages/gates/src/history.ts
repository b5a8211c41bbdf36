import { createHash, randomUUID } from "node:crypto";
import { appendFile, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execBounded } from "@gpuci/process";
import { GpuciError } from "@gpuci/report";
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
          .describe(
            "Keep at least this many of the newest runs (whole shards of 100 runs are dropped beyond it).",
          ),
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
  /** The pull request this run measured (absent on base-branch runs). */
  pr: z.number().int().positive().optional(),
  runner: z.string().optional(),
  gpu: z.string().optional(),
  driver: z.string().optional(),
  /**
   * A digest of the gates' configuration the run was judged with: one entry is kept per
   * (commit, runner, GPU, config), so a re-run replaces the earlier one.
   */
  config: z.string().optional(),
  /** What the run cost (GPU time priced by cost-budget), when it was priced. */
  costUsd: z.number().nonnegative().optional(),
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

/**
 * A problem with the history store's configuration or its branch: an invalid branch name, the
 * base branch, a branch gpuci did not create, a remote that is not a remote. Exit code 2.
 */
export class HistoryConfigError extends GpuciError {
  constructor(message: string) {
    super("GPUCI_HISTORY_CONFIG", message, { exitCode: 2 });
    this.name = "HistoryConfigError";
  }
}

/** Values beyond this magnitude are refused: squares and sums of squares must stay finite. */
export const MAX_HISTORY_MAGNITUDE = 1e100;

/** An entry whose `at` is more than this far ahead of the reader's clock is refused. */
export const FUTURE_TOLERANCE_MS = 3_600_000;

/** A stored line the store does not use, and why. */
export interface RefusedLine {
  /** The shard file (`results.1.jsonl`). */
  shard: string;
  /** 1-based line number in that shard. */
  line: number;
  reason: string;
}

/** What a read returns: the usable runs in recording order, and the lines refused. */
export interface HistoryRead {
  /** Oldest first, in the order they were recorded (never sorted by a clock). */
  entries: HistoryEntry[];
  refused: RefusedLine[];
}

/** What an append reports besides landing: values refused, locks broken, torn lines mended. */
export interface AppendResult {
  warnings: string[];
}

const isFiniteSane = (v: unknown): v is number =>
  typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= MAX_HISTORY_MAGNITUDE;

/** Why a value is refused, or undefined when it is a finite number of sane size (or null). */
function valueProblem(v: unknown): string | undefined {
  if (v === null || isFiniteSane(v)) return undefined;
  if (typeof v === "number" && Number.isFinite(v)) return `${v} is beyond ±${MAX_HISTORY_MAGNITUDE}`;
  return `${typeof v === "string" ? JSON.stringify(v) : String(v)} is not a finite number`;
}

/** Why a parsed line is refused, or undefined when it is a usable entry. */
function entryProblem(raw: unknown, now: number): string | undefined {
  if (!isObject(raw)) return "not a valid JSON object";
  const shape = checkEntryShape(raw);
  if (shape) return shape;
  const at = Date.parse(raw.at as string);
  if (Number.isNaN(at)) return `at ${JSON.stringify(raw.at)} is not a date`;
  if (at > now + FUTURE_TOLERANCE_MS)
    return `at ${raw.at as string} is in the future (more than an hour ahead of this clock)`;
  return undefined;
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * {@link HistoryEntrySchema} checked by hand, with values that are not finite numbers of sane
 * size refused: a store of 10,000 runs is read in one pass without building zod's copies (a
 * property test keeps the two in agreement). The problem in words, or undefined.
 */
function checkEntryShape(e: Record<string, unknown>): string | undefined {
  const bad = (path: string, what: string) => `not a gpuci history entry (${path}: ${what})`;
  if (e.v !== 1) return bad("v", "expected 1");
  for (const key of ["at", "commit"]) if (typeof e[key] !== "string") return bad(key, "expected a string");
  for (const key of ["branch", "runner", "gpu", "driver", "config"])
    if (e[key] !== undefined && typeof e[key] !== "string") return bad(key, "expected a string");
  if (e.pr !== undefined && !(Number.isSafeInteger(e.pr) && (e.pr as number) > 0))
    return bad("pr", "expected a positive integer");
  if (e.costUsd !== undefined && !(isFiniteSane(e.costUsd) && e.costUsd >= 0))
    return bad("costUsd", "expected a finite number ≥ 0");
  if (!isObject(e.results)) return bad("results", "expected an object");
  for (const id in e.results) {
    const r = e.results[id];
    if (!isObject(r)) return bad(`results.${id}`, "expected an object");
    if (r.value === undefined) return bad(`results.${id}.value`, "expected a number or null");
    const problem = valueProblem(r.value);
    if (problem) return `results.${id}.value ${problem}`;
    for (const key of ["unit", "status"])
      if (r[key] !== undefined && typeof r[key] !== "string")
        return bad(`results.${id}.${key}`, "expected a string");
    if (r.samples !== undefined) {
      if (!Array.isArray(r.samples)) return bad(`results.${id}.samples`, "expected an array");
      for (const x of r.samples) {
        const p = x === null ? "null is not a finite number" : valueProblem(x);
        if (p) return `results.${id}.samples: ${p}`;
      }
    }
  }
  return undefined;
}

/** @internal For the property test that keeps the hand check and the schema in agreement. */
export const checkEntryShapeForTest = (x: unknown) =>
  isObject(x) ? checkEntryShape(x) : "not a valid JSON object";

/** Parse a shard's text: usable entries in line order, the rest refused with the reason. */
function parseShard(text: string, shard: string, now: number, into: HistoryRead): void {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      into.refused.push({
        shard,
        line: i + 1,
        reason:
          i === lines.length - 1
            ? "not a valid JSON object (a torn write: the line has no end)"
            : "not a valid JSON object",
      });
      continue;
    }
    const problem = entryProblem(raw, now);
    if (problem) into.refused.push({ shard, line: i + 1, reason: problem });
    else into.entries.push(raw as HistoryEntry);
  }
}

/**
 * One line that says which stored lines a read refused and why (the first three in full), for a
 * warning finding and `gpuci history`; undefined when none was.
 */
export function describeRefused(read: HistoryRead, where: string): string | undefined {
  const n = read.refused.length;
  if (n === 0) return undefined;
  const shown = read.refused
    .slice(0, 3)
    .map((r) => `${r.shard} line ${r.line}: ${r.reason}`)
    .join("; ");
  return `${n} line${n === 1 ? "" : "s"} of ${where} ${n === 1 ? "was" : "were"} refused and not used (${shown}${n > 3 ? `; and ${n - 3} more` : ""})`;
}

/** Runs per shard file: appends rewrite (git) or grow (file) only the newest shard. */
export const SHARD_RUNS = 100;

/** The git-branch store repacks its repository every this many runs. */
const PACK_EVERY = 20;

/** A rotation lock older than this is stale: a rotation takes milliseconds. */
const STALE_LOCK_MS = 60_000;

/** Concurrent git-branch writers retry for this long by default before giving up. */
const RETRY_FOR_MS = 300_000;

/** A shard larger than this is not read: it is read whole or not at all. */
const MAX_SHARD_BYTES = 512 * 1024 * 1024;

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

/**
 * The line an append writes: the entry compacted, with values that are not finite numbers of
 * sane size refused (a value becomes null, a sample is dropped) and named in `warnings`, so
 * the run still lands and readers never meet NaN, ±Infinity or ±1e308.
 */
function entryLine(entry: HistoryEntry, samples: number): { line: string; warnings: string[] } {
  if (Number.isNaN(Date.parse(entry.at)))
    throw new Error(`history entry at ${JSON.stringify(entry.at)} is not a date; pass an ISO 8601 time`);
  const warnings: string[] = [];
  const results: HistoryEntry["results"] = {};
  for (const [id, r] of Object.entries(entry.results)) {
    const problem = valueProblem(r.value);
    if (problem) warnings.push(`results.${id}: value ${problem}; recorded as no value`);
    const kept = r.samples?.filter((s) => isFiniteSane(s));
    if (r.samples && kept && kept.length < r.samples.length)
      warnings.push(
        `results.${id}: ${r.samples.length - kept.length} sample(s) not finite numbers of sane size; dropped`,
      );
    results[id] = {
      ...r,
      value: problem ? null : r.value,
      ...(r.samples ? { samples: kept ?? [] } : {}),
    };
    if (results[id]!.samples?.length === 0) delete results[id]!.samples;
  }
  const compact = compactEntry({ ...entry, results }, samples);
  if (compact.costUsd !== undefined && !isFiniteSane(compact.costUsd)) delete compact.costUsd;
  return { line: `${JSON.stringify(compact)}\n`, warnings };
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

/**
 * One entry per run identity, (commit, runner, GPU, config): the last recorded wins, in its own
 * place in recording order. Re-running a job (or `gpuci gates` three times on one commit) is one
 * result, not three copies that would make a series look quieter than it is.
 */
export function latestPerRun(entries: readonly HistoryEntry[]): HistoryEntry[] {
  const last = new Map<string, number>();
  entries.forEach((e, i) => {
    last.set(runKey(e), i);
  });
  return entries.filter((e, i) => last.get(runKey(e)) === i);
}

const runKey = (e: HistoryEntry) =>
  JSON.stringify([e.commit, e.runner ?? "", e.gpu ?? "", e.driver ?? "", e.config ?? "", e.pr ?? 0]);

/**
 * What a read keeps: the latest entry per run identity, runs newer than `days` (all when unset),
 * then the newest `runs`.
 */
function retained(read: HistoryRead, keep: Retention, now: number): HistoryRead {
  let entries = latestPerRun(read.entries);
  if (keep.days !== undefined) {
    const cutoff = now - keep.days * 86_400_000;
    entries = entries.filter((e) => Date.parse(e.at) >= cutoff);
  }
  return { entries: entries.slice(-keep.runs), refused: read.refused };
}

/** Reads and appends history entries. */
export interface HistoryStore {
  readonly description: string;
  /**
   * Checks the configuration against the repository (branch name, base branch, remote, a data
   * branch gpuci did not write) and throws {@link HistoryConfigError} before anything is
   * written; reads and appends call it, and `gpuci run` calls it before any command.
   */
  check(): Promise<void>;
  /** The kept runs in recording order, and the stored lines that were refused. */
  read(): Promise<HistoryRead>;
  /** Record one run. Values that are not finite numbers are refused (named in the warnings). */
  append(entry: HistoryEntry): Promise<AppendResult>;
}

/** Tuning the stores take besides retention (tests and benchmarks use small shards). */
export interface StoreTuning {
  /** Runs per shard (default 100). */
  shardRuns?: number;
}

/** Who holds a rotation lock: written into the lock file. */
interface LockHolder {
  pid: number;
  host: string;
  at: string;
}

const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Take the rotation lock (`<file>.lock`, holding pid, host and time). A lock older than a
 * minute, or whose holder on this host is gone, was left by a writer that was stopped: it is
 * broken with a warning. Undefined when a live writer holds it (that writer rotates).
 */
async function takeLock(
  lock: string,
): Promise<{ release: () => Promise<void>; warnings: string[] } | undefined> {
  const warnings: string[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lock, "wx");
      try {
        const holder: LockHolder = { pid: process.pid, host: hostname(), at: new Date().toISOString() };
        await handle.writeFile(`${JSON.stringify(holder)}\n`);
      } finally {
        await handle.close();
      }
      return { release: () => rm(lock, { force: true }), warnings };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const info = await stat(lock).catch(() => undefined);
    if (!info) continue; // released in between: take it
    let holder: Partial<LockHolder> = {};
    try {
      holder = JSON.parse(await readFile(lock, "utf8")) as Partial<LockHolder>;
    } catch {
      // An empty or foreign lock (older gpuci wrote none): judged by its age alone.
    }
    const ageMs = Date.now() - info.mtimeMs;
    const gone = holder.host === hostname() && typeof holder.pid === "number" && !processAlive(holder.pid);
    if (ageMs <= STALE_LOCK_MS && !gone) return undefined;
    // Rename first: of two writers breaking the same lock, one rename wins.
    const broken = `${lock}.stale-${randomUUID()}`;
    try {
      await rename(lock, broken);
    } catch {
      return undefined;
    }
    await rm(broken, { force: true });
    warnings.push(
      `broke a stale lock ${lock}: held by ${typeof holder.pid === "number" ? `pid ${holder.pid} on ${holder.host ?? "an unknown host"}` : "an unknown writer (no holder recorded)"}, ${Math.round(ageMs / 1000)} s old${gone ? ", and that process is gone" : ""}. A writer was stopped while rotating; rotation resumed and no run was lost.`,
    );
  }
  return undefined;
}

/**
 * The embedded store: JSON lines in a file (default `.gpuci/history/results.jsonl`), sharded.
 * Appends go to the newest file with O_APPEND (concurrent appends lose nothing), each on a line
 * of its own even after a torn write. When it holds 100 runs it is renamed to
 * `results.1.jsonl` (older shards move up one) under a lock file, keeping
 * ⌈keep.runs / 100⌉ full shards besides the newest, so at least keep.runs runs stay.
 */
export function fileStore(
  path: string,
  retention: Partial<Retention> = {},
  tuning: StoreTuning = {},
): HistoryStore {
  const keep = { ...DEFAULT_RETENTION, ...retention };
  const shardRuns = tuning.shardRuns ?? SHARD_RUNS;
  const older = Math.ceil(keep.runs / shardRuns);
  const readShard = async (i: number) => {
    try {
      return await readFile(shardName(path, i), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
      throw error;
    }
  };
  /** True when the file exists and its last byte is not a newline (a torn write). */
  const endsTorn = async () => {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
    try {
      const { size } = await handle.stat();
      if (size === 0) return false;
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      return last[0] !== 0x0a;
    } finally {
      await handle.close();
    }
  };
  const rotate = async (): Promise<string[]> => {
    const lock = await takeLock(`${path}.lock`);
    if (!lock) return []; // another run is rotating
    try {
      if (countLines(await readShard(0)) < shardRuns) return lock.warnings;
      await rm(shardName(path, older), { force: true });
      for (let i = older - 1; i >= 0; i--)
        await rename(shardName(path, i), shardName(path, i + 1)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw error;
        });
      return lock.warnings;
    } finally {
      await lock.release();
    }
  };
  const base = path.slice(dirname(path).length + 1);
  return {
    description: path,
    async check() {},
    async read() {
      const now = Date.now();
      const read: HistoryRead = { entries: [], refused: [] };
      // Read every shard at once (the disk works while the CPU parses), then parse oldest first.
      const texts = await Promise.all(Array.from({ length: older + 1 }, (_, k) => readShard(older - k)));
      texts.forEach((text, k) => {
        parseShard(text, shardName(base, older - k), now, read);
      });
      return retained(read, keep, now);
    },
    async append(entry) {
      const { line, warnings } = entryLine(entry, keep.samples);
      await mkdir(dirname(path), { recursive: true });
      // A torn last line (a kill or a full disk mid-write) must not swallow this run.
      const torn = await endsTorn();
      if (torn)
        warnings.push(
          `the last line of ${path} was torn (no newline at its end); this run starts on a line of its own and the torn line is refused when read`,
        );
      await appendFile(path, torn ? `\n${line}` : line);
      if (countLines(await readShard(0)) >= shardRuns) warnings.push(...(await rotate()));
      return { warnings };
    },
  };
}

const GPUCI_IDENTITY = { name: "gpuci", email: "gpuci@users.noreply.github.com" };

async function git(cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}, input?: string) {
  const r = await execBounded("git", args, {
    cwd,
    timeoutMs: 60_000,
    env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", ...extraEnv },
    ...(input !== undefined ? { input } : {}),
  });
  return r;
}

const firstLine = (text: string) => text.trim().split("\n")[0] ?? "";

/**
 * `history.branch` as git would take it: `git check-ref-format`, never an option (`-x`) nor
 * `HEAD`. Throws {@link HistoryConfigError} naming the fix.
 */
export async function checkBranchName(repoDir: string, branch: string): Promise<void> {
  const bad = (why: string) =>
    new HistoryConfigError(
      `history.branch ${JSON.stringify(branch)} is not a valid branch name (${why}). Use letters, digits and - _ / . such as gpuci-data (the default).`,
    );
  if (!branch || branch.startsWith("-")) throw bad("it must not be empty or start with -");
  if (branch === "HEAD" || branch.startsWith("refs/")) throw bad("HEAD and refs/… are reserved");
  const r = await git(repoDir, ["check-ref-format", `refs/heads/${branch}`]);
  if (r.error) throw new HistoryConfigError(`git could not be started: ${r.error.message}. Install git.`);
  if (r.exitCode !== 0) throw bad("git check-ref-format refuses it");
}

/**
 * `history.remote` as git would take it: a remote of the repository (`git remote`) or a URL or
 * path, never an option (`--upload-pack=…`) nor a command transport (`ext::`). Returns whether
 * it names a configured remote.
 */
export async function checkRemote(repoDir: string, remote: string): Promise<{ named: boolean }> {
  const bad = (why: string) =>
    new HistoryConfigError(
      `history.remote ${JSON.stringify(remote)} ${why}. Set it to a remote of the repository (such as origin) or a repository URL.`,
    );
  if (!remote || remote.startsWith("-") || /[\s\u0000-\u001f\u007f]/.test(remote))
    throw bad("is not a remote: it is empty, starts with - or holds spaces or control characters");
  if (/^(ext|fd)::/i.test(remote)) throw bad("uses a transport that runs commands (ext::, fd::)");
  const names = (await git(repoDir, ["remote"])).stdout.split("\n").filter(Boolean);
  if (names.includes(remote)) return { named: true };
  const urlLike =
    /^[a-z][a-z0-9+.-]*:\/\//i.test(remote) ||
    /^[\w.-]+@[\w.-]+:/.test(remote) ||
    /^(\/|\.\.?\/)/.test(remote);
  if (!urlLike)
    throw bad(
      `is neither a remote of this repository (${names.length ? `git remote: ${names.join(", ")}` : "it has none"}) nor a URL or path`,
    );
  return { named: false };
}

/**
 * The git-branch store: results committed to a branch of the repository (like
 * github-action-benchmark's gh-pages data), written with git plumbing so the working tree and
 * the index of the checkout are never touched. Blobs are read whole or not at all. With a remote,
 * reads fetch it first, and a push that loses a race is retried on top of the new tip after a
 * randomized backoff, for up to five minutes. gpuci writes only to a branch it created (whose
 * tip it wrote), never to the base branch or the checked-out one.
 */
export function gitBranchStore(
  repoDir: string,
  options: {
    branch: string;
    remote?: string;
    file?: string;
    keep?: Partial<Retention>;
    /** The base branch, which is never written. */
    baseBranch?: string;
    /** How long concurrent writers keep retrying (default 5 minutes). */
    retryForMs?: number;
  } & StoreTuning,
): HistoryStore {
  const file = options.file ?? "history/results.jsonl";
  const keep = { ...DEFAULT_RETENTION, ...options.keep };
  const shardRuns = options.shardRuns ?? SHARD_RUNS;
  const older = Math.ceil(keep.runs / shardRuns);
  const ref = `refs/heads/${options.branch}`;
  const dir = dirname(file);
  const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const ext = file.endsWith(".jsonl") ? ".jsonl" : "";
  const shardPattern = new RegExp(
    `^${escapeRe(file.slice(0, file.length - ext.length))}(?:\\.(\\d+))?${escapeRe(ext)}$`,
  );
  /** The shard number of a path in the branch (0 = newest), or -1 when it is not a shard. */
  const shardIndex = (path: string) => {
    const m = shardPattern.exec(path);
    return m ? Number(m[1] ?? 0) : -1;
  };
  let tracking = ref;
  let checked: Promise<void> | undefined;
  const ours = new Set<string>();
  const check = () => {
    checked ??= (async () => {
      await checkBranchName(repoDir, options.branch);
      if (options.baseBranch !== undefined && options.branch === options.baseBranch)
        throw new HistoryConfigError(
          `history.branch ${JSON.stringify(options.branch)} is the base branch: gpuci would commit results onto your code. Set history.branch to a branch of its own (default gpuci-data).`,
        );
      const current = await git(repoDir, ["symbolic-ref", "--quiet", "--short", "HEAD"]);
      if (current.exitCode === 0 && current.stdout.trim() === options.branch)
        throw new HistoryConfigError(
          `history.branch ${JSON.stringify(options.branch)} is the branch checked out in ${repoDir}: gpuci would move it under the working tree. Set history.branch to a branch of its own (default gpuci-data).`,
        );
      if (options.remote) {
        const { named } = await checkRemote(repoDir, options.remote);
        tracking = named
          ? `refs/remotes/${options.remote}/${options.branch}`
          : `refs/gpuci/remotes/${createHash("sha256").update(options.remote).digest("hex").slice(0, 16)}/${options.branch}`;
      }
      // The branch as it is now must be gpuci's own (or absent): checked before any command.
      await fetchOnce();
      const at = await tip();
      if (at) await assertOurs(at);
    })().catch((error: unknown) => {
      // A config error stands; a remote that failed for a moment is asked again next time.
      if (!(error instanceof HistoryConfigError)) checked = undefined;
      throw error;
    });
    return checked;
  };
  /** Throws unless gpuci wrote `commit`: committed as gpuci, holding history shards only. */
  const assertOurs = async (commit: string) => {
    if (ours.has(commit)) return;
    const raw = await git(repoDir, ["cat-file", "commit", commit]);
    if (raw.exitCode !== 0) throw new Error(`git cat-file ${commit} failed: ${firstLine(raw.stderr)}`);
    const committer = /^committer (.*) <([^>]*)>/m.exec(raw.stdout);
    const tree = await git(repoDir, ["ls-tree", "-r", "--full-tree", "--name-only", commit]);
    if (tree.exitCode !== 0) throw new Error(`git ls-tree ${commit} failed: ${firstLine(tree.stderr)}`);
    const foreign = tree.stdout.split("\n").filter((p) => p && shardIndex(p) < 0);
    const byGpuci = committer?.[1] === GPUCI_IDENTITY.name && committer?.[2] === GPUCI_IDENTITY.email;
    if (!byGpuci || foreign.length)
      throw new HistoryConfigError(
        `history.branch ${JSON.stringify(options.branch)}${options.remote ? ` on ${options.remote}` : ""} exists and its tip ${commit.slice(0, 12)} was not written by gpuci (${!byGpuci ? `committed by ${committer?.[1] ?? "?"} <${committer?.[2] ?? "?"}>` : ""}${!byGpuci && foreign.length ? ", " : ""}${foreign.length ? `it holds ${foreign.slice(0, 2).join(", ")}${foreign.length > 2 ? ", …" : ""}` : ""}). gpuci writes only to a branch it created and never force-pushes another. Set history.branch to a new name (default gpuci-data); if you edited the data branch by hand, commit as ${GPUCI_IDENTITY.name} <${GPUCI_IDENTITY.email}> with only ${dir}/ files.`,
      );
    ours.add(commit);
  };
  const permanent =
    /Authentication failed|Permission denied|could not read Username|Repository not found|does not appear to be a git repository|not found|protected branch|denied/i;
  /** Fetch the branch: undefined when done (or absent on the remote), else why it failed. */
  const fetch = async (): Promise<string | undefined> => {
    if (!options.remote) return undefined;
    const r = await git(repoDir, [
      "fetch",
      "--quiet",
      "--no-write-fetch-head",
      "--end-of-options",
      options.remote,
      `+${ref}:${tracking}`,
    ]);
    if (r.exitCode === 0 || /couldn't find remote ref/i.test(r.stderr)) return undefined;
    if (permanent.test(r.stderr) && !/cannot lock|unable to lock/i.test(r.stderr))
      throw new Error(`git fetch from ${options.remote} failed: ${firstLine(r.stderr)}`);
    return `fetch: ${firstLine(r.stderr)}`;
  };
  /** Fetch, retrying briefly: another fetch in the same clone may hold the ref's lock. */
  const fetchOnce = async () => {
    for (let attempt = 1, failed = await fetch(); failed; attempt++, failed = await fetch()) {
      if (attempt >= 5)
        throw new Error(`could not fetch ${options.branch} from ${options.remote}: ${failed}`);
      await sleep(Math.random() * 200 * attempt);
    }
  };
  const tip = async (): Promise<string | undefined> => {
    const r = await git(repoDir, ["rev-parse", "--verify", "--quiet", `${tracking}^{commit}`]);
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  };
  /** Blob ids of the shards at a commit, newest first (undefined where missing). */
  const shardBlobs = async (commit: string | undefined): Promise<Array<string | undefined>> => {
    const out: Array<string | undefined> = Array.from({ length: older + 2 }, () => undefined);
    if (!commit) return out;
    const r = await git(repoDir, ["ls-tree", "--full-tree", commit, "--", `${dir}/`]);
    if (r.exitCode !== 0) throw new Error(`git ls-tree ${commit} failed: ${firstLine(r.stderr)}`);
    for (const line of r.stdout.split("\n")) {
      const m = /^\d+ blob ([0-9a-f]+)\t(.+)$/.exec(line);
      if (!m) continue;
      const i = shardIndex(m[2]!);
      if (i >= 0 && i < out.length) out[i] = m[1];
    }
    return out;
  };
  /** A blob's whole text; throws rather than return part of it. */
  const readBlob = async (blob: string, name: string) => {
    const r = await execBounded("git", ["cat-file", "blob", blob], {
      cwd: repoDir,
      timeoutMs: 120_000,
      maxOutputBytes: MAX_SHARD_BYTES,
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
    });
    if (r.truncated)
      throw new Error(
        `${name} on ${options.branch} is larger than ${MAX_SHARD_BYTES / 1048576} MiB; gpuci reads shards whole or not at all. Lower history.keep.samples or split metrics across stores.`,
      );
    if (r.exitCode !== 0) throw new Error(`git cat-file ${blob} (${name}) failed: ${firstLine(r.stderr)}`);
    return r.stdout;
  };
  const author = {
    GIT_AUTHOR_NAME: GPUCI_IDENTITY.name,
    GIT_AUTHOR_EMAIL: GPUCI_IDENTITY.email,
    GIT_COMMITTER_NAME: GPUCI_IDENTITY.name,
    GIT_COMMITTER_EMAIL: GPUCI_IDENTITY.email,
  };
  /** One try: "landed", or why it must be tried again on a newer tip. */
  const tryAppend = async (line: string, commitLabel: string, warnings: string[]): Promise<string> => {
    const fetched = await fetch();
    if (fetched) return fetched;
    const parent = await tip();
    if (parent) await assertOurs(parent);
    const blobs = await shardBlobs(parent);
    const current = blobs[0] ? await readBlob(blobs[0], file) : "";
    // A full newest shard moves up (the oldest kept shard falls off) and a new one starts.
    const full = countLines(current) >= shardRuns;
    const torn = current.length > 0 && !current.endsWith("\n");
    if (torn && !full)
      warnings.push(
        `the last line of ${file} on ${options.branch} was torn; this run starts on a line of its own`,
      );
    const content = full ? line : `${current}${torn ? "\n" : ""}${line}`;
    const blob = await git(repoDir, ["hash-object", "-w", "--stdin"], {}, content);
    if (blob.exitCode !== 0) throw new Error(`git hash-object failed: ${firstLine(blob.stderr)}`);
    const moves: string[] = [];
    if (full)
      for (let i = older; i >= 1; i--) {
        const from = blobs[i - 1];
        if (from) moves.push(`100644 ${from}\t${shardName(file, i)}`);
        else if (blobs[i]) moves.push(`0 ${"0".repeat(40)}\t${shardName(file, i)}`);
      }
    if (full && blobs[older + 1]) moves.push(`0 ${"0".repeat(40)}\t${shardName(file, older + 1)}`);
    const index = join(tmpdir(), `gpuci-index-${randomUUID()}`);
    try {
      const env = { GIT_INDEX_FILE: index };
      if (parent) {
        const rt = await git(repoDir, ["read-tree", parent], env);
        if (rt.exitCode !== 0) throw new Error(`git read-tree failed: ${firstLine(rt.stderr)}`);
      }
      if (moves.length) {
        const idx = await git(repoDir, ["update-index", "--index-info"], env, `${moves.join("\n")}\n`);
        if (idx.exitCode !== 0) throw new Error(`git update-index failed: ${firstLine(idx.stderr)}`);
      }
      const add = await git(
        repoDir,
        ["update-index", "--add", "--cacheinfo", `100644,${blob.stdout.trim()},${file}`],
        env,
      );
      if (add.exitCode !== 0) throw new Error(`git update-index failed: ${firstLine(add.stderr)}`);
      const tree = await git(repoDir, ["write-tree"], env);
      if (tree.exitCode !== 0) throw new Error(`git write-tree failed: ${firstLine(tree.stderr)}`);
      const commit = await git(
        repoDir,
        [
          "commit-tree",
          tree.stdout.trim(),
          // A rotation starts the branch afresh: the tree holds every kept run, and the
          // dropped runs' commits become unreachable, so .git stays bounded too. The parent
          // was checked above to be gpuci's own commit.
          ...(parent && !full ? ["-p", parent] : []),
          "-m",
          `gpuci: results for ${commitLabel}${full ? " (shards rotated; history squashed)" : ""}`,
        ],
        author,
      );
      if (commit.exitCode !== 0) throw new Error(`git commit-tree failed: ${firstLine(commit.stderr)}`);
      const sha = commit.stdout.trim();
      ours.add(sha);
      if (options.remote) {
        const push = await git(repoDir, [
          "push",
          "--quiet",
          // A squashed tip replaces gpuci's own tip, and only if nobody pushed in between;
          // without a parent the branch is new, and a plain push never overwrites one.
          ...(full && parent ? [`--force-with-lease=${ref}:${parent}`] : []),
          "--end-of-options",
          options.remote,
          `${sha}:${ref}`,
        ]);
        if (push.exitCode === 0) {
          await git(repoDir, ["update-ref", tracking, sha]);
          return "landed";
        }
        const reason = firstLine(push.stderr.replace(/^To .*\n/m, ""));
        if (
          /hook declined|protected branch|permission|denied|Authentication|not found|does not appear/i.test(
            push.stderr,
          )
        )
          throw new Error(`git push to ${options.remote} ${options.branch} was refused: ${reason}`);
        if (
          /rejected|non-fast-forward|fetch first|stale info|cannot lock|failed to lock|unable to lock|incorrect old value|failed to update ref|timed out|RPC failed|early EOF|unexpected disconnect|Connection|HTTP 5\d\d/i.test(
            push.stderr,
          )
        )
          return `push: ${reason}`;
        throw new Error(`git push to ${options.remote} ${options.branch} failed: ${reason}`);
      }
      // No reflog for the data branch: it would keep every squashed commit reachable.
      const upd = await git(repoDir, [
        "-c",
        "core.logAllRefUpdates=false",
        "update-ref",
        ref,
        sha,
        parent ?? "0".repeat(40),
      ]);
      if (upd.exitCode !== 0) return `update-ref: ${firstLine(upd.stderr)}`;
      // Pack often: each run's shard is a near-copy of the last and deltas to almost nothing
      // in one pack, while loose copies would each cost the whole shard. (With a remote, the
      // pushes keep the packing to the server.)
      if (countLines(content) % PACK_EVERY === 0) await git(repoDir, ["repack", "-a", "-d", "-q"]);
      return "landed";
    } finally {
      await rm(index, { force: true });
    }
  };
  return {
    description: `${options.remote ? `${options.remote}/` : ""}${options.branch}:${file}`,
    check,
    async read() {
      await check();
      await fetchOnce();
      const at = await tip();
      if (at) await assertOurs(at);
      const blobs = await shardBlobs(at);
      const now = Date.now();
      const read: HistoryRead = { entries: [], refused: [] };
      // Eight `git cat-file` at a time, then parse oldest first.
      const order = Array.from({ length: older + 1 }, (_, k) => older - k);
      const texts: string[] = [];
      for (let k = 0; k < order.length; k += 8)
        texts.push(
          ...(await Promise.all(
            order.slice(k, k + 8).map((i) => (blobs[i] ? readBlob(blobs[i]!, shardName(file, i)) : "")),
          )),
        );
      texts.forEach((text, k) => {
        parseShard(text, shardName(file, order[k]!), now, read);
      });
      return retained(read, keep, now);
    },
    async append(entry) {
      await check();
      const { line, warnings } = entryLine(entry, keep.samples);
      const retryFor = options.retryForMs ?? RETRY_FOR_MS;
      const started = Date.now();
      let why = "";
      for (let attempt = 1; ; attempt++) {
        why = await tryAppend(line, entry.commit.slice(0, 12), warnings);
        if (why === "landed") {
          if (attempt > 1)
            warnings.push(`landed on ${options.branch} after ${attempt} attempts (other runs were pushing)`);
          return { warnings };
        }
        const elapsed = Date.now() - started;
        if (elapsed >= retryFor)
          throw new Error(
            `could not append to ${options.branch} in ${Math.round(elapsed / 1000)} s (${attempt} attempts; last: ${why}): other runs kept pushing, or the remote keeps refusing. Try again; if it persists, check the remote.`,
          );
        // Full-jitter exponential backoff (0.1 s doubling to 8 s): simultaneous writers spread
        // out instead of colliding again on the next tip.
        const cap = Math.min(8000, 100 * 2 ** attempt);
        await sleep(Math.min(retryFor - elapsed, Math.random() * cap));
      }
    },
  };
}

/** Open the store a `history:` section describes. */
export function openHistory(config: HistoryConfig, baseDir: string): HistoryStore {
  return config.store === "git-branch"
    ? gitBranchStore(baseDir, {
        branch: config.branch,
        keep: config.keep,
        baseBranch: config.baseBranch,
        ...(config.remote ? { remote: config.remote } : {}),
      })
    : fileStore(resolve(baseDir, config.path), config.keep);
}

/** The run's identity for choosing and recording baselines. */
export interface RunContext {
  commit?: string;
  branch?: string;
  pr?: number;
  runner?: string;
  gpu?: string;
  driver?: string;
  costUsd?: number;
}

/**
 * Whether a run's results are base-branch history, decided before any of its commands run (so
 * a command cannot change the answer by moving HEAD or a branch).
 */
export interface HistoryRun {
  /** HEAD when the run started. */
  commit?: string;
  /** The branch recorded: history.baseBranch only when `onBaseBranch`, never otherwise. */
  branch?: string;
  /** The merge base of HEAD with the base branch, for the baseline. */
  mergeBase?: string;
  onBaseBranch: boolean;
  /** Tracked files with uncommitted changes when the run started (the first 50). */
  dirty?: string[];
  /** Why (or why not), in words, for the log. */
  why: string;
}

/** Events whose run on the base branch records base-branch history in GitHub Actions. */
const BASE_EVENTS = ["push", "schedule", "workflow_dispatch"];

/**
 * Decide, before any command runs, whether this run is base-branch history: its commit must be
 * reachable from the remote base branch (`<history.remote or origin>/<baseBranch>`; the local
 * branch only in a repository without remotes) and, in GitHub Actions, the event must be a
 * push (or schedule, workflow_dispatch) to the base branch. A pull request is never base-branch
 * history, whatever its commands do to the checkout.
 */
export async function decideHistoryRun(
  baseDir: string,
  config: { baseBranch: string; remote?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<HistoryRun> {
  const head = await git(baseDir, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]);
  if (head.exitCode !== 0) return { onBaseBranch: false, why: "not a git checkout with a commit" };
  const commit = head.stdout.trim();
  const symbolic = await git(baseDir, ["symbolic-ref", "--quiet", "--short", "HEAD"]);
  const remotes = (await git(baseDir, ["remote"])).stdout.split("\n").filter(Boolean);
  const remote =
    config.remote && remotes.includes(config.remote)
      ? config.remote
      : remotes.includes("origin")
        ? "origin"
        : undefined;
  const baseRef = remote ? `refs/remotes/${remote}/${config.baseBranch}` : `refs/heads/${config.baseBranch}`;
  const baseName = remote ? `${remote}/${config.baseBranch}` : config.baseBranch;
  const hasBase =
    (await git(baseDir, ["rev-parse", "--verify", "--quiet", `${baseRef}^{commit}`])).exitCode === 0;
  const mb = hasBase ? await git(baseDir, ["merge-base", "HEAD", baseRef]) : undefined;
  const mergeBase = mb?.exitCode === 0 ? mb.stdout.trim() : undefined;
  const headLabel = env.GITHUB_HEAD_REF || (symbolic.exitCode === 0 ? symbolic.stdout.trim() : undefined);
  // Tracked files only: benchmark outputs and build folders are untracked and say nothing about
  // whether the code measured is the commit's.
  const status = await git(baseDir, ["status", "--porcelain", "-z", "--untracked-files=no"]);
  const dirtyFiles =
    status.exitCode === 0
      ? status.stdout
          .split("\0")
          .filter((l) => l.length > 3 && l[2] === " ")
          .map((l) => l.slice(3))
          .slice(0, 50)
      : [];
  const dirty = dirtyFiles.length ? { dirty: dirtyFiles } : {};
  const notBase = (why: string): HistoryRun => ({
    ...dirty,
    commit,
    ...(headLabel && headLabel !== config.baseBranch ? { branch: headLabel } : {}),
    ...(mergeBase ? { mergeBase } : {}),
    onBaseBranch: false,
    why,
  });
  if (env.GITHUB_ACTIONS === "true") {
    const event = env.GITHUB_EVENT_NAME ?? "unknown";
    if (!BASE_EVENTS.includes(event) || env.GITHUB_REF !== `refs/heads/${config.baseBranch}`)
      return notBase(
        `the ${event} event on ${env.GITHUB_REF ?? "an unknown ref"} is not a push to ${config.baseBranch}`,
      );
  }
  if (!hasBase)
    return notBase(
      `${baseName} is not in this checkout (fetch it: actions/checkout with fetch-depth: 0, or git fetch ${remote ?? "origin"} ${config.baseBranch})`,
    );
  const reachable = await git(baseDir, ["merge-base", "--is-ancestor", commit, baseRef]);
  if (reachable.exitCode !== 0) return notBase(`${commit.slice(0, 12)} is not on ${baseName}`);
  return {
    ...dirty,
    commit,
    branch: config.baseBranch,
    ...(mergeBase ? { mergeBase } : {}),
    onBaseBranch: true,
    why: `${commit.slice(0, 12)} is on ${baseName}`,
  };
}

/**
 * A metric's anchor on the dashboard (`metric-<id>`): gate ids are letters, digits and . _ -,
 * and anything else (from an older store) is spelled out as `_<hex>`.
 */
export function metricAnchor(id: string): string {
  return `metric-${id.replace(/[^A-Za-z0-9_.-]/g, (c) => `_${c.codePointAt(0)!.toString(16)}`)}`;
}

/** The link to a metric on the dashboard published at `url` (dashboard.url). */
export function dashboardLink(url: string, id: string): string {
  return `${url.replace(/#.*$/, "").replace(/\/?$/, "/")}#${metricAnchor(id)}`;
}

/** How a baseline was chosen. */
export interface ChosenBaseline {
  entry: HistoryEntry;
  why: "merge-base" | "newest on base branch";
}

/**
 * A gate's values on the base branch, oldest first (in recording order): the last `window`
 * results on the same GPU and driver as this run (where both are known), excluding this
 * commit. One number a run, so a metric without samples still gets a history verdict.
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
    .slice(-opts.window);
}

/**
 * The baseline: the merge-base commit's result when present (the last recorded such entry),
 * else the last entry recorded on the base branch. Entries of the current commit are never
 * used. "Last" is recording order, never a clock a runner could have wrong.
 */
export function chooseBaseline(
  entries: HistoryEntry[],
  opts: { mergeBase?: string; baseBranch: string; commit?: string },
): ChosenBaseline | undefined {
  const usable = entries.filter((e) => e.commit !== opts.commit);
  if (opts.mergeBase) {
    const mb = usable.findLast((e) => e.commit === opts.mergeBase);
    if (mb) return { entry: mb, why: "merge-base" };
  }
  const newest = usable.findLast((e) => e.branch === opts.baseBranch);
  return newest ? { entry: newest, why: "newest on base branch" } : undefined;
}
