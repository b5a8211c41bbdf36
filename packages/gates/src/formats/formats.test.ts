import { statSync } from "node:fs";
import { copyFile, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateGates } from "../evaluate.js";
import { parseLooseJson, readMetric, readMetrics } from "../metric.js";
import { FORMATS, formatInput, sniffFile, streamJson } from "./index.js";

/** Real tools' outputs; each file's source is in test/fixtures/formats/README.md. */
const F = join(__dirname, "../../test/fixtures/formats");

async function rowsOf(file: string) {
  const path = join(F, file);
  const sniffed = await sniffFile(path, file, statSync(path).size, parseLooseJson);
  if (sniffed.kind !== "reader") throw new Error(`${file} sniffed as ${sniffed.format}`);
  return {
    reader: sniffed.reader.id,
    rows: await sniffed.reader.read(formatInput(path, file, parseLooseJson)),
  };
}

const read = (file: string, metric: Record<string, unknown> = {}) =>
  readMetric({ file, ...metric } as Parameters<typeof readMetric>[0], F);

describe("every reader reads its tool's own files to the right value, unit and direction", () => {
  it("Google Benchmark: per-benchmark time units, aggregates-only rows, BigO and RMS", async () => {
    // google/benchmark's own compare inputs: BM_DifferentTimeUnit is 1 s in run1, 1 ns in run2.
    expect(await read("google-benchmark/test1_run1.json", { name: "BM_DifferentTimeUnit" })).toMatchObject({
      value: 1,
      unit: "s",
      direction: "smaller",
      directionRule: "unit s is a time: smaller is better",
      format: expect.stringMatching(/^google-benchmark \(recognised: /),
    });
    // --benchmark_report_aggregates_only (Google Benchmark 1.7.1 here): stat from the aggregate rows.
    const agg = "google-benchmark/aggregates-only-bigo.json";
    expect(await read(agg, { name: "BM_Sort/1024" })).toMatchObject({ value: 4162.204734813156, unit: "ns" });
    expect(await read(agg, { name: "BM_Sort/1024", stat: "mean" })).toMatchObject({
      value: 4162.048226263368,
    });
    expect((await read(agg, { name: "BM_Sort/1024", stat: "cv" })).value).toBeCloseTo(
      0.0021167115940247338,
      15,
    );
    await expect(read(agg, { name: "BM_Sort/1024", stat: "p90" })).rejects.toThrow(
      /BM_Sort\/1024 has no p90: the file has aggregate median, mean, median, stddev, cv/,
    );
    expect(await read(agg, { name: "BM_Sort", field: "BigO" })).toMatchObject({
      value: 0.3149303605176714,
      unit: "ns",
    });
    expect(await read(agg, { name: "BM_Copy", field: "bytes_per_second" })).toMatchObject({
      unit: "B/s",
      direction: "bigger",
    });
    expect(await read(agg, { name: "BM_Copy" })).toMatchObject({ unit: "us" }); // ->Unit(kMicrosecond)
    // A plain name never falls back to a suffix: "Faster" is not BM_2xFaster.
    await expect(read("google-benchmark/test1_run1.json", { name: "Faster" })).rejects.toThrow(
      /no benchmark named "Faster" in .*test1_run1\.json/,
    );
  });

  it("go test -bench: -count repeats are samples, -benchmem and custom metrics are fields", async () => {
    const { reader, rows } = await rowsOf("go/go-bench-count3-benchmem.txt");
    expect(reader).toBe("go-bench");
    expect(rows.map((r) => r.name)).toEqual([
      "BenchmarkFib20",
      "BenchmarkSha256/size=64",
      "BenchmarkSha256/size=4096",
      "BenchmarkAlloc",
    ]);
    expect(rows[0]).toMatchObject({ value: 31282, unit: "ns/op", samples: [31077, 31282, 47295] });
    expect(rows[1]!.metrics!["MB/s"]).toMatchObject({ value: 210.03, samples: [171.54, 223.03, 210.03] });
    expect(
      await read("go/go-bench-count3-benchmem.txt", { name: "BenchmarkAlloc", field: "allocs/op" }),
    ).toMatchObject({
      value: 1,
      unit: "allocs/op",
      direction: "smaller",
    });
    expect(
      await read("go/go-bench-count3-benchmem.txt", { name: "BenchmarkSha256/size=64", field: "MB/s" }),
    ).toMatchObject({
      direction: "bigger",
      directionRule: "unit MB/s is per time (a rate): bigger is better",
    });
    // GOMAXPROCS suffix and package-qualified names select the same benchmark.
    expect((await read("go/go-bench-count3-benchmem.txt", { name: "BenchmarkFib20-2" })).value).toBe(31282);
    // github-action-benchmark's fixture: two packages with the same benchmark names.
    await expect(
      read("gab/go_fiber_duplicate_names_output.txt", { name: "BenchmarkAppendMsgitem" }),
    ).rejects.toThrow(/2 benchmarks .* are named "BenchmarkAppendMsgitem"/);
    expect(
      (
        await read("gab/go_fiber_duplicate_names_output.txt", {
          name: "github.com/gofiber/fiber/v3/middleware/csrf.BenchmarkAppendMsgitem",
        })
      ).value,
    ).toBe(0.3733);
  });

  it("Rust libtest, Criterion's console, bencher output and cargo-criterion messages", async () => {
    expect(await rowsOf("gab/cargo_output.txt")).toMatchObject({
      reader: "rust-libtest",
      rows: [
        { name: "bench_fib_10", value: 135, unit: "ns/iter" },
        { name: "bench_fib_20", value: 18149, unit: "ns/iter" },
      ],
    });
    await expect(read("bencher/rust-bench-failed.txt", { name: "tests::benchmark_b" })).rejects.toThrow(
      /FAILED/,
    );
    expect(await read("gab/cargo_output_units.txt", { name: "cmov" })).toMatchObject({
      value: 2835,
      unit: "cycles/iter",
      direction: "smaller",
    });
    const crit = await rowsOf("bencher/rust-criterion-dogfood.txt");
    expect(crit.reader).toBe("criterion");
    // A long name stands on the line above "time:".
    expect(crit.rows.find((r) => r.name === "Adapter::Magic (JSON)")).toMatchObject({
      value: 3.4632,
      unit: "µs",
    });
    const msgs = await rowsOf("criterion/cargo-criterion-messages.jsonl");
    expect(msgs.reader).toBe("criterion");
    expect(msgs.rows[0]).toMatchObject({ name: "alu/add", value: 177.42910299985223, unit: "ns" });
    expect(msgs.rows[0]!.samples).toHaveLength(100);
    expect(msgs.rows[0]!.samples![0]).toBeCloseTo(1916 / 2, 9);
    expect(
      await read("criterion/cargo-criterion-messages.jsonl", { name: "alu/add", stat: "median" }),
    ).toMatchObject({
      value: 166.56140350877195,
    });
  });

  it("Criterion's estimates.json, named by the benchmark.json beside it or by its folder", async () => {
    // Constructed in the layout Criterion.rs documents (no estimates.json from a real run was
    // available to copy): point estimates in ns, slope null for flat sampling.
    const d = await mkdtemp(join(tmpdir(), "gpuci-criterion-"));
    const { mkdir } = await import("node:fs/promises");
    const est = (point: number) => ({
      confidence_interval: { confidence_level: 0.95, lower_bound: point * 0.9, upper_bound: point * 1.1 },
      point_estimate: point,
      standard_error: point / 100,
    });
    const doc = {
      mean: est(186.5),
      median: est(166.5),
      median_abs_dev: est(13.3),
      slope: null,
      std_dev: est(20),
    };
    await mkdir(join(d, "target/criterion/alu/add/new"), { recursive: true });
    await writeFile(join(d, "target/criterion/alu/add/new/estimates.json"), JSON.stringify(doc));
    const file = "target/criterion/alu/add/new/estimates.json";
    expect(await readMetric({ file, format: "criterion" } as never, d)).toMatchObject({
      name: "add",
      value: 186.5,
      unit: "ns",
    });
    await writeFile(
      join(d, "target/criterion/alu/add/new/benchmark.json"),
      JSON.stringify({ group_id: "alu", function_id: "add", full_id: "alu/add" }),
    );
    expect(await readMetric({ file, name: "alu/add", stat: "median" } as never, d)).toMatchObject({
      value: 166.5,
    });
  });

  it("Catch2: the XML reporter and the console table, units converted", async () => {
    expect(await read("catch2/catch2-v2.13.10.xml", { name: "fib 20" })).toMatchObject({
      value: 8250.62,
      unit: "ns",
    });
    const console2 = await read("catch2/catch2-v2.13.10-console.txt", { name: "fib 20" });
    expect(console2).toMatchObject({ value: 8.08001, unit: "us" });
    const v3 = await rowsOf("gab/catch2_output_v3.txt");
    expect(v3.rows.find((r) => r.name === "Fibonacci 20")).toMatchObject({
      value: 41.731,
      unit: "us",
      stats: { stddev: 3.256 },
    });
  });

  it("benchmark.js, JMH (mode decides direction), BenchmarkDotNet, vitest bench", async () => {
    expect(await read("gab/benchmarkjs_output.txt", { name: "fib(10)" })).toMatchObject({
      value: 1431759,
      unit: "ops/s",
      direction: "bigger",
    });
    expect(
      await read("gab/jmh_output_2.json", { name: "wellHelloThere:{paramA=17, paramB=33}" }),
    ).toMatchObject({
      unit: "ops/s",
      direction: "bigger",
      directionRule: "JMH mode thrpt is throughput: bigger is better",
    });
    const dotnet = await read("bencher/c_sharp-dot_net-memory.json", {
      name: "BenchmarkDotNet.Samples.Memory.AllocEmptyList",
      field: "allocated",
    });
    expect(dotnet).toMatchObject({ value: 368, unit: "B/op", direction: "smaller" });
    expect(await read("gab/benchmarkdotnet.json", { name: "Sample.Benchmarks.Fib10" })).toMatchObject({
      value: 24.419498533010483,
      unit: "ns",
    });
    expect(await read("vitest/vitest-4.1.12-bench.json", { name: "Float64Array sort" })).toMatchObject({
      value: 0.05117699999999559,
      unit: "ms",
    });
    expect(
      await read("vitest/vitest-4.1.12-bench.json", { name: "Float64Array sort", field: "hz" }),
    ).toMatchObject({
      unit: "ops/s",
      direction: "bigger",
    });
  });

  it("asv (dotted names, units from benchmarks.json), Julia, Bencher Metric Format", async () => {
    const asv = "asv/cheetah/05d283b9-py2.7-Cython-numpy1.8.json";
    expect(await read(asv, { name: "time_units.time_unit_parse" })).toMatchObject({
      value: 0.0004013819694519043,
      unit: "s",
    });
    // The unit is what asv's benchmarks.json beside the results declares (this one says seconds).
    expect(await read(asv, { name: "time_units.mem_unit" })).toMatchObject({ value: 728, unit: "s" });
    expect(await read("gab/julia_output.json", { name: "fib/20" })).toMatchObject({
      value: 31028,
      unit: "ns",
    });
    expect(await read("bencher/json-report_bmf_mixed.json", { name: "tests::benchmark_c" })).toMatchObject({
      value: 3361,
      unit: "ns",
    });
  });

  it("nvbench: states by benchmark and axis values, summaries by tag or short name, hint units", async () => {
    const file = "nvbench/test_ref.json";
    const { reader, rows } = await rowsOf(file);
    expect(reader).toBe("nvbench");
    expect(rows).toHaveLength(126);
    const gpu = await read(file, { name: "copy_sweep_grid_shape Device=0 BlockSize=2^6 NumBlocks=2^8" });
    expect(gpu).toMatchObject({ value: 0.0021650726464919703, unit: "s", direction: "smaller" });
    expect(
      await read(file, {
        name: "copy_sweep_grid_shape Device=0 BlockSize=2^6 NumBlocks=2^8",
        field: "bandwidth",
      }),
    ).toMatchObject({
      value: 247969005968.406,
      unit: "B/s",
      direction: "bigger",
    });
    expect(
      await read(file, {
        name: "copy_sweep_grid_shape Device=0 BlockSize=2^6 NumBlocks=2^8",
        field: "noise",
      }),
    ).toMatchObject({
      value: 0.003568770929248165,
      unit: "fraction",
      direction: "smaller",
    });
    // A glob over the axis values: one value each, or one aggregate.
    const each = await readMetrics(
      { file, name: "copy_sweep_grid_shape Device=0 BlockSize=2^6 *" } as never,
      F,
    );
    expect(each.map((v) => v.name)).toEqual([
      "copy_sweep_grid_shape Device=0 BlockSize=2^6 NumBlocks=2^6",
      "copy_sweep_grid_shape Device=0 BlockSize=2^6 NumBlocks=2^8",
      "copy_sweep_grid_shape Device=0 BlockSize=2^6 NumBlocks=2^10",
    ]);
    const mean = await read(file, { name: "copy_sweep_grid_shape Device=0 BlockSize=2^6 *", over: "mean" });
    expect(mean.value).toBeCloseTo(each.reduce((s, v) => s + v.value, 0) / 3, 15);
  });

  it("nvbench samples written with --jsonbin are read from the .bin beside the JSON", async () => {
    const d = await mkdtemp(join(tmpdir(), "gpuci-nvbin-"));
    // test_ref.json's first state, with a bulk-samples summary as nvbench --jsonbin writes it.
    const doc = JSON.parse(
      await (await import("node:fs/promises")).readFile(join(F, "nvbench/test_ref.json"), "utf8"),
    );
    const state = doc.benchmarks[0].states[0];
    state.summaries.push({
      tag: "nv/json/bin:nv/cold/sample_times",
      name: "Samples Times File",
      hint: "file/sample_times",
      data: [
        { name: "filename", type: "string", value: "result.json-bin/0.bin" },
        { name: "size", type: "int64", value: "4" },
      ],
    });
    doc.benchmarks = [doc.benchmarks[0]];
    await writeFile(join(d, "result.json"), JSON.stringify(doc));
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(d, "result.json-bin"));
    const bin = Buffer.alloc(16);
    for (const [i, x] of [0.001, 0.0011, 0.0009, 0.00105].entries()) bin.writeFloatLE(x, i * 4);
    await writeFile(join(d, "result.json-bin/0.bin"), bin);
    const v = await readMetric({ file: "result.json", name: "simple Device=0", stat: "median" } as never, d);
    expect(v.samples).toHaveLength(4);
    expect(v.value).toBeCloseTo(0.001025, 6);
  });

  it("lm-evaluation-harness: direction from higher_is_better, N/A never read as a number", async () => {
    const file = "lm-eval/cpu_group_regression_expected.json";
    expect(await read(file, { name: "arc_easy", field: "acc,none" })).toMatchObject({
      value: 0.3,
      direction: "bigger",
      directionRule: "lm-eval higher_is_better.arc_easy.acc is true",
    });
    await expect(read(file, { name: "arc_easy", field: "acc_stderr,none" })).rejects.toThrow(
      /has no field "acc_stderr,none"/,
    );
    await expect(read(file, { name: "arc_easy" })).rejects.toThrow(
      /has 2 metrics: choose one with metric\.field/,
    );
    expect(await read("lm-eval/arc_easy-v0-res.json", { name: "arc_easy", field: "acc" })).toMatchObject({
      value: 0.2474747474747475,
    });
  });

  it("MLPerf LoadGen detail log: result keys with units, validity enforced", async () => {
    const file = "mlperf/mlperf_log_detail.txt";
    expect(await read(file, { name: "result_samples_per_second" })).toMatchObject({
      value: 0.165037,
      unit: "samples/s",
      direction: "bigger",
    });
    expect(await read(file, { name: "result_90.00_percentile_latency_ns" })).toMatchObject({
      value: 60592566749,
      unit: "ns",
      direction: "smaller",
    });
    const d = await mkdtemp(join(tmpdir(), "gpuci-mlperf-"));
    const text = (await (await import("node:fs/promises")).readFile(join(F, file), "utf8")).replace(
      '"key": "result_validity", "value": "VALID"',
      '"key": "result_validity", "value": "INVALID"',
    );
    await writeFile(join(d, "log.txt"), text);
    await expect(
      readMetric({ file: "log.txt", name: "result_samples_per_second" } as never, d),
    ).rejects.toThrow(/LoadGen marked the run INVALID/);
  });

  it("Nsight Compute CSV: details and raw pages, launches as samples, either decimal mark", async () => {
    const d = await mkdtemp(join(tmpdir(), "gpuci-ncu-"));
    // The layout ncu --csv prints (header and quoting as documented); values constructed.
    const header =
      '"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit","Metric Value"';
    const row = (id: number, kernel: string, metric: string, unit: string, value: string) =>
      `"${id}","4242","python3","host","${kernel}","1","7","(256, 1, 1)","(1024, 1, 1)","0","9.0","GPU Speed Of Light Throughput","${metric}","${unit}","${value}"`;
    await writeFile(
      join(d, "ncu.csv"),
      [
        "==PROF== Connected to process 4242 (/usr/bin/python3)",
        header,
        row(0, "void gemm<128>(float *)", "Duration", "usecond", "1,234.50"),
        row(0, "void gemm<128>(float *)", "DRAM Throughput", "%", "81.20"),
        row(1, "void gemm<128>(float *)", "Duration", "usecond", "1,240.10"),
        row(1, "void gemm<128>(float *)", "DRAM Throughput", "%", "80.90"),
        row(2, "void gemm<128>(float *)", "Duration", "usecond", "1,229.00"),
        row(2, "void gemm<128>(float *)", "DRAM Throughput", "%", "81.00"),
        "==PROF== Disconnected from process 4242",
      ].join("\n"),
    );
    const v = await readMetric({ file: "ncu.csv", name: "void gemm<128>(float *)" } as never, d);
    expect(v).toMatchObject({
      value: 1234.5,
      unit: "usecond",
      samples: [1234.5, 1240.1, 1229],
      direction: "smaller",
    });
    const eu = (await (await import("node:fs/promises")).readFile(join(d, "ncu.csv"), "utf8"))
      .replaceAll("1,234.50", "1.234,50")
      .replaceAll("1,240.10", "1.240,10")
      .replaceAll("1,229.00", "1.229,00")
      .replaceAll("81.20", "81,20")
      .replaceAll("80.90", "80,90")
      .replaceAll("81.00", "81,00");
    await writeFile(join(d, "eu.csv"), eu);
    expect((await readMetric({ file: "eu.csv", name: "void gemm<128>(float *)" } as never, d)).value).toBe(
      1234.5,
    );
    await writeFile(join(d, "mixed.csv"), eu.replace("1.240,10", "1,240.10"));
    await expect(
      readMetric({ file: "mixed.csv", name: "void gemm<128>(float *)" } as never, d),
    ).rejects.toThrow(/different decimal mark/);
  });

  it("pytest-benchmark, hyperfine and github-action-benchmark files from their repositories", async () => {
    // github-action-benchmark's pytest fixture was shortened by hand ("... omitted"): refused, not misread.
    await expect(read("gab/pytest_output.json", { name: "test_fib_10" })).rejects.toThrow(
      /stats\.data\[4\] is "\.\.\. omitted to keep this file small", not a number/,
    );
    expect(await read("bencher/shell-hyperfine-two.json", { name: "sleep 0.1" })).toMatchObject({
      value: 0.10652535172000001,
      unit: "s",
    });
    expect(
      await read("gab/customBiggerIsBetter_output.json", {
        format: "customBiggerIsBetter",
        name: "My Custom Bigger Is Better Benchmark - Free Memory",
      }),
    ).toMatchObject({
      value: 150,
      unit: "Megabytes",
      direction: "bigger",
      directionRule: "github-action-benchmark tool customBiggerIsBetter: bigger is better",
    });
  });
});

