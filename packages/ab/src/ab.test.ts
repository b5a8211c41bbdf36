import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runAb } from "./index.js";

const env = {
  ...process.env,
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@e",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@e",
};
const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, env, encoding: "utf8" }).trim();

/**
 * A benchmark whose "latency" is SCALE × a noise factor drawn from the round's folder name and
 * side (deterministic, so the test asserts on verdicts without timing anything), plus a drift
 * shared by both sides of a round, as a warming GPU would add.
 */
const bench = (scale: number) => `import { writeFileSync } from "node:fs";
const out = process.argv[2];
const round = Number(/round-(\\d+)/.exec(out)[1]);
let h = 2166136261;
for (const c of out) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
const noise = 1 + ((h % 1000) / 1000 - 0.5) * 0.02;
const drift = 1 + 0.01 * round;
writeFileSync(out + "/bench.json", JSON.stringify({ latency_ms: ${scale} * noise * drift }));
`;

async function repo(headScale: number, extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "gpuci-ab-test-"));
  await writeFile(join(dir, "bench.mjs"), bench(100));
  await writeFile(join(dir, ".gitignore"), "out/\n");
  git(dir, "init", "-q", "-b", "main");
  git(dir, "add", ".");
  git(dir, "commit", "-q", "-m", "base");
  git(dir, "checkout", "-q", "-b", "pr");
  await writeFile(join(dir, "bench.mjs"), bench(headScale));
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text);
  git(dir, "commit", "-q", "--allow-empty", "-am", "head");
  return dir;
}

const config = (over: Record<string, unknown> = {}) => ({
  command: "node bench.mjs {out}",
  metrics: [{ id: "latency", file: "{out}/bench.json", path: "latency_ms", unit: "ms" }],
  rounds: { min: 5, max: 30 },
  ...over,
});

