import { createHash } from "node:crypto";
import { resolve } from "node:path";
import {
  convert,
  createSection,
  type Finding,
  formatValue,
  isWorse,
  parseQuantity,
  type Section,
  type Status,
  UnitError,
} from "@gpuci/report";
import { changePoints, coefficientOfVariation, roundsNeeded } from "./changepoint.js";
import { isPattern } from "./formats/index.js";
import {
  baseSeries,
  type ChosenBaseline,
  chooseBaseline,
  dashboardLink,
  decideHistoryRun,
  describeRefused,
  type HistoryConfig,
  HistoryConfigError,
  HistoryConfigSchema,
  type HistoryEntry,
  type HistoryRun,
  type HistoryStore,
  openHistory,
  type RunContext,
} from "./history.js";
import { MetricError, MetricFileCache, type MetricValue, readMetric, readMetrics } from "./metric.js";
import { compareArrays, readNumericArray } from "./parity.js";
import { type Gate, GatesConfigSchema, type Threshold } from "./schema.js";
import { bhQValues, formatPercent, holm, regressionVerdict, seriesVerdict, type Verdict } from "./verdict.js";

/** Options for {@link evaluateGates}. */
export interface EvaluateOptions {
  /** Where metric files are resolved (the folder of gpuci.yml). */
  baseDir: string;
  /** Parsed metric files shared by the gates (default: one cache per evaluation). */
  metricCache?: MetricFileCache;
  /** The `history:` section; history baselines need it. */
  history?: Partial<HistoryConfig>;
  /** A store to use instead of the configured one (tests, custom stores). */
  store?: HistoryStore;
  /** GPU and runner facts, so a baseline from other hardware is refused. */
  context?: RunContext;
  /**
   * Whether this run is base-branch history, decided before its commands ran (`gpuci run`
   * decides it first); decided here from the checkout and `env` when absent.
   */
  run?: HistoryRun;
  /** The environment that decides `run` when it is absent (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * Record a local run (outside CI) even when its tree had uncommitted changes (`--record`):
   * without it such a run is judged but not recorded, since its numbers are not the commit's.
   */
  recordDirty?: boolean;
  /** dashboard.url: each history metric's finding links to its anchor on the dashboard. */
  dashboardUrl?: string;
  /** Statuses of stages that gates may name in `after` (e.g. `kernels`). */
  stageStatus?: Record<string, Status>;
  /** ab.rounds.max: a history needing more A/B rounds than this for its margin is marked noisy. */
  maxAbRounds?: number;
  /** Set by evaluateGates: this run is on the base branch (a push), so history changes are steps. */
  onBaseBranch?: boolean;
  /** What a step on the base branch does to the gate (history.onStep). */
  stepSeverity?: "warn" | "fail" | "off";
  /** This run's kernel results (kernels.json), for metrics with format: kernels and no file. */
  kernelResults?: string;
  /**
   * Values of gates re-measured by confirming re-runs (gate id → the extra values, in the head's
   * unit): a one-value-a-run gate is then judged on the median of its first and confirming values.
   */
  confirmations?: Record<string, number[]>;
  /**
   * Whether a failing one-value-a-run gate can be confirmed by re-running its command (gpuci run):
   * false applies the stricter single-shot rule (Holm at a tenth of alpha) and says so.
   */
  confirmable?: boolean;
}

/** Per-gate outcome, also recorded in history. */
export interface GateOutcome {
  id: string;
  status: Status;
  value?: number;
  unit?: string;
  samples?: number[];
}

/** What evaluation produced. */
export interface EvaluateResult {
  section: Section;
  outcomes: GateOutcome[];
  baseline?: ChosenBaseline;
}

/** Parse "5%" or 0.05 into a fraction. */
export function parseFraction(v: string | number): number {
  return typeof v === "number" ? v : Number(v.replace("%", "")) / 100;
}

/** Order gates so each comes after the gates it names in `after` (stable otherwise). */
export function orderGates<T extends { id: string; after: readonly string[] }>(gates: readonly T[]): T[] {
  const byId = new Map(gates.map((g) => [g.id, g]));
  const done = new Set<string>();
  const out: T[] = [];
  const visit = (g: T, depth: number) => {
    if (done.has(g.id) || depth > gates.length) return;
    for (const dep of g.after) {
      const d = byId.get(dep);
      if (d) visit(d, depth + 1);
    }
    if (!done.has(g.id)) {
      done.add(g.id);
      out.push(g);
    }
  };
  for (const g of gates) visit(g, 0);
  return out;
}

const fmt = (v: number) =>
  !Number.isFinite(v)
    ? String(v)
    : Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0)
      ? v.toExponential(3)
      : String(Math.round(v * 1e4) / 1e4);

/** A gate's fixed thresholds, converted to the metric's unit (see resolveThresholds). */
interface Thresholds {
  min?: number;
  max?: number;
  range?: [number, number];
  equals?: number | boolean | string;
  /** "≤ 50 µs and ≥ 1 µs", in human units. */
  text?: string;
  /** Set when a bare number was read in the metric's unit: says so in the finding. */
  bareNote?: string;
}

