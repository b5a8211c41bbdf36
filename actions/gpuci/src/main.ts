import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import * as core from "@actions/core";
import { cancelExitCode, installCancelHandler, lineProgress, runGpuci, VERSION } from "@gpuci/cli";
import { addRunToPrCost, PR_COST_BLOCK, type PrCost, parsePrCost } from "@gpuci/cost-budget";
import {
  aggregate,
  GpuciError,
  type Report,
  readCommentData,
  readReport,
  renderComment,
  renderSummary,
  summarizeReport,
  writeFileAtomic,
  writeReport,
} from "@gpuci/report";
import { Octokit } from "octokit";
import { glob } from "tinyglobby";
import {
  type CommentOutcome,
  commentAuthor,
  type FoundComment,
  findComment,
  isForbidden,
  type RunStamp,
  upsertComment,
} from "./comment.js";
import { ensureKernelPackages } from "./native.js";

const MODES = ["run", "aggregate", "comment"] as const;
const COMMENT = ["always", "on-change", "on-failure", "never"] as const;
const FAIL_ON = ["fail", "warn", "never"] as const;

/** The action's inputs, validated. */
export interface Inputs {
  config: string;
  mode: (typeof MODES)[number];
  token: string;
  comment: (typeof COMMENT)[number];
  failOn: (typeof FAIL_ON)[number];
  workingDirectory: string;
  out: string;
  reports: string;
  id: string;
  prNumber?: number;
  /** Whose comments are gpuci's (default: the token's own identity). */
  commentAuthor?: string;
}

function choice<T extends readonly string[]>(name: string, allowed: T, fallback: T[number]): T[number] {
  const v = core.getInput(name) || fallback;
  if (!allowed.includes(v))
    throw new GpuciError(
      "GPUCI_ACTION_INPUT",
      `input "${name}" is "${v}"; expected one of ${allowed.join(", ")}.`,
      { exitCode: 2 },
    );
  return v as T[number];
}

/** Read and validate the inputs; a bad value fails the step with what was expected. */
export function readInputs(): Inputs {
  const pr = core.getInput("pr-number");
  if (pr && !/^\d+$/.test(pr))
    throw new GpuciError(
      "GPUCI_ACTION_INPUT",
      `input "pr-number" is "${pr}"; expected a pull request number.`,
      { exitCode: 2 },
    );
  const id = core.getInput("id") || "default";
  if (!/^[A-Za-z0-9._-]+$/.test(id))
    throw new GpuciError(
      "GPUCI_ACTION_INPUT",
      `input "id" is "${id}"; use letters, digits, '.', '_' and '-'.`,
      { exitCode: 2 },
    );
  const author = core.getInput("comment-author");
  if (author && !/^[A-Za-z0-9][A-Za-z0-9-]*(\[bot\])?$/.test(author))
    throw new GpuciError(
      "GPUCI_ACTION_INPUT",
      `input "comment-author" is "${author}"; expected a GitHub login such as my-app[bot].`,
      { exitCode: 2 },
    );
  return {
    config: core.getInput("config") || "gpuci.yml",
    mode: choice("mode", MODES, "run"),
    token: core.getInput("github-token"),
    comment: choice("comment", COMMENT, "always"),
    failOn: choice("fail-on", FAIL_ON, "fail"),
    workingDirectory: core.getInput("working-directory") || ".",
    out: core.getInput("out") || ".gpuci",
    reports: core.getInput("reports") || "reports/**/report.json",
    id,
    ...(pr ? { prNumber: Number(pr) } : {}),
    ...(author ? { commentAuthor: author } : {}),
  };
}

/** The part of a `workflow_run` event that says which run (and which head) a report came from. */
interface WorkflowRun {
  id?: number;
  run_attempt?: number;
  head_sha?: string;
  head_branch?: string;
  head_repository?: { full_name?: string; owner?: { login?: string } };
  pull_requests?: Array<{ number?: number; head?: { sha?: string } }>;
}

