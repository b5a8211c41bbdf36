// Cancel and budgets, with real child processes and real signals: what a CI cancel sends
// (SIGINT, then SIGTERM) must stop everything gpuci started, remove what it created, and
// leave a report of what finished.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const bin = join(root, "packages/cli/dist/bin.js");

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@e",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@e",
};
const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8" }).trim();

/** Start the built CLI; `exited` resolves with its exit code (or the signal that ended it). */
function start(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b) => {
    stdout += b;
  });
  child.stderr.on("data", (b) => {
    stderr += b;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, out: () => ({ stdout, stderr }) };
}

/** Wait until a file exists (the command has started), at most `ms`. */
async function waitFor(path: string, ms = 30_000): Promise<string> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (existsSync(path)) {
      const text = (await readFile(path, "utf8")).trim();
      if (text) return text;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} never appeared`);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

describe("a cancelled gpuci", () => {
  it("SIGTERM to gpuci run: every group it started is stopped (SIGKILL for one that ignores SIGTERM), the report says cancelled with what finished, exit 143", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-cancel-run-"));
    await writeFile(
      join(dir, "gpuci.yml"),
      [
        "run:",
        "  - { name: first, command: echo first done }",
        "  - name: stubborn",
        `    command: "sh -c 'trap \\"\\" TERM; echo $$ > child.pid; sleep 300' & echo $$ > leader.pid; wait"`,
        "  - { name: never, command: echo never }",
        "gates:",
        "  - { id: g, metric: { file: m.json, path: v }, max: 1 }",
      ].join("\n"),
    );
    const run = start(["run", "-c", "gpuci.yml", "--out", "out"], dir);
    const child = Number(await waitFor(join(dir, "child.pid")));
    const leader = Number(await waitFor(join(dir, "leader.pid")));
    expect(alive(child)).toBe(true);
    run.child.kill("SIGTERM");
    const { code } = await run.exited;
    const { stderr } = run.out();
    expect(code, stderr).toBe(143);
    expect(stderr).toMatch(/gpuci: received SIGTERM: stopping the commands gpuci started/);
    expect(alive(child)).toBe(false);
    expect(alive(leader)).toBe(false);

    const report = JSON.parse(await readFile(join(dir, "out/report.json"), "utf8"));
    expect(report.cancelled).toMatchObject({ signal: "SIGTERM" });
    expect(report.status).toBe("error");
    const findings = Object.fromEntries(
      report.sections.flatMap((s: { findings: Array<{ id: string }> }) => s.findings.map((f) => [f.id, f])),
    );
    expect(findings["run.first"]).toMatchObject({ status: "pass" });
    expect(findings["run.stubborn"]).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(
        /^stopped by the watchdog after .*: gpuci was cancelled by SIGTERM \(ignored SIGTERM: killed\)$/,
      ),
    });
    expect(findings["run.never"]).toMatchObject({ status: "skip", summary: "not run: gpuci was cancelled" });
    expect(findings["gates.skipped"]).toMatchObject({ summary: "not run: gpuci was cancelled by SIGTERM" });
    expect(findings["gpuci.cancelled"]).toMatchObject({
      status: "error",
      summary: expect.stringMatching(
        /^gpuci received SIGTERM at .*; stopped 1 process group it had started \(SIGTERM; 1 ignored it and got SIGKILL\)/,
      ),
    });
    expect(await readFile(join(dir, "out/comment.md"), "utf8")).toMatch(
      /## 🛑 gpuci was cancelled \(SIGTERM\)/,
    );
  }, 60_000);

  it("SIGHUP (a closed terminal) is a cancel too: exit 129, the report written", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-cancel-hup-"));
    await writeFile(
      join(dir, "gpuci.yml"),
      "run:\n  - { name: wait, command: 'echo $$ > pid; sleep 300' }\n",
    );
    const run = start(["run", "-c", "gpuci.yml", "--out", "out"], dir);
    const pid = Number(await waitFor(join(dir, "pid")));
    run.child.kill("SIGHUP");
    const { code } = await run.exited;
    expect(code, run.out().stderr).toBe(129);
    expect(alive(pid)).toBe(false);
    const report = JSON.parse(await readFile(join(dir, "out/report.json"), "utf8"));
    expect(report.cancelled).toMatchObject({ signal: "SIGHUP" });
  }, 60_000);

  it("SIGINT to gpuci ab during a round: the base worktree and its folder are removed, the lock released, exit 130", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-cancel-ab-"));
    await writeFile(join(dir, ".gitignore"), "out/\n");
    await writeFile(
      join(dir, "gpuci.yml"),
      [
        "ab:",
        '  command: pwd > "$MARK"; sleep 300',
        "  metrics: [{ id: t, file: '{out}/t.json', path: t }]",
      ].join("\n"),
    );
    git(dir, "init", "-q", "-b", "main");
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", "base");
    git(dir, "checkout", "-q", "-b", "pr");
    git(dir, "commit", "-q", "--allow-empty", "-m", "head");
    const mark = join(dir, "mark");
    const ab = start(["ab", "-c", "gpuci.yml", "--out", "out"], dir, { MARK: mark });
    const baseTree = await waitFor(mark);
    expect(baseTree).toMatch(/gpuci-ab-.*\/base$/);
    expect(git(dir, "worktree", "list").split("\n")).toHaveLength(2);
    ab.child.kill("SIGINT");
    const { code } = await ab.exited;
    const { stdout, stderr } = ab.out();
    expect(code, stderr).toBe(130);
    expect(git(dir, "worktree", "list").split("\n")).toHaveLength(1);
    expect(existsSync(dirname(baseTree))).toBe(false);
    expect(existsSync(join(dir, "out/ab.lock"))).toBe(false);
    expect(stdout).toMatch(/A\/B rounds: 0 rounds .*; stopped: gpuci was cancelled by SIGINT/);
  }, 60_000);
});

describe("budgets cover every stage that runs commands", () => {
  it("cost.budget.runMinutes stops the A/B too, and the Cost section counts the A/B's time", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-cost-ab-"));
    await writeFile(join(dir, ".gitignore"), "out/\n.gpuci/\n");
    await writeFile(
      join(dir, "gpuci.yml"),
      [
        "run:",
        "  - { name: warm, command: 'true' }",
        "ab:",
        "  command: 'sleep 1; echo 1 > {out}/t.json'",
        "  metrics: [{ id: t, file: '{out}/t.json', path: $ }]",
        "cost:",
        "  gpus: 1",
        "  budget: { runMinutes: 0.05 }",
      ].join("\n"),
    );
    git(dir, "init", "-q", "-b", "main");
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", "base");
    git(dir, "checkout", "-q", "-b", "pr");
    git(dir, "commit", "-q", "--allow-empty", "-m", "head");
    const run = start(["run", "-c", "gpuci.yml", "--out", "out"], dir);
    const { code } = await run.exited;
    expect(code, run.out().stderr).toBe(1);
    const report = JSON.parse(await readFile(join(dir, "out/report.json"), "utf8"));
    expect(report.sections.map((s: { id: string }) => s.id)).toEqual(["run", "ab", "cost"]);
    const findings = Object.fromEntries(
      report.sections.flatMap((s: { findings: Array<{ id: string }> }) => s.findings.map((f) => [f.id, f])),
    );
    expect(findings["ab.rounds"].summary).toMatch(/stopped: cost\.budget\.runMinutes is 0\.05 min$/);
    expect(findings["ab.rounds"].data).toMatchObject({ stoppedBy: "budget.runMinutes" });
    expect(findings["cost.budget.runMinutes"]).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/; the run was stopped at this budget$/),
    });
    // The A/B's seconds are in the total: the `true` command alone takes milliseconds.
    expect(findings["cost.budget.runMinutes"].data.spent).toBeGreaterThan(2);
  }, 60_000);

  it("an unresolvable --base is a usage error: exit 2 with the fix", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-ab-base-"));
    await writeFile(
      join(dir, "gpuci.yml"),
      "ab:\n  command: 'true'\n  metrics: [{ id: t, file: '{out}/t.json', path: t }]\n",
    );
    git(dir, "init", "-q", "-b", "main");
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", "base");
    const r = start(["ab", "-c", "gpuci.yml", "--base", "no-such-ref", "--out", "out"], dir);
    const { code } = await r.exited;
    expect(code).toBe(2);
    expect(r.out().stderr).toMatch(
      /gpuci: the base "no-such-ref" is not a commit in this repository\. Pass a --base that is a branch, tag or commit of this repository, or fetch it: Fetch it \(git fetch origin no-such-ref\)/,
    );
  });
});