/**
 * The gate's thresholds in the unit of the value: a bare number is in the metric's own unit; a
 * number with a unit is converted (an error, naming both units, when they are of different kinds).
 */
function resolveThresholds(g: Gate, unit: string | undefined): Thresholds {
  let bare = false;
  const one = (t: Threshold, key: string): number => {
    if (typeof t === "number") {
      bare = true;
      return t;
    }
    const q = parseQuantity(t)!;
    if (!unit)
      throw new MetricError(
        `gates[${g.id}].${key} is ${t}, but the metric has no unit to compare it with`,
        `Set metric.unit (the unit the file's values are in), or write ${key} as a bare number.`,
      );
    try {
      return convert(q.value, q.unit, unit);
    } catch (error) {
      if (error instanceof UnitError)
        throw new MetricError(
          `gates[${g.id}].${key} is ${t}, but the metric is in ${unit}: ${error.message}`,
          `Write ${key} in a unit of the same kind as ${unit} (or as a bare number in ${unit}).`,
        );
      throw error;
    }
  };
  const out: Thresholds = {};
  if (g.min !== undefined) out.min = one(g.min, "min");
  if (g.max !== undefined) out.max = one(g.max, "max");
  if (g.range) out.range = [one(g.range[0], "range[0]"), one(g.range[1], "range[1]")];
  if (g.equals !== undefined) out.equals = g.equals;
  const show = (v: number) => formatValue(v, unit);
  const parts: string[] = [];
  if (out.min !== undefined) parts.push(`≥ ${show(out.min)}`);
  if (out.max !== undefined) parts.push(`≤ ${show(out.max)}`);
  if (out.range) parts.push(`in [${show(out.range[0])}, ${show(out.range[1])}]`);
  if (out.equals !== undefined) parts.push(`= ${JSON.stringify(out.equals)}`);
  if (parts.length) out.text = parts.join(" and ");
  if (bare && unit && (out.min !== undefined || out.max !== undefined || out.range))
    out.bareNote = `a bare threshold is in ${unit}, the unit the metric reports`;
  return out;
}

/** True when `value` violates the thresholds. */
function violates(t: Thresholds, value: number): boolean {
  if (t.min !== undefined && !(value >= t.min)) return true;
  if (t.max !== undefined && !(value <= t.max)) return true;
  if (t.range && !(value >= t.range[0] && value <= t.range[1])) return true;
  if (t.equals !== undefined) {
    const want = typeof t.equals === "boolean" ? Number(t.equals) : Number(t.equals);
    if (value !== want) return true;
  }
  return false;
}

/** The statistical verdict of head against base samples (see verdict.ts). */
export type RegressionVerdict = Verdict;

/** "+12.3 %" for a ratio of 1.123. */
export function formatChange(ratio: number): string {
  const pct = (ratio - 1) * 100;
  return `${pct >= 0 ? "+" : "−"}${Math.abs(pct).toFixed(1)} %`;
}

/** One sentence: the verdict, the change with its interval, and what it rests on. */
export function verdictText(v: Verdict, maxRegression: number): string {
  const ci = v.ci
    ? ` ${v.ci.lowOpen ? "(" : "["}${formatChange(v.ci.low)}, ${formatChange(v.ci.high)}${v.ci.highOpen ? ")" : "]"} (${v.levelLabel ?? formatPercent(v.confidence)} interval)`
    : "";
  const margin = `margin ${(maxRegression * 100).toFixed(1)} %`;
  const n = v.nHead === 1 ? `${v.nBase} base-branch runs` : `n = ${v.nBase} base / ${v.nHead} head`;
  return `${v.verdict}: ${formatChange(v.ratio)}${ci}, ${margin}, ${n}${v.reason ? `; ${v.reason}` : ""}`;
}

function stepRemedy(step: { from: string; to: string }): string {
  return `If intended, nothing to do: later runs judge against the new level. If not, bisect between ${step.from.slice(0, 12)} and ${step.to.slice(0, 12)} (git bisect), and see gpuci history for the series.`;
}

function inconclusiveRemedy(v: Verdict): string {
  return v.samplesToDecide
    ? `About ${v.samplesToDecide} samples a side would likely decide (now ${Math.min(v.nBase, v.nHead)}): more repeats, or a quieter runner (pinned clocks, no other jobs).`
    : "The noise is too large for this margin: more repeats, pinned clocks, or a quieter runner.";
}

/** What the metric readers get from the evaluation: the kernel results and the shared cache. */
function readOptions(opts: EvaluateOptions): { kernelResults?: string; cache?: MetricFileCache } {
  return {
    ...(opts.kernelResults ? { kernelResults: opts.kernelResults } : {}),
    ...(opts.metricCache ? { cache: opts.metricCache } : {}),
  };
}

