import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkEntryShapeForTest } from "./history.js";
import {
  chooseBaseline,
  compactEntry,
  decideHistoryRun,
  describeRefused,
  evaluateGates,
  fileStore,
  gitBranchStore,
  HistoryConfigError,
  type HistoryEntry,
  HistoryEntrySchema,
  latestPerRun,
  MAX_HISTORY_MAGNITUDE,
} from "./index.js";

const sha = (i: number) => i.toString(16).padStart(40, "0");
const entry = (i: number, extra: Partial<HistoryEntry> = {}): HistoryEntry => ({
  v: 1,
  at: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString(),
  commit: sha(i),
  branch: "main",
  results: { latency: { value: 12.345678901 + i, unit: "ms" } },
  ...extra,
});
const line = (e: unknown) => `${JSON.stringify(e)}\n`;
const lines = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => line(entry(from + k))).join("");
const commits = (es: HistoryEntry[]) => es.map((e) => e.commit);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => sha(from + k));

const GPUCI = {
  GIT_AUTHOR_NAME: "gpuci",
  GIT_AUTHOR_EMAIL: "gpuci@users.noreply.github.com",
  GIT_COMMITTER_NAME: "gpuci",
  GIT_COMMITTER_EMAIL: "gpuci@users.noreply.github.com",
};
const USER = {
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@e",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@e",
};
const git = (cwd: string, args: string[], input?: string, who = USER) =>
  execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...who },
    input,
    maxBuffer: 1 << 30,
  }).trim();
/** A data branch as gpuci writes it (committed as gpuci, history/ only), `text` its newest shard. */
function seedBranch(dir: string, text: string, branch = "gpuci-data"): string {
  const blob = git(dir, ["hash-object", "-w", "--stdin"], text);
  const inner = git(dir, ["mktree"], `100644 blob ${blob}\tresults.jsonl\n`);
  const tree = git(dir, ["mktree"], `040000 tree ${inner}\thistory\n`);
  const commit = git(dir, ["commit-tree", tree, "-m", "gpuci: results"], undefined, GPUCI);
  git(dir, ["update-ref", `refs/heads/${branch}`, commit]);
  return blob;
}
/** A repository on main with one commit of code. */
async function repo(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `gpuci-${label}-`));
  git(dir, ["init", "-q", "-b", "main"]);
  await writeFile(join(dir, "kernel.cu"), "// code\n");
  git(dir, ["add", "."]);
  git(dir, ["commit", "-q", "-m", "code"]);
  return dir;
}

describe("history retention", () => {
  it("compacts: 6 significant digits, at most keep.samples samples in their order", () => {
    const c = compactEntry(
      entry(0, {
        results: {
          latency: { value: 12.345678901, samples: Array.from({ length: 100 }, (_, k) => k + 0.123456789) },
        },
      }),
      10,
    );
    expect(c.results.latency!.value).toBe(12.3457);
    expect(c.results.latency!.samples).toEqual([
      0.123457, 10.1235, 20.1235, 30.1235, 40.1235, 50.1235, 60.1235, 70.1235, 80.1235, 90.1235,
    ]);
  });

  it("the file store reads back the newest keep.runs runs in recording order, in shards of 100", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-keep-"));
    const store = fileStore(join(dir, "results.jsonl"), { runs: 300 });
    for (let i = 0; i < 650; i++) await store.append(entry(i));
    expect(commits((await store.read()).entries)).toEqual(range(350, 650));
    expect((await readdir(dir)).sort()).toEqual([
      "results.1.jsonl",
      "results.2.jsonl",
      "results.3.jsonl",
      "results.jsonl",
    ]);
  });

  it("keep.days hides older runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-keep-days-"));
    const store = fileStore(join(dir, "results.jsonl"), { days: 1 });
    await store.append({ ...entry(0), at: new Date(Date.now() - 3 * 86_400_000).toISOString() });
    await store.append({ ...entry(1), at: new Date().toISOString() });
    expect(commits((await store.read()).entries)).toEqual([sha(1)]);
  });

  it("the git-branch store rotates shards inside the branch and reads the newest keep.runs in order", async () => {
    const dir = await repo("keep-git");
    const store = gitBranchStore(dir, { branch: "gpuci-data", keep: { runs: 6 }, shardRuns: 3 });
    for (let i = 0; i < 14; i++) await store.append(entry(i));
    expect(commits((await store.read()).entries)).toEqual(range(8, 14));
    expect(git(dir, ["ls-tree", "-r", "--name-only", "gpuci-data"]).split("\n").sort()).toEqual([
      "history/results.1.jsonl",
      "history/results.2.jsonl",
      "history/results.jsonl",
    ]);
  });

  it("with a remote, a rotation squashes gpuci's own branch (force-with-lease): its history holds the runs since", async () => {
    const root = await mkdtemp(join(tmpdir(), "gpuci-keep-remote-"));
    git(root, ["init", "-q", "--bare", "-b", "main", join(root, "origin.git")]);
    git(root, ["clone", "-q", join(root, "origin.git"), join(root, "a")]);
    const store = gitBranchStore(join(root, "a"), {
      branch: "gpuci-data",
      remote: "origin",
      keep: { runs: 6 },
      shardRuns: 3,
    });
    // 14 pushes (a small shard size stands in for 100 runs a shard): rotations at runs 4, 7,
    // 10 and 13, so the branch's own history holds runs 13 and 14 only.
    for (let i = 0; i < 14; i++) await store.append(entry(i));
    expect(commits((await store.read()).entries)).toEqual(range(8, 14));
    expect(git(join(root, "origin.git"), ["rev-list", "--count", "gpuci-data"])).toBe("2");
  });
});

