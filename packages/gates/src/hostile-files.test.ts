// Files that look like benchmark output but say something a reader must not pass on: each is a
// gate `error` with the reason, never a pass and never a raw TypeError.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateGates, type Gate } from "./index.js";

async function gateOn(files: Record<string, string | Buffer>, gate: Partial<Gate>) {
  const dir = await mkdtemp(join(tmpdir(), "gpuci-hostile-"));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  const { section } = await evaluateGates([{ id: "g", ...gate } as Gate], { baseDir: dir });
  return section.findings.find((f) => f.id === "gate.g")!;
}

/** A numpy .npy (format 1.0) whose header says `shape`, followed by `values` as float64. */
function npy(shape: string, values: number[]): Buffer {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shape}, }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => {
    data.writeDoubleLE(v, i * 8);
  });
  return Buffer.concat([head, Buffer.from(header, "latin1"), data]);
}

describe("readers refuse what a benchmark file cannot mean", () => {
  it.each(["v.length", "v.constructor", "__proto__", "v[length]", "toString"])(
    "path: %s names a JavaScript property, not a field of the file: missing",
    async (path) => {
      const f = await gateOn(
        { "m.json": JSON.stringify({ v: [1, 2, 3] }) },
        { metric: { file: "m.json", path }, max: 10 },
      );
      expect(f.status).toBe("error");
      expect(f.summary).toMatch(/has no "/);
    },
  );

  it("a nested JUnit suite: the outer says 0 failures, the inner holds 2 — refused, not read as 0", async () => {
    const xml = `<testsuites><testsuite name="outer" tests="3" failures="0" errors="0">
  <testsuite name="inner" tests="3" failures="2" errors="0">
    <testcase name="a"><failure message="x"/></testcase><testcase name="b"><failure message="y"/></testcase><testcase name="c"/>
  </testsuite></testsuite></testsuites>`;
    const f = await gateOn({ "t.xml": xml }, { metric: { file: "t.xml", field: "failures" }, max: 0 });
    expect(f.status).toBe("error");
    expect(f.summary).toMatch(/suite outer says failures="0", but the suites inside it hold 2/);
  });

  it("a negative Google Benchmark time is refused", async () => {
    const doc = {
      benchmarks: [
        { name: "BM_x", run_name: "BM_x", run_type: "iteration", real_time: -5, time_unit: "ns" },
        { name: "BM_x", run_name: "BM_x", run_type: "iteration", real_time: 10, time_unit: "ns" },
      ],
    };
    const f = await gateOn(
      { "g.json": JSON.stringify(doc) },
      { metric: { file: "g.json", format: "google-benchmark" }, max: 100 },
    );
    expect(f.status).toBe("error");
    expect(f.summary).toMatch(/BM_x real_time is -5, a negative measurement/);
  });

  it.each([
    ["google-benchmark", { benchmarks: [null, { name: "BM_x", run_type: "iteration", real_time: 1 }] }],
    ["pytest-benchmark", { benchmarks: [null, { name: "t", fullname: "t", stats: { median: 1 } }] }],
  ] as const)("%s with benchmarks: [null, …] says which entry, not a TypeError", async (format, doc) => {
    const f = await gateOn(
      { "b.json": JSON.stringify(doc) },
      { metric: { file: "b.json", format }, max: 100 },
    );
    expect(f.status).toBe("error");
    expect(f.summary).toMatch(/benchmarks\[0\] is null, not a benchmark object/);
    expect(f.summary).not.toMatch(/TypeError|Cannot read/);
  });

  it("a ragged parity array ([[1, 2], [3], [4, 5, 6]]) is refused even when its count matches", async () => {
    const f = await gateOn(
      {
        "a.json": JSON.stringify([[1, 2], [3], [4, 5, 6]]),
        "b.json": JSON.stringify([
          [1, 2],
          [3, 4],
          [5, 6],
        ]),
      },
      { parity: { a: { file: "a.json" }, b: { file: "b.json" }, maxDrift: 1 } },
    );
    expect(f.status).toBe("error");
    expect(f.summary).toMatch(
      /a\.json is a ragged array: at depth 2 a list has 1 elements where the first has 2/,
    );
  });

  it.each(["(-2, -2)", "(1.5,)", "(4, x)"])(
    ".npy with shape %s is refused with the reason",
    async (shape) => {
      const f = await gateOn(
        { "a.npy": npy(shape, [1, 2, 3, 4]), "b.npy": npy("(4,)", [1, 2, 3, 4]) },
        { parity: { a: { file: "a.npy" }, b: { file: "b.npy" }, maxDrift: 1 } },
      );
      expect(f.status).toBe("error");
      expect(f.summary).toMatch(/a\.npy has shape .*is not a count/);
    },
  );
});