/** The GitHub context this run needs, from the runner's environment. */
interface Context {
  owner?: string;
  repo?: string;
  pr?: number;
  sha?: string;
  event?: string;
  stamp: RunStamp;
  runUrl?: string;
  workflowRun?: WorkflowRun;
}

async function readContext(env: NodeJS.ProcessEnv): Promise<Context> {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? "").split("/");
  const stamp: RunStamp = {
    runId: Number(env.GITHUB_RUN_ID ?? 0),
    attempt: Number(env.GITHUB_RUN_ATTEMPT ?? 1),
  };
  const ctx: Context = { stamp, ...(owner ? { owner } : {}), ...(repo ? { repo } : {}) };
  if (env.GITHUB_EVENT_NAME) ctx.event = env.GITHUB_EVENT_NAME;
  if (env.GITHUB_SHA) ctx.sha = env.GITHUB_SHA;
  if (env.GITHUB_EVENT_PATH) {
    try {
      const event = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, "utf8")) as {
        pull_request?: { number?: number; head?: { sha?: string } };
        workflow_run?: WorkflowRun;
      };
      if (typeof event.pull_request?.number === "number") ctx.pr = event.pull_request.number;
      if (event.pull_request?.head?.sha) ctx.sha = event.pull_request.head.sha;
      // A workflow_run's pull request is resolved from its head (see pullRequestOfRun), never
      // taken from what the other run uploaded.
      if (event.workflow_run && typeof event.workflow_run === "object") ctx.workflowRun = event.workflow_run;
      if (event.workflow_run?.head_sha) ctx.sha = event.workflow_run.head_sha;
    } catch {
      core.warning(
        `could not read the event payload at GITHUB_EVENT_PATH; continuing without pull request details`,
      );
    }
  }
  if (ctx.sha) stamp.sha = ctx.sha;
  if (owner && repo && env.GITHUB_RUN_ID)
    ctx.runUrl = `${env.GITHUB_SERVER_URL ?? "https://github.com"}/${owner}/${repo}/actions/runs/${env.GITHUB_RUN_ID}`;
  return ctx;
}

/** An Octokit with retries (5xx) and rate-limit handling, against GITHUB_API_URL. */
export function createOctokit(token: string, env: NodeJS.ProcessEnv = process.env): Octokit {
  return new Octokit({
    auth: token,
    baseUrl: env.GITHUB_API_URL ?? "https://api.github.com",
    userAgent: `gpuci-action/${VERSION}`,
    retry: { doNotRetry: [400, 401, 403, 404, 410, 422, 451] },
    throttle: {
      onRateLimit: (
        retryAfter: number,
        options: { method: string; url: string },
        _o: unknown,
        retryCount: number,
      ) => {
        core.warning(`GitHub rate limit on ${options.method} ${options.url}; retrying in ${retryAfter} s`);
        return retryCount < 2;
      },
      onSecondaryRateLimit: (
        retryAfter: number,
        options: { method: string; url: string },
        _o: unknown,
        retryCount: number,
      ) => {
        core.warning(
          `GitHub secondary rate limit on ${options.method} ${options.url}; retrying in ${retryAfter} s`,
        );
        return retryCount < 2;
      },
    },
    log: {
      debug: () => {},
      info: () => {},
      warn: (m: string) => core.debug(m),
      error: (m: string) => core.debug(m),
    },
  });
}

/**
 * The open pull request whose head is the workflow_run's head commit, in the head repository
 * the event names: from the event's own list (same-repository pull requests), else by asking
 * this repository's API for open pull requests from that owner and branch. Undefined when no
 * open pull request has that head.
 */
