import { changePoints, coefficientOfVariation, type HistoryEntry, median, metricAnchor } from "@gpuci/gates";

/** What the dashboard is built from besides the runs. */
export interface DashboardOptions {
  /** history.baseBranch: its runs are the trend; others are pull-request runs. */
  baseBranch: string;
  /** Where the runs came from (the store's description), shown in the header. */
  store: string;
  /** The page title (default "gpuci dashboard"). */
  title?: string;
  /** Prefix of a commit's page (`https://github.com/OWNER/REPO/commit/`); commits are not linked without it. */
  commitUrl?: string;
  /** Change points and noise are judged over the last `window × 10` results of a series (history.window). */
  window?: number;
  /** Lines of the store that were refused, shown in the header. */
  refused?: string;
  /** When the site was built (default now). */
  generatedAt?: Date;
}

/** A step in one series, named by the two commits around it. */
export interface DashboardStep {
  /** Index of the first run of the new level. */
  run: number;
  from: string;
  to: string;
  ratio: number;
  p: number;
}

/** One GPU/driver's base-branch results for a metric. */
export interface DashboardSeries {
  /** Index into `gpus`. */
  gpu: number;
  /** Its runs: an index into `runSets` (metrics measured in the same runs share one list). */
  runs: number;
  values: number[];
  /** The noise band of the current level: [low, high, first run of the level]. */
  band?: [number, number, number];
  /** CV (standard deviation of log values) at the current level. */
  cv?: number;
  steps: DashboardStep[];
}

/** One metric: a section, a chart and an anchor of its own. */
export interface DashboardMetric {
  id: string;
  anchor: string;
  unit?: string;
  /** Base-branch results over all series. */
  n: number;
  /** The newest base-branch value. */
  last?: number;
  series: DashboardSeries[];
  /** Pull-request runs (an index into `runSets`) and their values, when recorded. */
  pr?: { runs: number; values: number[] };
}

/** Everything the page draws; written to data.js. */
export interface DashboardData {
  v: 1;
  title: string;
  generatedAt: string;
  store: string;
  baseBranch: string;
  commitUrl: string | null;
  refused: string | null;
  /** How many of the newest results per series the steps and the noise are judged on. */
  analysed: number;
  runs: {
    commit: string[];
    at: string[];
    /** "main", "PR #12", a branch name, or "" when unknown. */
    label: string[];
    /** 1 for a base-branch run. */
    base: number[];
    /** Index into `gpus`. */
    gpu: number[];
    /** USD, or null when the run was not priced. */
    cost: Array<number | null>;
  };
  gpus: string[];
  /**
   * Lists of run indices, delta-encoded (the first is absolute; mostly 1s), each stored once:
   * the metrics of one GPU are usually measured in the same runs.
   */
  runSets: number[][];
  metrics: DashboardMetric[];
}

const deltas = (xs: number[]) => xs.map((x, i) => (i === 0 ? x : x - xs[i - 1]!));

/** Stores each distinct list of runs once and returns its index. */
function runSetStore() {
  const sets: number[][] = [];
  const byKey = new Map<string, number>();
  return {
    sets,
    add(runs: number[]): number {
      const d = deltas(runs);
      const key = d.join(",");
      let i = byKey.get(key);
      if (i === undefined) {
        i = sets.push(d) - 1;
        byKey.set(key, i);
      }
      return i;
    },
  };
}
const gpuKey = (e: HistoryEntry) =>
  e.gpu || e.driver ? `${e.gpu ?? "unknown GPU"}${e.driver ? ` · driver ${e.driver}` : ""}` : "unknown GPU";

/**
 * The dashboard's model of a history: the runs in recording order (columns), and per metric one
 * series per GPU and driver with its change points (E-divisive, as `gpuci history`) and the noise
 * band of its current level, plus the pull-request runs. Pure: no I/O.
 */
