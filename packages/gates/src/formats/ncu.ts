import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { quantile } from "../stats.js";
import { type BenchRow, type FormatReader, MetricError, type RowMetric } from "./common.js";

/** Split one CSV record (RFC 4180 quoting; ncu quotes every field). */
function splitCsv(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let j = i + 1;
      let v = "";
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) return undefined;
        v += line.slice(j, q);
        if (line[q + 1] === '"') {
          v += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      out.push(v);
      if (j < line.length && line[j] !== ",") return undefined;
      i = j + 1;
    } else {
      const c = line.indexOf(",", i);
      const end = c < 0 ? line.length : c;
      out.push(line.slice(i, end));
      i = end + 1;
    }
    if (i > line.length) break;
  }
  return out;
}

/** How a file writes its numbers: "1,234.5" (comma groups) or "1.234,5" (a locale's comma decimal). */
type NumberStyle = "dot" | "comma";

/** Decide the number style from values that can only be read one way; undefined when none tells. */
function styleOf(text: string): NumberStyle | undefined {
  if (/^-?\d{1,3}(,\d{3})+\.\d+$/.test(text) || /^-?\d+\.\d{1,2}$/.test(text) || /^-?\d+\.\d{4,}$/.test(text))
    return "dot";
  if (/^-?\d{1,3}(\.\d{3})+,\d+$/.test(text) || /^-?\d+,\d{1,2}$/.test(text) || /^-?\d+,\d{4,}$/.test(text))
    return "comma";
  return undefined;
}

function parseStyled(text: string, style: NumberStyle): number {
  const t = text.trim();
  if (!/^-?[\d.,]+([eE][-+]?\d+)?$/.test(t)) return Number.NaN;
  return Number(style === "dot" ? t.replace(/,/g, "") : t.replace(/\./g, "").replace(",", "."));
}

const HEADLINES = ["gpu__time_duration.sum", "Duration", "gpu__time_duration.avg"];

/**
 * Nsight Compute's CSV (`ncu --csv …` or `ncu --import report.ncu-rep --csv`): the details page,
 * one row per kernel launch × metric (ID, Kernel Name, Section Name, Metric Name, Metric Unit,
 * Metric Value), or the raw page (`--page raw`: one row per launch, a column per metric, a units
 * row under the header). Lines before the header (`==PROF==`) are skipped. A row is a kernel by
 * name; its launches are the samples (the value is their median). The headline is the kernel's
 * duration (gpu__time_duration.sum or Duration); every metric is a field by its name. Numbers
 * may use either decimal mark ("1,215,000.00" or "1.215.000,00"): the file's own unambiguous
 * values decide, and a file that mixes both is refused. Streamed line by line.
 */
