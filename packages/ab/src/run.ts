import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import type { Writable } from "node:stream";
import {
  ClockSampler,
  type ClockSummary,
  type CostConfig,
  detectGpus,
  formatUsd,
  resolveRate,
  type StageLimit,
  type StopReason,
  visibleGpuIds,
  watchCommand,
} from "@gpuci/cost-budget";
import {
  formatChange,
  MetricError,
  parseFraction,
  readMetric,
  regressionVerdict,
  sequentialPlan,
  type Verdict,
  verdictText,
} from "@gpuci/gates";
import { cancelled, registerCleanup } from "@gpuci/process";
import {
  convert,
  createSection,
  type Finding,
  formatDuration,
  formatValue,
  makeFolder,
  type Section,
  type Status,
  seededRandom,
  tailText,
} from "@gpuci/report";
import { type ClockSpace, clockSpace } from "./clocks.js";
import { type AbConfig, AbConfigSchema, type AbMetric } from "./schema.js";
import {
  AbSetupError,
  addWorktree,
  type BaseWorktree,
  previousBaseCommit,
  repositoryOf,
  resolveBase,
  uncommittedChanges,
} from "./worktree.js";

/** Options for {@link runAb}. */
export interface RunAbOptions {
  /** The folder of gpuci.yml in the head tree. */
  baseDir: string;
  /** Where round folders go (`<outDir>/ab/round-NN/{base,head}`). */
  outDir: string;
  /** Overrides ab.base (the CLI's --base). */
  base?: string;
  /** The branch whose merge base is the default base (history.baseBranch). */
  baseBranch?: string;
  remote?: string;
  /** The cost: section, for the USD budget and the price of the A/B. */
  cost?: CostConfig;
  env?: NodeJS.ProcessEnv;
  /** One line per build and per round, with the running estimate. */
  onProgress?: (line: string) => void;
  /** Where the commands' output goes (default: discarded, tails kept in findings). */
  stdout?: Writable;
  stderr?: Writable;
  /**
   * What the run's cost budget (`cost.budget`: run, runMinutes, pull request, month) leaves for
   * the A/B: the engine's cost meter says. The A/B never runs past it.
   */
  costLimit?: StageLimit;
}

/** One metric's outcome. */
export interface AbMetricResult {
  id: string;
  verdict: Verdict;
  /** What the verdict was taken on: wall time, cycle space or the rounds at one clock state. */
  clocks?: ClockSpace;
  base: number[];
  head: number[];
  unit?: string;
  direction: "smaller" | "bigger";
}

/** What {@link runAb} produced. */
export interface RunAbResult {
  section: Section;
  metrics: AbMetricResult[];
  rounds: number;
  /** Wall-clock seconds the A/B took (builds and rounds), for the run's cost. */
  seconds: number;
  /** Set when a limit stopped the A/B: its ab.budget, the run's cost budget, or a cancel. */
  stoppedBy?: StopReason;
}

const SIDES = ["base", "head"] as const;
type Side = (typeof SIDES)[number];

/** The variable that holds a round's folder; `{out}` in a shell line becomes a reference to it. */
export const OUT_VARIABLE = "GPUCI_AB_OUT";

/**
 * Replace `placeholder` in a /bin/sh command line with a reference to `variable`, written for
 * where it stands so that no quoting can break it: `"$VAR"` outside quotes, `${VAR}` inside
 * double quotes, `'"$VAR"'` inside single quotes. The folder's name is never pasted into the
 * line, so spaces, quotes, `$` or non-ASCII in it are only ever data.
 */
export function substituteShellVariable(line: string, placeholder: string, variable: string): string {
  let out = "";
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; ) {
    if (line.startsWith(placeholder, i)) {
      out += quote === "'" ? `'"$${variable}"'` : quote === '"' ? `\${${variable}}` : `"$${variable}"`;
      i += placeholder.length;
      continue;
    }
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
    } else if (c === "\\") {
      out += c + (line[i + 1] ?? "");
      i += 2;
      continue;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    out += c;
    i++;
  }
  return out;
}

/** Put the round's folder where `{out}` stands: literally in an argv list, as "$GPUCI_AB_OUT" in a shell line. */
function withOut(command: string | string[], folder: string): string | string[] {
  if (Array.isArray(command)) return command.map((a) => a.replaceAll("{out}", folder));
  return substituteShellVariable(command, "{out}", OUT_VARIABLE);
}

