import { resolve } from "node:path";
import type { Writable } from "node:stream";
import { execBounded } from "@gpuci/process";
import { createSection, type Finding, formatDuration, type Section, type Status } from "@gpuci/report";
import {
  addRunToPrCost,
  appendLedgerEntry,
  type LedgerEntry,
  type PrCost,
  readLedger,
  type SpendTotals,
  totalSpend,
} from "./ledger.js";
import { type ResolvedRate, resolveRate } from "./prices.js";
import { GpuSampler, type SamplerSummary, visibleGpuIds } from "./sampler.js";
import { type CostConfig, CostConfigSchema } from "./schema.js";
import { type StopReason, type WatchResult, watchCommand } from "./watch.js";

/** A command to run under the watchdog (the shape of gpuci.yml's `run:` entries). */
export interface WatchedCommand {
  name: string;
  command: string | string[];
  timeoutMinutes?: number;
  workingDirectory?: string;
  env?: Record<string, string | number | boolean>;
  continueOnError?: boolean;
}

/** The GPUs a run is priced for. */
export interface GpuAllocation {
  gpuName?: string;
  gpus: number;
  /** Where the numbers came from: preflight inventory, nvidia-smi, config, default. */
  source: string;
}

/** Formats USD for humans: $0.0042, $1.23. */
export function formatUsd(usd: number): string {
  return usd < 0.1 && usd > 0 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/**
 * Which GPUs the run may use: the visible ones (CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES),
 * from preflight's inventory when given, else from one `nvidia-smi --query-gpu=name` call,
 * else `cost.gpus` (default 1) with no name.
 */
export async function detectGpus(
  config: Pick<CostConfig, "gpus">,
  env: NodeJS.ProcessEnv,
  inventory?: { gpus: Array<{ index: number; name?: string }> },
): Promise<GpuAllocation> {
  const visible = visibleGpuIds(env);
  const pick = <T extends { index: number }>(all: T[]) =>
    visible ? all.filter((g) => visible.includes(g.index)) : all;
  if (inventory?.gpus.length) {
    const gpus = pick(inventory.gpus);
    return { gpuName: gpus[0]?.name, gpus: config.gpus ?? gpus.length, source: "preflight inventory" };
  }
  const r = await execBounded("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], {
    timeoutMs: 5000,
    env,
  });
  if (r.exitCode === 0) {
    const names = r.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .map((name, index) => ({ index, name }));
    const gpus = pick(names);
    if (names.length)
      return { gpuName: gpus[0]?.name, gpus: config.gpus ?? gpus.length, source: "nvidia-smi" };
  }
  return config.gpus
    ? { gpus: config.gpus, source: "cost.gpus" }
    : { gpus: 1, source: "default (no nvidia-smi; set cost.gpus)" };
}

/** How long the run may take under its budgets, and which budget decides. */
export interface BudgetPlan {
  maxSeconds?: number;
  limit?: StopReason;
  /** Set when a budget is already spent: nothing should start. */
  exhausted?: StopReason;
}

/** Spend so far that budgets count against. */
export interface PriorSpend {
  pullRequest?: { costUsd: number; seconds: number; runs: number };
  month: SpendTotals;
}