async function evaluateOne(
  g: Gate,
  opts: EvaluateOptions,
  baseline: ChosenBaseline | undefined,
  baselineProblem: string | undefined,
  seriesOf: (gateId: string) => Array<{ commit: string; at: string; value: number; unit?: string }>,
  preRead?: MetricValue,
): Promise<{ finding: Finding; outcome: GateOutcome }> {
  const title = g.title ?? g.id;
  const base = { id: `gate.${g.id}`, title };
  const withSeverity = (f: Finding): Finding =>
    f.status === "fail" && g.severity === "warn" ? { ...f, status: "warn" } : f;
  const remedyFor = (what: string) => (g.remedy ? `${g.remedy} (${what})` : what);

  if (g.parity) {
    const p = g.parity;
    const [a, b] = await Promise.all([
      readNumericArray(p.a, opts.baseDir),
      readNumericArray(p.b, opts.baseDir),
    ]);
    const r = compareArrays(a, b, {
      ...(p.rtol !== undefined ? { rtol: p.rtol } : {}),
      ...(p.atol !== undefined ? { atol: p.atol } : {}),
    });
    const tolChecked = p.rtol !== undefined || p.atol !== undefined;
    const driftBad = p.maxDrift !== undefined && !(r.relL2Drift <= p.maxDrift);
    const tolBad = tolChecked && r.violations > 0;
    const nanBad = r.nanMismatch > 0;
    const status: Status = driftBad || tolBad || nanBad ? "fail" : "pass";
    const worst = r.worst
      .slice(0, 3)
      .map((w) => `[${w.index.join(",")}] ${fmt(w.a)} vs ${fmt(w.b)}`)
      .join("; ");
    const summary = `${r.count} values: relative L2 drift ${(r.relL2Drift * 100).toPrecision(4)} %${p.maxDrift !== undefined ? ` (limit ${(p.maxDrift * 100).toPrecision(4)} %)` : ""}, max abs err ${fmt(r.maxAbsErr)}, max rel err ${fmt(r.maxRelErr)}${tolChecked ? `, ${r.violations} outside atol ${p.atol ?? 0} + rtol ${p.rtol ?? 0}·|b|` : ""}${nanBad ? `, ${r.nanMismatch} NaN/Inf positions differ` : ""}${status === "fail" && worst ? `; worst: ${worst}` : ""}`;
    return {
      finding: withSeverity({
        ...base,
        status,
        summary,
        ...(status === "fail"
          ? {
              remedy: remedyFor(
                `Find where ${p.a.file} and ${p.b.file} diverge (worst indices above); loosen rtol/atol/maxDrift only if the difference is expected (e.g. bf16 vs f32).`,
              ),
            }
          : {}),
        data: { value: r.relL2Drift, ...(p.maxDrift !== undefined ? { threshold: p.maxDrift } : {}), ...r },
      }),
      outcome: { id: g.id, status, value: r.relL2Drift },
    };
  }

  const metric = g.metric!;
  const head: MetricValue = preRead ?? (await readMetric(metric, opts.baseDir, readOptions(opts)));
  const value = head.value;
  const show = (v: number) => formatValue(v, head.unit);
  /** A value recorded in `from` (history, the base file) in the head's unit; an error names both. */
  const inHeadUnit = (v: number, from: string | undefined, what: string): number => {
    try {
      return convert(v, from, head.unit);
    } catch (error) {
      throw new MetricError(
        `${what} is in ${from || "no unit"} and this run's ${head.name ?? metric.file} in ${head.unit || "no unit"}: ${(error as Error).message}`,
        "Compare like with like: the same benchmark and field on both sides (or set metric.unit so both are read in one unit).",
      );
    }
  };
  const t = resolveThresholds(g, head.unit);
  const threshold = t.text;
  const data: Record<string, unknown> = {
    value,
    ...(head.unit ? { unit: head.unit } : {}),
    direction: head.direction,
    ...(head.directionRule ? { directionRule: head.directionRule } : {}),
    source: head.source,
    ...(head.format ? { format: head.format } : {}),
    ...(head.name ? { benchmark: head.name } : {}),
    ...(threshold ? { threshold } : {}),
    ...(t.min !== undefined ? { min: t.min } : {}),
    ...(t.max !== undefined ? { max: t.max } : {}),
  };
  const outcome: GateOutcome = {
    id: g.id,
    status: "pass",
    value,
    ...(head.unit ? { unit: head.unit } : {}),
    ...(head.samples && head.samples.length <= 1000 ? { samples: head.samples } : {}),
  };

  // A NaN or ±Inf among the values fails too, even when the aggregate is finite: max over
  // [0.1, -Inf] is 0.1, and a loss of -Infinity is garbage on the "good" side of the threshold.
  if (Number.isFinite(value) && head.nonFinite && !g.allowNaN) {
    outcome.status = "fail";
    return {
      finding: withSeverity({
        ...base,
        status: "fail",
        summary: `${head.source}: ${head.nonFinite.count} value(s) are NaN or ±Inf${head.nonFinite.firstLine !== undefined ? ` (first at line ${head.nonFinite.firstLine})` : ""}; NaN and Inf never pass`,
        remedy: remedyFor(
          `Find where ${metric.file ?? "the kernel results"} got a NaN or infinite value (a diverging loss, a division by zero, an empty batch); set allowNaN: true only if such values are legitimate here.`,
        ),
        data: { ...data, nonFinite: head.nonFinite.count },
      }),
      outcome,
    };
  }

  if (!Number.isFinite(value) && !g.allowNaN) {
    outcome.status = "fail";
    return {
      finding: withSeverity({
        ...base,
        status: "fail",
        summary: `${head.source} is ${value}: NaN and Inf never pass`,
        remedy: remedyFor(
          `Find where ${metric.file ?? "the kernel results"} got ${value} (a diverging loss, a division by zero, an empty batch); set allowNaN: true only if ${value} is a legitimate value here.`,
        ),
        data,
      }),
      outcome,
    };
  }

  const problems: string[] = [];
  let status: Status = "pass";
  const notes: string[] = [];

  if (!Number.isFinite(value)) notes.push(`${value} allowed by allowNaN`);
  else if (threshold && violates(t, value)) {
    status = "fail";
    problems.push(`${show(value)} is not ${threshold}`);
  }

  // Only new violations block: a threshold the baseline already violated is reported, not blocking.
  if (status === "fail" && !g.blockExisting && baseline) {
    const prev = baseline.entry.results[g.id];
    const prevValue =
      prev && prev.value !== null ? inHeadUnit(prev.value, prev.unit, `the baseline's ${g.id}`) : undefined;
    if (prevValue !== undefined && violates(t, prevValue)) {
      status = "warn";
      notes.push(
        `already failing on the baseline ${baseline.entry.commit.slice(0, 12)} (${show(prevValue)}): not new, so not blocking (set blockExisting: true to block)`,
      );
    }
  }

  let verdict: Verdict | undefined;
  let stepFrom: string | undefined;
  if (g.baseline) {
    const b = g.baseline;
    const maxRegression = parseFraction(b.maxRegression);
    const verdictOptions = {
      direction: head.direction,
      maxRegression,
      alpha: b.alpha,
      minSamples: b.minSamples,
    };
    const headSamples = head.samples ?? [value];
    let baseLabel = "";
    if (b.file) {
      const bm = await readMetric(
        { ...metric, file: b.file, ...(head.name ? { name: `=${head.name}`, over: "each" as const } : {}) },
        opts.baseDir,
        readOptions(opts),
      );
      const baseUnit = bm.unit;
      const baseSamples = (bm.samples ?? [bm.value]).map((x) =>
        inHeadUnit(x, baseUnit, `the base ${b.file}`),
      );
      verdict = regressionVerdict(baseSamples, headSamples, verdictOptions);
      baseLabel = `base ${b.file}`;
      data.base = {
        value: inHeadUnit(bm.value, baseUnit, `the base ${b.file}`),
        ...(bm.samples ? { n: bm.samples.length } : {}),
      };
    } else if (b.history) {
      const prev = baseline?.entry.results[g.id];
      const prevSamples = (prev?.samples ?? []).map((x) =>
        inHeadUnit(x, prev?.unit, `the baseline's ${g.id}`),
      );
      if (
        !baselineProblem &&
        prev &&
        prev.value !== null &&
        prevSamples.length >= b.minSamples &&
        headSamples.length >= b.minSamples
      ) {
        // Both runs carry samples: compare them, widened for the serial correlation in each.
        verdict = regressionVerdict(prevSamples, headSamples, verdictOptions);
        baseLabel = `baseline ${baseline!.entry.commit.slice(0, 12)} (${baseline!.why}${baseline!.entry.runner ? `, runner ${baseline!.entry.runner}` : ""})`;
        data.base = {
          value: inHeadUnit(prev.value, prev.unit, `the baseline's ${g.id}`),
          commit: baseline!.entry.commit,
        };
      } else {
        // One number a run: judge it against the last base-branch results on this GPU, from
        // the latest change point on (a level the base branch left is not the baseline).
        const all = seriesOf(g.id).map((x) => ({
          ...x,
          value: inHeadUnit(x.value, x.unit, `the base-branch result of ${x.commit.slice(0, 7)}`),
        }));
        const steps = all.length >= 2 * b.minSamples ? changePoints(all.map((x) => x.value)) : [];
        const since = steps.length ? steps[steps.length - 1]!.at : 0;
        const series = all.length - since >= b.minSamples ? all.slice(since) : all;
        if (series.length < all.length)
          notes.push(
            `base level since ${series[0]!.commit.slice(0, 7)} (a step there: gpuci history shows it)`,
          );
        if (series.length === 0)
          notes.push(
            baselineProblem ?? "no baseline in history yet (the first result on the base branch becomes it)",
          );
        else {
          const confirming = opts.confirmations?.[g.id];
          verdict = seriesVerdict(
            series.map((x) => x.value),
            confirming?.length ? [value, ...confirming] : value,
            verdictOptions,
          );
          if (confirming?.length) {
            // Each re-run is also judged alone: a confirmation needs every one to regress.
            const each = confirming.map(
              (c) =>
                seriesVerdict(
                  series.map((x) => x.value),
                  c,
                  verdictOptions,
                ).verdict,
            );
            data.confirm = { first: value, values: confirming, each };
            notes.push(
              `judged on the median of this run (${show(value)}) and ${confirming.length} confirming re-run${confirming.length > 1 ? "s" : ""} (${confirming.map((c, i) => `${show(c)}: ${each[i]}`).join(", ")})`,
            );
            if (verdict.verdict === "regressed" && each.some((e) => e !== "regressed")) {
              data.unconfirmed = true;
              notes.push(
                "not reproduced: a re-run did not regress, so this run's value was likely an outlier",
              );
            }
          } else if (opts.confirmable === false) data.singleShot = true;
          baseLabel = `the last ${series.length} base-branch results (${series[0]!.commit.slice(0, 7)}…${series[series.length - 1]!.commit.slice(0, 7)})`;
          data.base = { value: series[series.length - 1]!.value, commit: series[series.length - 1]!.commit };
          data.series = all.map((x) => ({ commit: x.commit, value: x.value }));
          stepFrom = series[series.length - 1]!.commit;
          // Flaky: a history too noisy for the margin would fail pull requests at random.
          const cv = coefficientOfVariation(series.map((x) => x.value));
          const rounds = Number.isFinite(cv) ? roundsNeeded(cv, maxRegression) : undefined;
          if (series.length >= 5 && rounds !== undefined && rounds > (opts.maxAbRounds ?? 40))
            data.noisy = `CV ${(cv * 100).toFixed(1)} % on the base branch: deciding a ${(maxRegression * 100).toFixed(1)} % change needs about ${rounds} paired A/B rounds (more than ${opts.maxAbRounds ?? 40}). Add repeats inside the benchmark, pin GPU clocks (nvidia-smi -lgc), or use a quieter runner.`;
        }
      }
      if (opts.dashboardUrl) data.dashboard = dashboardLink(opts.dashboardUrl, g.id);
      if (baseline)
        data.baseline = {
          commit: baseline.entry.commit,
          why: baseline.why,
          runner: baseline.entry.runner,
          gpu: baseline.entry.gpu,
          driver: baseline.entry.driver,
        };
    }
    if (verdict) {
      Object.assign(data, {
        verdict: verdict.verdict,
        ratio: verdict.ratio,
        ...(verdict.ci ? { ci: verdict.ci } : {}),
        confidence: verdict.confidence,
        ...(verdict.p !== undefined ? { p: verdict.p } : {}),
        ...(verdict.pMargin !== undefined ? { pMargin: verdict.pMargin } : {}),
        ...(verdict.pMoved !== undefined ? { pMoved: verdict.pMoved } : {}),
        nBase: verdict.nBase,
        nHead: verdict.nHead,
        maxRegression,
        alpha: b.alpha,
        method: verdict.method,
        ...(verdict.samplesToDecide ? { samplesToDecide: verdict.samplesToDecide } : {}),
      });
      const text = `${verdictText(verdict, maxRegression)} against ${baseLabel}${head.directionRule ? ` (${head.directionRule})` : ""}`;
      const step =
        opts.onBaseBranch && stepFrom && (verdict.verdict === "regressed" || verdict.verdict === "improved");
      if (step && stepFrom) {
        // On the base branch itself the change has landed: report the step, do not fail the push.
        const head = opts.context?.commit ?? "this commit";
        data.step = { from: stepFrom, to: head, ratio: verdict.ratio };
        notes.push(
          `the level stepped ${formatChange(verdict.ratio)} between ${stepFrom.slice(0, 12)} and ${head.slice(0, 12)} (${text})`,
        );
        if (status === "pass" && opts.stepSeverity !== "off") status = opts.stepSeverity ?? "warn";
      } else if (verdict.tooFewSamples) {
        notes.push(text);
        if (status === "pass") status = "warn";
      } else if (verdict.verdict === "regressed" && data.unconfirmed) {
        notes.push(text);
        if (status === "pass") status = "warn";
      } else if (verdict.verdict === "regressed") {
        status = "fail";
        problems.push(text);
      } else if (verdict.verdict === "inconclusive") {
        notes.push(text);
        if (status === "pass") status = b.inconclusive;
      } else notes.push(text);
    } else if (status === "pass" && b.history) status = "skip";
  }

  outcome.status = status;
  const summary = [
    problems.length
      ? problems.join("; ")
      : `${show(value)}${threshold ? ` (${threshold}${t.bareNote ? `; ${t.bareNote}` : ""})` : ""}`,
    ...notes,
  ].join("; ");
  const remedy =
    status === "fail"
      ? verdict?.regression
        ? remedyFor(
            `${metric.file ?? "kernel results"}${metric.name ? ` (${metric.name})` : ""} got ${(verdict.worseBy * 100).toFixed(1)} % worse: profile the change, or raise baseline.maxRegression if it is intended.`,
          )
        : verdict?.verdict === "inconclusive"
          ? inconclusiveRemedy(verdict)
          : data.step
            ? stepRemedy(data.step as { from: string; to: string })
            : remedyFor(
                `${head.source} must be ${threshold}: fix what produces it, or change the threshold in gates[${g.id}] if the expectation was wrong.`,
              )
      : status === "warn" && data.step
        ? stepRemedy(data.step as { from: string; to: string })
        : status === "warn" && verdict?.tooFewSamples
          ? `Collect at least ${g.baseline?.minSamples} samples on each side (more repeats) for a regression verdict.`
          : status === "warn" && verdict?.verdict === "inconclusive"
            ? inconclusiveRemedy(verdict)
            : undefined;
  return {
    finding: withSeverity({
      ...base,
      status,
      summary: `${summary}${head.source && !summary.includes(head.source) ? ` — ${head.source}` : ""}`,
      ...(remedy ? { remedy } : {}),
      data,
    }),
    outcome,
  };
}

