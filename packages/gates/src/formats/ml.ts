import {
  type BenchRow,
  type FormatReader,
  isObject,
  MetricError,
  notThisFormat,
  type RowMetric,
} from "./common.js";

/**
 * EleutherAI lm-evaluation-harness results (`--output_path`): one row per task (and per group),
 * each metric a field by its key as the harness writes it (`acc,none`, `acc_norm,none`,
 * `exact_match,strict-match`; older files: `acc`, `acc_norm`). The direction comes from the
 * file's `higher_is_better` (by the metric's name before the comma); stderr fields are smaller-
 * is-better; "N/A" values are absent, never 0. A task with one metric has it as its headline.
 */
export const lmEval: FormatReader = {
  id: "lm-eval",
  title: "lm-evaluation-harness results JSON",
  url: "https://github.com/EleutherAI/lm-evaluation-harness",
  kind: "json",
  produce: "lm_eval --model … --tasks … --output_path DIR (results_*.json)",
  fields: 'each metric key, e.g. "acc,none", "acc_norm,none", "exact_match,strict-match"',
  bencher: "no",
  gab: "no",
  sniff({ json }) {
    if (!isObject(json) || !isObject(json.results)) return undefined;
    if ("higher_is_better" in json || "n-shot" in json || "configs" in json)
      return "results with higher_is_better / n-shot (lm-evaluation-harness)";
    if (isObject(json.versions) && Object.values(json.results).every((r) => isObject(r)))
      return "results and versions per task (lm-evaluation-harness, older)";
    return undefined;
  },
  async read(input) {
    const doc = await input.json();
    if (!isObject(doc) || !isObject(doc.results))
      throw notThisFormat(input.label, 'lm-evaluation-harness results (no "results")', this.produce);
    const better = isObject(doc.higher_is_better) ? doc.higher_is_better : {};
    const rows: BenchRow[] = [];
    const seen = new Set<string>();
    for (const source of [doc.results, doc.groups]) {
      if (!isObject(source)) continue;
      for (const [task, raw] of Object.entries(source)) {
        if (seen.has(task) || !isObject(raw)) continue;
        seen.add(task);
        const hib = isObject(better[task]) ? (better[task] as Record<string, unknown>) : {};
        const metrics: Record<string, RowMetric> = {};
        for (const [key, v] of Object.entries(raw)) {
          if (typeof v !== "number") continue; // "N/A", alias, name, sample counts objects
          if (key === "sample_len" || key === "samples") continue;
          const base = key.split(",")[0]!;
          const isErr = /_stderr$/.test(base);
          const up = hib[base];
          metrics[key] = {
            value: v,
            unit: "",
            ...(isErr
              ? { direction: "smaller" as const, directionRule: "a standard error: smaller is better" }
              : typeof up === "boolean"
                ? {
                    direction: up ? ("bigger" as const) : ("smaller" as const),
                    directionRule: `lm-eval higher_is_better.${task}.${base} is ${up}`,
                  }
                : {}),
          };
        }
        const main = Object.keys(metrics).filter((k) => !/_stderr(,|$)/.test(k));
        rows.push(
          main.length === 1
            ? { name: task, ...metrics[main[0]!]!, valueIs: main[0]!, metrics }
            : {
                name: task,
                value: Number.NaN,
                unit: "",
                metrics,
                noHeadline: `has ${main.length} metrics: choose one with metric.field (${main.join(", ")})`,
              },
        );
      }
    }
    return rows;
  },
};

const MLLOG = /^:::MLLOG (\{.*\})\s*$/;

/** Units and directions of MLPerf result keys, by their names. */
function mlperfUnit(key: string): { unit: string; direction?: "smaller" | "bigger"; rule?: string } {
  if (/_ns$/.test(key)) return { unit: "ns" };
  if (/_ms$/.test(key)) return { unit: "ms" };
  if (/tokens_per_second$|tokens_per_sec$/.test(key)) return { unit: "tokens/s" };
  if (/samples_per_second$|samples_per_sec$/.test(key)) return { unit: "samples/s" };
  if (/(_per_second|_per_sec)$/.test(key)) return { unit: "items/s" };
  if (/accuracy|_acc$|map$|auc$|rouge|bleu|dice/i.test(key))
    return { unit: "", direction: "bigger", rule: `MLPerf ${key} is a quality metric: bigger is better` };
  return { unit: "" };
}

