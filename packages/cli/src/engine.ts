import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import type { Writable } from "node:stream";
import type { CostMeter, PrCost, WatchResult } from "@gpuci/cost-budget";
import type { HistoryRun } from "@gpuci/gates";
import type { GpuInventory } from "@gpuci/preflight";
import { type CancelOutcome, cancellation, cancelled, onCancel } from "@gpuci/process";
import {
  createReport,
  createSection,
  type Report,
  type Runner,
  renderComment,
  renderSummary,
  rollUp,
  type Section,
  type Status,
  skippedSection,
  writeFileAtomic,
  writeReport,
} from "@gpuci/report";
import { type LoadedConfig, loadConfig } from "./config/load.js";
import { type ProgressSink, silentProgress } from "./progress.js";
import { VERSION } from "./version.js";

/** Who this run is, for the ledger and the pull request's total. */
export interface RunIdentity {
  runId: string;
  pr?: number;
  commit?: string;
  repository?: string;
}

/** Options for one `gpuci run`. */
export interface RunOptions {
  /** Path of gpuci.yml (default: gpuci.yml in cwd, or no config). */
  configPath?: string;
  /** An already loaded config (the action loads it itself); wins over configPath. */
  loaded?: LoadedConfig;
  cwd?: string;
  /** Output folder for report.json and report.md (default `.gpuci` under cwd). */
  outDir?: string;
  progress?: ProgressSink;
  /** Where the commands' live output goes. */
  output?: { stdout?: Writable; stderr?: Writable };
  runner?: Runner;
  /** Run identity; default from the GitHub Actions environment, else a random id. */
  identity?: RunIdentity;
  /** The pull request's running cost read back from the sticky comment (the action passes it). */
  previousPrCost?: PrCost;
  env?: NodeJS.ProcessEnv;
  /** Record the run in history even from a local tree with uncommitted changes (--record). */
  recordDirty?: boolean;
}

/** What `gpuci run` produced. */
export interface RunResult {
  report: Report;
  reportPath: string;
  markdownPath: string;
  /** The pull-request comment as gpuci would post it (comment.md), for a look before any PR. */
  commentPath: string;
  outDir: string;
  commands: Array<WatchResult & { name: string }>;
  /** The pull request's new running total, to carry in the comment. */
  prCost?: PrCost;
  costUsd?: number;
}

/** State shared by the stages of one run. */
interface StageContext {
  loaded: LoadedConfig;
  outDir: string;
  progress: ProgressSink;
  output: { stdout?: Writable; stderr?: Writable };
  env: NodeJS.ProcessEnv;
  identity: RunIdentity;
  previousPrCost?: PrCost;
  commands: Array<WatchResult & { name: string }>;
  /** The GPU inventory preflight read, for later stages to reuse. */
  inventory?: GpuInventory;
  prCost?: PrCost;
  costUsd?: number;
  startedAt: Date;
  /** Status of each stage so far, for gates' `after:`. */
  stageStatus: Record<string, Status>;
  /** Whether this run is base-branch history: decided before any command ran. */
  historyRun?: HistoryRun;
  /** The cost watchdog shared by the stages that run commands (run:, ab:), opened by the first. */
  meter?: CostMeter;
  /** Which `run:` command last wrote each gate file (resolved path → command name). */
  producers: Map<string, string>;
  /** The Cost section, closed by the gates stage before it records the run. */
  pendingCost?: Section | undefined;
  /** --record: record a local run on a dirty tree. */
  recordDirty?: boolean;
}

/** Open the run's cost meter once, for the first stage that runs commands. */
async function meterOf(ctx: StageContext): Promise<CostMeter> {
  if (!ctx.meter) {
    const { CostMeter } = await import("@gpuci/cost-budget");
    ctx.meter = await CostMeter.open({
      baseDir: ctx.loaded.baseDir,
      config: ctx.loaded.config.cost,
      env: ctx.env,
      ...(ctx.inventory ? { inventory: ctx.inventory } : {}),
      run: ctx.identity,
      ...(ctx.previousPrCost ? { previousPrCost: ctx.previousPrCost } : {}),
    });
  }
  return ctx.meter;
}

/**
 * Whether the gates stage may confirm a one-value regression by re-running the command that wrote
 * it: there are commands to re-run and gates judged against history. Then the cost meter stays
 * open until the gates have decided, so the re-runs are bounded by the run's budget and priced.
 */