describe("the history store never loses a run", () => {
  it("keep.runs: 100 keeps at least 100 runs through every rotation (the file store)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-keep100-"));
    const path = join(dir, "results.jsonl");
    await writeFile(path, lines(0, 99));
    const store = fileStore(path, { runs: 100 });
    for (let i = 99; i < 230; i++) {
      await store.append(entry(i));
      const kept = commits((await store.read()).entries);
      expect(kept).toEqual(range(Math.max(0, i - 99), i + 1));
    }
  });

  it("keep.runs: 100 keeps at least 100 runs when the git-branch store rotates", async () => {
    const dir = await repo("keep100-git");
    seedBranch(dir, lines(0, 100));
    const store = gitBranchStore(dir, { branch: "gpuci-data", keep: { runs: 100 } });
    await store.append(entry(100));
    expect(commits((await store.read()).entries)).toEqual(range(1, 101));
    expect(git(dir, ["ls-tree", "-r", "--name-only", "gpuci-data"]).split("\n").sort()).toEqual([
      "history/results.1.jsonl",
      "history/results.jsonl",
    ]);
  });

  it("a stale rotation lock (left by a killed writer) is broken with a warning naming its holder and age", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-lock-"));
    const path = join(dir, "results.jsonl");
    // An old lock with no holder (as older gpuci wrote them), an hour old.
    await writeFile(path, lines(0, 99));
    await writeFile(`${path}.lock`, "");
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(`${path}.lock`, hourAgo, hourAgo);
    const r = await fileStore(path).append(entry(99));
    expect(r.warnings.join("\n")).toMatch(
      /broke a stale lock .*results\.jsonl\.lock: held by an unknown writer .*, 3600 s old/,
    );
    expect(existsSync(join(dir, "results.1.jsonl"))).toBe(true);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(commits((await fileStore(path).read()).entries)).toEqual(range(0, 100));

    // A fresh lock whose holder on this host is gone (a pid that exited).
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
    const dir2 = await mkdtemp(join(tmpdir(), "gpuci-lock-dead-"));
    const path2 = join(dir2, "results.jsonl");
    await writeFile(path2, lines(0, 99));
    await writeFile(
      `${path2}.lock`,
      JSON.stringify({ pid: dead, host: hostname(), at: new Date().toISOString() }),
    );
    const r2 = await fileStore(path2).append(entry(99));
    expect(r2.warnings.join("\n")).toMatch(
      new RegExp(`held by pid ${dead} on ${hostname()}, \\d+ s old, and that process is gone`),
    );
    expect(existsSync(join(dir2, "results.1.jsonl"))).toBe(true);
  });

  it("a lock a live writer holds is respected: rotation waits, nothing is lost, the next append rotates", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-lock-live-"));
    const path = join(dir, "results.jsonl");
    await writeFile(path, lines(0, 99));
    await writeFile(
      `${path}.lock`,
      JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }),
    );
    const store = fileStore(path);
    expect((await store.append(entry(99))).warnings).toEqual([]);
    expect(existsSync(join(dir, "results.1.jsonl"))).toBe(false);
    await rm(`${path}.lock`);
    await store.append(entry(100));
    expect(existsSync(join(dir, "results.1.jsonl"))).toBe(true);
    expect(commits((await store.read()).entries)).toEqual(range(0, 101));
  });

  it("after a torn last line the next run lands on a line of its own; the torn line is counted and reported", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-torn-"));
    const path = join(dir, "results.jsonl");
    await writeFile(path, line(entry(0)) + line(entry(1)).slice(0, 30));
    const store = fileStore(path);
    const r = await store.append(entry(2));
    expect(r.warnings.join("\n")).toMatch(/the last line of .*results\.jsonl was torn/);
    const read = await store.read();
    expect(commits(read.entries)).toEqual([sha(0), sha(2)]);
    expect(read.refused).toEqual([{ shard: "results.jsonl", line: 2, reason: "not a valid JSON object" }]);
    expect(describeRefused(read, path)).toBe(
      `1 line of ${path} was refused and not used (results.jsonl line 2: not a valid JSON object)`,
    );
  });

  it("the git-branch store reads a 9 MiB shard whole and keeps every run in it", async () => {
    const dir = await repo("big-shard");
    const big = (i: number) =>
      entry(i, {
        results: Object.fromEntries(
          Array.from({ length: 3000 }, (_, m) => [`metric-${m}`, { value: m + i, unit: "ms" }]),
        ),
      });
    const text = Array.from({ length: 80 }, (_, i) => line(big(i))).join("");
    expect(text.length).toBeGreaterThan(9 * 1024 * 1024);
    seedBranch(dir, text);
    const store = gitBranchStore(dir, { branch: "gpuci-data" });
    await store.append(entry(80));
    expect(commits((await store.read()).entries)).toEqual(range(0, 81));
  });

  it("a shard git cannot read fails the append and leaves the branch as it was (never a partial rewrite)", async () => {
    const dir = await repo("lost-blob");
    const blob = seedBranch(dir, lines(0, 10));
    const tip = git(dir, ["rev-parse", "gpuci-data"]);
    await rm(join(dir, ".git/objects", blob.slice(0, 2), blob.slice(2)));
    const store = gitBranchStore(dir, { branch: "gpuci-data" });
    await expect(store.append(entry(10))).rejects.toThrow(/git cat-file .* failed/);
    expect(git(dir, ["rev-parse", "gpuci-data"])).toBe(tip);
  });

  it("order is the order of recording: a runner clock at 2099 or an `at` that is not a date is refused, never the newest", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-clock-"));
    const path = join(dir, "results.jsonl");
    const now = Date.now();
    await writeFile(
      path,
      [
        line(entry(1, { at: new Date(now - 7_200_000).toISOString() })),
        line(entry(2, { at: "2099-01-01T00:00:00.000Z" })),
        line(entry(3, { at: "yesterday" })),
        // Recorded last, with a clock an hour behind the first: still the newest.
        line(entry(4, { at: new Date(now - 10_800_000).toISOString() })),
      ].join(""),
    );
    const read = await fileStore(path).read();
    expect(commits(read.entries)).toEqual([sha(1), sha(4)]);
    expect(chooseBaseline(read.entries, { baseBranch: "main" })!.entry.commit).toBe(sha(4));
    expect(read.refused.map((r) => [r.line, r.reason])).toEqual([
      [2, "at 2099-01-01T00:00:00.000Z is in the future (more than an hour ahead of this clock)"],
      [3, 'at "yesterday" is not a date'],
    ]);
  });

  it("values that are not finite numbers (NaN, Infinity, ±1e308) are refused when read and when recorded", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-nonfinite-"));
    const path = join(dir, "results.jsonl");
    const at = new Date(Date.UTC(2026, 0, 1)).toISOString();
    await writeFile(
      path,
      [
        line(entry(1)),
        `{"v":1,"at":"${at}","commit":"${sha(2)}","branch":"main","results":{"latency":{"value":"NaN"}}}\n`,
        `{"v":1,"at":"${at}","commit":"${sha(3)}","branch":"main","results":{"latency":{"value":1e999}}}\n`,
        line(entry(4, { results: { latency: { value: -1e308 } } })),
        line(entry(5, { results: { latency: { value: 1, samples: [1, 1e308] } } })),
      ].join(""),
    );
    const store = fileStore(path);
    const read = await store.read();
    expect(commits(read.entries)).toEqual([sha(1)]);
    expect(read.refused.map((r) => r.reason)).toEqual([
      'results.latency.value "NaN" is not a finite number',
      "results.latency.value Infinity is not a finite number",
      "results.latency.value -1e+308 is beyond ±1e+100",
      "results.latency.samples: 1e+308 is beyond ±1e+100",
    ]);
    // Recording: the run lands, the value that is not a number is stored as none, and it is said.
    const r = await store.append(
      entry(6, { results: { latency: { value: Number.NaN, samples: [1, Number.POSITIVE_INFINITY, 2] } } }),
    );
    expect(r.warnings).toEqual([
      "results.latency: value NaN is not a finite number; recorded as no value",
      "results.latency: 1 sample(s) not finite numbers of sane size; dropped",
    ]);
    const after = await store.read();
    expect(after.entries.at(-1)).toMatchObject({
      commit: sha(6),
      results: { latency: { value: null, samples: [1, 2] } },
    });
  });

  it("six writers in two clones pushing at once all land (randomized backoff, not five quick retries)", async () => {
    const root = await mkdtemp(join(tmpdir(), "gpuci-race-"));
    git(root, ["init", "-q", "--bare", "-b", "main", join(root, "origin.git")]);
    for (const c of ["a", "b"]) git(root, ["clone", "-q", join(root, "origin.git"), join(root, c)]);
    const stores = ["a", "b"].map((c) =>
      gitBranchStore(join(root, c), { branch: "gpuci-data", remote: "origin" }),
    );
    await Promise.all(Array.from({ length: 6 }, (_, i) => stores[i % 2]!.append(entry(i))));
    expect(commits((await stores[1]!.read()).entries).sort()).toEqual(range(0, 6));
  });
});

