import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AbConfigSchema, runAb } from "./index.js";

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

const f0 = (section: { findings: Array<{ id: string; summary?: string }> }) =>
  section.findings.find((f) => f.id !== "ab.rounds" && f.id !== "ab.setup")!;

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
    const { section } = await runAb(config({ rounds: { min: 5, max: 8 } }), {
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

  it("refuses at load a rounds.max that can never reach the interval's level, instead of blaming noise later", () => {
    const r = AbConfigSchema.safeParse(config({ rounds: { min: 5, max: 5 } }));
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({
      path: ["rounds", "max"],
      message: expect.stringMatching(
        /^rounds\.max 5 can never decide: a paired \(signed-rank\) interval at 95 % needs at least 6 rounds\. Raise rounds\.max to 6 or more/,
      ),
    });
    expect(AbConfigSchema.safeParse(config({ rounds: { min: 5, max: 6 } })).success).toBe(true);
    // A stricter alpha: looks that cannot reach their level are dropped, and the bound follows.
    const strict = AbConfigSchema.safeParse(config({ alpha: 0.005, rounds: { min: 6, max: 8 } }));
    expect(strict.error!.issues[0]!.message).toMatch(/Raise rounds\.max to 9 or more/);
    expect(AbConfigSchema.safeParse(config({ alpha: 0.005, rounds: { min: 6, max: 9 } })).success).toBe(true);
  });

  it("bounds every wait by default: 30 minutes a build or round, 120 for the A/B; a hung round is an error", async () => {
    const parsed = AbConfigSchema.parse(config());
    expect(parsed.timeoutMinutes).toBe(30);
    expect(parsed.budget.minutes).toBe(120);
    const dir = await repo(100);
    const { section } = await runAb(config({ command: "sleep 30", timeoutMinutes: 0.01 }), {
      baseDir: dir,
      outDir: join(dir, "out"),
    });
    expect(section.findings[0]).toMatchObject({
      id: "ab.command",
      status: "error",
      summary: expect.stringMatching(
        /^ab\.command in the base tree was stopped after .*: ab\.timeoutMinutes is 0\.01$/,
      ),
      remedy: expect.stringMatching(/raise ab\.timeoutMinutes/),
    });
    expect(git(dir, "worktree", "list").split("\n")).toHaveLength(1);
  });

  it("starts every run from empty round folders: a command that writes nothing is never judged on an earlier run's files", async () => {
    const dir = await repo(100);
    const first = await runAb(config({ rounds: { min: 5, max: 8 } }), {
      baseDir: dir,
      outDir: join(dir, "out"),
    });
    expect(first.rounds).toBeGreaterThan(0);
    expect(existsSync(join(dir, "out/ab/round-01/base/bench.json"))).toBe(true);
    const second = await runAb(config({ command: "true" }), { baseDir: dir, outDir: join(dir, "out") });
    expect(second.rounds).toBe(0);
    expect(second.section.findings[0]).toMatchObject({
      id: "ab.metric",
      status: "error",
      summary: expect.stringMatching(/^round 1, base tree: /),
    });
  });

  it("two A/Bs in one folder: the second is refused with the first's pid, and neither reads the other's rounds", async () => {
    const dir = await repo(100);
    const [a, b] = await Promise.all([
      runAb(config({ rounds: { min: 5, max: 8 } }), { baseDir: dir, outDir: join(dir, "out") }),
      runAb(config({ rounds: { min: 5, max: 8 } }), { baseDir: dir, outDir: join(dir, "out") }),
    ]);
    const refused = [a, b].filter((r) => r.section.findings[0]?.id === "ab.setup");
    expect(refused).toHaveLength(1);
    expect(refused[0]!.section.findings[0]!.summary).toMatch(
      new RegExp(`^another gpuci ab \\(pid ${process.pid}, started .*\\) is using .*/out/ab`),
    );
    const ran = [a, b].find((r) => r !== refused[0])!;
    expect(ran.metrics[0]!.verdict.verdict).toBe("unchanged");
    // The lock is released: a third run may start.
    expect(existsSync(join(dir, "out/ab.lock"))).toBe(false);
  });

  it("{out} cannot be broken by quoting: bare, in double and in single quotes, in a folder with spaces, quotes and non-ASCII", async () => {
    const parent = await mkdtemp(join(tmpdir(), "gpuci ab tést 'q' $x "));
    const dir = join(parent, "repo");
    await mkdir(dir);
    await writeFile(join(dir, "README"), "x\n");
    git(dir, "init", "-q", "-b", "main");
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", "base");
    const write = `printf '{"latency_ms": 100}' > `;
    for (const command of [
      `${write}{out}/bench.json`,
      `${write}"{out}/bench.json"`,
      `${write}'{out}'/bench.json`,
    ]) {
      const r = await runAb(config({ command, base: "HEAD", rounds: { min: 5, max: 8 } }), {
        baseDir: dir,
        outDir: join(dir, "out"),
      });
      expect(r.section.findings.map((f) => f.summary).join("\n"), command).not.toMatch(/error|not found/);
      expect(r.metrics[0]!.verdict.verdict, command).toBe("unchanged");
      expect(await readFile(join(dir, "out/ab/round-01/head/bench.json"), "utf8")).toBe(
        '{"latency_ms": 100}',
      );
    }
  });

  it("on the base branch compares with the previous base commit (the push's before, else the first parent), never HEAD with itself", async () => {
    const dir = await repo(115);
    // The pull request merged: main is at the head commit, two commits after the base.
    const baseCommit = git(dir, "rev-parse", "main").trim();
    git(dir, "checkout", "-q", "main");
    git(dir, "merge", "-q", "--ff-only", "pr");
    git(dir, "commit", "-q", "--allow-empty", "-m", "docs only");
    const parent = git(dir, "rev-parse", "HEAD^1").trim();
    const cfg = config({ rounds: { min: 6, max: 8 } });
    const first = await runAb(cfg, { baseDir: dir, outDir: join(dir, "out") });
    const rounds = first.section.findings.find((f) => f.id === "ab.rounds")!;
    expect(rounds.data).toMatchObject({ baseCommit: parent, aa: false });
    expect(rounds.summary).toMatch(/the previous main commit, HEAD's first parent \(HEAD is on main\)/);
    // A push of both commits at once: the push's before is the old main tip.
    const event = join(dir, "..", `${dir.split("/").pop()}-event.json`);
    await writeFile(event, JSON.stringify({ before: baseCommit }));
    const pushed = await runAb(cfg, {
      baseDir: dir,
      outDir: join(dir, "out"),
      env: { ...process.env, GITHUB_EVENT_NAME: "push", GITHUB_EVENT_PATH: event },
    });
    expect(pushed.section.findings.find((f) => f.id === "ab.rounds")!.data).toMatchObject({ baseCommit });
    expect(pushed.metrics[0]!.verdict.verdict).toBe("regressed");
    // A force-push's before is not an ancestor: the first parent instead.
    await writeFile(event, JSON.stringify({ before: "f".repeat(40) }));
    const forced = await runAb(cfg, {
      baseDir: dir,
      outDir: join(dir, "out"),
      env: { ...process.env, GITHUB_EVENT_NAME: "push", GITHUB_EVENT_PATH: event },
    });
    expect(forced.section.findings.find((f) => f.id === "ab.rounds")!.data).toMatchObject({
      baseCommit: parent,
    });
    // Asked for an A/A, it is one.
    const aa = await runAb(config({ base: "HEAD", rounds: { min: 6, max: 8 } }), {
      baseDir: dir,
      outDir: join(dir, "out"),
    });
    expect(aa.section.findings.find((f) => f.id === "ab.rounds")!.data).toMatchObject({ aa: true });
  }, 90_000);

  it("on the first commit of the base branch there is nothing to compare with: skipped with a note, nothing run", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-ab-test-"));
    await writeFile(join(dir, "bench.mjs"), bench(100));
    git(dir, "init", "-q", "-b", "main");
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", "first");
    const { section, rounds } = await runAb(config({ command: "touch ran && node bench.mjs {out}" }), {
      baseDir: dir,
      outDir: join(tmpdir(), `gpuci-ab-out-${Date.now()}`),
    });
    expect(rounds).toBe(0);
    expect(section.status).toBe("skip");
    expect(section.findings[0]).toMatchObject({
      id: "ab.rounds",
      status: "skip",
      summary: expect.stringMatching(/is the merge base with main and has no parent to compare with/),
    });
    expect(existsSync(join(dir, "ran"))).toBe(false);
  });

  it("names a dirty tree: the same commit with uncommitted changes is not an A/A", async () => {
    const dir = await repo(100);
    const clean = await runAb(config({ base: "HEAD", rounds: { min: 5, max: 8 } }), {
      baseDir: dir,
      outDir: join(dir, "out"),
    });
    expect(clean.section.findings.find((f) => f.id === "ab.rounds")!.summary).toMatch(
      /against head the working tree at the same commit \(A\/A\)/,
    );
    await writeFile(join(dir, "bench.mjs"), bench(120));
    const dirty = await runAb(config({ base: "HEAD", rounds: { min: 5, max: 8 } }), {
      baseDir: dir,
      outDir: join(dir, "out"),
    });
    const rounds = dirty.section.findings.find((f) => f.id === "ab.rounds")!;
    expect(rounds.summary).not.toMatch(/A\/A/);
    expect(rounds.summary).toMatch(
      /against head the working tree: [0-9a-f]{12} \+ 1 uncommitted change \(bench\.mjs\)/,
    );
    expect(rounds.data).toMatchObject({ aa: false, uncommitted: ["bench.mjs"] });
    expect(dirty.metrics[0]!.verdict.verdict).toBe("regressed");
  });

  it("gives the base its submodules from local objects (git submodule update --init --recursive), never from the network", async () => {
    const top = await mkdtemp(join(tmpdir(), "gpuci-ab-sub-"));
    const lib = join(top, "lib-source");
    await mkdir(lib);
    await writeFile(join(lib, "scale.txt"), "100\n");
    git(lib, "init", "-q", "-b", "main");
    git(lib, "add", ".");
    git(lib, "commit", "-q", "-m", "lib");
    const dir = join(top, "repo");
    await mkdir(dir);
    git(dir, "init", "-q", "-b", "main");
    git(dir, "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib, "lib");
    await writeFile(
      join(dir, "bench.sh"),
      'printf \'{"latency_ms": %s}\' "$(cat lib/scale.txt)" > "$1/bench.json"\n',
    );
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", "base");
    git(dir, "checkout", "-q", "-b", "pr");
    git(dir, "commit", "-q", "--allow-empty", "-m", "head");
    // The submodule's source is gone: only the objects of the checkout in the user's tree remain.
    await rename(lib, `${lib}-gone`);
    const configBefore = await readFile(join(dir, ".git/config"), "utf8");
    const { section, metrics } = await runAb(
      config({ command: "sh bench.sh {out}", rounds: { min: 5, max: 8 } }),
      {
        baseDir: dir,
        outDir: join(dir, "out"),
      },
    );
    expect(section.findings.map((f) => `${f.id}: ${f.summary}`).join("\n")).not.toMatch(/error|exited/);
    expect(metrics[0]!.verdict.verdict).toBe("unchanged");
    expect(section.findings.find((f) => f.id === "ab.rounds")!.data).toMatchObject({ submodules: ["lib"] });
    expect(await readFile(join(dir, ".git/config"), "utf8")).toBe(configBefore);
    expect(git(dir, "worktree", "list").split("\n")).toHaveLength(1);
  });

  it("names a folder that is new in the change as such (not '/bin/sh was not found'), and quotes refs in remedies", async () => {
    const dir = await repo(100, {});
    await mkdir(join(dir, "bench"));
    await writeFile(join(dir, "bench/bench.mjs"), bench(100));
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", "add bench/");
    const { section } = await runAb(config(), { baseDir: join(dir, "bench"), outDir: join(dir, "out") });
    expect(section.findings[0]).toMatchObject({
      id: "ab.setup",
      status: "error",
      summary: expect.stringMatching(
        /^the folder bench does not exist in the base commit [0-9a-f]{12} \(merge-base of HEAD and main\): it is new in this change$/,
      ),
    });
    expect(git(dir, "worktree", "list").split("\n")).toHaveLength(1);

    const hostile = await runAb(config(), { baseDir: dir, outDir: join(dir, "out"), base: "main;touch x" });
    expect(hostile.section.findings[0]).toMatchObject({
      id: "ab.setup",
      summary: 'the base "main;touch x" is not a commit in this repository',
      remedy: "Fetch it (git fetch origin 'main;touch x') or name an existing branch, tag or commit.",
      data: { reason: "base" },
    });
  });

  it("reads the SM clock around every command (nvidia-smi) and judges a compute-bound A/A in cycle space when the boost drops", async () => {
    // A simulated GPU (the fake nvidia-smi replays the state file this benchmark writes): every
    // third command runs at 1500 MHz instead of the H200's recorded 1980 MHz boost, and a kernel
    // of 2·10⁶ cycles takes cycles / clock. The idle line is the H200's recorded idle reading.
    const state = await mkdtemp(join(tmpdir(), "gpuci-ab-clocks-"));
    const gpuBench = `import { readFileSync, renameSync, writeFileSync } from "node:fs";
const dir = process.env.CLOCK_STATE;
const put = (line) => { writeFileSync(dir + "/smi.tmp", line + "\\n"); renameSync(dir + "/smi.tmp", dir + "/smi.csv"); };
let n = 0;
try { n = Number(readFileSync(dir + "/count", "utf8")); } catch {}
writeFileSync(dir + "/count", String(n + 1));
const mhz = n % 3 === 2 ? 1500 : 1980;
put("100, " + mhz + ", 1980, 61, 540.5");
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 450);
const out = process.argv[2];
const wiggle = 1 + 0.002 * Math.sin(n * 1.7);
writeFileSync(out + "/bench.json", JSON.stringify({ kernel_us: (2e6 / mhz) * wiggle }));
put("0, 345, 1980, 36, 78.42");
`;
    const dir = await repo(100, {});
    await writeFile(join(dir, "bench.mjs"), gpuBench);
    git(dir, "commit", "-q", "-am", "gpu bench");
    git(dir, "branch", "-f", "main", "HEAD");
    await writeFile(join(dir, "change.txt"), "a change that does not touch the kernel\n");
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", "head");
    await writeFile(join(state, "smi.csv"), "0, 345, 1980, 36, 78.42\n");
    const fakeEnv = {
      ...env,
      PATH: `${join(import.meta.dirname, "../../cost-budget/test/fake-bin")}:${process.env.PATH}`,
      FAKE_NVIDIA_SMI_NAMES: "NVIDIA H200",
      FAKE_NVIDIA_SMI_CLOCKS: join(state, "smi.csv"),
      CLOCK_STATE: state,
    };
    const cfg = config({
      metrics: [{ id: "kernel", file: "{out}/bench.json", path: "kernel_us", unit: "us" }],
      rounds: { min: 6, max: 12 },
      clocks: { sampleSeconds: 0.1 },
    });
    const lines: string[] = [];
    const { section, metrics } = await runAb(cfg, {
      baseDir: dir,
      outDir: join(dir, "out"),
      env: fakeEnv,
      onProgress: (l) => lines.push(l),
    });
    const rounds = section.findings.find((f) => f.id === "ab.rounds")!;
    expect(rounds.summary).toMatch(/; SM clock 1500–1980 MHz, up to 61 °C, 541 W/);
    // The levels shown are cycle-space levels at the reference clock: 2·10⁶ cycles at 1980 MHz.
    expect(f0(section).summary).toMatch(/^1\.01 ms → 1\.01 ms: unchanged/);
    const perRound = (rounds.data as { clocks: { rounds: Array<{ base: { smMHz: number } }> } }).clocks
      .rounds;
    expect(perRound[0]).toMatchObject({ round: 1, base: { smMHz: 1980, boostMHz: 1980, maxTempC: 61 } });
    expect(lines.some((l) => /^ab: round \d+\/12 \(.*\) \[SM clock base 1500, head 1980 MHz\]/.test(l))).toBe(
      true,
    );
    expect(metrics[0]!.clocks).toMatchObject({ space: "cycles", referenceMHz: 1980 });
    expect(metrics[0]!.verdict.verdict).toBe("unchanged");
    const f = section.findings.find((x) => x.id === "ab.kernel")!;
    expect(f.summary).toMatch(
      /: unchanged: .* rounds; SM clock 1500–1980 MHz; the values follow it \(elasticity -1\.0\d\): judged in cycle space at 1980 MHz \(wall time: inconclusive [+−]\d+\.\d % \[−\d+\.\d %, \+\d+\.\d %\]\)$/,
    );
    expect(f.data).toMatchObject({ clocks: { space: "cycles", wall: { verdict: "inconclusive" } } });
  });
});