function confirmPossible(ctx: StageContext): boolean {
  const { config } = ctx.loaded;
  return Boolean(config.run?.length && config.gates?.some((g) => g.baseline?.history));
}

/** Modification times of the gate files that exist now. */
function gateFileTimes(ctx: StageContext): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of ctx.loaded.config.gates ?? []) {
    if (!g.metric?.file) continue;
    const f = resolve(ctx.loaded.baseDir, g.metric.file);
    try {
      out.set(f, statSync(f).mtimeMs);
    } catch {
      // not written (yet)
    }
  }
  return out;
}

/** Close the cost meter (ledger entry, totals) and return its Cost section; once per run. */
async function closeMeter(ctx: StageContext): Promise<Section | undefined> {
  const meter = ctx.meter;
  if (!meter) return undefined;
  ctx.meter = undefined;
  const closed = await meter.close();
  if (closed.prCost) ctx.prCost = closed.prCost;
  if (closed.costUsd !== undefined) ctx.costUsd = closed.costUsd;
  return closed.cost;
}

/** One stage of the pipeline. A `fail` from a blocking stage stops later ones. */
interface Stage {
  id: string;
  title: string;
  blocking?: boolean;
  /** Why the stage does not apply (nothing configured), or undefined when it should run. */
  notConfigured(ctx: StageContext): string | undefined;
  run(ctx: StageContext): Promise<Section[]>;
}