export const ncu: FormatReader = {
  id: "ncu",
  title: "Nsight Compute CSV (ncu --csv)",
  url: "https://docs.nvidia.com/nsight-compute/NsightComputeCli/index.html",
  kind: "csv",
  produce: "ncu --csv --metrics gpu__time_duration.sum,… ./app > FILE (or ncu --import r.ncu-rep --csv)",
  fields: "any metric name (dram__throughput.avg.pct_of_peak_sustained_elapsed, Duration, …)",
  bencher: "no",
  gab: "no",
  sniff({ head }) {
    return /^"?ID"?,"?Process ID"?,"?Process Name"?,"?Host Name"?,"?Kernel Name"?/m.test(head)
      ? "a header of ID, Process ID, Process Name, Host Name, Kernel Name (Nsight Compute CSV)"
      : undefined;
  },
  async read(input) {
    const rl = createInterface({
      input: createReadStream(input.file, { encoding: "utf8" }),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    let header: string[] | undefined;
    let layout: "long" | "raw" | undefined;
    let units: string[] | undefined;
    let lineNo = 0;
    let style: NumberStyle | undefined;
    // Values are aggregated as they are read (numbers only: memory grows with the values a gate
    // could use, not with the file's text). A value that reads either way ("1,234") is parsed in
    // the file's style when known; until then as ncu's default, and re-read if the file turns out
    // to use a comma decimal mark.
    const kernels = new Map<string, Map<string, { unit: string; values: number[] }>>();
    const ambiguous: Array<{ values: number[]; index: number; text: string }> = [];
    const col = (name: string) => header!.indexOf(name);
    for await (let line of rl) {
      lineNo++;
      if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      if (!header) {
        if (/^"?ID"?,/.test(line)) {
          header = splitCsv(line);
          if (!header || col("Kernel Name") < 0)
            throw new MetricError(
              `${input.label}:${lineNo}: the header has no "Kernel Name"`,
              `Write it with ${this.produce}.`,
            );
          layout = col("Metric Name") >= 0 && col("Metric Value") >= 0 ? "long" : "raw";
        }
        continue;
      }
      if (!line.trim() || line.startsWith("==")) continue;
      const cells = splitCsv(line);
      if (!cells || cells.length !== header.length)
        throw new MetricError(
          `${input.label}:${lineNo} is not a CSV record of ${header.length} fields`,
          "Write it with ncu --csv (do not mix other output into the file, or keep it to lines starting with ==).",
        );
      if (layout === "raw" && units === undefined && cells[col("ID")] === "") {
        units = cells; // the units row under a raw-page header
        continue;
      }
      const kernel = cells[col("Kernel Name")]!;
      const add = (metric: string, unit: string, text: string) => {
        const t = text.trim();
        const s = styleOf(t);
        if (s) {
          if (style && s !== style)
            throw new MetricError(
              `${input.label}:${lineNo}: "${text}" uses a different decimal mark from earlier values`,
              "Export the report again with one number format (e.g. LC_ALL=C ncu --csv …).",
            );
          style = s;
        }
        const v = parseStyled(t, style ?? "dot");
        if (Number.isNaN(v)) return; // text values ("n/a", launch configurations)
        let k = kernels.get(kernel);
        if (!k) {
          k = new Map();
          kernels.set(kernel, k);
        }
        const m = k.get(metric) ?? { unit, values: [] };
        m.values.push(v);
        k.set(metric, m);
        if (!s && !style && /[.,]/.test(t))
          ambiguous.push({ values: m.values, index: m.values.length - 1, text: t });
      };
      if (layout === "long") {
        const metric = cells[col("Metric Name")]!;
        if (metric) add(metric, cells[col("Metric Unit")] ?? "", cells[col("Metric Value")]!);
      } else {
        const first =
          Math.max(col("Kernel Name"), col("CC"), col("Device"), col("Grid Size"), col("Block Size")) + 1;
        for (let k = first; k < header.length; k++) add(header[k]!, units?.[k] ?? "", cells[k]!);
      }
    }
    if (!header)
      throw new MetricError(
        `${input.label} has no Nsight Compute CSV header ("ID","Process ID",…)`,
        `Write it with ${this.produce}.`,
      );
    if (style === "comma") for (const a of ambiguous) a.values[a.index] = parseStyled(a.text, "comma");
    const rows: BenchRow[] = [];
    for (const [kernel, ms] of kernels) {
      const metrics: Record<string, RowMetric> = {};
      for (const [name, m] of ms)
        metrics[name] = {
          value: m.values.length === 1 ? m.values[0]! : quantile(m.values, 0.5),
          unit: m.unit === "%" ? "%" : m.unit,
          valueIs: m.values.length === 1 ? "one launch" : `median of ${m.values.length} launches`,
          ...(m.values.length > 1 ? { samples: m.values } : {}),
        };
      const head = HEADLINES.map((h) => metrics[h]).find((x) => x !== undefined);
      rows.push(
        head
          ? { name: kernel, ...head, metrics }
          : {
              name: kernel,
              value: Number.NaN,
              unit: "",
              metrics,
              noHeadline: "has no duration metric: choose one with metric.field",
            },
      );
    }
    return rows;
  },
};