/**
 * Error control per pull request, not per metric. A regression verdict that fails a gate must
 * survive Holm's step-down across every metric of this run that was judged against a baseline
 * (the p-value against the margin, family-wise at the gates' alpha); one that does not is a
 * warning that says so. What moved (either way, beyond the margin) is listed with
 * Benjamini-Hochberg false-discovery control at 5 %. Both go into one summary finding.
 */
function familyControl(findings: Finding[], outcomes: GateOutcome[], gates: readonly Gate[]): void {
  type Judged = { f: Finding; d: Record<string, unknown> };
  const judged: Judged[] = findings
    .filter(
      (f) =>
        f.data &&
        typeof (f.data as Record<string, unknown>).pMargin === "number" &&
        !(f.data as Record<string, unknown>).step,
    )
    .map((f) => ({ f, d: f.data as Record<string, unknown> }));
  if (judged.length === 0 || (judged.length < 2 && !judged.some((j) => j.d.singleShot))) return;
  const alphas = gates.map((g) => g.baseline?.alpha).filter((a): a is number => a !== undefined);
  const alpha = alphas.length ? Math.min(...alphas) : 0.025;
  // Single-shot rule: a one-value regression that nothing can re-run must be ten times as
  // improbable under noise (an outlier run and a regression look alike in one value).
  const strict = (j: Judged) => j.d.singleShot === true;
  const reject = holm(
    judged.map((j) => (strict(j) ? Math.min(1, (j.d.pMargin as number) * 10) : (j.d.pMargin as number))),
    alpha,
  );
  const held: string[] = [];
  const kept: string[] = [];
  judged.forEach((j, i) => {
    j.d.family = { metrics: judged.length, method: "Holm", alpha, survives: reject[i] };
    if (j.d.verdict !== "regressed") return;
    const id = j.f.id.replace(/^gate\./, "");
    if (reject[i]) {
      kept.push(id);
      return;
    }
    // Regressed alone, but not beyond what noise over this many metrics produces.
    held.push(id);
    if (j.f.status === "fail") {
      j.f.status = "warn";
      const o = outcomes.find((x) => `gate.${x.id}` === j.f.id);
      if (o) o.status = "warn";
    }
    j.f.summary = `${j.f.summary}; not a failure: p = ${(j.d.pMargin as number).toPrecision(2)} against the margin does not survive Holm's correction over the ${judged.length} metrics judged in this run (family-wise ${formatPercent(alpha)}${strict(j) ? "; single-shot rule: nothing can re-run it here, so a tenth of that" : ""})`;
  });
  const q = bhQValues(judged.map((j) => (j.d.pMoved as number) ?? 1));
  const moved = judged
    .map((j, i) => ({ j, q: q[i]! }))
    .filter((x) => x.q <= 0.05)
    .map((x) => {
      x.j.d.qMoved = x.q;
      return `${x.j.f.id.replace(/^gate\./, "")} ${formatChange(x.j.d.ratio as number)}`;
    });
  findings.push({
    id: "gates.family",
    title: "error control across the pull request",
    status: "pass",
    summary: `${judged.length} metrics judged against baselines: ${kept.length ? `regressed beyond noise (Holm, family-wise ${formatPercent(alpha)}): ${kept.join(", ")}` : "no regression survives Holm's correction"}${held.length ? `; held back as likely noise: ${held.join(", ")}` : ""}; moved beyond the margin (Benjamini-Hochberg, FDR 5 %): ${moved.length ? moved.join(", ") : "none"}`,
    data: { metrics: judged.length, alpha, survived: kept, heldBack: held, moved },
  });
}