const STAGES: Stage[] = [
  {
    id: "preflight",
    title: "Preflight",
    blocking: true,
    notConfigured: (ctx) => (ctx.loaded.config.preflight ? undefined : "no preflight: section"),
    async run(ctx) {
      const { runPreflight } = await import("@gpuci/preflight");
      const { section, inventory } = await runPreflight(ctx.loaded.config.preflight, {
        cwd: ctx.loaded.baseDir,
        env: ctx.env,
      });
      if (inventory) ctx.inventory = inventory;
      // gpu.compute: a GPU that answers nvidia-smi but computes garbage fails here, before the
      // expensive part. On when preflight.gpu.compute is set or kernels are configured.
      if (ctx.loaded.config.preflight?.gpu?.compute ?? Boolean(ctx.loaded.config.kernels?.length)) {
        const t = Date.now();
        try {
          const { computeHealthCheck } = await import("@gpuci/cuda-kernels");
          section.findings.push(...(await computeHealthCheck()));
        } catch (error) {
          section.findings.push({
            id: "gpu.compute",
            title: "computes correctly",
            status: "error",
            summary: (error as Error).message,
            remedy: "Install @gpuci/cuda-kernels (its native parts) to run the compute check.",
          });
        }
        section.durationMs += Date.now() - t;
        section.status = rollUp(section.findings.map((f) => f.status));
      }
      return [section];
    },
  },
  {
    id: "run",
    title: "Commands",
    notConfigured: (ctx) => (ctx.loaded.config.run?.length ? undefined : "no run: commands configured"),
    async run(ctx) {
      const meter = await meterOf(ctx);
      let times = gateFileTimes(ctx);
      const result = await meter.runCommands(ctx.loaded.config.run ?? [], {
        ...ctx.output,
        onCommandStart: (name) => ctx.progress({ type: "command-start", name }),
        onCommandEnd: (name, f) => {
          // The command that wrote a gate file is the one a confirmation re-runs.
          const now = gateFileTimes(ctx);
          for (const [file, t] of now) if (times.get(file) !== t) ctx.producers.set(file, name);
          times = now;
          ctx.progress({ type: "command-end", name, status: f.status, durationMs: f.durationMs ?? 0 });
        },
        onStop: (name, reason) =>
          ctx.progress({ type: "note", message: `stopping ${name}: ${reason.description}` }),
      });
      ctx.commands.push(...result.results);
      // The A/B runs commands too, and the gates may re-run one to confirm a regression: the
      // Cost section comes after them, over all of it.
      if (ctx.loaded.config.ab || confirmPossible(ctx)) return [result.commands];
      const cost = await closeMeter(ctx);
      return cost ? [result.commands, cost] : [result.commands];
    },
  },
  {
    id: "kernels",
    title: "Kernels",
    notConfigured: (ctx) => (ctx.loaded.config.kernels?.length ? undefined : "no kernels: configured"),
    async run(ctx) {
      let mod: typeof import("@gpuci/cuda-kernels");
      try {
        mod = await import("@gpuci/cuda-kernels");
      } catch (error) {
        return [
          {
            id: "kernels",
            title: "Kernels",
            status: "error",
            durationMs: 0,
            findings: [
              {
                id: "kernels.load",
                title: "kernel backends",
                status: "error",
                summary: `@gpuci/cuda-kernels (native: dawn.node and the N-API addon) could not be loaded: ${(error as Error).message}`,
                remedy:
                  "Install it next to gpuci (npm install @gpuci/cuda-kernels, allowing its install script) or run from a checkout after npm ci && npm run build.",
              },
            ],
          },
        ];
      }
      const { section, rows } = await mod.runKernels(ctx.loaded.config.kernels, {
        baseDir: ctx.loaded.baseDir,
        onProgress: (line) => ctx.progress({ type: "note", message: line }),
      });
      // Gates read these rows with metric: { format: kernels, file: <out>/kernels.json, name, field }.
      await writeFileAtomic(join(ctx.outDir, "kernels.json"), `${JSON.stringify(rows, null, 2)}\n`);
      return [section];
    },
  },
  {
    id: "ab",
    title: "A/B",
    notConfigured: (ctx) => (ctx.loaded.config.ab ? undefined : "no ab: section"),
    async run(ctx) {
      const { runAb } = await import("@gpuci/ab");
      // The run's cost budget bounds the A/B, and its time is priced with the run's.
      const meter = await meterOf(ctx);
      const { section, seconds, stoppedBy } = await runAb(ctx.loaded.config.ab, {
        baseDir: ctx.loaded.baseDir,
        outDir: ctx.outDir,
        baseBranch: ctx.loaded.config.history?.baseBranch ?? "main",
        ...(ctx.loaded.config.history?.remote ? { remote: ctx.loaded.config.history.remote } : {}),
        ...(ctx.loaded.config.cost ? { cost: ctx.loaded.config.cost } : {}),
        costLimit: meter.limit(),
        env: ctx.env,
        onProgress: (line) => ctx.progress({ type: "note", message: line }),
      });
      meter.add(seconds, stoppedBy?.limit.startsWith("budget.") ? stoppedBy : undefined);
      if (confirmPossible(ctx)) return [section];
      const cost = await closeMeter(ctx);
      return cost ? [section, cost] : [section];
    },
  },
  {
    id: "gates",
    title: "Gates",
    notConfigured: (ctx) => (ctx.loaded.config.gates?.length ? undefined : "no gates: configured"),
    async run(ctx) {
      const { evaluateGates, readMetric } = await import("@gpuci/gates");
      const gpu = ctx.inventory?.gpus[0]?.name;
      const gatesConfig = ctx.loaded.config.gates ?? [];
      const canConfirm = confirmPossible(ctx) && ctx.meter !== undefined && ctx.producers.size > 0;
      const evaluate = async (confirmations: Record<string, number[]>, record: boolean) => {
        // The last evaluation records the run: its cost (re-runs included) is known by then.
        if (record && ctx.meter) ctx.pendingCost = await closeMeter(ctx);
        return evaluateGates(gatesConfig, {
          baseDir: ctx.loaded.baseDir,
          ...(ctx.loaded.config.history
            ? {
                history: record ? ctx.loaded.config.history : { ...ctx.loaded.config.history, record: false },
              }
            : record
              ? {}
              : { history: { record: false } }),
          confirmable: canConfirm,
          confirmations,
          context: {
            ...(ctx.identity.commit ? { commit: ctx.identity.commit } : {}),
            ...(ctx.identity.pr !== undefined ? { pr: ctx.identity.pr } : {}),
            runner: ctx.env.RUNNER_NAME ?? hostname(),
            ...(gpu ? { gpu } : {}),
            ...(ctx.inventory?.driverVersion ? { driver: ctx.inventory.driverVersion } : {}),
            ...(ctx.costUsd !== undefined ? { costUsd: ctx.costUsd } : {}),
          },
          ...(ctx.historyRun ? { run: ctx.historyRun } : {}),
          env: ctx.env,
          ...(ctx.recordDirty ? { recordDirty: true } : {}),
          ...(ctx.loaded.config.dashboard?.url ? { dashboardUrl: ctx.loaded.config.dashboard.url } : {}),
          stageStatus: ctx.stageStatus,
          ...(ctx.loaded.config.ab ? { maxAbRounds: ctx.loaded.config.ab.rounds.max } : {}),
          ...(ctx.stageStatus.kernels !== undefined
            ? { kernelResults: join(ctx.outDir, "kernels.json") }
            : {}),
        });
      };
      let section: Section;
      if (canConfirm) {
        const { confirmRegressions } = await import("./confirm.js");
        const commands = new Map((ctx.loaded.config.run ?? []).map((c) => [c.name, c]));
        const first = await evaluate({}, false);
        const confirmed = await confirmRegressions(first, {
          gates: gatesConfig,
          baseDir: ctx.loaded.baseDir,
          producers: ctx.producers,
          evaluate,
          read: (gate) => readMetric(gate.metric!, ctx.loaded.baseDir),
          note: (message) => ctx.progress({ type: "note", message }),
          rerun: async (name) => {
            const command = commands.get(name);
            if (!command || !ctx.meter) return { ok: false, why: "the command is not in run:" };
            const r = await ctx.meter.runCommands([command], ctx.output);
            const f = r.commands.findings[0];
            return f?.status === "pass"
              ? { ok: true }
              : { ok: false, why: f?.summary ?? `${name} did not run` };
          },
        });
        section = confirmed.result.section;
      } else section = (await evaluate({}, true)).section;
      const cost = ctx.pendingCost ?? (await closeMeter(ctx));
      ctx.pendingCost = undefined;
      return cost ? [section, cost] : [section];
    },
  },
  {
    id: "provenance",
    title: "Provenance",
    notConfigured: (ctx) => (ctx.loaded.config.provenance ? undefined : "no provenance: section"),
    async run(ctx) {
      const { recordProvenance } = await import("@gpuci/provenance");
      const { section } = await recordProvenance({
        config: ctx.loaded.config.provenance,
        baseDir: ctx.loaded.baseDir,
        outDir: ctx.outDir,
        ...(ctx.inventory ? { inventory: ctx.inventory } : {}),
        commands: ctx.commands.map((c) => ({
          name: c.name,
          argv: c.argv,
          cwd: c.cwd,
          exitCode: c.exitCode,
          startedAt: c.startedAt,
          finishedAt: c.finishedAt,
        })),
        ...(ctx.loaded.path && ctx.loaded.sha256
          ? { config_file: { path: ctx.loaded.path, sha256: ctx.loaded.sha256 } }
          : {}),
        startedAt: ctx.startedAt,
        invocationId: ctx.identity.runId,
        argv: ["gpuci", ...process.argv.slice(2)],
        toolVersion: VERSION,
        env: ctx.env,
      });
      return [section];
    },
  },
];