export function dashboardModel(entries: readonly HistoryEntry[], options: DashboardOptions): DashboardData {
  const analysed = (options.window ?? 30) * 10;
  const gpus: string[] = [];
  const gpuIndex = new Map<string, number>();
  const runs: DashboardData["runs"] = { commit: [], at: [], label: [], base: [], gpu: [], cost: [] };
  type Point = { run: number; value: number };
  const perMetric = new Map<string, { unit?: string; bySeries: Map<number, Point[]>; pr: Point[] }>();
  entries.forEach((e, run) => {
    const key = gpuKey(e);
    let g = gpuIndex.get(key);
    if (g === undefined) {
      g = gpus.push(key) - 1;
      gpuIndex.set(key, g);
    }
    const base = e.branch === options.baseBranch;
    runs.commit.push(e.commit);
    runs.at.push(e.at);
    runs.label.push(base ? options.baseBranch : e.pr !== undefined ? `PR #${e.pr}` : (e.branch ?? ""));
    runs.base.push(base ? 1 : 0);
    runs.gpu.push(g);
    runs.cost.push(typeof e.costUsd === "number" ? e.costUsd : null);
    for (const [id, r] of Object.entries(e.results)) {
      if (typeof r.value !== "number") continue;
      let m = perMetric.get(id);
      if (!m) {
        m = { bySeries: new Map(), pr: [] };
        perMetric.set(id, m);
      }
      if (r.unit && !m.unit) m.unit = r.unit;
      if (!base) m.pr.push({ run, value: r.value });
      else {
        const s = m.bySeries.get(g) ?? [];
        s.push({ run, value: r.value });
        m.bySeries.set(g, s);
      }
    }
  });
  const metrics: DashboardMetric[] = [];
  const runSets = runSetStore();
  for (const id of [...perMetric.keys()].sort((a, b) => a.localeCompare(b, "en", { numeric: true }))) {
    const m = perMetric.get(id)!;
    const series: DashboardSeries[] = [];
    let newest: Point | undefined;
    for (const [gpu, points] of m.bySeries) {
      const recent = points.slice(-analysed);
      const values = recent.map((p) => p.value);
      const steps = changePoints(values).map((s) => ({
        run: recent[s.at]!.run,
        from: runs.commit[recent[s.at - 1]!.run]!,
        to: runs.commit[recent[s.at]!.run]!,
        ratio: s.ratio,
        p: s.p,
      }));
      const levelFrom = steps.length ? recent.findIndex((p) => p.run === steps[steps.length - 1]!.run) : 0;
      const level = values.slice(levelFrom);
      const cv = coefficientOfVariation(level);
      const mid = level.length ? median(level) : Number.NaN;
      const band: [number, number, number] | undefined =
        level.length >= 3 && Number.isFinite(cv) && mid > 0
          ? [mid * Math.exp(-2 * cv), mid * Math.exp(2 * cv), recent[levelFrom]!.run]
          : undefined;
      series.push({
        gpu,
        runs: runSets.add(points.map((p) => p.run)),
        values: points.map((p) => p.value),
        ...(band ? { band } : {}),
        ...(Number.isFinite(cv) ? { cv } : {}),
        steps,
      });
      const last = points[points.length - 1];
      if (last && (!newest || last.run > newest.run)) newest = last;
    }
    metrics.push({
      id,
      anchor: metricAnchor(id),
      ...(m.unit ? { unit: m.unit } : {}),
      n: [...m.bySeries.values()].reduce((a, s) => a + s.length, 0),
      ...(newest ? { last: newest.value } : {}),
      series,
      ...(m.pr.length
        ? { pr: { runs: runSets.add(m.pr.map((p) => p.run)), values: m.pr.map((p) => p.value) } }
        : {}),
    });
  }
  return {
    v: 1,
    title: options.title ?? "gpuci dashboard",
    generatedAt: (options.generatedAt ?? new Date()).toISOString(),
    store: options.store,
    baseBranch: options.baseBranch,
    commitUrl: options.commitUrl ?? null,
    refused: options.refused ?? null,
    analysed,
    runs,
    gpus,
    runSets: runSets.sets,
    metrics,
  };
}

/**
 * The page of a commit on GitHub, from a remote URL (`https://github.com/o/r.git`,
 * `git@github.com:o/r.git`, `ssh://git@github.com/o/r`), or from Actions' GITHUB_SERVER_URL and
 * GITHUB_REPOSITORY; undefined for other hosts.
 */
export function githubCommitUrl(
  remoteUrl: string | undefined,
  env: NodeJS.ProcessEnv = {},
): string | undefined {
  if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && /^[\w.-]+\/[\w.-]+$/.test(env.GITHUB_REPOSITORY))
    return `${env.GITHUB_SERVER_URL.replace(/\/$/, "")}/${env.GITHUB_REPOSITORY}/commit/`;
  const m =
    /^(?:https:\/\/(?:[^@/]+@)?|ssh:\/\/git@|git@)github\.com[:/]([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$/.exec(
      remoteUrl?.trim() ?? "",
    );
  return m ? `https://github.com/${m[1]}/${m[2]}/commit/` : undefined;
}