/** Work out the longest the run may take from every configured budget. */
export function planBudget(
  config: CostConfig,
  usdPerSecond: number | undefined,
  prior: PriorSpend,
): BudgetPlan {
  const b = config.budget;
  if (!b) return {};
  const candidates: Array<{ seconds: number; limit: StopReason }> = [];
  const money = (key: "run" | "pullRequest" | "month", budget: number | undefined, spent: number) => {
    if (budget === undefined || !usdPerSecond) return;
    const left = budget - spent;
    candidates.push({
      seconds: left / usdPerSecond,
      limit: {
        limit: `budget.${key}`,
        description: `cost.budget.${key} is ${formatUsd(budget)}${spent > 0 ? ` with ${formatUsd(spent)} already spent` : ""}; at ${formatUsd(usdPerSecond * 3600)}/h that allows ${formatDuration(Math.max(0, left / usdPerSecond) * 1000)}`,
      },
    });
  };
  const time = (
    key: "runMinutes" | "pullRequestMinutes" | "monthMinutes",
    minutes: number | undefined,
    spentSeconds: number,
  ) => {
    if (minutes === undefined) return;
    const left = minutes * 60 - spentSeconds;
    candidates.push({
      seconds: left,
      limit: {
        limit: `budget.${key}`,
        description: `cost.budget.${key} is ${minutes} min${spentSeconds > 0 ? ` with ${formatDuration(spentSeconds * 1000)} already used` : ""}`,
      },
    });
  };
  money("run", b.run, 0);
  money("pullRequest", b.pullRequest, prior.pullRequest?.costUsd ?? 0);
  money("month", b.month, prior.month.costUsd);
  time("runMinutes", b.runMinutes, 0);
  time("pullRequestMinutes", b.pullRequestMinutes, prior.pullRequest?.seconds ?? 0);
  time("monthMinutes", b.monthMinutes, prior.month.seconds);
  if (candidates.length === 0) return {};
  const tightest = candidates.reduce((a, c) => (c.seconds < a.seconds ? c : a));
  if (tightest.seconds <= 0) return { maxSeconds: 0, limit: tightest.limit, exhausted: tightest.limit };
  return { maxSeconds: tightest.seconds, limit: tightest.limit };
}

/** Who the run is, where its ledger lives, and what was spent before it: opens a {@link CostMeter}. */
export interface CostMeterInput {
  baseDir: string;
  /** The `cost:` section (defaults applied when omitted). */
  config?: Partial<CostConfig>;
  env?: NodeJS.ProcessEnv;
  /** Preflight's inventory, so nvidia-smi is not asked twice. */
  inventory?: { gpus: Array<{ index: number; name?: string }> };
  /** Identifies the run in the ledger. */
  run: { runId: string; pr?: number; commit?: string; repository?: string };
  /** The pull request's running total read back from the sticky comment (the action passes it). */
  previousPrCost?: PrCost;
}

/** Input for {@link runWatched}. */
export interface RunWatchedInput extends CostMeterInput {
  commands: WatchedCommand[];
  stdout?: Writable;
  stderr?: Writable;
  onCommandStart?: (name: string) => void;
  onCommandEnd?: (name: string, finding: Finding) => void;
  onStop?: (name: string, reason: StopReason) => void;
}

/** What a watched run produced. */
export interface RunWatchedResult {
  commands: Section;
  cost: Section;
  results: Array<WatchResult & { name: string }>;
  entry: LedgerEntry;
  /** The pull request's new running total, to write back into the comment. */
  prCost?: PrCost;
  costUsd?: number;
}

/** What a closed {@link CostMeter} reports: the Cost section, the ledger entry and the totals. */
export interface CostMeterResult {
  cost: Section;
  entry: LedgerEntry;
  prCost?: PrCost;
  costUsd?: number;
}

/** How long the next stage may run under the budgets, and why; `exhausted` when nothing may start. */
export interface StageLimit {
  limitMs?: number;
  reason?: StopReason;
  exhausted?: StopReason;
}