/**
 * Evaluate every gate in `after` order. A gate whose `after` gate failed (or errored, or was
 * skipped) is `skip` with "blocked by <id>". A metric that cannot be read is an `error` finding
 * with a remedy — never a pass, never a crash.
 */
/** A short digest of the gates as validated: a re-run with the same config replaces its entry. */
function configDigest(gates: readonly Gate[]): string {
  return createHash("sha256").update(JSON.stringify(gates)).digest("hex").slice(0, 12);
}

export async function evaluateGates(input: unknown, opts: EvaluateOptions): Promise<EvaluateResult> {
  const t0 = performance.now();
  // Thousands of gates on one results file parse it once.
  opts = { ...opts, metricCache: opts.metricCache ?? new MetricFileCache() };
  const gates = GatesConfigSchema.parse(input ?? []);
  const needsHistory = gates.some((g) => g.baseline?.history) || opts.history !== undefined;
  const historyConfig = HistoryConfigSchema.parse(opts.history ?? {});
  let baseline: ChosenBaseline | undefined;
  let baselineProblem: string | undefined;
  let store: HistoryStore | undefined;
  let entries: HistoryEntry[] = [];
  let ctx: RunContext & { mergeBase?: string } = { ...(opts.context ?? {}) };
  let onBaseBranch = false;
  let dirty: string[] | undefined;
  const storeFindings: Finding[] = [];
  if (needsHistory) {
    store = opts.store ?? openHistory(historyConfig, opts.baseDir);
    const run = opts.run ?? (await decideHistoryRun(resolve(opts.baseDir), historyConfig, opts.env));
    const { branch: _claimed, ...given } = ctx;
    // The branch recorded is the one decided before the commands ran, never the checkout's now.
    ctx = {
      ...(run.commit ? { commit: run.commit } : {}),
      ...given,
      ...(run.branch ? { branch: run.branch } : {}),
      ...(run.mergeBase ? { mergeBase: run.mergeBase } : {}),
    };
    onBaseBranch = run.onBaseBranch;
    dirty = run.dirty;
    try {
      const read = await store.read();
      entries = read.entries;
      const refused = describeRefused(read, store.description);
      if (refused)
        storeFindings.push({
          id: "gates.history.read",
          title: "history store",
          status: "warn",
          summary: refused,
          remedy:
            "gpuci never uses these lines and they leave the store with its oldest shard. A torn line is a writer stopped mid-write; an `at` in the future is a runner with a wrong clock (set up NTP); a value that is not a finite number came from a broken metric.",
          data: { refused: read.refused.length },
        });
    } catch (error) {
      if (error instanceof HistoryConfigError) throw error;
      baselineProblem = `history store ${store.description} could not be read: ${(error as Error).message}`;
    }
    baseline = chooseBaseline(entries, {
      ...(ctx.mergeBase ? { mergeBase: ctx.mergeBase } : {}),
      baseBranch: historyConfig.baseBranch,
      ...(ctx.commit ? { commit: ctx.commit } : {}),
    });
    if (
      baseline &&
      ((ctx.gpu && baseline.entry.gpu && ctx.gpu !== baseline.entry.gpu) ||
        (ctx.driver && baseline.entry.driver && ctx.driver !== baseline.entry.driver))
    ) {
      baselineProblem = `refusing to compare with baseline ${baseline.entry.commit.slice(0, 12)}: it ran on ${baseline.entry.gpu ?? "?"} driver ${baseline.entry.driver ?? "?"}, this run on ${ctx.gpu ?? "?"} driver ${ctx.driver ?? "?"}`;
      baseline = undefined;
    }
  }

  const seriesOf = (gateId: string) =>
    baseSeries(entries, gateId, {
      baseBranch: historyConfig.baseBranch,
      window: historyConfig.window,
      ...(ctx.commit ? { commit: ctx.commit } : {}),
      ...(ctx.gpu ? { gpu: ctx.gpu } : {}),
      ...(ctx.driver ? { driver: ctx.driver } : {}),
    }).map((x) => {
      // The unit each result was recorded in, so a series is compared in the head's unit.
      const unit = entries.find((e) => e.commit === x.commit && e.at === x.at)?.results[gateId]?.unit;
      return unit ? { ...x, unit } : x;
    });
  const status = new Map<string, Status>(Object.entries(opts.stageStatus ?? {}));
  const findings: Finding[] = [];
  const outcomes: GateOutcome[] = [];
  for (const g of orderGates(gates)) {
    const blocker = g.after.find((a) => {
      const s = status.get(a);
      return s === "fail" || s === "error" || s === "skip";
    });
    if (blocker) {
      findings.push({
        id: `gate.${g.id}`,
        title: g.title ?? g.id,
        status: "skip",
        summary: `blocked by ${blocker}`,
      });
      status.set(g.id, "skip");
      outcomes.push({ id: g.id, status: "skip" });
      continue;
    }
    const t = performance.now();
    const gateOpts = {
      ...opts,
      context: { ...opts.context, ...(ctx.commit ? { commit: ctx.commit } : {}) },
      onBaseBranch,
      stepSeverity: historyConfig.onStep,
    };
    try {
      // A glob or /regex/ name: one gate per benchmark it selects (over: each, the default), each
      // with its own id for history and `after` (the parent id takes the worst of them).
      const heads =
        g.metric && isPattern(g.metric.name)
          ? await readMetrics(g.metric, opts.baseDir, readOptions(opts))
          : undefined;
      if (heads && (heads.length > 1 || (g.metric!.over ?? "each") === "each")) {
        let worst: Status = "pass";
        for (const head of heads) {
          const child: Gate = {
            ...g,
            id: `${g.id}[${head.name}]`,
            title: `${g.title ?? g.id} [${head.name}]`,
            metric: { ...g.metric!, name: `=${head.name}`, over: "each" },
          };
          const tc = performance.now();
          try {
            const { finding, outcome } = await evaluateOne(
              child,
              gateOpts,
              baseline,
              baselineProblem,
              seriesOf,
              head,
            );
            findings.push({ ...finding, durationMs: Math.round(performance.now() - tc) });
            outcomes.push(outcome);
            status.set(child.id, finding.status);
            if (isWorse(finding.status, worst)) worst = finding.status;
          } catch (error) {
            const e = error as Error;
            findings.push({
              id: `gate.${child.id}`,
              title: child.title!,
              status: "error",
              summary: `could not judge the metric: ${e.message}`,
              remedy:
                error instanceof MetricError
                  ? error.remedy
                  : `Check ${g.metric?.file}; gpuci could not read it.`,
              durationMs: Math.round(performance.now() - tc),
            });
            outcomes.push({ id: child.id, status: "error" });
            worst = "error";
          }
        }
        status.set(g.id, worst);
        continue;
      }
      const { finding, outcome } = await evaluateOne(
        g,
        gateOpts,
        baseline,
        baselineProblem,
        seriesOf,
        heads?.[0],
      );
      findings.push({ ...finding, durationMs: Math.round(performance.now() - t) });
      outcomes.push(outcome);
      status.set(g.id, finding.status);
    } catch (error) {
      const e = error as Error;
      findings.push({
        id: `gate.${g.id}`,
        title: g.title ?? g.id,
        status: "error",
        summary: `could not read the metric: ${e.message}`,
        remedy:
          error instanceof MetricError
            ? error.remedy
            : `Check ${g.metric?.file ?? g.parity?.a.file}; gpuci could not read it.`,
        durationMs: Math.round(performance.now() - t),
      });
      outcomes.push({ id: g.id, status: "error" });
      status.set(g.id, "error");
    }
  }

  familyControl(findings, outcomes, gates);
  findings.push(...storeFindings);

  const env = opts.env ?? process.env;
  const local = env.CI !== "true" && env.GITHUB_ACTIONS !== "true";
  const skipDirty = local && !!dirty?.length && !opts.recordDirty;
  if (store && historyConfig.record && ctx.commit && skipDirty)
    findings.push({
      id: "gates.history",
      title: "history store",
      status: "skip",
      summary: `not recorded: ${dirty!.length}${dirty!.length >= 50 ? "+" : ""} tracked file${dirty!.length === 1 ? " has" : "s have"} uncommitted changes (${dirty!.slice(0, 3).join(", ")}${dirty!.length > 3 ? ", …" : ""}), so these numbers are not ${ctx.commit.slice(0, 12)}'s`,
      remedy: "Commit the changes and re-run, or pass --record to record this run anyway.",
      data: { dirty: dirty! },
    });
  if (store && historyConfig.record && ctx.commit && !skipDirty) {
    const entry: HistoryEntry = {
      v: 1,
      at: new Date().toISOString(),
      commit: ctx.commit,
      ...(ctx.branch ? { branch: ctx.branch } : {}),
      ...(!onBaseBranch && ctx.pr !== undefined ? { pr: ctx.pr } : {}),
      ...(ctx.runner ? { runner: ctx.runner } : {}),
      ...(ctx.gpu ? { gpu: ctx.gpu } : {}),
      ...(ctx.driver ? { driver: ctx.driver } : {}),
      config: configDigest(gates),
      ...(ctx.costUsd !== undefined ? { costUsd: ctx.costUsd } : {}),
      results: Object.fromEntries(
        outcomes
          .filter((o) => o.value !== undefined)
          .map((o) => [
            o.id,
            {
              value: Number.isFinite(o.value!) ? o.value! : null,
              ...(o.unit ? { unit: o.unit } : {}),
              ...(o.samples ? { samples: o.samples } : {}),
              status: o.status,
            },
          ]),
      ),
    };
    try {
      const { warnings } = await store.append(entry);
      if (warnings.length)
        findings.push({
          id: "gates.history",
          title: "history store",
          status: "warn",
          summary: `recorded in ${store.description}, with ${warnings.length === 1 ? "a warning" : `${warnings.length} warnings`}: ${warnings.join("; ")}`,
          remedy:
            "Nothing was lost. A broken lock or a torn line means a writer was stopped mid-write; a refused value came from a metric that is not a finite number.",
        });
    } catch (error) {
      if (error instanceof HistoryConfigError) throw error;
      findings.push({
        id: "gates.history",
        title: "history store",
        status: "warn",
        summary: `could not record results in ${store.description}: ${(error as Error).message}`,
        remedy: "Check the store's permissions (for git-branch: push access to the branch).",
      });
    }
  }
  return {
    section: createSection("gates", "Gates", findings, Math.round(performance.now() - t0)),
    outcomes,
    ...(baseline ? { baseline } : {}),
  };
}