/**
 * Hold `<outDir>/ab.lock` for this A/B, so two `gpuci ab` never share round folders: a lock
 * held by a live process is refused with its pid; one left by a process that is gone is taken.
 */
async function takeLock(outDir: string): Promise<{ release(): Promise<void> } | { heldBy: string }> {
  const path = join(outDir, "ab.lock");
  await makeFolder(outDir);
  const mine = JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, mine, { flag: "wx" });
      let released = false;
      const unregister = registerCleanup(`the A/B lock ${path}`, async () => {
        if (!released) await rm(path, { force: true });
        released = true;
      });
      return {
        async release() {
          if (!released) await rm(path, { force: true });
          released = true;
          unregister();
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const held = await readFile(path, "utf8").catch(() => "");
      let pid = Number.NaN;
      let startedAt = "";
      try {
        const j = JSON.parse(held) as { pid?: unknown; startedAt?: unknown };
        pid = Number(j.pid);
        startedAt = String(j.startedAt ?? "");
      } catch {}
      const alive = (() => {
        if (!Number.isInteger(pid) || pid <= 0) return false;
        try {
          process.kill(pid, 0);
          return true;
        } catch (e) {
          return (e as NodeJS.ErrnoException).code === "EPERM";
        }
      })();
      if (alive) return { heldBy: `pid ${pid}${startedAt ? `, started ${startedAt}` : ""}` };
      await rm(path, { force: true }); // left by a run that is gone
    }
  }
  return { heldBy: "another process (the lock file keeps coming back)" };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function fmtValue(v: number, unit?: string): string {
  // Human units where gpuci knows the unit (40.5 µs, not 4.05e-5 s).
  return formatValue(v, unit);
}

/**
 * `gpuci ab`: check out the base commit in a git worktree of its own (with its submodules),
 * build both trees, and run the command in counterbalanced rounds (ABBA or a seeded random
 * order) until every metric is decided, the rounds run out, or a limit is reached (ab.budget,
 * the run's cost budget, a cancel). Each round's base and head values are a pair; after
 * `rounds.min` and then at looks growing by a quarter, every metric is judged with the paired
 * verdict at one constant per-look level chosen so that all looks together err at most alpha
 * (Pocock-type spending, `sequentialPlan`). Each round writes into a fresh folder
 * under `<outDir>/ab` (held with a lock, so two A/Bs never share one). The base worktree is
 * removed afterwards (on a cancel too); the user's tree is never touched.
 */