function commandFinding(command: WatchedCommand, r: WatchResult): Finding {
  const base: Finding = {
    id: `run.${command.name}`,
    title: command.name,
    status: "pass",
    durationMs: r.durationMs,
    data: {
      argv: r.argv,
      cwd: r.cwd,
      exitCode: r.exitCode,
      signal: r.signal,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      stopped: r.stopped ?? null,
      leftovers: r.leftovers,
      escaped: r.escaped,
    },
  };
  if (r.tail) base.details = r.tail;
  const rerun = typeof command.command === "string" ? command.command : command.command.join(" ");
  if (r.spawnError)
    return {
      ...base,
      status: "fail",
      summary: `could not start: ${r.spawnError}`,
      remedy: `Check that the program exists on PATH and that workingDirectory "${command.workingDirectory ?? "."}" exists.`,
    };
  if (r.stopped) {
    const remedy =
      r.stopped.limit === "timeout"
        ? `Speed "${command.name}" up or raise its timeoutMinutes (${command.timeoutMinutes}).`
        : `Raise cost.${r.stopped.limit} or make "${command.name}" faster (fewer steps, smaller shapes, a cheaper GPU).`;
    return {
      ...base,
      status: "fail",
      summary: `stopped by the watchdog after ${formatDuration(r.durationMs)}: ${r.stopped.description}${r.stopped.killed ? " (ignored SIGTERM: killed)" : ""}`,
      remedy,
    };
  }
  // A process that left the group (setsid, a daemon) outlives the command: say so, with pids.
  const escapedText =
    r.escaped.length === 0
      ? ""
      : `; ${r.escaped.length} process(es) it started left its process group and ${r.escaped.every((p) => p.stopped) ? "were stopped by gpuci" : r.escaped.some((p) => p.stopped) ? "were partly stopped by gpuci" : "are still running"}: ${r.escaped
          .slice(0, 5)
          .map((p) => `pid ${p.pid} (${p.command.slice(0, 80)})`)
          .join(", ")}${r.escaped.length > 5 ? ", …" : ""}`;
  const escapedRemedy = r.escaped.length
    ? ` Stop what "${command.name}" starts before it exits (wait for it, or kill it in a trap), or set cost.escaped: stop to have gpuci stop such processes by pid.`
    : "";
  if (r.exitCode === 0)
    return {
      ...base,
      ...(r.escaped.length ? { status: "warn" as const, remedy: escapedRemedy.trim() } : {}),
      summary: `${r.leftovers ? "exited 0 (left processes running in its group; gpuci stopped them)" : "exited 0"}${escapedText}`,
    };
  return {
    ...base,
    status: "fail",
    summary: `${r.signal ? `killed by ${r.signal}` : `exited with code ${r.exitCode}`}${escapedText}`,
    remedy: `Read the output tail, fix "${command.name}", and re-run it alone with: ${rerun}${escapedRemedy}`,
  };
}

/** The month key (UTC) of a date: `2026-11`. */
export const monthOf = (d: Date) => d.toISOString().slice(0, 7);

/**
 * The cost watchdog of one run, shared by every stage that runs commands (`run:` and the A/B):
 * the GPUs and their price, the budgets with what was spent before, the GPU sampler, and the
 * time each stage took. `limit()` tells the next stage how long it may take; `close()` appends
 * the run to the ledger and returns the Cost section over all of it.
 */
export class CostMeter {
  private seconds = 0;
  private stoppedBy: StopReason | undefined;
  private closed: Promise<CostMeterResult> | undefined;

  private constructor(
    private readonly input: CostMeterInput,
    readonly config: CostConfig,
    readonly allocation: GpuAllocation,
    readonly rate: ResolvedRate,
    readonly usdPerSecond: number | undefined,
    private readonly plan: BudgetPlan,
    private readonly prior: PriorSpend,
    private readonly monthSpent: SpendTotals,
    private readonly ledgerPath: string,
    private readonly invalidLedgerLines: number,
    private readonly sampler: GpuSampler,
  ) {}

  /** Price the GPUs, read the ledger and the pull request's total, and start sampling. */
  static async open(input: CostMeterInput): Promise<CostMeter> {
    const config = CostConfigSchema.parse(input.config ?? {});
    const env = input.env ?? process.env;
    const allocation = await detectGpus(config, env, input.inventory);
    const rate: ResolvedRate = resolveRate(allocation.gpuName, config);
    const usdPerSecond =
      rate.usdPerGpuHour === undefined ? undefined : (rate.usdPerGpuHour * allocation.gpus) / 3600;
    const ledgerPath = resolve(input.baseDir, config.ledger);
    const ledger = await readLedger(ledgerPath);
    const monthSpent = totalSpend(ledger.entries, { month: monthOf(new Date()) });
    const prFromLedger =
      input.run.pr === undefined ? undefined : totalSpend(ledger.entries, { pr: input.run.pr });
    // The comment's block survives across runners; the local ledger only knows this machine.
    const prior: PriorSpend = { month: monthSpent, pullRequest: input.previousPrCost ?? prFromLedger };
    const sampler = new GpuSampler({
      intervalMs: config.sampleSeconds * 1000,
      env,
      gpuIds: visibleGpuIds(env),
    });
    sampler.start();
    return new CostMeter(
      input,
      config,
      allocation,
      rate,
      usdPerSecond,
      planBudget(config, usdPerSecond, prior),
      prior,
      monthSpent,
      ledgerPath,
      ledger.invalidLines,
      sampler,
    );
  }

