import { execFileSync } from "node:child_process";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compactEntry, fileStore, gitBranchStore, type HistoryEntry, SHARD_RUNS } from "./index.js";

const entry = (i: number, samples = 0): HistoryEntry => ({
  v: 1,
  at: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString(),
  commit: i.toString(16).padStart(40, "0"),
  branch: "main",
  results: {
    latency: {
      value: 12.345678901 + i,
      unit: "ms",
      ...(samples ? { samples: Array.from({ length: samples }, (_, k) => k + 0.123456789) } : {}),
    },
  },
});

describe("history retention", () => {
  it("compacts: 6 significant digits, at most keep.samples samples in their order", () => {
    const c = compactEntry(entry(0, 100), 10);
    expect(c.results.latency!.value).toBe(12.3457);
    expect(c.results.latency!.samples).toEqual([
      0.123457, 10.1235, 20.1235, 30.1235, 40.1235, 50.1235, 60.1235, 70.1235, 80.1235, 90.1235,
    ]);
  });

  it("the file store keeps the newest keep.runs in shards of 100 and drops older ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-keep-"));
    const store = fileStore(join(dir, "results.jsonl"), { runs: 300 });
    for (let i = 0; i < 650; i++) await store.append(entry(i));
    const kept = await store.read();
    expect(kept.length).toBeGreaterThanOrEqual(300 - SHARD_RUNS);
    expect(kept.length).toBeLessThanOrEqual(300);
    expect(kept.at(-1)!.commit).toBe((649).toString(16).padStart(40, "0"));
    expect(kept.map((e) => e.commit)).toEqual([...kept.map((e) => e.commit)].sort());
    expect((await readdir(dir)).sort()).toEqual(["results.1.jsonl", "results.2.jsonl", "results.jsonl"]);
  });

  it("keep.days hides older runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-keep-days-"));
    const store = fileStore(join(dir, "results.jsonl"), { days: 1 });
    await store.append({ ...entry(0), at: new Date(Date.now() - 3 * 86_400_000).toISOString() });
    await store.append({ ...entry(1), at: new Date().toISOString() });
    expect((await store.read()).map((e) => e.commit)).toEqual([(1).toString(16).padStart(40, "0")]);
  });

  it("the git-branch store rotates shards inside the branch and reads them in order", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-keep-git-"));
    execFileSync("git", ["init", "-q", "-b", "main"], { cwd: dir });
    const store = gitBranchStore(dir, { branch: "gpuci-data", keep: { runs: 200 } });
    for (let i = 0; i < 250; i++) await store.append(entry(i));
    const kept = await store.read();
    expect(kept.length).toBe(150);
    expect(kept[0]!.commit).toBe((100).toString(16).padStart(40, "0"));
    expect(kept.at(-1)!.commit).toBe((249).toString(16).padStart(40, "0"));
    const tree = execFileSync("git", ["ls-tree", "-r", "--name-only", "gpuci-data"], {
      cwd: dir,
      encoding: "utf8",
    });
    expect(tree.trim().split("\n").sort()).toEqual(["history/results.1.jsonl", "history/results.jsonl"]);
  });

  it("with a remote, a rotation squashes the branch (force-with-lease): its history holds the runs since the last rotation", async () => {
    const root = await mkdtemp(join(tmpdir(), "gpuci-keep-remote-"));
    execFileSync("git", ["init", "-q", "--bare", "-b", "main", join(root, "origin.git")]);
    execFileSync("git", ["clone", "-q", join(root, "origin.git"), join(root, "a")], { stdio: "ignore" });
    const store = gitBranchStore(join(root, "a"), {
      branch: "gpuci-data",
      remote: "origin",
      keep: { runs: 200 },
    });
    for (let i = 0; i < 230; i++) await store.append(entry(i));
    const kept = await store.read();
    expect(kept.map((e) => e.commit)).toEqual(
      Array.from({ length: 130 }, (_, k) => (k + 100).toString(16).padStart(40, "0")),
    );
    const commits = execFileSync("git", ["rev-list", "--count", "gpuci-data"], {
      cwd: join(root, "origin.git"),
      encoding: "utf8",
    });
    expect(Number(commits)).toBe(30); // the rotation at run 201 started the branch afresh: runs 201–230
  });
});