export async function runAb(input: unknown, options: RunAbOptions): Promise<RunAbResult> {
  const t0 = performance.now();
  const config: AbConfig = AbConfigSchema.parse(input);
  const progress = options.onProgress ?? (() => {});
  const env = options.env ?? process.env;
  const findings: Finding[] = [];
  const seconds = () => (performance.now() - t0) / 1000;
  let stopReason: StopReason | undefined;
  const fail = (
    id: string,
    title: string,
    summary: string,
    remedy: string,
    details?: string,
    data?: Record<string, unknown>,
  ): RunAbResult => {
    findings.push({
      id,
      title,
      status: "error",
      summary,
      remedy,
      ...(details ? { details } : {}),
      ...(data ? { data } : {}),
    });
    return {
      section: createSection("ab", "A/B", findings, Math.round(performance.now() - t0)),
      metrics: [],
      rounds: 0,
      seconds: seconds(),
      ...(stopReason ? { stoppedBy: stopReason } : {}),
    };
  };

  let repo: Awaited<ReturnType<typeof repositoryOf>>;
  let base: Awaited<ReturnType<typeof resolveBase>>;
  try {
    repo = await repositoryOf(options.baseDir);
    base = await resolveBase(
      repo.root,
      options.base ?? config.base,
      options.baseBranch ?? "main",
      options.remote,
    );
  } catch (error) {
    if (error instanceof AbSetupError)
      return fail(
        "ab.setup",
        "base to compare with",
        error.message,
        error.remedy,
        undefined,
        error.reason ? { reason: error.reason } : undefined,
      );
    throw error;
  }

  // Price: wall time × GPUs × the cost section's rate (the same rules as the run's cost).
  const gpus = await detectGpus(options.cost ?? {}, env);
  const rate = resolveRate(gpus.gpuName, options.cost ?? {});
  const usdPerSecond = rate.usdPerGpuHour !== undefined ? (rate.usdPerGpuHour * gpus.gpus) / 3600 : undefined;
  const limits: Array<{ ms: number; reason: StopReason }> = [
    {
      ms: config.budget.minutes * 60_000,
      reason: { limit: "ab.budget.minutes", description: `ab.budget.minutes is ${config.budget.minutes}` },
    },
  ];
  if (config.budget.usd && usdPerSecond)
    limits.push({
      ms: (config.budget.usd / usdPerSecond) * 1000,
      reason: {
        limit: "ab.budget.usd",
        description: `ab.budget.usd is ${formatUsd(config.budget.usd)} at ${formatUsd(usdPerSecond * 3600)}/h`,
      },
    });
  // The run's cost budget covers the A/B like every stage that runs commands.
  const cost = options.costLimit;
  if (cost?.limitMs !== undefined && cost.reason) limits.push({ ms: cost.limitMs, reason: cost.reason });
  const budget = limits.reduce((a, b) => (b.ms < a.ms ? b : a));
  const budgetNote =
    config.budget.usd && !usdPerSecond
      ? `ab.budget.usd not applied: ${rate.reason} (set cost.rate)`
      : undefined;
  const deadline = performance.now() + budget.ms;
  if (cost?.exhausted) {
    stopReason = cost.exhausted;
    return fail(
      "ab.rounds",
      "A/B rounds",
      `not run: the run's budget is spent (${cost.exhausted.description})`,
      `Raise cost.${cost.exhausted.limit} or make the run's commands cheaper.`,
      undefined,
      { rounds: 0, stopped: cost.exhausted.description },
    );
  }

  const outRoot = join(resolve(options.outDir), "ab");
  const lock = await takeLock(resolve(options.outDir));
  if ("heldBy" in lock)
    return fail(
      "ab.setup",
      "A/B folder",
      `another gpuci ab (${lock.heldBy}) is using ${outRoot}: two A/Bs in one folder would read each other's rounds`,
      "Wait for it to finish, or give this one a folder of its own (gpuci ab --out DIR; the action's out: input).",
    );
  let worktree: BaseWorktree | undefined;
  try {
    // Every run starts from an empty folder: a round is never judged on files an earlier run left.
    await rm(outRoot, { recursive: true, force: true });
    await makeFolder(outRoot);

    const head = { dir: resolve(options.baseDir, config.workingDirectory ?? ".") };
    const headSt = await stat(head.dir).catch(() => undefined);
    if (!headSt?.isDirectory())
      return fail(
        "ab.setup",
        "head folder",
        `ab.workingDirectory ${config.workingDirectory} (${head.dir}) does not exist in your tree`,
        "Set ab.workingDirectory to a folder that exists, relative to the folder of gpuci.yml.",
      );
    const uncommitted = await uncommittedChanges(repo.root, [resolve(options.outDir)]);
    // On the base branch (a push to it, or a clean local checkout of it) the merge base is HEAD
    // itself: compare with the previous base commit instead, never HEAD with itself unless asked
    // (ab.base or --base HEAD). A dirty tree on the base branch is an A/B of the changes.
    if (
      (options.base ?? config.base) === "merge-base" &&
      base.commit === repo.head &&
      uncommitted.length === 0
    ) {
      const previous = await previousBaseCommit(repo.root, options.baseBranch ?? "main", env);
      if (!previous) {
        findings.push({
          id: "ab.rounds",
          title: "A/B rounds",
          status: "skip",
          summary: `not run: HEAD ${repo.head.slice(0, 12)} is the merge base with ${options.baseBranch ?? "main"} and has no parent to compare with`,
          remedy:
            "Nothing to do on a first commit; set ab.base (or --base) to compare with a ref of your choice.",
          data: { rounds: 0, headCommit: repo.head, skipped: "no previous base commit" },
        });
        return {
          section: createSection("ab", "A/B", findings, Math.round(performance.now() - t0)),
          metrics: [],
          rounds: 0,
          seconds: seconds(),
        };
      }
      base = previous;
    }
    const sameCommit = base.commit === repo.head;
    const headLabel =
      uncommitted.length === 0
        ? sameCommit
          ? "the working tree at the same commit (A/A)"
          : repo.head.slice(0, 12)
        : `the working tree: ${repo.head.slice(0, 12)} + ${uncommitted.length} uncommitted change${uncommitted.length === 1 ? "" : "s"} (${uncommitted.slice(0, 3).join(", ")}${uncommitted.length > 3 ? ", …" : ""})`;
    progress(`ab: base ${base.commit.slice(0, 12)} (${base.how}), head ${headLabel}`);
    let wt: BaseWorktree;
    try {
      wt = await addWorktree(repo.root, base.commit);
    } catch (error) {
      if (!(error instanceof AbSetupError)) throw error;
      return fail("ab.setup", "base worktree", error.message, error.remedy);
    }
    worktree = wt;
    if (wt.submodules.length)
      progress(`ab: base submodules from local objects: ${wt.submodules.slice(0, 5).join(", ")}`);
    const dirs: Record<Side, string> = {
      base: resolve(wt.dir, repo.subdir, config.workingDirectory ?? "."),
      head: head.dir,
    };
    const baseSt = await stat(dirs.base).catch(() => undefined);
    if (!baseSt?.isDirectory()) {
      const rel = relative(wt.dir, dirs.base) || ".";
      return fail(
        "ab.setup",
        "base folder",
        `the folder ${rel} does not exist in the base commit ${base.commit.slice(0, 12)} (${base.how}): it is new in this change`,
        "The A/B runs the same command in both trees, so its folder must exist in both: set ab.base to a commit that has it, or run gpuci ab from a folder the base has (move gpuci.yml, or set ab.workingDirectory).",
      );
    }

    let gpuMs = 0;
    let stopped: string | undefined;
    const runIn = async (side: Side, command: string | string[], what: string, out?: string) => {
      const left = deadline - performance.now();
      if (left <= 0) {
        stopped = budget.reason.description;
        stopReason ??= budget.reason;
        return undefined;
      }
      const perCommand = config.timeoutMinutes * 60_000;
      const byTimeout = perCommand < left;
      const r = await watchCommand({
        command: out ? withOut(command, out) : command,
        cwd: dirs[side],
        env: { ...env, GPUCI_AB_SIDE: side, ...(out ? { [OUT_VARIABLE]: out } : {}) },
        limitMs: byTimeout ? perCommand : left,
        limitReason: byTimeout
          ? { limit: "timeout", description: `ab.timeoutMinutes is ${config.timeoutMinutes}` }
          : budget.reason,
        graceMs: 10_000,
        ...(options.stdout ? { stdout: options.stdout } : {}),
        ...(options.stderr ? { stderr: options.stderr } : {}),
      });
      gpuMs += r.durationMs * gpus.gpus;
      if (r.stopped && r.stopped.limit !== "timeout") {
        stopped = r.stopped.description;
        stopReason ??= { limit: r.stopped.limit, description: r.stopped.description };
        return undefined;
      }
      if (r.stopped)
        throw Object.assign(
          new Error(
            `${what} in the ${side} tree was stopped after ${formatDuration(r.durationMs)}: ${r.stopped.description}`,
          ),
          {
            tail: r.tail,
            remedy: `It hung or is slower than allowed: run it by hand in the ${side} tree, or raise ab.timeoutMinutes.`,
          },
        );
      if (r.exitCode !== 0) {
        const how =
          r.spawnError ?? (r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`);
        throw Object.assign(new Error(`${what} in the ${side} tree ${how}`), { tail: r.tail });
      }
      return r;
    };

    const values = new Map<
      string,
      { base: number[]; head: number[]; unit?: string; direction: "smaller" | "bigger" }
    >();
    for (const m of config.metrics)
      values.set(m.id, { base: [], head: [], direction: m.direction ?? "smaller" });
    const maxRegression = parseFraction(config.maxRegression);
    const plan = sequentialPlan(config.rounds.min, config.rounds.max, config.alpha, true);
    const looks = plan.looks;
    const lookAlpha = plan.alphaPerLook;
    let verdicts = new Map<string, Verdict>();
    let rounds = 0;
    const random = seededRandom(0x5eed);
    // The SM clock, temperature and power of each side's command, per round (when nvidia-smi answers).
    const sampleClocks = gpus.source === "nvidia-smi";
    const clockRounds: Array<{ round: number; base?: ClockSummary; head?: ClockSummary }> = [];
    const clockTolerance = parseFraction(config.clocks.tolerance);
    const spaces = new Map<string, ClockSpace>();
    const verdictOn = (base: number[], head: number[], direction: "smaller" | "bigger", alpha: number) =>
      regressionVerdict(base, head, {
        direction,
        maxRegression,
        alpha,
        paired: true,
        minSamples: 6,
        levelLabel: `${Number(((1 - 2 * config.alpha) * 100).toPrecision(4))} % sequential`,
      });
    const judge = (alpha: number) => {
      const out = new Map<string, Verdict>();
      for (const m of config.metrics) {
        const v = values.get(m.id)!;
        const space = clockSpace({
          base: v.base,
          head: v.head,
          baseMHz: clockRounds.map((r) => r.base?.smMHz),
          headMHz: clockRounds.map((r) => r.head?.smMHz),
          ...(v.unit ? { unit: v.unit } : {}),
          mode: sampleClocks ? config.clocks.mode : "off",
          tolerance: clockTolerance,
        });
        spaces.set(m.id, space);
        out.set(m.id, verdictOn(space.base, space.head, v.direction, alpha));
      }
      return out;
    };

    try {
      if (config.build)
        for (const side of SIDES) {
          const t = performance.now();
          progress(`ab: building ${side}…`);
          const r = await runIn(side, config.build, "ab.build");
          if (!r) break;
          progress(`ab: built ${side} (${formatDuration(performance.now() - t)})`);
        }
      for (let round = 1; round <= config.rounds.max && !stopped; round++) {
        const order: Side[] =
          config.order === "random"
            ? random() < 0.5
              ? ["base", "head"]
              : ["head", "base"]
            : round % 2
              ? ["base", "head"]
              : ["head", "base"];
        const got: Partial<
          Record<Side, Map<string, { value: number; unit?: string; direction: "smaller" | "bigger" }>>
        > = {};
        const clocks: { base?: ClockSummary; head?: ClockSummary } = {};
        for (const side of order) {
          const out = join(outRoot, `round-${String(round).padStart(2, "0")}`, side);
          await makeFolder(out);
          const sampler = sampleClocks
            ? new ClockSampler({
                intervalMs: config.clocks.sampleSeconds * 1000,
                env,
                ...(visibleGpuIds(env) ? { gpuIds: visibleGpuIds(env)! } : {}),
              })
            : undefined;
          sampler?.start();
          let r: Awaited<ReturnType<typeof runIn>>;
          try {
            r = await runIn(side, config.command, "ab.command", out);
          } finally {
            if (sampler) clocks[side] = await sampler.stop();
          }
          if (!r) break;
          const read = new Map<string, { value: number; unit?: string; direction: "smaller" | "bigger" }>();
          for (const m of config.metrics) read.set(m.id, await readRound(m, out, dirs[side], side, round));
          got[side] = read;
        }
        if (!got.base || !got.head) break; // stopped by a limit mid-round: the round does not count
        rounds = round;
        clockRounds.push({ round, ...clocks });
        for (const m of config.metrics) {
          const v = values.get(m.id)!;
          const b = got.base.get(m.id)!;
          const h = got.head.get(m.id)!;
          // Both sides in one unit (the first one read): a tool that changed its time unit between
          // the trees (Google Benchmark picks one per benchmark) is converted, never compared raw.
          const unit = v.unit ?? h.unit ?? b.unit;
          v.base.push(inUnit(b.value, b.unit, unit, `${m.id}, base tree, round ${round}`));
          v.head.push(inUnit(h.value, h.unit, unit, `${m.id}, head tree, round ${round}`));
          if (unit) v.unit = unit;
          if (!config.metrics.find((x) => x.id === m.id)!.direction) v.direction = h.direction;
        }
        const isLook = looks.includes(round);
        verdicts = judge(lookAlpha);
        const mhz = (c?: ClockSummary) => (c?.smMHz !== undefined ? String(Math.round(c.smMHz)) : "?");
        const clockNote = sampleClocks
          ? ` [SM clock base ${mhz(clocks.base)}, head ${mhz(clocks.head)} MHz]`
          : "";
        progress(
          `ab: round ${round}/${config.rounds.max} (${order.join(" → ")})${clockNote}: ${config.metrics
            .map((m) => {
              const v = verdicts.get(m.id)!;
              const ci = v.ci ? ` [${formatChange(v.ci.low)}, ${formatChange(v.ci.high)}]` : "";
              return `${m.id} ${formatChange(v.ratio)}${ci}${isLook ? ` ${v.verdict}` : ""}`;
            })
            .join("; ")}`,
        );
        if (isLook && [...verdicts.values()].every((v) => v.verdict !== "inconclusive")) break;
        if (cancelled()) break;
      }
    } catch (error) {
      const e = error as Error & { tail?: string; remedy?: string };
      if (error instanceof MetricError)
        return fail(
          "ab.metric",
          "A/B metric",
          e.message,
          e.remedy ?? "Check that the command writes the metric's file into {out}.",
        );
      return fail(
        "ab.command",
        "A/B command",
        e.message,
        e.remedy ??
          "Run the command by hand in both trees; fix what fails (a base that cannot build needs ab.base set to one that can).",
        e.tail ? tailText(e.tail, 4000) : undefined,
      );
    }

    // A stop between looks: the rounds finished still get one last look at the same alpha.
    if (rounds > 0 && stopped) verdicts = judge(lookAlpha);
    const abSeconds = gpuMs / 1000 / gpus.gpus;
    const costUsd = usdPerSecond !== undefined ? (gpuMs / 1000) * (usdPerSecond / gpus.gpus) : undefined;
    // GPU-seconds only where there is a GPU (found, or declared in cost.gpus).
    const hasGpu = !gpus.source.startsWith("default");
    const extras = [
      ...(hasGpu ? [`${(gpuMs / 1000).toFixed(1)} GPU-s`] : []),
      ...(costUsd !== undefined ? [formatUsd(costUsd)] : []),
    ];
    const spend = `${formatDuration(gpuMs / gpus.gpus)}${extras.length ? ` (${extras.join(", ")})` : ""}`;
    const byCost = stopReason?.limit.startsWith("budget.");
    // What the GPUs ran at: shown always, used by the verdicts as ab.clocks.mode says.
    const read = clockRounds.flatMap((r) => [r.base, r.head]).filter((c): c is ClockSummary => !!c);
    const mhzRead = read.flatMap((c) => (c.smMHz !== undefined ? [c.smMHz] : []));
    const temps = read.flatMap((c) => (c.maxTempC !== undefined ? [c.maxTempC] : []));
    const powers = read.flatMap((c) => (c.powerW !== undefined ? [c.powerW] : []));
    const clockReason = read.find((c) => !c.available)?.reason;
    const clockText = !sampleClocks
      ? config.clocks.mode === "cycles" || config.clocks.mode === "stratify"
        ? `; ab.clocks.mode ${config.clocks.mode} not applied: no GPU clock to read (${gpus.source}), judged in wall time`
        : ""
      : mhzRead.length
        ? `; SM clock ${Math.round(Math.min(...mhzRead))}${Math.min(...mhzRead) === Math.max(...mhzRead) ? "" : `–${Math.round(Math.max(...mhzRead))}`} MHz${temps.length ? `, up to ${Math.round(Math.max(...temps))} °C` : ""}${powers.length ? `, ${Math.round(powers.reduce((a, b) => a + b, 0) / powers.length)} W` : ""}`
        : `; no SM clock read${clockReason ? ` (${clockReason})` : " (the commands were shorter than ab.clocks.sampleSeconds, or the GPU was idle)"}`;
    const clockData = sampleClocks
      ? {
          clocks: {
            mode: config.clocks.mode,
            tolerance: clockTolerance,
            ...(clockReason ? { reason: clockReason } : {}),
            rounds: clockRounds.map((r) => ({
              round: r.round,
              ...(r.base ? { base: clockRecord(r.base) } : {}),
              ...(r.head ? { head: clockRecord(r.head) } : {}),
            })),
          },
        }
      : {};
    findings.push({
      id: "ab.rounds",
      title: "A/B rounds",
      status: rounds === 0 ? "error" : "pass",
      summary: `${rounds} round${rounds === 1 ? "" : "s"} (${config.order.toUpperCase()}) of base ${base.commit.slice(0, 12)} (${base.how}) against head ${headLabel}, ${spend}${clockText}${stopped ? `; stopped: ${stopped}` : ""}${budgetNote ? `; ${budgetNote}` : ""}`,
      ...(rounds === 0
        ? {
            remedy:
              stopReason?.limit === "cancelled"
                ? "gpuci was cancelled before one round finished; re-run the job."
                : byCost
                  ? `Raise cost.${stopReason!.limit}: not one round fit in what the run's budget left.`
                  : "Raise ab.budget: not one round fit in it.",
          }
        : {}),
      data: {
        rounds,
        order: config.order,
        baseCommit: base.commit,
        headCommit: repo.head,
        base: base.how,
        aa: sameCommit && uncommitted.length === 0,
        ...(uncommitted.length ? { uncommitted: uncommitted.slice(0, 50) } : {}),
        ...(wt.submodules.length ? { submodules: wt.submodules } : {}),
        seconds: abSeconds,
        ...(hasGpu ? { gpuSeconds: gpuMs / 1000 } : {}),
        ...(costUsd !== undefined ? { costUsd } : {}),
        looks: looks.filter((l) => l <= rounds),
        ...clockData,
        ...(stopped ? { stopped } : {}),
        ...(stopReason ? { stoppedBy: stopReason.limit } : {}),
      },
    });
    const metrics: AbMetricResult[] = [];
    for (const m of config.metrics) {
      const v = values.get(m.id)!;
      const verdict = verdicts.get(m.id) ?? judge(lookAlpha).get(m.id)!;
      const space = spaces.get(m.id);
      // Off wall time, the wall-time verdict is shown beside the one that counts.
      const wallVerdict =
        space && space.space !== "wall" && rounds > 0
          ? verdictOn(v.base, v.head, v.direction, lookAlpha)
          : undefined;
      const clockSummary =
        space && space.space !== "wall"
          ? `; ${space.why} (wall time: ${wallVerdict ? `${wallVerdict.verdict} ${formatChange(wallVerdict.ratio)}${wallVerdict.ci ? ` [${formatChange(wallVerdict.ci.low)}, ${formatChange(wallVerdict.ci.high)}]` : ""}` : "not judged"})`
          : space && space.referenceMHz !== undefined && sampleClocks
            ? `; ${space.why}`
            : "";
      metrics.push({
        id: m.id,
        verdict,
        ...(space ? { clocks: space } : {}),
        base: v.base,
        head: v.head,
        direction: v.direction,
        ...(v.unit ? { unit: v.unit } : {}),
      });
      if (rounds === 0) continue;
      const status: Status =
        verdict.verdict === "regressed"
          ? "fail"
          : verdict.verdict === "inconclusive"
            ? config.inconclusive
            : "pass";
      // The head's level is the base's median moved by the paired estimate, so the two values and
      // the change beside them always agree (each side's own median can disagree with the
      // paired estimate: an A/A with a drift reads "4.05e-5 s → 5.38e-5 s, +0.2 %" otherwise).
      // In cycle space (or on the rounds kept) the levels are those the verdict was taken on.
      const baseValue = median(space && space.space !== "wall" && space.base.length ? space.base : v.base);
      const headMedian = median(space && space.space !== "wall" && space.head.length ? space.head : v.head);
      const headValue = Number.isFinite(verdict.ratio) ? baseValue * verdict.ratio : headMedian;
      findings.push({
        id: `ab.${m.id}`,
        title: m.title ?? m.id,
        status,
        summary: `${fmtValue(baseValue, v.unit)} → ${fmtValue(headValue, v.unit)}: ${verdictText(verdict, maxRegression)}, ${rounds} rounds${clockSummary}`,
        ...(status !== "pass"
          ? {
              remedy:
                verdict.verdict === "regressed"
                  ? `Head is ${(verdict.worseBy * 100).toFixed(1)} % ${v.direction === "smaller" ? "slower" : "worse"} than base: profile the change, or raise ab.maxRegression if it is intended.`
                  : verdict.samplesToDecide
                    ? `About ${verdict.samplesToDecide} rounds would likely decide (ran ${rounds}): raise ab.rounds.max${stopped ? " and ab.budget" : ""}, or make each round quieter (more repeats inside the command, pinned clocks).`
                    : "The rounds are too noisy for this margin: more repeats inside the command, pinned clocks, or a quieter runner.",
            }
          : {}),
        data: {
          verdict: verdict.verdict,
          value: headValue,
          ...(v.unit ? { unit: v.unit } : {}),
          direction: v.direction,
          base: { value: baseValue, median: baseValue },
          head: { value: headValue, median: headMedian },
          ratio: verdict.ratio,
          ...(verdict.ci ? { ci: verdict.ci } : {}),
          // The intervals of all looks together cover with 1 − 2·alpha (repeated confidence
          // intervals, Jennison & Turnbull 1989); one look's own level is lookConfidence.
          confidence: 1 - 2 * config.alpha,
          lookConfidence: verdict.confidence,
          maxRegression,
          rounds,
          ...(hasGpu ? { gpuSeconds: gpuMs / 1000 } : {}),
          ...(costUsd !== undefined ? { costUsd } : {}),
          ...(verdict.samplesToDecide ? { roundsToDecide: verdict.samplesToDecide } : {}),
          method: `${verdict.method}; ${plan.method}, ${looks.filter((l) => l <= rounds).length} taken`,
          ...(space && sampleClocks
            ? {
                clocks: {
                  space: space.space,
                  why: space.why,
                  rounds: space.rounds,
                  ...(space.referenceMHz !== undefined ? { referenceMHz: space.referenceMHz } : {}),
                  ...(space.rangeMHz ? { rangeMHz: space.rangeMHz } : {}),
                  ...(space.elasticity !== undefined ? { elasticity: space.elasticity } : {}),
                  ...(wallVerdict
                    ? {
                        wall: {
                          verdict: wallVerdict.verdict,
                          ratio: wallVerdict.ratio,
                          ...(wallVerdict.ci ? { ci: wallVerdict.ci } : {}),
                        },
                      }
                    : {}),
                },
              }
            : {}),
          samples: { base: v.base, head: v.head },
        },
      });
    }
    return {
      section: createSection("ab", "A/B", findings, Math.round(performance.now() - t0)),
      metrics,
      rounds,
      seconds: seconds(),
      ...(stopReason ? { stoppedBy: stopReason } : {}),
    };
  } finally {
    if (worktree && !config.keepWorktree) await worktree.remove().catch(() => {});
    await lock.release().catch(() => {});
  }
}