/**
 * Before any command runs: check the history store (an invalid or foreign data branch, or a
 * remote that is not one, is a config error, exit 2) and decide whether this run is base-branch
 * history, so no command of the run can change the answer by moving HEAD or a branch.
 */
async function prepareHistory(ctx: StageContext): Promise<void> {
  const { config, baseDir } = ctx.loaded;
  if (!config.gates?.length || !(config.history || config.gates.some((g) => g.baseline?.history))) return;
  const gates = await import("@gpuci/gates");
  const history = gates.HistoryConfigSchema.parse(config.history ?? {});
  await gates.openHistory(history, baseDir).check();
  ctx.historyRun = await gates.decideHistoryRun(baseDir, history, ctx.env);
  ctx.progress({
    type: "note",
    message: `history: ${ctx.historyRun.onBaseBranch ? "this run is base-branch history" : "this run is not base-branch history"} (${ctx.historyRun.why})`,
  });
}

/**
 * A stage's sections, or, when the run is cancelled and the stage has not returned a few
 * seconds after its process groups were stopped, an error section saying so: a cancel never
 * waits on a stage that does not notice it.
 */
async function untilCancelled(work: Promise<Section[]>, stage: Stage, t0: number): Promise<Section[]> {
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe = () => {};
  const gaveUp = new Promise<Section[]>((resolve) => {
    unsubscribe = onCancel(() => {
      void cancellation()?.then(() => {
        timer = setTimeout(
          () =>
            resolve([
              createSection(
                stage.id,
                stage.title,
                [
                  {
                    id: `${stage.id}.cancelled`,
                    title: `${stage.title} was cancelled`,
                    status: "error",
                    summary: `gpuci was cancelled by ${cancelled()?.signal} while this stage ran; what it had done is not known`,
                  },
                ],
                Date.now() - t0,
              ),
            ]),
          3000,
        );
      });
    });
  });
  try {
    return await Promise.race([work, gaveUp]);
  } finally {
    unsubscribe();
    clearTimeout(timer);
  }
}