/**
 * MLPerf logs: the `:::MLLOG {json}` lines that LoadGen writes (mlperf_log_detail.txt: result_*
 * keys such as result_samples_per_second, result_90.00_percentile_latency_ns, result_validity) and
 * that training reference implementations write (eval_accuracy per epoch, run_start/run_stop).
 * Each numeric key is a row (the last value; repeats such as eval_accuracy per epoch give min/max); a run that LoadGen
 * marks INVALID, or a training run whose run_stop status is not success, makes its result rows
 * errors; `time_to_train` (ms) is run_stop − run_start. Lines with is_error are reported.
 */
export const mlperf: FormatReader = {
  id: "mlperf",
  title: "MLPerf LoadGen / training logs (:::MLLOG)",
  url: "https://github.com/mlcommons/inference/tree/master/loadgen",
  kind: "text",
  produce: "the MLPerf LoadGen run (mlperf_log_detail.txt) or a training reference's log",
  fields: "every numeric key (result_*, eval_accuracy, time_to_train)",
  bencher: "no",
  gab: "no",
  sniff({ head }) {
    return /^:::MLLOG \{/m.test(head) ? ":::MLLOG lines (MLPerf)" : undefined;
  },
  async read(input) {
    const values = new Map<string, number[]>();
    let validity: string | undefined;
    let runStart: number | undefined;
    let runStop: { at: number; status: string } | undefined;
    const errors: string[] = [];
    for (const [i, line] of (await input.text()).split("\n").entries()) {
      const m = MLLOG.exec(line);
      if (!m) continue;
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(m[1]!) as Record<string, unknown>;
      } catch {
        throw new MetricError(
          `${input.label}:${i + 1}: an :::MLLOG line is not valid JSON`,
          "The log is truncated or corrupt: rerun.",
        );
      }
      const key = typeof e.key === "string" ? e.key : undefined;
      if (!key) continue;
      const meta = isObject(e.metadata) ? e.metadata : {};
      if (meta.is_error === true) errors.push(`${key}: ${JSON.stringify(e.value)?.slice(0, 120)}`);
      if (key === "result_validity" && typeof e.value === "string") validity = e.value;
      if (key === "run_start" && typeof e.time_ms === "number") runStart = e.time_ms;
      if (key === "run_stop" && typeof e.time_ms === "number")
        runStop = {
          at: e.time_ms,
          status: isObject(meta) && typeof meta.status === "string" ? meta.status : "",
        };
      if (typeof e.value !== "number") continue;
      const list = values.get(key) ?? [];
      list.push(e.value);
      values.set(key, list);
    }
    if (runStart !== undefined && runStop) values.set("time_to_train", [runStop.at - runStart]);
    const invalid =
      validity !== undefined && validity !== "VALID"
        ? `LoadGen marked the run ${validity}${errors.length ? ` (${errors.slice(0, 2).join("; ")})` : ""}`
        : undefined;
    const rows: BenchRow[] = [];
    for (const [key, list] of values) {
      const u = key === "time_to_train" ? { unit: "ms" } : mlperfUnit(key);
      const failedTraining =
        key === "time_to_train" && runStop && runStop.status && runStop.status !== "success"
          ? `run_stop status is ${runStop.status}`
          : undefined;
      const error = (key.startsWith("result_") && invalid) || failedTraining;
      rows.push({
        name: key,
        value: list[list.length - 1]!,
        unit: u.unit,
        valueIs: list.length > 1 ? `the last of ${list.length} values` : "",
        // Repeats are a series (eval_accuracy per epoch), not samples of one measurement.
        ...(list.length > 1 ? { stats: { min: Math.min(...list), max: Math.max(...list) } } : {}),
        ...(u.direction ? { direction: u.direction, directionRule: u.rule! } : {}),
        ...(error ? { error } : {}),
      });
    }
    return rows;
  },
};
