import { convert } from "@gpuci/report";
import { XMLParser } from "fast-xml-parser";
import { type BenchRow, type FormatReader, MetricError, parseNumberText, type RowStat } from "./common.js";

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Catch2's XML reporter: `<BenchmarkResults name=…>` with `<mean value=…>` in nanoseconds. */
function readXml(text: string, label: string): BenchRow[] {
  let doc: Record<string, unknown>;
  try {
    doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(text, true) as Record<
      string,
      unknown
    >;
  } catch (error) {
    throw new MetricError(
      `${label} is not valid XML (${(error as Error).message})`,
      "Write it with the test binary's -r xml.",
    );
  }
  const rows: BenchRow[] = [];
  // Catch2 v2 nests Catch > Group > TestCase; v3 writes Catch2TestRun > TestCase; sections nest.
  const visit = (node: unknown, testCase: string | undefined) => {
    if (!node || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      for (const item of asList(value as unknown)) {
        if (key === "BenchmarkResults" && item && typeof item === "object") {
          const b = item as Record<string, unknown>;
          const name = String(b.name ?? "");
          const attr = (el: unknown, k: string) =>
            el && typeof el === "object"
              ? parseNumberText(String((el as Record<string, unknown>)[k] ?? ""))
              : Number.NaN;
          const mean = attr(b.mean, "value");
          if (!name || Number.isNaN(mean))
            throw new MetricError(
              `${label}: a BenchmarkResults element has no name or mean`,
              "Write it with -r xml.",
            );
          const stats: Partial<Record<RowStat, number>> = { mean };
          const sd = attr(b.standardDeviation, "value");
          if (!Number.isNaN(sd)) stats.stddev = sd;
          rows.push({
            name,
            aliases: testCase ? [`${testCase}/${name}`] : [],
            value: mean,
            unit: "ns",
            valueIs: "mean (Catch2)",
            stats,
            metrics: {
              ...(Number.isNaN(attr(b.mean, "lowerBound"))
                ? {}
                : { low_mean: { value: attr(b.mean, "lowerBound"), unit: "ns" } }),
              ...(Number.isNaN(attr(b.mean, "upperBound"))
                ? {}
                : { high_mean: { value: attr(b.mean, "upperBound"), unit: "ns" } }),
            },
          });
        } else if (item && typeof item === "object")
          visit(item, key === "TestCase" ? String((item as Record<string, unknown>).name ?? "") : testCase);
      }
    }
  };
  visit(doc, undefined);
  return rows;
}

const VALUE_UNIT = /(-?[\d.]+(?:e[-+]?\d+)?)\s+(ns|us|µs|μs|ms|s)\b/g;

/**
 * Catch2's console report: a benchmark name with samples, iterations and estimated time, then a
 * line of mean / low mean / high mean and one of std dev / low / high, each value with its unit.
 */
function readConsole(text: string, label: string): BenchRow[] {
  const rows: BenchRow[] = [];
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^benchmark name\s+samples\s+iterations/.test(l));
  if (start < 0) return rows;
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\S.*?)\s{2,}(\d+)\s+(\d+)\s+(-?[\d.]+\s+\S+)\s*$/.exec(lines[i]!);
    if (!m || /^benchmark name/.test(lines[i]!)) continue;
    const values = (line: string | undefined) =>
      [...(line ?? "").matchAll(VALUE_UNIT)].map((x) => ({ v: Number(x[1]), u: x[2]! }));
    const mean = values(lines[i + 1]);
    const sd = values(lines[i + 2]);
    if (mean.length !== 3)
      throw new MetricError(
        `${label}:${i + 2}: the mean line of "${m[1]!.trim()}" is not three values with units`,
        "Write it with the benchmark binary's console reporter, or use -r xml (gpuci reads both).",
      );
    rows.push({
      name: m[1]!.trim(),
      value: mean[0]!.v,
      unit: mean[0]!.u,
      valueIs: "mean (Catch2)",
      stats: {
        mean: mean[0]!.v,
        ...(sd.length === 3 ? { stddev: convert(sd[0]!.v, sd[0]!.u, mean[0]!.u) } : {}),
      },
      metrics: {
        low_mean: { value: mean[1]!.v, unit: mean[1]!.u },
        high_mean: { value: mean[2]!.v, unit: mean[2]!.u },
      },
    });
    i += 2;
  }
  return rows;
}

/** Catch2 benchmarks: the XML reporter (`-r xml`, v2 and v3) and the console report. */
export const catch2: FormatReader = {
  id: "catch2",
  title: "Catch2 benchmarks (XML reporter and console)",
  url: "https://github.com/catchorg/Catch2/blob/devel/docs/benchmarks.md",
  kind: "text",
  produce: "./tests -r xml > FILE (or the console report)",
  fields: "low_mean, high_mean",
  bencher: "cpp_catch2 (console)",
  gab: "catch2 (console)",
  sniff({ head }) {
    if (/<BenchmarkResults\s/.test(head) || (/<Catch2?(TestRun)?[\s>]/.test(head) && /<\?xml/.test(head)))
      return "<BenchmarkResults> in a Catch2 XML report";
    return /^benchmark name\s+samples\s+iterations/m.test(head)
      ? "a Catch2 benchmark table (console)"
      : undefined;
  },
  async read(input) {
    const text = await input.text();
    return text.trimStart().startsWith("<") ? readXml(text, input.label) : readConsole(text, input.label);
  },
};
