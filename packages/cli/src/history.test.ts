import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const bin = join(root, "packages/cli/dist/bin.js");
/** The environment of a local run: no GitHub Actions variables from the machine running the tests. */
const LOCAL: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith("GITHUB_") && !k.startsWith("RUNNER_")),
);
function gpuci(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...LOCAL, NO_COLOR: "1", ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const USER = {
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@e",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@e",
};
const git = (cwd: string, ...args: string[]) =>
  spawnSync("git", args, { cwd, encoding: "utf8", env: { ...LOCAL, ...USER } }).stdout.trim();
async function repo(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `gpuci-cli-${label}-`));
  git(dir, "init", "-q", "-b", "main");
  git(dir, "commit", "-q", "--allow-empty", "-m", "code");
  return dir;
}
const entryLine = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    v: 1,
    at: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
    commit: i.toString(16).padStart(40, "0"),
    branch: "main",
    results: { latency: { value: 10 + (i % 3) / 10, unit: "ms" } },
    ...extra,
  });

describe("gpuci history and the store's promises, through the CLI", () => {
  it("gpuci history counts and names the lines it refused (a torn write, a clock in 2099)", async () => {
    const dir = await repo("refused");
    await mkdir(join(dir, ".gpuci/history"), { recursive: true });
    const lines = [
      entryLine(1),
      entryLine(2, { at: "2099-01-01T00:00:00.000Z" }),
      entryLine(3),
      entryLine(4).slice(0, 20),
    ];
    await writeFile(join(dir, ".gpuci/history/results.jsonl"), lines.join("\n"));
    await writeFile(join(dir, "gpuci.yml"), "history: { baseBranch: main }\n");
    const r = gpuci(["history"], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("gpuci history: 2 runs on main in ");
    expect(r.stdout).toContain("  refused: 2 lines of ");
    expect(r.stdout).toContain(
      "were refused and not used (results.jsonl line 2: at 2099-01-01T00:00:00.000Z is in the future (more than an hour ahead of this clock); results.jsonl line 4: not a valid JSON object (a torn write: the line has no end))",
    );
    const json = JSON.parse(gpuci(["history", "--json"], dir).stdout);
    expect(json.refused).toHaveLength(2);
    expect(json.metrics[0].points.map((p: { commit: string }) => p.commit.slice(-1))).toEqual(["1", "3"]);
  });

  it("history.remote that is an option (--upload-pack=…) is exit 2 and runs nothing", async () => {
    const dir = await repo("remote");
    await writeFile(
      join(dir, "gpuci.yml"),
      'history: { store: git-branch, remote: "--upload-pack=touch pwned;" }\n',
    );
    const r = gpuci(["history"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('gpuci: history.remote "--upload-pack=touch pwned;" is not a remote');
    expect(r.stderr).toContain("(GPUCI_HISTORY_CONFIG)");
    expect(existsSync(join(dir, "pwned"))).toBe(false);
  });

  it("a history.branch git refuses, or the base branch, is exit 2 from gpuci history and from gpuci run before any command", async () => {
    const dir = await repo("branch");
    await writeFile(join(dir, "gpuci.yml"), 'history: { store: git-branch, branch: "a..b" }\n');
    const h = gpuci(["history"], dir);
    expect(h.code).toBe(2);
    expect(h.stderr).toMatch(
      /history\.branch "a\.\.b" is not a valid branch name \(git check-ref-format refuses it\)/,
    );
    await writeFile(join(dir, "m.json"), '{"latency": 3}');
    await writeFile(
      join(dir, "gpuci.yml"),
      [
        "history: { store: git-branch, branch: main, baseBranch: main }",
        "run: [{ name: marker, command: touch ran }]",
        "gates: [{ id: lat, metric: { file: m.json, path: latency }, baseline: { history: true } }]",
        "",
      ].join("\n"),
    );
    const r = gpuci(["run", "--out", "out"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('history.branch "main" is the base branch');
    expect(existsSync(join(dir, "ran"))).toBe(false);
    expect(git(dir, "log", "--format=%s", "main")).toBe("code");
  });

  it("a pull request whose command checks out main cannot record its numbers as main's baselines", async () => {
    const dir = await repo("poison");
    git(dir, "checkout", "-q", "-b", "pr");
    git(dir, "commit", "-q", "--allow-empty", "-m", "pr work");
    await writeFile(
      join(dir, "gpuci.yml"),
      [
        "history: { baseBranch: main }",
        "run:",
        '  - { name: bench, command: "echo \'{\\"latency\\": 1}\' > m.json && git checkout -q -B main" }',
        "gates: [{ id: lat, metric: { file: m.json, path: latency }, baseline: { history: true } }]",
        "",
      ].join("\n"),
    );
    const r = gpuci(["run", "--out", "out"], dir);
    expect(git(dir, "symbolic-ref", "--short", "HEAD")).toBe("main"); // the command did move it
    const stored = (await readFile(join(dir, ".gpuci/history/results.jsonl"), "utf8")).trim().split("\n");
    expect(stored).toHaveLength(1);
    expect(JSON.parse(stored[0]!)).toMatchObject({ branch: "pr", results: { lat: { value: 1 } } });
    expect(r.stderr).toMatch(/history: this run is not base-branch history \([0-9a-f]{12} is not on main\)/);
  });

  it("gpuci dashboard writes the site from the store; --out that is a file is exit 2", async () => {
    const dir = await repo("dashboard");
    await mkdir(join(dir, ".gpuci/history"), { recursive: true });
    await writeFile(
      join(dir, ".gpuci/history/results.jsonl"),
      `${Array.from({ length: 12 }, (_, i) => entryLine(i)).join("\n")}\n{"torn`,
    );
    await writeFile(join(dir, "gpuci.yml"), "history: { baseBranch: main }\n");
    const r = gpuci(["dashboard"], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^gpuci dashboard: wrote .*\/\.gpuci\/site\/index\.html \(1 metrics, 12 runs, 0\.\d MB in 7 files/,
    );
    expect(r.stdout).toContain("  refused: 1 line of ");
    const page = await readFile(join(dir, ".gpuci/site/index.html"), "utf8");
    expect(page).toContain('<section class="metric" id="metric-latency"');
    expect(page).toContain("12 runs (12 on main, 0 pull-request runs)");
    await writeFile(join(dir, "file"), "");
    const bad = gpuci(["dashboard", "--out", "file"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--out .*file cannot take the site/);
  });

  it("with dashboard.url set, the comment links each history metric to its chart on the dashboard", async () => {
    const dir = await repo("link");
    await mkdir(join(dir, ".gpuci/history"), { recursive: true });
    await writeFile(
      join(dir, ".gpuci/history/results.jsonl"),
      `${Array.from({ length: 12 }, (_, i) => entryLine(i, { results: { lat: { value: 10 + (i % 3) / 10, unit: "ms" } } })).join("\n")}\n`,
    );
    await writeFile(join(dir, "m.json"), '{"latency": 10.1}');
    await writeFile(
      join(dir, "gpuci.yml"),
      [
        "history: { baseBranch: main, record: false }",
        "dashboard: { url: https://acme.github.io/kernels/ }",
        "gates: [{ id: lat, title: attention latency, metric: { file: m.json, path: latency, unit: ms }, baseline: { history: true } }]",
        "",
      ].join("\n"),
    );
    const r = gpuci(["run", "--out", "out"], dir);
    expect(r.code).toBe(0);
    const comment = await readFile(join(dir, "out/comment.md"), "utf8");
    expect(comment).toContain("| [attention latency](https://acme.github.io/kernels/#metric-lat) |");
  });
});
