import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createReport,
  createSection,
  type Finding,
  readCommentData,
  renderComment,
  writeReport,
} from "@gpuci/report";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dist = join(root, "actions/gpuci/dist/index.js");
const TOKEN = "ghs_TestToken0123456789abcdefghijABCDEFGHIJ";

interface Comment {
  id: number;
  body: string;
  html_url: string;
  user?: { login: string; id: number; type: string };
}
/** Who writes the comments the workflow's token creates, as GitHub shows it. */
const BOT = { login: "github-actions[bot]", id: 41898282, type: "Bot" };
const MALLORY = { login: "mallory", id: 666, type: "User" };
interface Pull {
  number: number;
  head: { sha: string; ref: string; repo: { full_name: string } };
}
interface Injected {
  method: string;
  path: RegExp;
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  times: number;
}

/** A local server that speaks the GitHub REST shapes the action uses. */
class FakeGitHub {
  server!: Server;
  comments = new Map<number, Comment[]>();
  requests: Array<{ method: string; url: string; auth?: string }> = [];
  injected: Injected[] = [];
  nextId = 1000;
  url = "";
  /** The token's identity: a workflow token (GET /user refused, writes as the bot) by default. */
  identity: { user: { login: string; id: number; type: string }; userEndpoint: boolean } = {
    user: BOT,
    userEndpoint: false,
  };
  pulls: Pull[] = [];

  async start() {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset() {
    this.comments.clear();
    this.requests = [];
    this.injected = [];
    this.identity = { user: BOT, userEndpoint: false };
    this.pulls = [];
  }

  thread(n: number): Comment[] {
    const list = this.comments.get(n) ?? [];
    this.comments.set(n, list);
    return list;
  }

  inject(
    method: string,
    path: RegExp,
    status: number,
    body: unknown,
    times = 1,
    headers: Record<string, string> = {},
  ) {
    this.injected.push({ method, path, status, body, headers, times });
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const url = new URL(req.url ?? "/", this.url);
    this.requests.push({
      method: req.method ?? "",
      url: url.pathname + url.search,
      ...(req.headers.authorization ? { auth: req.headers.authorization } : {}),
    });
    if (req.headers.authorization !== `token ${TOKEN}` && req.headers.authorization !== `Bearer ${TOKEN}`)
      return this.send(res, 401, {
        message: "Bad credentials",
        documentation_url: "https://docs.github.com/rest",
      });
    const inj = this.injected.find(
      (i) => i.times > 0 && i.method === req.method && i.path.test(url.pathname),
    );
    if (inj) {
      inj.times--;
      return this.send(res, inj.status, inj.body, inj.headers);
    }
    if (url.pathname === "/user" && req.method === "GET")
      return this.identity.userEndpoint
        ? this.send(res, 200, { login: this.identity.user.login, id: this.identity.user.id, type: "User" })
        : this.send(res, 403, {
            message: "Resource not accessible by integration",
            documentation_url: "https://docs.github.com/rest/users/users#get-the-authenticated-user",
          });
    if (url.pathname === "/repos/o/r/pulls" && req.method === "GET") {
      const head = url.searchParams.get("head");
      const state = url.searchParams.get("state") ?? "open";
      const list = this.pulls.filter(
        (p) => state === "open" && (!head || `${p.head.repo.full_name.split("/")[0]}:${p.head.ref}` === head),
      );
      return this.send(res, 200, list);
    }
    let m = /^\/repos\/o\/r\/issues\/(\d+)\/comments$/.exec(url.pathname);
    if (m && req.method === "GET") {
      const list = this.thread(Number(m[1]));
      const per = Number(url.searchParams.get("per_page") ?? 30);
      const page = Number(url.searchParams.get("page") ?? 1);
      const last = Math.max(1, Math.ceil(list.length / per));
      const link = (p: number) => `<${this.url}${url.pathname}?per_page=${per}&page=${p}>`;
      const links = [page < last ? `${link(page + 1)}; rel="next"` : "", `${link(last)}; rel="last"`]
        .filter(Boolean)
        .join(", ");
      return this.send(res, 200, list.slice((page - 1) * per, page * per), { link: links });
    }
    if (m && req.method === "POST") {
      const { body } = JSON.parse(raw) as { body: string };
      if (body.length > 65536)
        return this.send(res, 422, {
          message: "Validation Failed",
          errors: [
            {
              resource: "IssueComment",
              code: "custom",
              field: "body",
              message: "body is too long (maximum is 65536 characters)",
            },
          ],
        });
      const c = {
        id: this.nextId++,
        body,
        html_url: `https://github.com/o/r/pull/${m[1]}#issuecomment-${this.nextId}`,
        user: this.identity.user,
      };
      this.thread(Number(m[1])).push(c);
      return this.send(res, 201, c);
    }
    m = /^\/repos\/o\/r\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if (m && req.method === "PATCH") {
      const { body } = JSON.parse(raw) as { body: string };
      for (const list of this.comments.values()) {
        const c = list.find((x) => x.id === Number(m![1]));
        // GitHub lets a token edit its own comments, not someone else's.
        if (c && c.user?.login !== this.identity.user.login)
          return this.send(res, 403, {
            message: "Resource not accessible by integration",
            documentation_url: "https://docs.github.com/rest/issues/comments#update-an-issue-comment",
          });
        if (c) {
          c.body = body;
          return this.send(res, 200, c);
        }
      }
      return this.send(res, 404, { message: "Not Found" });
    }
    return this.send(res, 404, { message: "Not Found" });
  }
}

const gh = new FakeGitHub();
beforeAll(() => gh.start());
afterAll(() => new Promise<void>((r) => gh.server.close(() => r())));
beforeEach(() => gh.reset());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  summary: string;
  outputs: Record<string, string>;
  dir: string;
}

