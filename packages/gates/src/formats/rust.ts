import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  type BenchRow,
  type FormatReader,
  isObject,
  MetricError,
  measureAt,
  notThisFormat,
  parseNumberText,
  type RowStat,
} from "./common.js";

const LIBTEST = /^test (.+?) \.\.\. bench:\s+([\d,._]+)\s+(\S+)\s+\(\+\/- ([\d,._]+)\)/;
const LIBTEST_FAILED = /^test (.+?) \.\.\. FAILED\s*$/;

/**
 * Rust's libtest bench output (`cargo bench` with `#[bench]`), which Criterion also writes with
 * `--output-format bencher`: `test name ... bench: 1,234 ns/iter (+/- 56)`. The deviation is
 * the spread of the samples (max − min of the middle), kept as the `deviation` field.
 */
export const rustLibtest: FormatReader = {
  id: "rust-libtest",
  title: "Rust libtest bench (text; Criterion --output-format bencher)",
  url: "https://doc.rust-lang.org/cargo/commands/cargo-bench.html",
  kind: "text",
  produce: "cargo bench > FILE (Criterion: cargo bench -- --output-format bencher)",
  fields: "deviation",
  bencher: "rust_bench",
  gab: "cargo",
  sniff({ head }) {
    return /^test .+ \.\.\. bench:\s+[\d,.]+ \S+ \(\+\/- [\d,.]+\)/m.test(head)
      ? "lines of test NAME ... bench: N unit (+/- D) (libtest)"
      : undefined;
  },
  async read(input) {
    const rows: BenchRow[] = [];
    for (const [i, line] of (await input.text()).split("\n").entries()) {
      const failed = LIBTEST_FAILED.exec(line);
      if (failed) {
        rows.push({ name: failed[1]!, value: Number.NaN, unit: "", error: "the benchmark FAILED (libtest)" });
        continue;
      }
      const m = LIBTEST.exec(line);
      if (!m) continue;
      const value = parseNumberText(m[2]!);
      const dev = parseNumberText(m[4]!);
      if (Number.isNaN(value) || Number.isNaN(dev))
        throw new MetricError(
          `${input.label}:${i + 1}: "${line.trim()}" has a value that is not a number`,
          "Write the file with cargo bench.",
        );
      // libtest writes the unit per iteration ("ns/iter"); Criterion's bencher output too.
      rows.push({
        name: m[1]!,
        value,
        unit: m[3]!,
        valueIs: "median (libtest)",
        metrics: { deviation: { value: dev, unit: m[3]!, valueIs: "max − min of the middle samples" } },
      });
    }
    return rows;
  },
};

