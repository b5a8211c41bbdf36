import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import * as core from "@actions/core";
import { cancelExitCode, installCancelHandler, lineProgress, runGpuci, VERSION } from "@gpuci/cli";
import { PR_COST_BLOCK, type PrCost, parsePrCost } from "@gpuci/cost-budget";
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
  };
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
        workflow_run?: { pull_requests?: Array<{ number?: number }>; head_sha?: string };
      };
      if (typeof event.pull_request?.number === "number") ctx.pr = event.pull_request.number;
      if (event.pull_request?.head?.sha) ctx.sha = event.pull_request.head.sha;
      const wr = event.workflow_run?.pull_requests?.[0]?.number;
      if (ctx.pr === undefined && typeof wr === "number") ctx.pr = wr;
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
    const pr = inputs.prNumber ?? ctx.pr;
    const target =
      octokit && pr !== undefined ? { owner: ctx.owner!, repo: ctx.repo!, issue_number: pr } : undefined;

    // Read the existing comment first: it carries the pull request's running cost.
    let existing: FoundComment | null | undefined;
    let readForbidden: string | undefined;
    if (target && inputs.comment !== "never") {
      try {
        existing = (await findComment(octokit!, target, inputs.id)) ?? null;
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
      reportPath = join(outDir, "report.json");
      await writeReport(reportPath, report);
      await writeFileAtomic(join(outDir, "report.md"), `${renderSummary(report)}\n`);
      prCost = parsePrCost(report.meta?.prCost) ?? previousPrCost;
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
    if (pr === undefined) core.info("not a pull request: job summary and outputs only, no comment");
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
        "gpuci could not comment: this token is read-only (a pull request from a fork). The verdict is in this job's summary. " +
          "To comment on fork pull requests, upload report.json in this pull_request job and post it from a workflow_run job in the base repository with mode: comment (see examples/workflows/fork-safe.yml).",
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
    if (shouldFail(report.status, inputs.failOn)) core.setFailed(`gpuci ${line} (fail-on: ${inputs.failOn})`);
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