describe("selection, sniffing and paths", () => {
  it("names: exact by default, globs and /regex/ select several, a leading = is exact", async () => {
    const file = "google-benchmark/test1_run1.json";
    const faster = await readMetrics({ file, name: "*Faster" } as never, F);
    expect(faster.map((v) => v.name)).toEqual([
      "BM_2xFaster",
      "BM_1PercentFaster",
      "BM_10PercentFaster",
      "BM_100xFaster",
      "BM_ThirdFaster",
    ]);
    expect((await readMetrics({ file, name: "/^BM_\\d+PercentFaster$/" } as never, F)).length).toBe(2);
    await expect(read(file, { name: "*Faster" })).rejects.toThrow(
      /metric\.name \*Faster matches 5 benchmarks/,
    );
    // hyperfine's "sleep 0.1" is not selected by "1", nor a pytest parameter by "]".
    await expect(read("bencher/shell-hyperfine-two.json", { name: "1" })).rejects.toThrow(
      /no benchmark named "1"/,
    );
  });

  it("content decides the reader, says why, and names the closest formats when none fits", async () => {
    const d = await mkdtemp(join(tmpdir(), "gpuci-sniff-"));
    // A BOM and CRLF line ends are read (Windows tools write both).
    const gb = await (await import("node:fs/promises")).readFile(
      join(F, "google-benchmark/test1_run1.json"),
      "utf8",
    );
    await writeFile(join(d, "bom.json"), `\ufeff${gb.replace(/\n/g, "\r\n")}`);
    expect(await readMetric({ file: "bom.json", name: "BM_SameTimes" } as never, d)).toMatchObject({
      value: 10,
      format:
        "google-benchmark (recognised: context.num_cpus/library_build_type and benchmarks[] (Google Benchmark))",
    });
    await writeFile(join(d, "odd.json"), JSON.stringify({ totally: 1, unknown: [2] }));
    await expect(readMetric({ file: "odd.json" } as never, d)).rejects.toThrow(
      /no format reader accepts odd\.json: it is a JSON object with keys totally, unknown/,
    );
    try {
      await readMetric({ file: "odd.json" } as never, d);
    } catch (error) {
      expect((error as { remedy: string }).remedy).toMatch(
        /Set metric\.format .* or read a plain value with metric\.path/,
      );
    }
    await copyFile(join(F, "gab/benchmarkjs_output.txt"), join(d, "bench.log"));
    expect((await readMetric({ file: "bench.log", name: "fib(20)" } as never, d)).format).toMatch(
      /^benchmarkjs/,
    );
  });

  it("paths reach keys with dots, colons and brackets", async () => {
    const d = await mkdtemp(join(tmpdir(), "gpuci-path-"));
    await writeFile(
      join(d, "r.json"),
      JSON.stringify({
        results: { "time_units.time_unit_parse": 0.0004, "tests::bench_x": { latency: 7 }, "a]b": 3 },
      }),
    );
    const at = (path: string) => readMetric({ file: "r.json", path } as never, d);
    expect((await at('results["time_units.time_unit_parse"]')).value).toBe(0.0004);
    expect((await at("results['tests::bench_x'].latency")).value).toBe(7);
    expect((await at('results["a]b"]')).value).toBe(3);
    await expect(at("results.length")).rejects.toThrow(/has no "results\.length"/);
    await expect(at('results["unterminated')).rejects.toThrow(/cannot be read: a quoted key/);
  });

  it("a streamed JSON reader keeps only what it picks, across chunk boundaries", async () => {
    const d = await mkdtemp(join(tmpdir(), "gpuci-stream-"));
    const doc = {
      a: 1,
      benchmarks: [
        { name: "x", states: [{ s: 1, d: [1, 2, { q: 'a"b' }] }, { s: 2 }] },
        { name: "y", states: [] },
      ],
    };
    await writeFile(join(d, "s.json"), `\ufeff${JSON.stringify(doc)}`);
    const got: unknown[] = [];
    await streamJson(join(d, "s.json"), "s.json", {
      chunkBytes: 7,
      pick: (p) => (p.length === 3 && p[2] === "name") || (p.length === 4 && p[2] === "states"),
      onValue: (p, v) => got.push([p.join("."), v]),
    });
    expect(got).toEqual([
      ["benchmarks.0.name", "x"],
      ["benchmarks.0.states.0", { s: 1, d: [1, 2, { q: 'a"b' }] }],
      ["benchmarks.0.states.1", { s: 2 }],
      ["benchmarks.1.name", "y"],
    ]);
    await writeFile(join(d, "t.json"), JSON.stringify(doc).slice(0, -3));
    await expect(
      streamJson(join(d, "t.json"), "t.json", { pick: () => false, onValue: () => {} }),
    ).rejects.toThrow(/not valid JSON .*ends before its last bracket closes/);
  });

  it("every format has a title, a way to produce it and peers' support for the README table", () => {
    for (const f of FORMATS) {
      expect(f.title.length, f.id).toBeGreaterThan(3);
      expect(f.produce.length, f.id).toBeGreaterThan(3);
      expect(f.url, f.id).toMatch(/^https:\/\//);
    }
  });
});

describe("units in comparisons and thresholds", () => {
  it("a base in seconds and a head in nanoseconds compare as times, not as numbers", async () => {
    const { section } = await evaluateGates(
      [
        {
          id: "unit",
          metric: { file: "google-benchmark/test1_run2.json", name: "BM_DifferentTimeUnit" },
          baseline: { file: "google-benchmark/test1_run1.json", minSamples: 1 },
        },
      ],
      { baseDir: F },
    );
    const f = section.findings[0]!;
    // 1 s → 1 ns: a billion times faster, never "1 ns → 1 ns +0.0 %".
    expect((f.data as { base: { value: number } }).base.value).toBe(1e9);
    expect((f.data as { ratio: number }).ratio).toBeCloseTo(1e-9, 15);
  });

  it("thresholds with units convert; a bare one is in the metric's unit and says so", async () => {
    const gate = (extra: Record<string, unknown>) => ({
      id: "t",
      metric: { file: "google-benchmark/test1_run1.json", name: "BM_100xFaster" }, // 10000 ns
      ...extra,
    });
    const at = async (extra: Record<string, unknown>) =>
      (await evaluateGates([gate(extra)], { baseDir: F })).section.findings[0]!;
    expect(await at({ max: "20us" })).toMatchObject({
      status: "pass",
      summary: expect.stringMatching(/^10 µs \(≤ 20 µs\)/),
    });
    expect(await at({ max: "5 µs" })).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/^10 µs is not ≤ 5 µs/),
    });
    expect(await at({ max: 20000 })).toMatchObject({
      status: "pass",
      summary: expect.stringMatching(
        /^10 µs \(≤ 20 µs; a bare threshold is in ns, the unit the metric reports\)/,
      ),
    });
    expect(await at({ max: "2 GB/s" })).toMatchObject({
      status: "error",
      summary: expect.stringMatching(
        /max is 2 GB\/s, but the metric is in ns: .*"GB\/s" is a rate .* "ns" is a time/,
      ),
    });
  });
});