/** The finding that says the run was cancelled, and what gpuci stopped and removed. */
function cancelSection(outcome: CancelOutcome): Section {
  const cleaned = outcome.cleanups.filter((c) => c.ok).map((c) => c.label);
  const failed = outcome.cleanups.filter((c) => !c.ok);
  const summary = [
    `gpuci received ${outcome.signal} at ${outcome.at}`,
    outcome.groups
      ? `stopped ${outcome.groups} process group${outcome.groups === 1 ? "" : "s"} it had started (SIGTERM${outcome.killed ? `; ${outcome.killed} ignored it and got SIGKILL` : ""})`
      : "no command was running",
    ...(cleaned.length ? [`removed ${cleaned.join(", ")}`] : []),
    ...(failed.length ? [`could not remove ${failed.map((f) => `${f.label} (${f.error})`).join(", ")}`] : []),
    "the stages after the one that was running were not run",
  ].join("; ");
  return createSection(
    "cancelled",
    "Cancelled",
    [
      {
        id: "gpuci.cancelled",
        title: "the run was cancelled",
        status: "error",
        summary,
        remedy: "Re-run the job; the results above are only what finished before the cancel.",
        data: outcome,
      },
    ],
    0,
  );
}

/** Space the report, the comment and the provenance files need at least. */
const MIN_OUT_BYTES = 16 * 1024 * 1024;

/**
 * Check the output folder before any command runs, so a run never ends in a report that cannot
 * be written: it must be (or become) a folder, take a file, and have room. Exit code 2 with the
 * fix; nothing already there is touched.
 */
export async function checkOutDir(outDir: string): Promise<void> {
  const { OutDirError } = await import("./errors.js");
  const { stat, statfs, unlink, writeFile } = await import("node:fs/promises");
  const existing = await stat(outDir).catch(() => undefined);
  if (existing && !existing.isDirectory())
    throw new OutDirError(
      `--out ${outDir} is a file, not a folder. Pass a folder (it is created when missing).`,
    );
  try {
    // Not Node's recursive mkdir: under /proc it never returns.
    const { makeFolder } = await import("@gpuci/report");
    await makeFolder(outDir);
  } catch (error) {
    throw new OutDirError(
      `--out ${outDir} cannot be created (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Pass a folder gpuci can create, e.g. --out .gpuci.`,
    );
  }
  const probe = join(outDir, `.gpuci-write-test-${process.pid}`);
  try {
    await writeFile(probe, "");
    await unlink(probe);
  } catch (error) {
    throw new OutDirError(
      `--out ${outDir} is not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Fix its permissions or pass another folder.`,
    );
  }
  const fs = await statfs(outDir).catch(() => undefined);
  if (fs && fs.bavail * fs.bsize < MIN_OUT_BYTES)
    throw new OutDirError(
      `--out ${outDir} has ${Math.round((fs.bavail * fs.bsize) / 1024)} KiB free; gpuci needs at least ${MIN_OUT_BYTES / 1048576} MiB for the report and provenance. Free space or pass another folder.`,
    );
}

/**
 * The identity of this run: inside GitHub Actions the run id and attempt, the pull request
 * number (from the event payload) and the head commit; elsewhere a random id, with
 * GPUCI_PR / GPUCI_COMMIT honoured.
 */
export async function detectIdentity(env: NodeJS.ProcessEnv = process.env): Promise<RunIdentity> {
  const id: RunIdentity = {
    runId: env.GITHUB_RUN_ID ? `${env.GITHUB_RUN_ID}-${env.GITHUB_RUN_ATTEMPT ?? "1"}` : randomUUID(),
  };
  if (env.GITHUB_REPOSITORY) id.repository = env.GITHUB_REPOSITORY;
  const commit = env.GPUCI_COMMIT ?? env.GITHUB_SHA;
  if (commit) id.commit = commit;
  if (env.GPUCI_PR && /^\d+$/.test(env.GPUCI_PR)) id.pr = Number(env.GPUCI_PR);
  else if (env.GITHUB_EVENT_PATH) {
    try {
      const event = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, "utf8")) as {
        pull_request?: { number?: number; head?: { sha?: string } };
      };
      if (typeof event.pull_request?.number === "number") id.pr = event.pull_request.number;
      if (event.pull_request?.head?.sha) id.commit = event.pull_request.head.sha;
    } catch {
      // No readable event payload: not a pull request run.
    }
  }
  return id;
}