describe("gpuci ab", () => {
  it("finds a 15 % slowdown against the merge base in paired ABBA rounds, in a worktree it removes", async () => {
    const dir = await repo(115);
    await writeFile(join(dir, "uncommitted.txt"), "the user's work in progress\n");
    const statusBefore = git(dir, "status", "--porcelain");
    const lines: string[] = [];
    const { section, metrics, rounds } = await runAb(config(), {
      baseDir: dir,
      outDir: join(dir, "out"),
      onProgress: (l) => lines.push(l),
    });
    expect(metrics[0]!.verdict.verdict).toBe("regressed");
    expect(metrics[0]!.verdict.ratio).toBeCloseTo(1.15, 1);
    expect(rounds).toBeLessThan(30); // sequential: stopped once decided
    const f = section.findings.find((x) => x.id === "ab.latency")!;
    expect(f.status).toBe("fail");
    expect(f.summary).toMatch(/^\d+(\.\d+)? ms → \d+(\.\d+)? ms: regressed: \+1[45]\.\d %/);
    expect(f.data).toMatchObject({ verdict: "regressed", rounds, base: { value: expect.any(Number) } });
    expect(section.findings.find((x) => x.id === "ab.rounds")!.summary).toMatch(
      /merge-base of HEAD and main/,
    );
    // One line per round with the running estimate; ABBA order.
    expect(lines.find((l) => l.startsWith("ab: round 1/30 (base → head): latency +1"))).toBeDefined();
    expect(lines.find((l) => l.startsWith("ab: round 2/30 (head → base)"))).toBeDefined();
    // The base worktree is gone, and the user's tree is as it was.
    expect(git(dir, "worktree", "list").split("\n")).toHaveLength(1);
    expect(git(dir, "status", "--porcelain")).toBe(statusBefore);
    expect(await readFile(join(dir, "uncommitted.txt"), "utf8")).toBe("the user's work in progress\n");
    expect(existsSync(join(dir, "out/ab/round-01/base/bench.json"))).toBe(true);
  });

  it("says unchanged for a change within the margin, with the interval inside ±5 %", async () => {
    const dir = await repo(101);
    const { metrics, section } = await runAb(config(), { baseDir: dir, outDir: join(dir, "out") });
    const v = metrics[0]!.verdict;
    expect(v.verdict).toBe("unchanged");
    expect(v.ci!.low).toBeGreaterThan(1 / 1.05);
    expect(v.ci!.high).toBeLessThan(1.05);
    expect(section.status).toBe("pass");
  });

  it("inconclusive when the rounds run out near the margin: a warning that says how many rounds would decide", async () => {
    const dir = await repo(105);
    const { section } = await runAb(config({ rounds: { min: 5, max: 6 } }), {
      baseDir: dir,
      outDir: join(dir, "out"),
    });
    const f = section.findings.find((x) => x.id === "ab.latency")!;
    expect(f.status).toBe("warn");
    expect(f.summary).toMatch(/inconclusive/);
    expect(f.remedy).toMatch(/rounds|too noisy/);
  });

  it("stays within its budget: a command that outlasts it is stopped and the A/B says so", async () => {
    const dir = await repo(100);
    const { section } = await runAb(config({ command: "sleep 5", budget: { minutes: 0.01 } }), {
      baseDir: dir,
      outDir: join(dir, "out"),
    });
    const f = section.findings.find((x) => x.id === "ab.rounds")!;
    expect(f.status).toBe("error");
    expect(f.summary).toMatch(/^0 rounds .*stopped: ab\.budget\.minutes is 0\.01/);
    expect(f.remedy).toMatch(/Raise ab\.budget/);
    expect(git(dir, "worktree", "list").split("\n")).toHaveLength(1);
  });

  it("errors with a remedy outside a repository, for an unknown base, and when the command fails in the base tree", async () => {
    const plain = await mkdtemp(join(tmpdir(), "gpuci-ab-plain-"));
    const a = await runAb(config(), { baseDir: plain, outDir: join(plain, "out") });
    expect(a.section.findings[0]).toMatchObject({
      id: "ab.setup",
      status: "error",
      summary: expect.stringMatching(/not inside a git repository/),
    });

    const dir = await repo(100);
    const b = await runAb(config(), { baseDir: dir, outDir: join(dir, "out"), base: "no-such-branch" });
    expect(b.section.findings[0]).toMatchObject({
      status: "error",
      remedy: expect.stringMatching(/git fetch/),
    });

    const broken = await runAb(
      config({
        command:
          'test "$GPUCI_AB_SIDE" = head || { echo "base cannot run this" >&2; exit 3; }; node bench.mjs {out}',
      }),
      { baseDir: dir, outDir: join(dir, "out") },
    );
    expect(broken.section.findings[0]).toMatchObject({
      id: "ab.command",
      status: "error",
      summary: "ab.command in the base tree exited with code 3",
      details: expect.stringContaining("base cannot run this"),
    });
  });

  it("converts units between the trees: a base in ms and a head in ns are one time, not a 10⁶× change", async () => {
    // Google Benchmark picks a time unit per benchmark: here the pull request changed it.
    const gb = (unit: "ms" | "ns", factor: number) => `import { writeFileSync } from "node:fs";
const out = process.argv[2];
let h = 2166136261;
for (const c of out) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
const ms = 2 * (1 + ((h % 1000) / 1000 - 0.5) * 0.02);
writeFileSync(out + "/gb.json", JSON.stringify({ context: { num_cpus: 2, library_build_type: "release" },
  benchmarks: [{ name: "BM_x", run_name: "BM_x", run_type: "iteration", real_time: ms * ${factor}, time_unit: "${unit}" }] }));
`;
    const dir = await mkdtemp(join(tmpdir(), "gpuci-ab-units-"));
    await writeFile(join(dir, "bench.mjs"), gb("ms", 1));
    await writeFile(join(dir, ".gitignore"), "out/\n");
    git(dir, "init", "-q", "-b", "main");
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", "base");
    git(dir, "checkout", "-q", "-b", "pr");
    await writeFile(join(dir, "bench.mjs"), gb("ns", 1e6));
    git(dir, "commit", "-q", "-am", "head");
    const { metrics } = await runAb(
      config({
        metrics: [{ id: "x", file: "{out}/gb.json", format: "google-benchmark", name: "BM_x" }],
        rounds: { min: 6, max: 8 },
      }),
      { baseDir: dir, outDir: join(dir, "out") },
    );
    expect(metrics[0]!.verdict.ratio).toBeGreaterThan(0.9);
    expect(metrics[0]!.verdict.ratio).toBeLessThan(1.1);
    expect(metrics[0]!.verdict.verdict).not.toBe("regressed");
  }, 60_000);
});