export async function pullRequestOfRun(
  octokit: Octokit,
  target: { owner: string; repo: string },
  run: WorkflowRun,
): Promise<number | undefined> {
  const sha = run.head_sha;
  if (!sha) return undefined;
  for (const p of run.pull_requests ?? [])
    if (typeof p.number === "number" && p.head?.sha === sha) return p.number;
  const owner = run.head_repository?.owner?.login;
  const fullName = run.head_repository?.full_name;
  if (!owner || !run.head_branch || !fullName) return undefined;
  const pulls = await octokit.paginate(octokit.rest.pulls.list, {
    ...target,
    state: "open",
    head: `${owner}:${run.head_branch}`,
    per_page: 100,
  });
  return pulls.find((p) => p.head.sha === sha && p.head.repo?.full_name === fullName)?.number;
}

const ORDER = { pass: 0, skip: 0, warn: 1, fail: 2, error: 2 } as const;

/** Whether the report's status should fail the job under `fail-on`. */
export function shouldFail(status: Report["status"], failOn: Inputs["failOn"]): boolean {
  if (failOn === "never") return false;
  return ORDER[status] >= (failOn === "warn" ? 1 : 2);
}

async function loadReports(pattern: string): Promise<Report> {
  const files = (await glob(pattern, { onlyFiles: true, absolute: true })).sort();
  if (files.length === 0)
    throw new GpuciError(
      "GPUCI_ACTION_NO_REPORTS",
      `no report.json matches "${pattern}". Download the matrix jobs' artifacts first (actions/download-artifact with path: reports) or fix the reports input.`,
      { exitCode: 2 },
    );
  const reports = await Promise.all(files.map((f) => readReport(f)));
  if (reports.length === 1) return reports[0]!;
  return aggregate(
    reports.map((report, i) => ({ key: report.runner?.key ?? basename(dirname(files[i]!)), report })),
  );
}