/**
 * The engine behind `gpuci run` and the GitHub Action: load the config, run each configured
 * stage in order, and write report.json and report.md. A blocking stage that fails marks
 * every later stage `skip` with the reason; the report is always written.
 */
export async function runGpuci(options: RunOptions = {}): Promise<RunResult> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const progress = options.progress ?? silentProgress;
  const loaded = options.loaded ?? (await loadConfig({ path: options.configPath, cwd }));
  const outDir = resolve(cwd, options.outDir ?? ".gpuci");
  await checkOutDir(outDir);
  const ctx: StageContext = {
    loaded,
    outDir,
    progress,
    output: options.output ?? {},
    env,
    identity: options.identity ?? (await detectIdentity(env)),
    ...(options.previousPrCost ? { previousPrCost: options.previousPrCost } : {}),
    commands: [],
    startedAt: new Date(),
    stageStatus: {},
    producers: new Map(),
    ...(options.recordDirty ? { recordDirty: true } : {}),
  };
  if (!loaded.path) progress({ type: "note", message: "no gpuci.yml found: running with defaults" });
  await prepareHistory(ctx);

  const startedAt = ctx.startedAt;
  const sections: Section[] = [];
  let stoppedBy: string | undefined;
  for (const stage of STAGES) {
    if (stage.notConfigured(ctx)) continue;
    const cancel = cancelled();
    if (cancel) {
      sections.push(
        skippedSection(stage.id, stage.title, `not run: gpuci was cancelled by ${cancel.signal}`),
      );
      continue;
    }
    if (stoppedBy) {
      sections.push(skippedSection(stage.id, stage.title, `not run: ${stoppedBy} failed`));
      continue;
    }
    progress({ type: "stage-start", stage: stage.id, title: stage.title });
    const t0 = Date.now();
    let produced: Section[];
    try {
      produced = await untilCancelled(stage.run(ctx), stage, t0);
    } catch (error) {
      produced = [
        {
          id: stage.id,
          title: stage.title,
          status: "error",
          durationMs: Date.now() - t0,
          findings: [
            {
              id: `${stage.id}.crashed`,
              title: `${stage.title} could not finish`,
              status: "error",
              summary: (error as Error).message ?? String(error),
              remedy:
                "Read the message: a file gpuci could not write or a program it could not start is the usual cause; if it names neither, report it to gpuci.",
            },
          ],
        },
      ];
    }
    sections.push(...produced);
    for (const p of produced) ctx.stageStatus[p.id] = p.status;
    const main = produced[0]!;
    progress({
      type: "stage-end",
      stage: stage.id,
      title: stage.title,
      status: main.status,
      durationMs: Date.now() - t0,
    });
    if (stage.blocking && (main.status === "fail" || main.status === "error")) stoppedBy = stage.title;
  }
  // A stage that runs commands was skipped (a blocking failure, a cancel): its time is still priced.
  const lateCost = await closeMeter(ctx).catch(() => undefined);
  if (lateCost) sections.push(lateCost);
  const cancel = cancelled();
  const outcome = await cancellation();
  if (cancel && outcome) sections.push(cancelSection(outcome));

  const meta: Record<string, unknown> = { runId: ctx.identity.runId };
  if (loaded.path) meta.config = loaded.path;
  if (ctx.identity.pr !== undefined) meta.pr = ctx.identity.pr;
  if (ctx.costUsd !== undefined) meta.costUsd = ctx.costUsd;
  if (ctx.prCost) meta.prCost = ctx.prCost;
  if (loaded.config.comment) meta.charts = loaded.config.comment.charts;
  const report = createReport({
    sections,
    startedAt,
    finishedAt: new Date(),
    tool: { name: "gpuci", version: VERSION },
    runner: options.runner ?? { name: hostname() },
    meta,
    ...(cancel ? { cancelled: cancel } : {}),
  });
  const reportPath = join(outDir, "report.json");
  const markdownPath = join(outDir, "report.md");
  await writeReport(reportPath, report);
  const commentPath = join(outDir, "comment.md");
  await writeFileAtomic(markdownPath, `${renderSummary(report)}\n`);
  await writeFileAtomic(commentPath, `${renderComment(report)}\n`);
  return {
    report,
    reportPath,
    markdownPath,
    commentPath,
    outDir,
    commands: ctx.commands,
    ...(ctx.prCost ? { prCost: ctx.prCost } : {}),
    ...(ctx.costUsd === undefined ? {} : { costUsd: ctx.costUsd }),
  };
}