/** One command's clock reading as the finding keeps it (rounded, absent values left out). */
function clockRecord(c: ClockSummary): Record<string, number> {
  const r: Record<string, number> = { samples: c.samples, busySamples: c.busySamples };
  if (c.smMHz !== undefined) r.smMHz = Math.round(c.smMHz * 10) / 10;
  if (c.boostMHz !== undefined) r.boostMHz = c.boostMHz;
  if (c.maxTempC !== undefined) r.maxTempC = c.maxTempC;
  if (c.powerW !== undefined) r.powerW = Math.round(c.powerW * 10) / 10;
  return r;
}

/** A value in `to`, or a MetricError naming both units when they do not convert. */
function inUnit(value: number, from: string | undefined, to: string | undefined, what: string): number {
  try {
    return convert(value, from, to);
  } catch (error) {
    throw new MetricError(
      `${what} is in ${from || "no unit"}, the other side in ${to || "no unit"}: ${(error as Error).message}`,
      "Both trees must write the metric in units of one kind: check the benchmark's output format on each side.",
    );
  }
}

async function readRound(
  m: AbMetric,
  out: string,
  treeDir: string,
  side: Side,
  round: number,
): Promise<{ value: number; unit?: string; direction: "smaller" | "bigger" }> {
  const { id: _id, title: _title, ...metric } = m;
  try {
    const r = await readMetric({ ...metric, file: metric.file.replaceAll("{out}", out) }, treeDir);
    if (!Number.isFinite(r.value))
      throw new MetricError(
        `${r.source} is ${r.value}`,
        "The benchmark must write a finite number for every round.",
      );
    return { value: r.value, ...(r.unit ? { unit: r.unit } : {}), direction: r.direction };
  } catch (error) {
    if (error instanceof MetricError)
      throw new MetricError(`round ${round}, ${side} tree: ${error.message}`, error.remedy);
    throw error;
  }
}