  /** Seconds the metered stages have taken so far. */
  get spentSeconds(): number {
    return this.seconds;
  }

  /** Set once a stage was stopped by a budget: later stages do not start. */
  get stopped(): StopReason | undefined {
    return this.stoppedBy;
  }

  /** How long the next stage may run under every budget (undefined limitMs: no budget applies). */
  limit(): StageLimit {
    if (this.stoppedBy) return { limitMs: 0, reason: this.stoppedBy, exhausted: this.stoppedBy };
    if (this.plan.exhausted)
      return { limitMs: 0, reason: this.plan.exhausted, exhausted: this.plan.exhausted };
    if (this.plan.maxSeconds === undefined) return {};
    const left = Math.max(0, (this.plan.maxSeconds - this.seconds) * 1000);
    return {
      limitMs: left,
      ...(this.plan.limit ? { reason: this.plan.limit } : {}),
      ...(left <= 0 && this.plan.limit ? { exhausted: this.plan.limit } : {}),
    };
  }

  /** Count a stage's time; `stoppedBy` when a budget stopped it. */
  add(seconds: number, stoppedBy?: StopReason): void {
    this.seconds += Math.max(0, seconds);
    if (stoppedBy && !this.stoppedBy) this.stoppedBy = stoppedBy;
  }

  /** Run commands in order under the watchdog, within what the budgets leave; returns the Commands section. */
  async runCommands(
    commands: WatchedCommand[],
    hooks: Pick<RunWatchedInput, "stdout" | "stderr" | "onCommandStart" | "onCommandEnd" | "onStop"> = {},
  ): Promise<{ commands: Section; results: Array<WatchResult & { name: string }> }> {
    const started = performance.now();
    const env = this.input.env ?? process.env;
    const findings: Finding[] = [];
    const results: Array<WatchResult & { name: string }> = [];
    let blockedBy: string | undefined;
    const first = this.limit();
    if (first.exhausted) blockedBy = `the budget is spent (${first.exhausted.description})`;
    for (const command of commands) {
      if (blockedBy) {
        findings.push({
          id: `run.${command.name}`,
          title: command.name,
          status: "skip",
          summary: `not run: ${blockedBy}`,
        });
        continue;
      }
      const budget = this.limit();
      const elapsed = performance.now() - started;
      let limitMs: number | undefined;
      let limitReason: StopReason | undefined;
      if (budget.limitMs !== undefined) {
        limitMs = Math.max(0, budget.limitMs - elapsed);
        limitReason = budget.reason;
      }
      if (
        command.timeoutMinutes !== undefined &&
        (limitMs === undefined || command.timeoutMinutes * 60_000 < limitMs)
      ) {
        limitMs = command.timeoutMinutes * 60_000;
        limitReason = { limit: "timeout", description: `timeoutMinutes is ${command.timeoutMinutes}` };
      }
      const cmdEnv: NodeJS.ProcessEnv = { ...env };
      for (const [k, v] of Object.entries(command.env ?? {})) cmdEnv[k] = String(v);
      hooks.onCommandStart?.(command.name);
      const r = await watchCommand({
        command: command.command,
        cwd: resolve(this.input.baseDir, command.workingDirectory ?? "."),
        env: cmdEnv,
        ...(limitMs === undefined ? {} : { limitMs }),
        ...(limitReason ? { limitReason } : {}),
        graceMs: this.config.graceSeconds * 1000,
        escaped: this.config.escaped,
        ...(hooks.stdout ? { stdout: hooks.stdout } : {}),
        ...(hooks.stderr ? { stderr: hooks.stderr } : {}),
        onStop: (reason) => hooks.onStop?.(command.name, reason),
      });
      results.push({ ...r, name: command.name });
      const finding = commandFinding(command, r);
      findings.push(finding);
      hooks.onCommandEnd?.(command.name, finding);
      if (r.stopped) {
        if (r.stopped.limit.startsWith("budget.")) this.stoppedBy ??= r.stopped;
        blockedBy =
          r.stopped.limit === "cancelled"
            ? "gpuci was cancelled"
            : `"${command.name}" was stopped by the watchdog`;
      } else if (finding.status === "fail" && !command.continueOnError)
        blockedBy = `"${command.name}" failed before it`;
    }
    const durationMs = Math.round(performance.now() - started);
    this.seconds += durationMs / 1000;
    return { commands: createSection("run", "Commands", findings, durationMs), results };
  }

