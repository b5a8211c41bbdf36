import { quantile } from "../stats.js";
import { type BenchRow, type FormatReader, MetricError, parseNumberText, type RowMetric } from "./common.js";

const BENCH_LINE = /^(Benchmark\S*)\s+(\d+)\s+(\S.*)$/;
const NAME_ONLY = /^(Benchmark\S+)\s*$/;
const RESULT_ONLY = /^\s*(\d+)\s+(\d[\d.eE+-]*\s+\S.*)$/;

/**
 * `go test -bench` text output (the testing package's format, also what benchstat reads). Each
 * line is `BenchmarkName-P  N  v1 unit1  v2 unit2 …`: ns/op is the headline; B/op, allocs/op,
 * MB/s and b.ReportMetric's custom units are fields. `-count N` repeats a line: the repeats are
 * the samples. The `-P` GOMAXPROCS suffix is dropped from the name (kept as an alias), as
 * benchstat does; `pkg:` lines qualify names as aliases (`pkg.BenchmarkX`).
 */
export const goBench: FormatReader = {
  id: "go-bench",
  title: "go test -bench (text)",
  url: "https://pkg.go.dev/testing#hdr-Benchmarks",
  kind: "text",
  produce: "go test -run '^$' -bench . -benchmem -count 5 > FILE",
  fields: "B/op, allocs/op, MB/s, custom b.ReportMetric units",
  bencher: "go_bench",
  gab: "go",
  sniff({ head }) {
    return /^Benchmark\S*\s+\d+\s+[\d.]+\s+\S+\/op\b/m.test(head) ||
      (/^goos: /m.test(head) && /^Benchmark\S+/m.test(head))
      ? "lines of BenchmarkName N value unit/op (go test -bench)"
      : undefined;
  },
  async read(input) {
    const lines = (await input.text()).split("\n");
    let pkg = "";
    let pending: string | undefined;
    const byKey = new Map<string, { name: string; aliases: Set<string>; metrics: Map<string, number[]> }>();
    const add = (rawName: string, rest: string, lineNo: number) => {
      const tokens = rest.trim().split(/\s+/);
      if (tokens.length < 2 || tokens.length % 2 !== 0)
        throw new MetricError(
          `${input.label}:${lineNo}: "${rawName} ${rest.trim()}" is not value/unit pairs`,
          "Write the file with go test -bench (one benchmark a line).",
        );
      const name = rawName.replace(/-\d+$/, "");
      const key = `${pkg}\u0000${name}`;
      let b = byKey.get(key);
      if (!b) {
        b = { name, aliases: new Set(), metrics: new Map() };
        byKey.set(key, b);
      }
      if (rawName !== name) b.aliases.add(rawName);
      if (pkg) b.aliases.add(`${pkg}.${name}`);
      for (let i = 0; i < tokens.length; i += 2) {
        const v = parseNumberText(tokens[i]!);
        const unit = tokens[i + 1]!;
        if (Number.isNaN(v))
          throw new MetricError(
            `${input.label}:${lineNo}: "${tokens[i]}" (${unit}) is not a number`,
            "Write the file with go test -bench; gpuci refuses values it cannot read.",
          );
        if (v < 0 && (unit === "ns/op" || unit === "B/op" || unit === "allocs/op"))
          throw new MetricError(
            `${input.label}:${lineNo}: ${name} ${unit} is ${v}, a negative measurement`,
            "Rerun the benchmark: a negative time or size means the measurement failed.",
          );
        const list = b.metrics.get(unit) ?? [];
        list.push(v);
        b.metrics.set(unit, list);
      }
    };
    lines.forEach((line, i) => {
      const lineNo = i + 1;
      const p = /^pkg: (\S+)/.exec(line);
      if (p) {
        pkg = p[1]!;
        return;
      }
      const m = BENCH_LINE.exec(line);
      if (m) {
        pending = undefined;
        add(m[1]!, m[3]!, lineNo);
        return;
      }
      // A benchmark that logs: its name, then the log, then the numbers on a line of their own.
      const n = NAME_ONLY.exec(line);
      if (n) {
        pending = n[1]!;
        return;
      }
      const r = pending ? RESULT_ONLY.exec(line) : null;
      if (r && pending) {
        add(pending, r[2]!, lineNo);
        pending = undefined;
      }
    });
    const rows: BenchRow[] = [];
    for (const b of byKey.values()) {
      const metric = (unit: string, values: number[]): RowMetric => ({
        value: values.length === 1 ? values[0]! : quantile(values, 0.5),
        unit,
        valueIs: values.length === 1 ? "one run" : `median of ${values.length} runs (-count)`,
        samples: values,
      });
      const metrics: Record<string, RowMetric> = {};
      for (const [unit, values] of b.metrics) metrics[unit] = metric(unit, values);
      const headUnit = b.metrics.has("ns/op") ? "ns/op" : [...b.metrics.keys()][0]!;
      rows.push({
        name: b.name,
        ...(b.aliases.size ? { aliases: [...b.aliases] } : {}),
        ...metrics[headUnit]!,
        metrics,
      });
    }
    return rows;
  },
};