/** The action: run gpuci (or aggregate/comment), then deliver the verdict. */
export async function run(): Promise<void> {
  // A cancelled job (the runner sends SIGINT, then SIGTERM) stops every process group gpuci
  // started, removes its worktrees, and still writes the summary of what finished.
  const uninstall = installCancelHandler({
    onSignal: (signal, count) =>
      core.warning(
        count === 1
          ? `gpuci received ${signal}: stopping the commands it started (SIGTERM, SIGKILL after 5 s) and writing what finished`
          : `gpuci received ${signal} again: killing the commands it started now`,
      ),
  });
  try {
    const inputs = readInputs();
    if (inputs.token) core.setSecret(inputs.token);
    const env = process.env;
    const ctx = await readContext(env);
    const workdir = resolve(inputs.workingDirectory);
    process.chdir(workdir);
    const outDir = resolve(inputs.out);
    const octokit = inputs.token && ctx.owner && ctx.repo ? createOctokit(inputs.token, env) : undefined;
    // Which pull request. Posting a report from another run (mode: comment after workflow_run),
    // the pull request is the one whose head that run built — never a number the run uploaded.
    let pr = inputs.prNumber ?? ctx.pr;
    let refused: string | undefined;
    const fromRun = inputs.mode === "comment" && ctx.workflowRun ? ctx.workflowRun : undefined;
    if (fromRun) {
      const resolved = octokit
        ? await pullRequestOfRun(octokit, { owner: ctx.owner!, repo: ctx.repo! }, fromRun).catch(
            (error: unknown) => {
              core.warning(`could not look up the run's pull request: ${(error as Error).message}`);
              return undefined;
            },
          )
        : undefined;
      const head = `${(fromRun.head_sha ?? "?").slice(0, 12)} (${fromRun.head_repository?.full_name ?? "?"})`;
      if (inputs.prNumber !== undefined && resolved !== undefined && inputs.prNumber !== resolved)
        refused = `pr-number is ${inputs.prNumber}, but the workflow_run's head ${head} is the head of pull request #${resolved}`;
      else if (resolved === undefined && octokit)
        core.notice(`no open pull request has the workflow_run's head ${head}: nothing to comment on`);
      pr = refused ? undefined : resolved;
    }
    const target =
      octokit && pr !== undefined ? { owner: ctx.owner!, repo: ctx.repo!, issue_number: pr } : undefined;

    // Read gpuci's own comment first: it carries the pull request's running cost.
    let existing: FoundComment | null | undefined;
    let readForbidden: string | undefined;
    if (target && inputs.comment !== "never") {
      try {
        const author = await commentAuthor(octokit!, inputs.commentAuthor);
        existing = (await findComment(octokit!, target, inputs.id, author)) ?? null;
      } catch (error) {
        if (isForbidden(error)) readForbidden = (error as Error).message;
        else core.warning(`could not read the pull request's comments: ${(error as Error).message}`);
      }
    }
    const previousPrCost: PrCost | undefined = existing
      ? parsePrCost(readCommentData(existing.body, PR_COST_BLOCK))
      : undefined;

    let report: Report;
    let reportPath: string;
    let prCost: PrCost | undefined;
    if (inputs.mode === "run") {
      core.info(`gpuci ${VERSION}: running ${inputs.config} in ${workdir}`);
      const { loadConfig } = await import("@gpuci/cli");
      const loaded = await loadConfig({ path: inputs.config });
      if (loaded.config.kernels?.length) await ensureKernelPackages();
      const result = await runGpuci({
        loaded,
        outDir,
        progress: lineProgress(process.stdout),
        output: { stdout: process.stdout, stderr: process.stderr },
        runner: {
          key: env.GPUCI_RUNNER_KEY ?? env.RUNNER_NAME ?? "runner",
          ...(env.RUNNER_NAME ? { name: env.RUNNER_NAME } : {}),
          ...(env.RUNNER_OS ? { os: env.RUNNER_OS } : {}),
        },
        ...(previousPrCost ? { previousPrCost } : {}),
        ...(pr !== undefined
          ? {
              identity: {
                runId: `${env.GITHUB_RUN_ID ?? "local"}-${env.GITHUB_RUN_ATTEMPT ?? "1"}`,
                pr,
                ...(ctx.sha ? { commit: ctx.sha } : {}),
                ...(env.GITHUB_REPOSITORY ? { repository: env.GITHUB_REPOSITORY } : {}),
              },
            }
          : {}),
      });
      report = result.report;
      reportPath = result.reportPath;
      prCost = result.prCost;
    } else {
      report = await loadReports(inputs.reports);
      // A report names the pull request it was run for; one that names another is refused.
      const named = report.meta?.pr;
      if (pr !== undefined && typeof named === "number" && named !== pr) {
        refused = `the report was run for pull request #${named}, but it is being posted on #${pr}`;
        pr = undefined;
      }
      const runCost = report.meta?.costUsd;
      if (inputs.mode === "comment" && pr !== undefined && typeof runCost === "number") {
        // This pull request's cost: its own previous comment plus this report's run, never a
        // total the report carries (the run that wrote it may be the pull request's own code).
        const seconds = (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
        const runId = fromRun
          ? `${fromRun.id ?? "run"}-${fromRun.run_attempt ?? 1}`
          : `${env.GITHUB_RUN_ID ?? "local"}-${env.GITHUB_RUN_ATTEMPT ?? "1"}`;
        prCost = addRunToPrCost(previousPrCost, pr, {
          v: 1,
          at: new Date().toISOString(),
          runId,
          pr,
          gpus: 0,
          seconds: Number.isFinite(seconds) && seconds > 0 ? seconds : 0,
          costUsd: Number.isFinite(runCost) && runCost > 0 ? runCost : 0,
          stopped: false,
        });
        report = { ...report, meta: { ...report.meta, prCost } };
      } else {
        // Not priced: the total stays what gpuci's own comment says (never the report's).
        prCost = previousPrCost;
        if (report.meta?.prCost !== undefined) {
          const { prCost: _theirs, ...rest } = report.meta;
          report = { ...report, meta: rest };
        }
      }
      reportPath = join(outDir, "report.json");
      await writeReport(reportPath, report);
      await writeFileAtomic(join(outDir, "report.md"), `${renderSummary(report)}\n`);
    }

    // The job summary always gets the full report.
    try {
      await core.summary.addRaw(renderSummary(report), true).write();
    } catch (error) {
      core.warning(
        `could not write the job summary (${(error as Error).message}); the report is at ${reportPath}`,
      );
    }
    const line = summarizeReport(report);
    core.setOutput("status", report.status);
    core.setOutput("report-path", reportPath);
    core.setOutput("summary", line);
    const cost = report.meta?.costUsd;
    core.setOutput("cost-usd", typeof cost === "number" ? cost.toFixed(4) : "");

    let outcome: CommentOutcome | undefined;
    const failing = report.status === "fail" || report.status === "error";
    if (refused)
      core.setFailed(
        `gpuci refused to comment: ${refused}. A report is only ever posted on the pull request whose head produced it; the verdict is in this job's summary.`,
      );
    else if (pr === undefined) core.info("not a pull request: job summary and outputs only, no comment");
    else if (!octokit) core.warning("no github-token: the verdict is in the job summary only");
    else if (inputs.comment !== "never") {
      if (readForbidden) outcome = { action: "forbidden", message: readForbidden };
      else if (inputs.comment !== "on-failure" || failing || existing) {
        const stamp = ctx.stamp;
        const body = renderComment(report, {
          id: inputs.id,
          meta: { runId: stamp.runId, attempt: stamp.attempt, ...(stamp.sha ? { sha: stamp.sha } : {}) },
          ...(prCost ? { dataBlocks: { [PR_COST_BLOCK]: prCost } } : {}),
          ...(ctx.runUrl ? { fullReportUrl: ctx.runUrl } : {}),
        });
        try {
          outcome = await upsertComment(octokit, target!, {
            id: inputs.id,
            body,
            stamp,
            onlyWhenChanged: inputs.comment === "on-change",
            existing: existing ?? null,
            createIfMissing: inputs.comment !== "on-failure" || failing,
          });
        } catch (error) {
          // Delivery problems never change the verdict: the job status follows the gates.
          const e = error as { status?: number; message?: string };
          core.warning(
            `could not write the pull request comment (HTTP ${e.status ?? "?"}: ${e.message}); the verdict is in the job summary`,
          );
        }
      }
    }
    if (outcome?.action === "forbidden") {
      core.notice(
        `gpuci could not comment: GitHub refused this token (403: ${outcome.message}); a pull request from a fork gets a read-only token. The verdict is in this job's summary. ` +
          "To comment on fork pull requests, upload report.json in this pull_request job and post it from a workflow_run job in the base repository with mode: comment (see examples/workflows/fork-safe-pr.yml and fork-safe-comment.yml).",
      );
    } else if (outcome?.action === "stale") {
      core.info(
        `a newer run (${outcome.newer.runId} attempt ${outcome.newer.attempt}) already commented: leaving its comment as it is`,
      );
      core.setOutput("comment-url", outcome.url);
    } else if (outcome) {
      core.info(`comment ${outcome.action}: ${outcome.url}`);
      core.setOutput("comment-url", outcome.url);
    }

    core.info(`gpuci ${line}`);
    if (!refused && shouldFail(report.status, inputs.failOn))
      core.setFailed(`gpuci ${line} (fail-on: ${inputs.failOn})`);
  } catch (error) {
    const e = error as Error & { code?: string };
    core.setFailed(
      e.code?.startsWith("GPUCI_") ? `${e.message} (${e.code})` : `gpuci action failed: ${e.message}`,
    );
  } finally {
    uninstall();
    const cancelled = cancelExitCode();
    if (cancelled !== undefined) process.exit(cancelled);
  }
}