/** Run the built action as GitHub's runner does: node dist/index.js with INPUT_* and GITHUB_* set. */
async function runAction(opts: {
  inputs?: Record<string, string>;
  config?: string;
  event?: unknown;
  eventName?: string;
  runId?: number;
  attempt?: number;
  files?: Record<string, string>;
  dir?: string;
  distPath?: string;
  extraEnv?: NodeJS.ProcessEnv;
  /** Send `signal` to the action once `file` (relative to the folder) exists. */
  signalWhen?: { file: string; signal: NodeJS.Signals };
}): Promise<Run> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "gpuci-action-")));
  if (opts.config !== undefined) await writeFile(join(dir, "gpuci.yml"), opts.config);
  for (const [name, content] of Object.entries(opts.files ?? {})) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  const eventPath = join(dir, "event.json");
  await writeFile(
    eventPath,
    JSON.stringify(opts.event ?? { pull_request: { number: 7, head: { sha: "abc1234def" } } }),
  );
  const summary = join(dir, "summary.md");
  const output = join(dir, "output.txt");
  await writeFile(summary, "");
  await writeFile(output, "");
  const env: NodeJS.ProcessEnv = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: process.env.HOME,
    GITHUB_ACTIONS: "true",
    GITHUB_REPOSITORY: "o/r",
    GITHUB_EVENT_NAME: opts.eventName ?? "pull_request",
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_RUN_ID: String(opts.runId ?? 100),
    GITHUB_RUN_ATTEMPT: String(opts.attempt ?? 1),
    GITHUB_SHA: "merge000sha",
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_API_URL: gh.url,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_OUTPUT: output,
    RUNNER_NAME: "gpu-runner-1",
    RUNNER_ENVIRONMENT: "self-hosted",
    "INPUT_GITHUB-TOKEN": TOKEN,
    ...Object.fromEntries(Object.entries(opts.inputs ?? {}).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    ...(opts.extraEnv ?? {}),
  };
  const child = spawn(process.execPath, [opts.distPath ?? dist], { cwd: dir, env });
  if (opts.signalWhen) {
    const { file, signal } = opts.signalWhen;
    const until = Date.now() + 30_000;
    const poll = setInterval(() => {
      if (existsSync(join(dir, file)) || Date.now() > until) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 50);
  }
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b) => (stdout += b));
  child.stderr.on("data", (b) => (stderr += b));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  const outputs: Record<string, string> = {};
  const text = await readFile(output, "utf8");
  for (const m of text.matchAll(/^([\w-]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm))
    outputs[m[1]!] = m[3]!;
  return { code, stdout, stderr, summary: await readFile(summary, "utf8"), outputs, dir };
}

const passing = "run:\n  - name: ok\n    command: echo fine\n";
const failing = "run:\n  - name: broken\n    command: exit 3\n";

