import { existsSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import {
  type BenchRow,
  type FormatReader,
  isObject,
  MetricError,
  parseNumberText,
  type RowMetric,
} from "./common.js";
import { type PathStep, streamJson } from "./json-stream.js";

/** Units of nvbench's summary hints. */
const HINT_UNITS: Record<string, string> = {
  duration: "s",
  percentage: "fraction",
  item_rate: "items/s",
  byte_rate: "B/s",
  sample_size: "samples",
  bytes: "B",
};

/** Short names for the summaries users gate on most. */
const FIELD_ALIASES: Record<string, string> = {
  gpu_time: "nv/cold/time/gpu/mean",
  cpu_time: "nv/cold/time/cpu/mean",
  batch_gpu_time: "nv/batch/time/gpu/mean",
  noise: "nv/cold/time/gpu/stdev/relative",
  cpu_noise: "nv/cold/time/cpu/stdev/relative",
  bandwidth: "nv/cold/bw/global/bytes_per_second",
  bw_util: "nv/cold/bw/global/utilization",
  item_rate: "nv/cold/bw/item_rate",
  samples: "nv/cold/sample_size",
  walltime: "nv/cold/walltime",
};

const list = (v: unknown): unknown[] =>
  Array.isArray(v)
    ? v
    : isObject(v)
      ? Object.entries(v).map(([k, x]) => (isObject(x) ? { tag: k, name: k, ...x } : x))
      : [];

/** A summary's named datum: the data list [{name, type, value}] or an object {value: …}. */
function datum(summary: Record<string, unknown>, name: string): unknown {
  const data = summary.data;
  if (Array.isArray(data))
    return (data.find((d) => isObject(d) && d.name === name) as Record<string, unknown> | undefined)?.value;
  if (isObject(data)) {
    const d = data[name];
    return isObject(d) ? d.value : d;
  }
  return undefined;
}

/** Read the float32 little-endian samples nvbench wrote with --jsonbin, beside the JSON file. */
async function readSamples(
  jsonFile: string,
  filename: string,
  size: number,
  label: string,
): Promise<number[]> {
  const jsonDir = dirname(jsonFile);
  const candidates = isAbsolute(filename)
    ? [filename]
    : [join(jsonDir, filename), join(dirname(jsonDir), filename), filename];
  const found = candidates.find((c) => existsSync(c));
  if (!found)
    throw new MetricError(
      `${label}: the samples file ${filename} (from --jsonbin) is not beside it`,
      "Keep the .bin files nvbench wrote next to the JSON (copy the whole output folder), or drop stat: so the summary is used.",
    );
  const fh = await open(found, "r");
  try {
    const bytes = Buffer.alloc(size * 4);
    const { bytesRead } = await fh.read(bytes, 0, bytes.length, 0);
    if (bytesRead !== size * 4)
      throw new MetricError(
        `${label}: ${filename} holds ${bytesRead / 4} samples, the JSON says ${size}`,
        "The samples file is truncated or from another run: rerun the benchmark.",
      );
    const out: number[] = new Array(size);
    for (let i = 0; i < size; i++) out[i] = bytes.readFloatLE(i * 4);
    return out;
  } finally {
    await fh.close();
  }
}

/**
 * NVIDIA nvbench's `--json` output (used by CCCL, cuDF, …). One row per state: the name is the
 * benchmark and the state's name ("copy_sweep_grid_shape Device=0 BlockSize=2^6 NumBlocks=2^8"),
 * so globs select a device or axis values. The headline is the cold GPU time (nv/cold/time/gpu/mean);
 * every summary is a field by its tag, with short names (gpu_time, batch_gpu_time, noise,
 * bandwidth, bw_util, item_rate). Units follow the summary's hint. Samples written with
 * `--jsonbin` are read from the .bin files beside the JSON. States are streamed one at a time, so a
 * file of any size is read in bounded memory; states may be a list or an object keyed by name,
 * summaries a list or an object keyed by tag.
 */
export const nvbench: FormatReader = {
  id: "nvbench",
  title: "nvbench JSON",
  url: "https://github.com/NVIDIA/nvbench",
  kind: "json",
  produce: "./bench --json FILE (add --jsonbin for the samples)",
  fields: "any summary tag; gpu_time, batch_gpu_time, cpu_time, noise, bandwidth, bw_util, item_rate",
  bencher: "no",
  gab: "no",
  sniff({ head, json }) {
    if (isObject(json)) {
      const meta = json.meta;
      return isObject(meta) &&
        isObject(meta.version) &&
        "nvbench" in meta.version &&
        Array.isArray(json.benchmarks)
        ? "meta.version.nvbench and benchmarks[] (nvbench)"
        : undefined;
    }
    return /"nvbench"\s*:\s*\{/.test(head) && /"(meta|benchmarks)"\s*:/.test(head)
      ? "meta.version.nvbench (nvbench, streamed)"
      : undefined;
  },
  async read(input, options) {
    const rows: BenchRow[] = [];
    const names = new Map<number | string, string>();
    const pending: Array<Promise<void>> = [];
    let sawNvbench = false;
    const isState = (p: readonly PathStep[]) => p.length === 4 && p[0] === "benchmarks" && p[2] === "states";
    await streamJson(input.file, input.label, {
      pick: (p) =>
        (p.length === 3 && p[0] === "benchmarks" && p[2] === "name") ||
        isState(p) ||
        (p.length === 3 && p[0] === "meta" && p[1] === "version" && p[2] === "nvbench"),
      onValue: (p, v) => {
        if (p[0] === "meta") {
          sawNvbench = true;
          return;
        }
        if (p[2] === "name") {
          names.set(p[1]!, String(v));
          return;
        }
        if (!isState(p) || !isObject(v)) return;
        const bench = names.get(p[1]!) ?? `benchmarks[${String(p[1])}]`;
        const stateName =
          typeof v.name === "string" ? v.name : typeof p[3] === "string" ? p[3] : `state ${String(p[3])}`;
        // A flat copy: a slice of the streamed text would keep its whole 1 MiB chunk alive.
        const name = Buffer.from(`${bench} ${stateName}`, "utf8").toString("utf8");
        if (options?.keep && !options.keep(name)) {
          rows.push({ name, value: Number.NaN, unit: "" }); // not selected: its name only
          return;
        }
        if (v.is_skipped === true) {
          rows.push({
            name,
            value: Number.NaN,
            unit: "",
            error: `nvbench skipped this state${typeof v.skip_reason === "string" ? `: ${v.skip_reason}` : ""}`,
          });
          return;
        }
        const metrics: Record<string, RowMetric> = {};
        let bin: { filename: string; size: number } | undefined;
        for (const s of list(v.summaries)) {
          if (!isObject(s) || typeof s.tag !== "string") continue;
          if (s.tag === "nv/json/bin:nv/cold/sample_times") {
            const filename = datum(s, "filename");
            const size = parseNumberText(String(datum(s, "size") ?? ""));
            if (typeof filename === "string" && Number.isInteger(size)) bin = { filename, size };
            continue;
          }
          const raw = datum(s, "value");
          if (raw === undefined || raw === null) continue;
          const value = typeof raw === "number" ? raw : parseNumberText(String(raw));
          if (Number.isNaN(value)) continue; // text summaries (device names)
          const hint = typeof s.hint === "string" ? s.hint : "";
          metrics[s.tag] = {
            value,
            unit: HINT_UNITS[hint] ?? "",
            ...(typeof s.name === "string" ? { valueIs: s.name } : {}),
            ...(hint === "percentage" && /stdev|noise/.test(s.tag)
              ? { direction: "smaller" as const, directionRule: "nvbench noise: smaller is better" }
              : hint === "percentage" && /utilization/.test(s.tag)
                ? {
                    direction: "bigger" as const,
                    directionRule: "nvbench bandwidth utilization: bigger is better",
                  }
                : {}),
          };
        }
        for (const [alias, tag] of Object.entries(FIELD_ALIASES))
          if (metrics[tag]) metrics[alias] = metrics[tag]!;
        const head = metrics["nv/cold/time/gpu/mean"] ?? metrics["nv/batch/time/gpu/mean"];
        const row: BenchRow = head
          ? {
              name,
              ...head,
              valueIs: metrics["nv/cold/time/gpu/mean"] ? "cold GPU time, mean" : "batch GPU time, mean",
              stats: {
                mean: head.value,
                ...(metrics["nv/cold/time/gpu/stdev/relative"]
                  ? { stddev: head.value * metrics["nv/cold/time/gpu/stdev/relative"]!.value }
                  : {}),
              },
              metrics,
            }
          : {
              name,
              value: Number.NaN,
              unit: "",
              metrics,
              noHeadline: "has no GPU time summary: choose one with metric.field",
            };
        rows.push(row);
        if (bin && head) {
          const b = bin;
          pending.push(
            readSamples(input.file, b.filename, b.size, input.label).then((samples) => {
              row.samples = samples;
            }),
          );
        }
      },
    });
    await Promise.all(pending);
    if (!sawNvbench && rows.length === 0)
      throw new MetricError(
        `${input.label} is not nvbench JSON (no meta.version.nvbench, no states)`,
        `Write it with ${this.produce}.`,
      );
    return rows;
  },
};