  /** Stop sampling, append the run to the ledger, and build the Cost section (once). */
  close(): Promise<CostMeterResult> {
    this.closed ??= this.closeOnce();
    return this.closed;
  }

  private async closeOnce(): Promise<CostMeterResult> {
    const samples = await this.sampler.stop();
    const seconds = this.seconds;
    const finishedAt = new Date();
    const costUsd = this.usdPerSecond === undefined ? undefined : this.usdPerSecond * seconds;
    const run = this.input.run;
    const entry: LedgerEntry = {
      v: 1,
      at: finishedAt.toISOString(),
      runId: run.runId,
      ...(run.pr === undefined ? {} : { pr: run.pr }),
      ...(run.commit ? { commit: run.commit } : {}),
      ...(run.repository ? { repository: run.repository } : {}),
      ...(this.allocation.gpuName ? { gpu: this.allocation.gpuName } : {}),
      gpus: this.allocation.gpus,
      seconds: Math.round(seconds * 1000) / 1000,
      costUsd: Math.round((costUsd ?? 0) * 1e6) / 1e6,
      ...(this.rate.usdPerGpuHour === undefined ? {} : { rateUsdPerGpuHour: this.rate.usdPerGpuHour }),
      ...(this.config.budget?.run === undefined ? {} : { budgetUsd: this.config.budget.run }),
      stopped: this.stoppedBy !== undefined,
    };
    await appendLedgerEntry(this.ledgerPath, entry);
    const prCost =
      run.pr === undefined ? undefined : addRunToPrCost(this.input.previousPrCost, run.pr, entry);
    const cost = costFindings({
      config: this.config,
      allocation: this.allocation,
      rate: this.rate,
      seconds,
      costUsd,
      samples,
      stoppedBy: this.stoppedBy,
      prior: this.prior,
      prCost,
      monthSpentAfter: this.monthSpent.costUsd + (costUsd ?? 0),
      monthSecondsAfter: this.monthSpent.seconds + seconds,
      invalidLedgerLines: this.invalidLedgerLines,
      ledgerPath: this.ledgerPath,
    });
    return {
      cost: createSection("cost", "Cost", cost, 0),
      entry,
      ...(prCost ? { prCost } : {}),
      ...(costUsd === undefined ? {} : { costUsd }),
    };
  }
}

/**
 * Run commands in order under the watchdog, priced and within budget, then append the run to
 * the ledger. Returns the Commands section, the Cost section and the pull request's new total.
 */
export async function runWatched(input: RunWatchedInput): Promise<RunWatchedResult> {
  const meter = await CostMeter.open(input);
  const { commands, results } = await meter.runCommands(input.commands, input);
  const closed = await meter.close();
  return { commands, results, ...closed };
}

interface CostFacts {
  config: CostConfig;
  allocation: GpuAllocation;
  rate: ResolvedRate;
  seconds: number;
  costUsd?: number;
  samples: SamplerSummary;
  stoppedBy?: StopReason;
  prior: PriorSpend;
  prCost?: PrCost;
  monthSpentAfter: number;
  monthSecondsAfter: number;
  invalidLedgerLines: number;
  ledgerPath: string;
}