describe("the built action against a local GitHub API", () => {
  it("is built", () => expect(existsSync(dist)).toBe(true));

  it("first run creates one comment, the next run updates it; outputs and summary are written", async () => {
    const first = await runAction({ config: passing });
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(gh.thread(7)).toHaveLength(1);
    expect(gh.thread(7)[0]!.body.split("\n")[0]).toBe("<!-- gpuci:comment id=default -->");
    expect(first.outputs).toMatchObject({
      status: "pass",
      "report-path": join(first.dir, ".gpuci/report.json"),
    });
    expect(first.outputs.summary).toMatch(/^pass: \d+ passed/);
    expect(first.outputs["comment-url"]).toMatch(/^https:\/\/github\.com\/o\/r\/pull\/7#issuecomment-/);
    expect(first.summary).toContain("## ✅ gpuci passed");
    const second = await runAction({ config: failing, runId: 101 });
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/::error::gpuci fail: 1 failed/);
    expect(gh.thread(7)).toHaveLength(1);
    expect(gh.thread(7)[0]!.body).toContain("## ❌ gpuci failed");
    expect(gh.requests.filter((r) => r.method === "PATCH")).toHaveLength(1);
    // The pull request's running cost was read back from the first comment and carried on.
    const cost = readCommentData(gh.thread(7)[0]!.body, "cost") as {
      runs: number;
      pr: number;
      runIds: string[];
    };
    expect(cost).toMatchObject({ pr: 7, runs: 2, runIds: ["100-1", "101-1"] });
  });

  it("the comment tells the performance story: money in the headline, the metrics table, the trend chart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-action-story-"));
    const git = (...args: string[]) =>
      execFileSync("git", args, {
        cwd: dir,
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: "t",
          GIT_AUTHOR_EMAIL: "t@e",
          GIT_COMMITTER_NAME: "t",
          GIT_COMMITTER_EMAIL: "t@e",
        },
      });
    git("init", "-q", "-b", "main");
    git("commit", "-q", "--allow-empty", "-m", "base");
    git("checkout", "-q", "-b", "pr");
    const history = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({
        v: 1,
        at: new Date(Date.UTC(2026, 10, 1 + i)).toISOString(),
        commit: `${String(i).padStart(2, "0")}${"c".repeat(38)}`,
        branch: "main",
        results: { latency: { value: 12.3 + (i % 3) * 0.05, unit: "ms" } },
      }),
    ).join("\n");
    const run = await runAction({
      dir,
      files: { ".gpuci/history/results.jsonl": `${history}\n`, "m.json": JSON.stringify({ latency: 13.9 }) },
      config: [
        "run:",
        "  - name: bench",
        "    command: echo benchmarking",
        "gates:",
        "  - { id: latency, metric: { file: m.json, path: latency, unit: ms }, baseline: { history: true } }",
        "history: { baseBranch: main, record: false }",
        "cost: { rate: 2.50 }",
      ].join("\n"),
    });
    expect(run.code).toBe(1);
    const body = gh.thread(7).at(-1)!.body;
    expect(body).toMatch(/\*\*1 regressed · \$0\.\d{4} this run, \$0\.\d{4} this PR\*\*/);
    expect(body).toMatch(
      /\| latency \| 12\.4 ms \| 13\.9 ms \| \+1\d\.\d % \[\+\d+\.\d, \+\d+\.\d\] \| ❌ regressed \|/,
    );
    expect(body).toContain("xychart-beta");
    expect(body).toContain("12 base-branch runs 00ccccc…11ccccc, then this PR");
  });

  it("finds its comment among 250 others (paginating) and updates it in place", async () => {
    const thread = gh.thread(7);
    for (let i = 0; i < 250; i++) thread.push({ id: i + 1, body: `review comment ${i}`, html_url: `u${i}` });
    thread.splice(230, 0, {
      id: 9999,
      body: '<!-- gpuci:comment id=default -->\n<!-- gpuci:meta {"runId":90,"attempt":1} -->\nold',
      html_url: "https://github.com/o/r/pull/7#issuecomment-9999",
      user: BOT,
    });
    const r = await runAction({ config: passing });
    expect(r.code).toBe(0);
    expect(thread).toHaveLength(251);
    expect(thread.find((c) => c.id === 9999)!.body).toContain("gpuci passed");
    expect(
      gh.requests.filter((q) => q.method === "GET" && q.url.includes("/comments")).map((q) => q.url),
    ).toEqual([
      "/repos/o/r/issues/7/comments?per_page=100",
      "/repos/o/r/issues/7/comments?per_page=100&page=2",
      "/repos/o/r/issues/7/comments?per_page=100&page=3",
    ]);
  });

  it("an older run attempt never overwrites a newer one's comment", async () => {
    const newer =
      '<!-- gpuci:comment id=default -->\n<!-- gpuci:meta {"runId":100,"attempt":2,"sha":"abc1234def"} -->\nnewer verdict';
    gh.thread(7).push({
      id: 5,
      body: newer,
      html_url: "https://github.com/o/r/pull/7#issuecomment-5",
      user: BOT,
    });
    const r = await runAction({ config: passing, runId: 100, attempt: 1 });
    expect(r.code).toBe(0);
    expect(gh.thread(7)[0]!.body).toBe(newer);
    expect(r.stdout).toMatch(/a newer run \(100 attempt 2\) already commented/);
    expect(gh.requests.some((q) => q.method === "PATCH" || q.method === "POST")).toBe(false);
  });

  it("a stranger's comment that starts with gpuci's marker is never read or written: its forged meta cannot suppress the verdict", async () => {
    const forged = [
      "<!-- gpuci:comment id=default -->",
      '<!-- gpuci:meta {"runId":999999,"attempt":9,"sha":"abc1234def"} -->',
      `<!-- gpuci:data cost ${Buffer.from(JSON.stringify({ v: 1, pr: 7, runs: 1, seconds: 1, costUsd: 99999, updatedAt: "2026-01-01T00:00:00Z", runIds: ["1-1"] })).toString("base64")} -->`,
      "## ✅ gpuci passed (all is well, says mallory)",
    ].join("\n");
    gh.thread(7).push({
      id: 66,
      body: forged,
      html_url: "https://github.com/o/r/pull/7#issuecomment-66",
      user: MALLORY,
    });
    gh.thread(7).push({
      id: 67,
      body: "<!-- gpuci:comment id=default -->\nno meta at all",
      html_url: "https://github.com/o/r/pull/7#issuecomment-67",
      user: MALLORY,
    });
    const r = await runAction({ config: failing });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/a newer run .* already commented|could not comment/);
    // Mallory's comments are as she wrote them; gpuci's verdict is a comment of its own.
    expect(gh.thread(7).find((c) => c.id === 66)!.body).toBe(forged);
    expect(gh.thread(7).find((c) => c.id === 67)!.body).toBe(
      "<!-- gpuci:comment id=default -->\nno meta at all",
    );
    expect(gh.requests.filter((q) => q.method === "PATCH")).toHaveLength(0);
    const mine = gh.thread(7).filter((c) => c.user?.login === BOT.login);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.body).toContain("## ❌ gpuci failed");
    // The pull request's cost starts from gpuci's own record, not from the forged block.
    const cost = readCommentData(mine[0]!.body, "cost") as { costUsd: number; runs: number };
    expect(cost.runs).toBe(1);
    expect(cost.costUsd).toBeLessThan(1);
  });

  it("a personal token: the token's user (GET /user) is whose comments are gpuci's", async () => {
    gh.identity = { user: { login: "gpuci-bot", id: 5, type: "User" }, userEndpoint: true };
    gh.thread(7).push({
      id: 70,
      body: '<!-- gpuci:comment id=default -->\n<!-- gpuci:meta {"runId":1,"attempt":1} -->\nby the bot token',
      html_url: "https://github.com/o/r/pull/7#issuecomment-70",
      user: BOT,
    });
    gh.thread(7).push({
      id: 71,
      body: '<!-- gpuci:comment id=default -->\n<!-- gpuci:meta {"runId":2,"attempt":1} -->\nmine',
      html_url: "https://github.com/o/r/pull/7#issuecomment-71",
      user: { login: "gpuci-bot", id: 5, type: "User" },
    });
    const r = await runAction({ config: passing });
    expect(r.code).toBe(0);
    expect(gh.thread(7).find((c) => c.id === 71)!.body).toContain("gpuci passed");
    expect(gh.thread(7).find((c) => c.id === 70)!.body).toContain("by the bot token");
    expect(gh.requests.filter((q) => q.method === "POST")).toHaveLength(0);
  });

  describe("mode: comment after workflow_run (the fork-safe flow)", () => {
    const headSha = "f00dfeed".repeat(5);
    const workflowRun = {
      workflow_run: {
        id: 555,
        run_attempt: 1,
        head_sha: headSha,
        head_branch: "feature",
        head_repository: { full_name: "fork/r", owner: { login: "fork" } },
        // GitHub leaves this empty for pull requests from forks.
        pull_requests: [],
      },
    };
    const ownComment = (pr: number, costUsd: number, runIds: string[]) =>
      renderComment(
        createReport({
          sections: [createSection("gates", "Gates", [{ id: "g", title: "g", status: "pass" }], 1)],
          startedAt: "2026-11-23T10:00:00Z",
          finishedAt: "2026-11-23T10:01:00Z",
          tool: { name: "gpuci", version: "0" },
        }),
        {
          meta: { runId: 90, attempt: 1 },
          dataBlocks: {
            cost: {
              v: 1,
              pr,
              runs: runIds.length,
              seconds: 60,
              costUsd,
              updatedAt: "2026-11-23T10:01:00Z",
              runIds,
            },
          },
        },
      );
    async function setUp(meta: Record<string, unknown>) {
      gh.pulls = [
        { number: 7, head: { sha: headSha, ref: "feature", repo: { full_name: "fork/r" } } },
        { number: 8, head: { sha: "0".repeat(40), ref: "main", repo: { full_name: "o/r" } } },
      ];
      gh.thread(7).push({
        id: 700,
        body: ownComment(7, 0.5, ["400-1"]),
        html_url: "https://github.com/o/r/pull/7#issuecomment-700",
        user: BOT,
      });
      gh.thread(8).push({
        id: 800,
        body: ownComment(8, 1, ["401-1"]),
        html_url: "https://github.com/o/r/pull/8#issuecomment-800",
        user: BOT,
      });
      const dir = await mkdtemp(join(tmpdir(), "gpuci-action-wr-"));
      await writeReport(
        join(dir, "reports/fork/report.json"),
        createReport({
          sections: [createSection("gates", "Gates", [{ id: "g", title: "g", status: "pass" }], 1)],
          startedAt: "2026-11-23T11:00:00Z",
          finishedAt: "2026-11-23T11:02:00Z",
          tool: { name: "gpuci", version: "0" },
          meta,
        }),
      );
      return dir;
    }
    const forgedTotal = {
      v: 1,
      pr: 7,
      runs: 1,
      seconds: 1,
      costUsd: 99999,
      updatedAt: "2026-11-23T11:02:00Z",
      runIds: ["x-1"],
    };

    it("posts on the pull request whose head the run built, with its own previous total plus this run (never the report's total)", async () => {
      const dir = await setUp({ pr: 7, costUsd: 0.25, prCost: forgedTotal });
      const r = await runAction({
        dir,
        inputs: { mode: "comment" },
        event: workflowRun,
        eventName: "workflow_run",
      });
      expect(r.code, r.stdout).toBe(0);
      const body = gh.thread(7).find((c) => c.id === 700)!.body;
      expect(readCommentData(body, "cost")).toMatchObject({
        pr: 7,
        runs: 2,
        costUsd: 0.75,
        runIds: ["400-1", "555-1"],
      });
      expect(body).toContain("**$0.25 this run, $0.75 this PR**");
      expect(body).not.toContain("99999");
      expect(gh.thread(8)[0]!.body).toBe(ownComment(8, 1, ["401-1"]));
    });

    it("refuses a report that names another pull request, and a pr-number that is not the run's", async () => {
      const dir = await setUp({ pr: 8, costUsd: 0.25, prCost: { ...forgedTotal, pr: 8 } });
      const r = await runAction({
        dir,
        inputs: { mode: "comment" },
        event: workflowRun,
        eventName: "workflow_run",
      });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(
        /::error::gpuci refused to comment: the report was run for pull request #8, but it is being posted on #7/,
      );
      expect(gh.requests.filter((q) => q.method === "PATCH" || q.method === "POST")).toHaveLength(0);
      gh.reset();
      const dir2 = await setUp({ costUsd: 0.25 });
      const r2 = await runAction({
        dir: dir2,
        inputs: { mode: "comment", "pr-number": "8" },
        event: workflowRun,
        eventName: "workflow_run",
      });
      expect(r2.code).toBe(1);
      expect(r2.stdout).toMatch(
        /::error::gpuci refused to comment: pr-number is 8, but the workflow_run's head f00dfeedf00d \(fork\/r\) is the head of pull request #7/,
      );
      expect(gh.requests.filter((q) => q.method === "PATCH" || q.method === "POST")).toHaveLength(0);
      expect(r2.summary).toContain("gpuci passed");
    });

    it("no open pull request has the run's head: nothing is posted", async () => {
      const dir = await setUp({ costUsd: 0.25 });
      gh.pulls = [];
      const r = await runAction({
        dir,
        inputs: { mode: "comment" },
        event: workflowRun,
        eventName: "workflow_run",
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        /::notice::no open pull request has the workflow_run's head f00dfeedf00d \(fork\/r\)/,
      );
      expect(gh.requests.filter((q) => q.method === "PATCH" || q.method === "POST")).toHaveLength(0);
    });
  });

  it("a fork's read-only token (403) leaves the summary written and the status following the gates", async () => {
    const forbidden = {
      message: "Resource not accessible by integration",
      documentation_url: "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
    };
    gh.inject("GET", /comments$/, 403, forbidden, 5);
    gh.inject("POST", /comments$/, 403, forbidden, 5);
    const ok = await runAction({ config: passing });
    expect(ok.code).toBe(0);
    expect(ok.summary).toContain("gpuci passed");
    expect(ok.stdout).toMatch(
      /::notice::gpuci could not comment: GitHub refused this token \(403: Resource not accessible by integration.*\); a pull request from a fork gets a read-only token.*workflow_run/,
    );
    gh.reset();
    gh.inject("GET", /comments$/, 403, forbidden, 5);
    const bad = await runAction({ config: failing });
    expect(bad.code).toBe(1);
    expect(bad.summary).toContain("gpuci failed");
  });

  it("retries a 500 and a secondary rate limit, then succeeds", async () => {
    gh.inject("POST", /comments$/, 500, { message: "Server Error" }, 1);
    const r = await runAction({ config: passing });
    expect(r.code).toBe(0);
    expect(gh.requests.filter((q) => q.method === "POST")).toHaveLength(2);
    expect(gh.thread(7)).toHaveLength(1);
    gh.reset();
    gh.inject(
      "POST",
      /comments$/,
      403,
      {
        message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
      },
      1,
      { "retry-after": "1" },
    );
    const limited = await runAction({ config: passing });
    expect(limited.code).toBe(0);
    expect(gh.thread(7)).toHaveLength(1);
  }, 60_000);

  it("a cancelled job (SIGTERM to the action) stops the command it started, writes the summary marked cancelled, exits 143", async () => {
    const r = await runAction({
      config: "run:\n  - { name: wait, command: 'echo $$ > started; sleep 300' }\n",
      signalWhen: { file: "started", signal: "SIGTERM" },
    });
    expect(r.code, r.stdout).toBe(143);
    const pid = Number(await readFile(join(r.dir, "started"), "utf8"));
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    expect(alive).toBe(false);
    expect(r.stdout).toMatch(/::warning::gpuci received SIGTERM: stopping the commands it started/);
    expect(r.summary).toMatch(/## 🛑 gpuci was cancelled \(SIGTERM\)/);
    expect(gh.thread(7).at(-1)!.body).toMatch(/## 🛑 gpuci was cancelled \(SIGTERM\)/);
  });

  it("a 422 or 404 from GitHub is a warning, not a changed verdict", async () => {
    gh.inject("POST", /comments$/, 422, { message: "Validation Failed" }, 1);
    const r = await runAction({ config: passing });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/::warning::could not write the pull request comment \(HTTP 422/);
    gh.reset();
    gh.inject("GET", /comments$/, 404, { message: "Not Found" }, 1);
    gh.inject("POST", /comments$/, 404, { message: "Not Found" }, 1);
    const nf = await runAction({ config: failing });
    expect(nf.code).toBe(1);
    expect(nf.summary).toContain("gpuci failed");
  });

  it("caps a 200,000-character report under GitHub's limit (mode: comment)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-action-big-"));
    const findings: Finding[] = Array.from({ length: 1200 }, (_, i) => ({
      id: `g${i}`,
      title: `gate ${i}`,
      status: i < 3 ? "fail" : "pass",
      summary: "x".repeat(160),
      remedy: i < 3 ? `fix ${i}` : undefined,
    }));
    const report = createReport({
      sections: [createSection("gates", "Gates", findings, 1)],
      startedAt: "2026-11-23T10:00:00Z",
      finishedAt: "2026-11-23T10:01:00Z",
      tool: { name: "gpuci", version: "0" },
    });
    await writeReport(join(dir, "reports/h100/report.json"), report);
    const r = await runAction({ dir, inputs: { mode: "comment" } });
    expect(r.code).toBe(1);
    expect(r.summary.length).toBeGreaterThan(200_000);
    const body = gh.thread(7)[0]!.body;
    expect(body.length).toBeLessThanOrEqual(65_536);
    for (const i of [0, 1, 2]) expect(body).toContain(`fix ${i}`);
    expect(body).toMatch(
      /Cut to fit GitHub's limit.*\[the full report\]\(https:\/\/github\.com\/o\/r\/actions\/runs\/100\)/,
    );
  });

  it("mode: comment with a report nested 100,000 levels deep fails with the reason, not a stack trace", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-action-deep-"));
    await mkdir(join(dir, "reports/x"), { recursive: true });
    await writeFile(
      join(dir, "reports/x/report.json"),
      `{"schema":"gpuci.report/v1","status":"pass","startedAt":"a","finishedAt":"b","tool":{"name":"g","version":"0"},"sections":[{"id":"s","title":"S","status":"fail","durationMs":1,"findings":[{"id":"f","title":"F","status":"fail","data":${"[".repeat(100_000)}${"]".repeat(100_000)}}]}]}`,
    );
    const r = await runAction({ dir, inputs: { mode: "comment" } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error::.*report\.json nests deeper than 64 levels.*\(GPUCI_REPORT_INVALID\)/);
    expect(r.stdout + r.stderr).not.toMatch(/Maximum call stack|gpuci action failed/);
    expect(gh.requests.filter((q) => q.method === "POST" || q.method === "PATCH")).toHaveLength(0);
  });

  it("aggregates a matrix of runners into one comment with a column per runner", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-action-agg-"));
    const mk = (key: string, status: "pass" | "fail") =>
      createReport({
        sections: [createSection("gates", "Gates", [{ id: "gate.latency", title: "latency", status }], 1)],
        startedAt: "2026-11-23T10:00:00Z",
        finishedAt: "2026-11-23T10:01:00Z",
        tool: { name: "gpuci", version: "0" },
        runner: { key },
      });
    await writeReport(join(dir, "reports/gpuci-h100/report.json"), mk("h100", "pass"));
    await writeReport(join(dir, "reports/gpuci-l4/report.json"), mk("l4", "fail"));
    const r = await runAction({ dir, inputs: { mode: "aggregate", id: "matrix" } });
    expect(r.code).toBe(1);
    expect(gh.thread(7)).toHaveLength(1);
    const body = gh.thread(7)[0]!.body;
    expect(body.split("\n")[0]).toBe("<!-- gpuci:comment id=matrix -->");
    expect(body).toContain("| Check | h100 | l4 |");
    expect(body).toContain("| Gates › latency | ✅ pass | ❌ fail |");
    expect(JSON.parse(await readFile(join(dir, ".gpuci/report.json"), "utf8")).parts).toHaveLength(2);
  });

  it("on-change leaves an identical comment alone; outside pull requests nothing is posted", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-action-oc-"));
    const report = createReport({
      sections: [createSection("gates", "Gates", [{ id: "g", title: "g", status: "pass" }], 1)],
      startedAt: "2026-11-23T10:00:00Z",
      finishedAt: "2026-11-23T10:01:00Z",
      tool: { name: "gpuci", version: "0" },
    });
    await writeReport(join(dir, "reports/a/report.json"), report);
    await runAction({ dir, inputs: { mode: "comment", comment: "on-change" } });
    await runAction({ dir, inputs: { mode: "comment", comment: "on-change" }, runId: 102 });
    expect(gh.requests.filter((q) => q.method === "POST")).toHaveLength(1);
    expect(gh.requests.filter((q) => q.method === "PATCH")).toHaveLength(0);
    gh.reset();
    const push = await runAction({ config: passing, eventName: "push", event: { ref: "refs/heads/main" } });
    expect(push.code).toBe(0);
    expect(push.summary).toContain("gpuci passed");
    expect(push.stdout).toMatch(/not a pull request/);
    expect(gh.requests).toHaveLength(0);
  });

  it("fail-on: never keeps a failure green, warn fails on a warning; bad inputs fail with what was expected", async () => {
    const warn = await runAction({
      config:
        "run:\n  - name: ok\n    command: echo ok\ncost:\n  rate: 1\n  budget: { run: 0.0000001 }\n  graceSeconds: 1\n",
      inputs: { "fail-on": "never" },
    });
    expect(warn.code).toBe(0);
    const strict = await runAction({
      config: "gates:\n  - { id: w, severity: warn, metric: { file: m.json, path: v }, max: 1 }\n",
      files: { "m.json": '{"v": 2}' },
      inputs: { "fail-on": "warn" },
    });
    expect(strict.outputs.status).toBe("warn");
    expect(strict.code).toBe(1);
    const bad = await runAction({ config: passing, inputs: { mode: "sideways" } });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(
      /::error::input "mode" is "sideways"; expected one of run, aggregate, comment/,
    );
  });

  it("the token appears nowhere: stdout, stderr, summary, outputs or files", async () => {
    const r = await runAction({ config: `${failing}provenance:\n  artifacts: ["*.yml"]\n` });
    // The runner consumes ::add-mask:: commands and never shows them; everything else is checked.
    const stdout = r.stdout.replace(/^::add-mask::.*$/m, "");
    expect(r.stdout).toMatch(/^::add-mask::/m);
    for (const text of [stdout, r.stderr, r.summary, JSON.stringify(r.outputs)])
      expect(text).not.toContain(TOKEN);
    const files = await readdir(join(r.dir, ".gpuci"));
    expect(files).toEqual(expect.arrayContaining(["report.json", "provenance.intoto.json", "env.json"]));
    for (const f of files) expect(await readFile(join(r.dir, ".gpuci", f), "utf8")).not.toContain(TOKEN);
    for (const c of gh.thread(7)) expect(c.body).not.toContain(TOKEN);
  });

  it("runs the kernels stage with its native parts resolved from the action's repository", async () => {
    const r = await runAction({
      config:
        "kernels:\n  - { kernel: softmax, shapes: [{ rows: 3, cols: 70 }], backends: [napi, webgpu] }\n",
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(r.dir, ".gpuci/report.json"), "utf8"));
    const kernels = report.sections.find((s: { id: string }) => s.id === "kernels");
    expect(
      kernels.findings
        .filter((f: { status: string }) => f.status === "pass")
        .map((f: { data: { backend: string } }) => f.data.backend)
        .sort(),
    ).toEqual(["napi-cpu", "webgpu"]);
    expect(gh.thread(7)[0]!.body).toContain("Kernels");
  }, 60_000);

  it("from a bare download of the repository (a remote uses: ref) it installs and builds the kernel backends in its own folder", async () => {
    // What GitHub downloads for uses: <owner>/gpuci/actions/gpuci@<ref>: the repository's tracked
    // files, with no node_modules and no builds except the committed dist/.
    const repo = await mkdtemp(join(tmpdir(), "gpuci-action-repo-"));
    const files = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" })
      .split("\0")
      .filter(Boolean);
    for (const f of files) {
      await mkdir(join(repo, f, ".."), { recursive: true });
      await copyFile(join(root, f), join(repo, f));
    }
    expect(existsSync(join(repo, "node_modules"))).toBe(false);
    const r = await runAction({
      config: "kernels:\n  - { kernel: vector-add, shapes: [{ n: 999 }], backends: [napi, webgpu] }\n",
      distPath: join(repo, "actions/gpuci/dist/index.js"),
      extraEnv: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    expect(r.code, r.stdout.slice(-3000) + r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toContain("::group::gpuci: installing the kernel backends");
    const report = JSON.parse(await readFile(join(r.dir, ".gpuci/report.json"), "utf8"));
    const kernels = report.sections.find((s: { id: string }) => s.id === "kernels");
    expect(kernels.findings.filter((f: { status: string }) => f.status === "pass")).toHaveLength(2);
    expect(existsSync(join(repo, "packages/cuda-kernels/build/Release/gpuci_kernels.node"))).toBe(true);
  }, 600_000);

  it("also runs through @github/local-action (the TypeScript source, with its toolkit stubs)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-local-action-"));
    await writeFile(join(dir, "gpuci.yml"), passing);
    await writeFile(
      join(dir, "event.json"),
      JSON.stringify({ pull_request: { number: 9, head: { sha: "feedbeef" } } }),
    );
    await writeFile(join(dir, "summary.md"), "");
    const dotenv = [
      `INPUT_CONFIG=gpuci.yml`,
      `INPUT_WORKING-DIRECTORY=${dir}`,
      `INPUT_GITHUB-TOKEN=${TOKEN}`,
      `GITHUB_REPOSITORY=o/r`,
      `GITHUB_EVENT_NAME=pull_request`,
      `GITHUB_EVENT_PATH=${join(dir, "event.json")}`,
      `GITHUB_RUN_ID=300`,
      `GITHUB_RUN_ATTEMPT=1`,
      `GITHUB_API_URL=${gh.url}`,
      `GITHUB_STEP_SUMMARY=${join(dir, "summary.md")}`,
    ].join("\n");
    await writeFile(join(dir, ".env"), `${dotenv}\n`);
    const child = spawn(
      join(root, "node_modules/.bin/local-action"),
      ["run", "actions/gpuci", "src/main.ts", join(dir, ".env")],
      { cwd: root, env: { ...process.env, NO_COLOR: "1" } },
    );
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (out += b));
    const code = await new Promise<number | null>((r) => child.on("close", r));
    expect(code, out).toBe(0);
    expect(gh.thread(9)).toHaveLength(1);
    expect(gh.thread(9)[0]!.body).toContain("gpuci passed");
    expect(out).toMatch(/status\s*│?\s*pass|status.*pass/);
    expect(out.replace(/^.*add-mask.*$/gm, "")).not.toContain(TOKEN);
  }, 120_000);
});