describe("the data branch is gpuci's own", () => {
  for (const [bad, why] of [
    ["foo bar", /git check-ref-format refuses it/],
    ["a..b", /git check-ref-format refuses it/],
    ["x.lock", /git check-ref-format refuses it/],
    ["HEAD", /HEAD and refs\/… are reserved/],
    ["-x", /must not be empty or start with -/],
    ["main", /is the base branch/],
  ] as const)
    it(`history.branch ${JSON.stringify(bad)} is a config error and nothing is written`, async () => {
      const dir = await repo("bad-branch");
      git(dir, ["checkout", "-q", "-b", "work"]);
      const before = git(dir, ["for-each-ref"]);
      const store = gitBranchStore(dir, { branch: bad, baseBranch: "main" });
      const error = await store.append(entry(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HistoryConfigError);
      expect((error as HistoryConfigError).exitCode).toBe(2);
      expect((error as Error).message).toMatch(
        new RegExp(`^history\\.branch ${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
      );
      expect((error as Error).message).toMatch(why);
      expect(git(dir, ["for-each-ref"])).toBe(before);
    });

  it("the checked-out branch is refused", async () => {
    const dir = await repo("checked-out");
    git(dir, ["checkout", "-q", "-b", "data"]);
    await expect(gitBranchStore(dir, { branch: "data" }).append(entry(1))).rejects.toThrow(
      /history\.branch "data" is the branch checked out in/,
    );
  });

  it("a branch whose tip gpuci did not write is never written, locally or on the remote (no force-push)", async () => {
    const dir = await repo("code-branch");
    git(dir, ["branch", "release"]);
    const tip = git(dir, ["rev-parse", "release"]);
    await expect(gitBranchStore(dir, { branch: "release" }).append(entry(1))).rejects.toThrow(
      /history\.branch "release" exists and its tip [0-9a-f]{12} was not written by gpuci \(committed by t <t@e>, it holds kernel\.cu\)/,
    );
    expect(git(dir, ["rev-parse", "release"])).toBe(tip);

    const root = await mkdtemp(join(tmpdir(), "gpuci-code-remote-"));
    git(root, ["clone", "-q", "--bare", dir, join(root, "origin.git")]);
    git(root, ["clone", "-q", join(root, "origin.git"), join(root, "a")]);
    const remoteTips = git(join(root, "origin.git"), ["for-each-ref"]);
    const store = gitBranchStore(join(root, "a"), {
      branch: "release",
      remote: "origin",
      keep: { runs: 100 },
    });
    await expect(store.append(entry(1))).rejects.toThrow(
      /history\.branch "release" on origin exists .* not written by gpuci/,
    );
    await expect(store.read()).rejects.toThrow(/was not written by gpuci/);
    expect(git(join(root, "origin.git"), ["for-each-ref"])).toBe(remoteTips);
  });

  it("history.remote must be a remote or a URL; an option such as --upload-pack never reaches git", async () => {
    const dir = await repo("bad-remote");
    for (const remote of ["--upload-pack=touch pwned;", "ext::sh -c touch% pwned", "upstream"]) {
      const store = gitBranchStore(dir, { branch: "gpuci-data", remote });
      await expect(store.read()).rejects.toThrow(/^history\.remote /);
      await expect(store.append(entry(1))).rejects.toBeInstanceOf(HistoryConfigError);
    }
    expect(existsSync(join(dir, "pwned"))).toBe(false);
  });
});

describe("which runs are base-branch history", () => {
  it("decided from the commit's place on the remote base branch and, in Actions, from the event", async () => {
    const root = await mkdtemp(join(tmpdir(), "gpuci-base-run-"));
    const origin = await repo("base-origin");
    git(root, ["clone", "-q", origin, join(root, "a")]);
    const a = join(root, "a");
    const cfg = { baseBranch: "main" };
    expect(await decideHistoryRun(a, cfg, {})).toMatchObject({ onBaseBranch: true, branch: "main" });
    // In Actions only a push (or schedule, dispatch) to main counts; a pull_request never does.
    const push = { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF: "refs/heads/main" };
    expect((await decideHistoryRun(a, cfg, push)).onBaseBranch).toBe(true);
    const pr = await decideHistoryRun(a, cfg, {
      ...push,
      GITHUB_EVENT_NAME: "pull_request",
      GITHUB_REF: "refs/pull/7/merge",
      GITHUB_HEAD_REF: "main",
    });
    expect(pr).toMatchObject({
      onBaseBranch: false,
      why: "the pull_request event on refs/pull/7/merge is not a push to main",
    });
    expect(pr.branch).toBeUndefined(); // a fork's "main" is never recorded as main
    // A local commit on main that the remote base branch does not have is not base history.
    git(a, ["commit", "-q", "--allow-empty", "-m", "local only"]);
    const local = await decideHistoryRun(a, cfg, {});
    expect(local).toMatchObject({
      onBaseBranch: false,
      why: expect.stringMatching(/^[0-9a-f]{12} is not on origin\/main$/),
    });
    expect(local.branch).toBeUndefined();
  });

  it("a pull request's command that checks out main cannot record its numbers as main's", async () => {
    const d = await repo("pr-poison");
    git(d, ["checkout", "-q", "-b", "pr"]);
    git(d, ["commit", "-q", "--allow-empty", "-m", "pr"]);
    await writeFile(join(d, "m.json"), JSON.stringify({ latency: 5 }));
    const history = { store: "file" as const, path: "h.jsonl", baseBranch: "main" };
    const gates = [{ id: "lat", metric: { file: "m.json", path: "latency" }, baseline: { history: true } }];
    const run = await decideHistoryRun(d, history, {});
    // What a command of the pull request does after the decision:
    git(d, ["checkout", "-q", "-B", "main"]);
    await evaluateGates(gates, { baseDir: d, history, run });
    const stored = (await fileStore(join(d, "h.jsonl")).read()).entries;
    expect(stored.map((e) => e.branch)).toEqual(["pr"]);
    const text = await readFile(join(d, "h.jsonl"), "utf8");
    expect(text).not.toContain('"branch":"main"');
  });
});

describe("the store's problems reach the report", () => {
  it("refused lines and an append's warnings are warning findings; cost and pull request are recorded", async () => {
    const d = await repo("findings");
    await writeFile(join(d, "m.json"), JSON.stringify({ latency: 5 }));
    await writeFile(join(d, "h.jsonl"), `${line(entry(1))}{"v":1,"at":"2026-`);
    const history = { store: "file" as const, path: "h.jsonl", baseBranch: "main" };
    const gates = [{ id: "lat", metric: { file: "m.json", path: "latency" }, baseline: { history: true } }];
    const onMain = await evaluateGates(gates, {
      baseDir: d,
      history,
      env: {},
      context: { pr: 12, costUsd: 0.5 },
    });
    const byId = Object.fromEntries(onMain.section.findings.map((f) => [f.id, f]));
    expect(byId["gates.history.read"]).toMatchObject({
      status: "warn",
      summary: `1 line of ${join(d, "h.jsonl")} was refused and not used (h.jsonl line 2: not a valid JSON object (a torn write: the line has no end))`,
    });
    expect(byId["gates.history"]).toMatchObject({
      status: "warn",
      summary: expect.stringMatching(
        /^recorded in .*h\.jsonl, with a warning: the last line of .*h\.jsonl was torn/,
      ),
    });
    git(d, ["checkout", "-q", "-b", "feature"]);
    git(d, ["commit", "-q", "--allow-empty", "-m", "feature"]);
    await evaluateGates(gates, { baseDir: d, history, env: {}, context: { pr: 12, costUsd: 0.25 } });
    const stored = (await fileStore(join(d, "h.jsonl")).read()).entries;
    expect(stored.map((e) => [e.branch, e.pr, e.costUsd])).toEqual([
      ["main", undefined, undefined],
      ["main", undefined, 0.5],
      ["feature", 12, 0.25],
    ]);
  });
});

describe("one entry per run: re-runs replace, a dirty local tree is not the commit's", () => {
  it("the last entry per (commit, runner, GPU, config) is kept, in its place in recording order", async () => {
    const a = entry(1, { runner: "r1", config: "c1" });
    const rerun = { ...a, at: entry(3).at, results: { latency: { value: 99, unit: "ms" } } };
    const otherRunner = { ...a, runner: "r2" };
    const otherConfig = { ...a, config: "c2" };
    const es = [a, entry(2), otherRunner, rerun, otherConfig];
    expect(latestPerRun(es)).toEqual([entry(2), otherRunner, rerun, otherConfig]);
    // What a store reads back: three local `gpuci gates` on one commit are one run.
    const d = await mkdtemp(join(tmpdir(), "gpuci-rerun-"));
    const store = fileStore(join(d, "h.jsonl"));
    for (const e of [entry(1), entry(2), entry(2), entry(2), entry(3)]) await store.append(e);
    expect(commits((await store.read()).entries)).toEqual(range(1, 4));
  });

  it("gpuci gates three times on one commit leaves one history value; the series is not made quieter", async () => {
    const d = await repo("rerun-gates");
    await writeFile(join(d, "m.json"), JSON.stringify({ latency: 5 }));
    const history = { store: "file" as const, path: "h.jsonl", baseBranch: "main" };
    const gates = [{ id: "lat", metric: { file: "m.json", path: "latency" }, baseline: { history: true } }];
    for (let i = 0; i < 3; i++)
      await evaluateGates(gates, { baseDir: d, history, env: {}, context: { runner: "here" } });
    const stored = (await fileStore(join(d, "h.jsonl")).read()).entries;
    expect(stored).toHaveLength(1);
    expect(stored[0]!.config).toMatch(/^[0-9a-f]{12}$/);
    // A changed config is another run.
    await evaluateGates([{ ...gates[0]!, max: 100 }], {
      baseDir: d,
      history,
      env: {},
      context: { runner: "here" },
    });
    expect((await fileStore(join(d, "h.jsonl")).read()).entries).toHaveLength(2);
  });

  it("a local run with uncommitted changes to tracked files is judged, not recorded, unless asked; CI records", async () => {
    const d = await repo("dirty");
    await writeFile(join(d, "kernel.cu"), "// work in progress\n");
    await writeFile(join(d, "m.json"), JSON.stringify({ latency: 5 }));
    const history = { store: "file" as const, path: "h.jsonl", baseBranch: "main" };
    const gates = [{ id: "lat", metric: { file: "m.json", path: "latency" }, baseline: { history: true } }];
    const local = await evaluateGates(gates, { baseDir: d, history, env: {} });
    expect(local.section.findings.find((f) => f.id === "gates.history")).toMatchObject({
      status: "skip",
      summary: expect.stringMatching(
        /^not recorded: 1 tracked file has uncommitted changes \(kernel\.cu\), so these numbers are not [0-9a-f]{12}'s$/,
      ),
      remedy: expect.stringMatching(/--record/),
    });
    expect(local.outcomes[0]!.value).toBe(5);
    expect(existsSync(join(d, "h.jsonl"))).toBe(false);
    await evaluateGates(gates, { baseDir: d, history, env: {}, recordDirty: true });
    expect((await fileStore(join(d, "h.jsonl")).read()).entries).toHaveLength(1);
    await evaluateGates(gates, { baseDir: d, history, env: { CI: "true" }, context: { runner: "ci" } });
    expect((await fileStore(join(d, "h.jsonl")).read()).entries).toHaveLength(2);
  });
});

describe("what the store reads as an entry", () => {
  it("the hand check agrees with HistoryEntrySchema on generated lines (plus: numbers finite and within ±1e100)", () => {
    const odd = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.string({ maxLength: 3 }),
      fc.double(),
      fc.boolean(),
      fc.array(fc.double(), { maxLength: 2 }),
      fc.constant({}),
    );
    // Mostly well-formed, one field in a few wrong: both answers come up often.
    const mostly = <T>(ok: fc.Arbitrary<T>) =>
      fc.oneof({ arbitrary: ok, weight: 25 }, { arbitrary: odd, weight: 1 });
    const number = fc.oneof(
      { arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }), weight: 30 },
      { arbitrary: fc.double(), weight: 1 },
      { arbitrary: fc.constantFrom(1e308, -1e101, 1e100, Number.NaN, Number.POSITIVE_INFINITY), weight: 1 },
    );
    const result = fc.record(
      {
        value: mostly(fc.oneof(number, fc.constant(null))),
        unit: mostly(fc.constant("ms")),
        samples: mostly(fc.array(number, { maxLength: 4 })),
        status: mostly(fc.constant("pass")),
      },
      { requiredKeys: [] },
    );
    const entry = fc.record(
      {
        v: mostly(fc.constant(1)),
        at: mostly(fc.constant("2026-01-01T00:00:00.000Z")),
        commit: mostly(fc.constant("a".repeat(40))),
        branch: mostly(fc.constant("main")),
        pr: mostly(fc.integer({ min: -2, max: 5000 })),
        runner: mostly(fc.constant("r")),
        gpu: mostly(fc.constant("NVIDIA L4")),
        driver: mostly(fc.constant("550.54.15")),
        costUsd: mostly(number),
        results: mostly(fc.dictionary(fc.constantFrom("lat", "b", "m-1"), mostly(result), { maxKeys: 3 })),
      },
      { requiredKeys: ["v", "at", "commit", "results"] },
    );
    const sane = (x: unknown) => typeof x !== "number" || Math.abs(x) <= MAX_HISTORY_MAGNITUDE;
    let valid = 0;
    fc.assert(
      fc.property(entry, (e) => {
        const zod = HistoryEntrySchema.safeParse(e);
        const numbersSane =
          zod.success &&
          sane(zod.data.costUsd) &&
          Object.values(zod.data.results).every(
            (r: HistoryEntry["results"][string]) => sane(r.value) && (r.samples ?? []).every(sane),
          );
        expect(checkEntryShapeForTest(e) === undefined).toBe(numbersSane);
        if (numbersSane) valid++;
      }),
      { numRuns: 3000, seed: 23 },
    );
    // Both answers were exercised.
    expect(valid).toBeGreaterThan(300);
    expect(valid).toBeLessThan(2700);
  });
});