/** The Cost section's findings: this run, each budget, the forecast, idle waste and energy. */
export function costFindings(f: CostFacts): Finding[] {
  const out: Finding[] = [];
  const gpuLabel = `${f.allocation.gpus} × ${f.allocation.gpuName ?? "GPU (unknown model)"}`;
  const idleFraction =
    f.samples.measuredGpuSeconds > 0 ? f.samples.idleGpuSeconds / f.samples.measuredGpuSeconds : undefined;
  const idleCostUsd =
    f.rate.usdPerGpuHour !== undefined && f.samples.available
      ? (f.samples.idleGpuSeconds * f.rate.usdPerGpuHour) / 3600
      : undefined;
  const data = {
    seconds: Math.round(f.seconds * 1000) / 1000,
    costUsd: f.costUsd === undefined ? null : Math.round(f.costUsd * 1e6) / 1e6,
    rateUsdPerGpuHour: f.rate.usdPerGpuHour ?? null,
    rateReason: f.rate.reason,
    gpus: f.allocation.gpus,
    gpuName: f.allocation.gpuName ?? null,
    gpuSource: f.allocation.source,
    stopped: f.stoppedBy !== undefined,
    stopReason: f.stoppedBy ?? null,
    energyWh: f.samples.energyWh ?? null,
    idleGpuSeconds: f.samples.available ? f.samples.idleGpuSeconds : null,
    idleCostUsd: idleCostUsd ?? null,
    meanUtilizationPercent: f.samples.meanUtilizationPercent ?? null,
    sampling: f.samples.available
      ? { samples: f.samples.samples, gpus: f.samples.gpus }
      : { unavailable: f.samples.reason },
    ledger: f.ledgerPath,
  };
  out.push(
    f.costUsd === undefined
      ? {
          id: "cost.run",
          title: "cost of this run",
          // No GPU and no rate: a CPU-only job; nothing to price is not a warning.
          status: f.allocation.gpuName === undefined ? "skip" : "warn",
          summary: `${formatDuration(f.seconds * 1000)}${f.allocation.gpuName ? ` on ${gpuLabel}` : ""}; not priced: ${f.rate.reason}`,
          remedy: 'Set cost.rate (USD per GPU-hour) or cost.rates: { "<GPU name>": USD } in gpuci.yml.',
          data,
        }
      : {
          id: "cost.run",
          title: "cost of this run",
          status: f.stoppedBy ? "fail" : "pass",
          summary: `${formatUsd(f.costUsd)} for ${formatDuration(f.seconds * 1000)} on ${gpuLabel} at ${formatUsd(f.rate.usdPerGpuHour!)}/GPU-h (${f.rate.reason})${f.stoppedBy ? `; stopped: ${f.stoppedBy.description}` : ""}`,
          ...(f.stoppedBy ? { remedy: `Raise cost.${f.stoppedBy.limit} or make the run faster.` } : {}),
          data,
        },
  );

  const b = f.config.budget ?? {};
  const budgetFinding = (key: string, spent: number, budget: number, unit: "usd" | "seconds"): Finding => {
    const fraction = budget > 0 ? spent / budget : Number.POSITIVE_INFINITY;
    const fmt = (v: number) => (unit === "usd" ? formatUsd(v) : formatDuration(v * 1000));
    const stoppedHere = f.stoppedBy?.limit === `budget.${key}`;
    let status: Status = "pass";
    if (stoppedHere || fraction > 1) status = "fail";
    else if (fraction >= f.config.warnAt) status = "warn";
    return {
      id: `cost.budget.${key}`,
      title: `budget: ${key}`,
      status,
      summary: `${fmt(spent)} of ${fmt(budget)} (${Math.round(fraction * 100)} %)${stoppedHere ? "; the run was stopped at this budget" : ""}`,
      ...(status === "pass"
        ? {}
        : {
            remedy:
              status === "warn"
                ? `Over ${Math.round(f.config.warnAt * 100)} % of cost.budget.${key} is spent: the next runs may be stopped. Raise it or trim the job.`
                : `Raise cost.budget.${key} or make the job cheaper (fewer repeats, smaller shapes, a cheaper GPU).`,
          }),
      data: { spent, budget, fraction, unit },
    };
  };
  const runCost = f.costUsd ?? 0;
  const prUsd = f.prCost?.costUsd ?? (f.prior.pullRequest?.costUsd ?? 0) + runCost;
  const prSeconds = f.prCost?.seconds ?? (f.prior.pullRequest?.seconds ?? 0) + f.seconds;
  if (b.run !== undefined) out.push(budgetFinding("run", runCost, b.run, "usd"));
  if (b.pullRequest !== undefined) out.push(budgetFinding("pullRequest", prUsd, b.pullRequest, "usd"));
  if (b.month !== undefined) out.push(budgetFinding("month", f.monthSpentAfter, b.month, "usd"));
  if (b.runMinutes !== undefined)
    out.push(budgetFinding("runMinutes", f.seconds, b.runMinutes * 60, "seconds"));
  if (b.pullRequestMinutes !== undefined)
    out.push(budgetFinding("pullRequestMinutes", prSeconds, b.pullRequestMinutes * 60, "seconds"));
  if (b.monthMinutes !== undefined)
    out.push(budgetFinding("monthMinutes", f.monthSecondsAfter, b.monthMinutes * 60, "seconds"));

  if (f.prCost) {
    const perRun = f.prCost.runs > 0 ? f.prCost.costUsd / f.prCost.runs : runCost;
    const next = f.prCost.costUsd + perRun;
    const status: Status = b.pullRequest !== undefined && next > b.pullRequest ? "warn" : "pass";
    out.push({
      id: "cost.forecast",
      title: "pull request forecast",
      status,
      summary: `${formatUsd(f.prCost.costUsd)} over ${f.prCost.runs} run(s) of PR #${f.prCost.pr}; one more run at the average brings it to ${formatUsd(next)}${b.pullRequest !== undefined ? ` of ${formatUsd(b.pullRequest)}` : ""}`,
      ...(status === "warn"
        ? {
            remedy:
              "The next push will likely exceed cost.budget.pullRequest: batch changes or raise the budget.",
          }
        : {}),
      data: { prCostUsd: f.prCost.costUsd, runs: f.prCost.runs, nextRunForecastUsd: next },
    });
  }

  if (!f.samples.available) {
    out.push({
      id: "cost.sampling",
      title: "GPU sampling",
      status: "skip",
      summary: `sampling unavailable (${f.samples.reason}); wall time priced at the configured rate`,
    });
  } else {
    const idleText =
      idleFraction === undefined
        ? "utilisation not reported"
        : `${formatDuration(f.samples.idleGpuSeconds * 1000)} of ${formatDuration(f.samples.measuredGpuSeconds * 1000)} GPU time idle (< 5 %)`;
    const wasteful = idleFraction !== undefined && idleFraction >= 0.5 && f.samples.idleGpuSeconds >= 30;
    out.push({
      id: "cost.idle",
      title: "idle GPU time",
      status: wasteful ? "warn" : "pass",
      summary: `${idleText}${idleCostUsd !== undefined ? `, ${formatUsd(idleCostUsd)} spent idle` : ""}; mean utilisation ${f.samples.meanUtilizationPercent?.toFixed(0) ?? "?"} %`,
      ...(wasteful
        ? {
            remedy:
              "Most of the paid GPU time was idle: move data preparation and downloads off the GPU runner, or overlap them with GPU work.",
          }
        : {}),
    });
    out.push({
      id: "cost.energy",
      title: "energy",
      status: "pass",
      summary:
        f.samples.energyWh === undefined
          ? "power draw not reported"
          : `${f.samples.energyWh.toFixed(2)} Wh over ${f.samples.samples} samples`,
    });
  }
  if (f.invalidLedgerLines > 0)
    out.push({
      id: "cost.ledger",
      title: "ledger",
      status: "warn",
      summary: `${f.invalidLedgerLines} line(s) of ${f.ledgerPath} are not valid entries and were not counted`,
      remedy:
        "Inspect the ledger file; gpuci only appends whole lines, so a bad line came from another writer or an edit.",
    });
  return out;
}