const CRITERION_TIME = /^(.*?)\s*time:\s+\[(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\]/;

/**
 * Criterion.rs: its console report (`name  time: [low estimate high]`), cargo-criterion's JSON
 * messages (`--message-format json`: one `benchmark-complete` object a line, with the samples),
 * and the `estimates.json` it keeps per benchmark (`target/criterion/<id>/new/estimates.json`,
 * named by the `benchmark.json` beside it or by its folder).
 */
export const criterion: FormatReader = {
  id: "criterion",
  title: "Criterion.rs (console, cargo-criterion JSON messages, estimates.json)",
  url: "https://bheisler.github.io/criterion.rs/book/",
  kind: "text",
  produce:
    "cargo bench > FILE (console), cargo criterion --message-format json > FILE, or target/criterion/<id>/new/estimates.json",
  fields: "mean, median, slope, median_abs_dev, std_dev (as stat:)",
  bencher: "rust_criterion (console)",
  gab: "cargo (bencher output)",
  sniff({ head, json }) {
    if (/"reason"\s*:\s*"benchmark-complete"/.test(head))
      return 'JSON lines with "reason": "benchmark-complete" (cargo-criterion)';
    if (isObject(json) && isObject(json.mean) && "median_abs_dev" in json && "std_dev" in json)
      return "mean/median/median_abs_dev/std_dev estimates (Criterion estimates.json)";
    return /^.*time:\s+\[\S+ \S+ \S+ \S+ \S+ \S+\]/m.test(head)
      ? "lines of NAME time: [low est high] (Criterion console)"
      : undefined;
  },
  async read(input) {
    const text = await input.text();
    const trimmed = text.trimStart();
    if (/"reason"\s*:\s*"benchmark-complete"/.test(text)) return readMessages(text, input.label);
    if (trimmed.startsWith("{")) return readEstimates(input.file, input.label, await input.json());
    const rows: BenchRow[] = [];
    const lines = text.split("\n");
    for (const [i, line] of lines.entries()) {
      const m = CRITERION_TIME.exec(line);
      if (!m) continue;
      let name = m[1]!.trim();
      // A long name stands on its own line above `time:`.
      if (!name) {
        for (let j = i - 1; j >= 0; j--) {
          const prev = lines[j]!.trim();
          if (prev && !prev.startsWith("Benchmarking ")) {
            name = prev;
            break;
          }
        }
      }
      const num = (k: number) => parseNumberText(m[k]!);
      const [low, est, high] = [num(2), num(4), num(6)];
      if ([low, est, high].some(Number.isNaN) || !name)
        throw new MetricError(
          `${input.label}:${i + 1}: "${line.trim()}" cannot be read`,
          "Write the file with cargo bench (Criterion's console report).",
        );
      const unit = m[5]!;
      rows.push({
        name,
        value: est,
        unit,
        valueIs: "point estimate (Criterion)",
        metrics: {
          lower_bound: { value: low, unit: m[3]! },
          upper_bound: { value: high, unit: m[7]! },
        },
      });
    }
    return rows;
  },
};

function readMessages(text: string, label: string): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      if (!line.trim().startsWith("{")) continue; // cargo's own lines between the messages
      throw new MetricError(
        `${label}:${i + 1} is not a valid JSON object`,
        "Write the file with cargo criterion --message-format json.",
      );
    }
    if (!isObject(msg) || msg.reason !== "benchmark-complete") continue;
    const id = typeof msg.id === "string" ? msg.id : undefined;
    if (!id)
      throw new MetricError(`${label}:${i + 1}: a benchmark-complete message has no id`, "Rewrite the file.");
    const unit = typeof msg.unit === "string" ? msg.unit : "ns";
    const estimate = (k: string): { value: number; unit: string } | undefined => {
      const e = msg[k];
      if (!isObject(e) || typeof e.estimate !== "number") return undefined;
      return {
        value: measureAt(e.estimate, `${id} ${k}.estimate`, label),
        unit: typeof e.unit === "string" ? e.unit : unit,
      };
    };
    const typical = estimate("typical") ?? estimate("slope") ?? estimate("mean") ?? estimate("median");
    if (!typical)
      throw new MetricError(
        `${label}:${i + 1}: ${id} has no typical, mean or median estimate`,
        "Rewrite the file.",
      );
    // Samples: each measured value is the total time of that sample's iterations.
    const counts = Array.isArray(msg.iteration_count) ? msg.iteration_count : [];
    const measured = Array.isArray(msg.measured_values) ? msg.measured_values : [];
    const samples =
      counts.length && counts.length === measured.length
        ? measured.map(
            (m: unknown, j: number) =>
              measureAt(m, `${id} measured_values[${j}]`, label) / (counts[j] as number),
          )
        : undefined;
    const stats: Partial<Record<RowStat, number>> = {};
    for (const [k, stat] of [
      ["mean", "mean"],
      ["median", "median"],
    ] as const) {
      const e = estimate(k);
      if (e) stats[stat] = e.unit === typical.unit ? e.value : Number.NaN;
    }
    for (const k of Object.keys(stats) as RowStat[]) if (Number.isNaN(stats[k])) delete stats[k];
    rows.push({
      name: id,
      value: typical.value,
      unit: typical.unit,
      valueIs: msg.typical ? "typical (slope or mean)" : "mean",
      stats,
      ...(samples && typical.unit === unit ? { samples } : {}),
    });
  }
  return rows;
}

async function readEstimates(file: string, label: string, doc: unknown): Promise<BenchRow[]> {
  if (!isObject(doc) || !isObject(doc.mean))
    throw notThisFormat(
      label,
      "Criterion estimates.json",
      "cargo bench (target/criterion/<id>/new/estimates.json)",
    );
  // The benchmark's name: benchmark.json beside it says; else the folder above new/ or base/.
  let name = basename(dirname(dirname(file)));
  try {
    const meta = JSON.parse(await readFile(join(dirname(file), "benchmark.json"), "utf8")) as {
      full_id?: string;
    };
    if (typeof meta.full_id === "string") name = meta.full_id;
  } catch {
    // no benchmark.json: the folder name stands
  }
  const point = (k: string) => {
    const e = doc[k];
    return isObject(e) && typeof e.point_estimate === "number"
      ? measureAt(e.point_estimate, `${k}.point_estimate`, label)
      : undefined;
  };
  const slope = point("slope");
  const mean = point("mean")!;
  const stats: Partial<Record<RowStat, number>> = { mean };
  const median = point("median");
  if (median !== undefined) stats.median = median;
  const sd = point("std_dev");
  if (sd !== undefined) stats.stddev = sd;
  return [
    {
      name,
      value: slope ?? mean,
      unit: "ns",
      valueIs: slope !== undefined ? "slope (Criterion's typical)" : "mean",
      stats,
      metrics: {
        ...(point("median_abs_dev") !== undefined
          ? { median_abs_dev: { value: point("median_abs_dev")!, unit: "ns" } }
          : {}),
      },
    },
  ];
}
