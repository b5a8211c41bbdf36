// The fuzz suite: generated configs, metric files of every format and reports, through the real
// CLI and the real renderers. It asserts the promises a user relies on: an exit code in {0, 1, 2},
// never "internal error", never a pass on a value gpuci could not read, never a planted secret in
// anything gpuci writes. Seeds are printed on failure by fast-check; re-run one with
// FUZZ_SEED=<seed>.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluateGates, type Gate, type METRIC_FORMATS } from "@gpuci/gates";
import {
  createReport,
  createSection,
  type Finding,
  mermaidTrend,
  renderComment,
  renderSummary,
  renderText,
} from "@gpuci/report";
import fc from "fast-check";
import { Window } from "happy-dom";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const bin = join(root, "packages/cli/dist/bin.js");
const seed = process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {};

/** Run the built CLI; resolves with its exit code and output (never rejects). */
function gpuci(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => {
      stdout += b;
    });
    child.stderr.on("data", (b) => {
      stderr += b;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// ---- generated configs ---------------------------------------------------------------------

const KEYS = [
  ...["preflight", "run", "gates", "ab", "provenance", "cost", "kernels", "history", "comment"],
  ...["id", "metric", "file", "field", "column", "path", "stat", "format", "max", "min", "range", "equals"],
  ...["where", "matches", "invalid", "baseline", "parity", "a", "b", "after", "severity", "allowNaN"],
  ...["name", "command", "timeoutMinutes", "budget", "rate", "gpu", "files", "artifacts", "store"],
  ...["maxRegression", "alpha", "rounds", "metrics", "shapes", "n", "kernel", "dtypes", "keep"],
];
/** Text without a path separator: a generated config never names a file outside its folder. */
const safeText = fc.string({ maxLength: 24 }).map((s) => s.replaceAll("/", "_").replaceAll("\\", "_"));
const scalar = fc.oneof(
  safeText,
  fc.constantFrom(
    ...["m.jsonl", "m.csv", "m.json", "max", "p95", "rate", "jsonl", "junit", "5%", "!!js/function", "*a"],
    ...["^(a+)+$", "(", "NaN", ".inf", "-.inf", "~", "null", "yes", "0x10", "1e400"],
  ),
  fc.double(),
  fc.integer(),
  fc.constantFrom(1e300, -1, 0, 2 ** 31, 50_000, 200_000_000),
  fc.boolean(),
  fc.constant(null),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("node"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie("node"), { maxKeys: 4 }),
  ),
})).node;
/** A config: a gpuci-shaped tree serialised by `yaml`, sometimes cut or spliced like a bad edit. */
const configText = fc
  .tuple(
    fc.dictionary(fc.constantFrom("gates", "history", "comment", "cost", "preflight", ...KEYS), value, {
      maxKeys: 4,
    }),
    fc.oneof(fc.constant<"as-is">("as-is"), fc.constant<"cut">("cut"), fc.constant<"splice">("splice")),
    fc.nat(),
    fc.string({ maxLength: 12 }),
  )
  .map(([doc, how, at, noise]) => {
    const text = stringify(doc);
    if (how === "cut") return text.slice(0, at % (text.length + 1));
    if (how === "splice") {
      const i = at % (text.length + 1);
      return text.slice(0, i) + noise + text.slice(i);
    }
    return text;
  });

// ---- metric files with garbage where the number should be -----------------------------------

/** Values that are not numbers; a gate reading one of these must never pass. */
const garbage = fc.constantFrom<unknown>(null, "", [], "1000", "1,250", {}, [1, "a"], "loss went NaN here");

interface MetricCase {
  name: string;
  format: (typeof METRIC_FORMATS)[number];
  file: string;
  content: string;
  metric: Gate["metric"];
}

const metricCase: fc.Arbitrary<MetricCase> = fc.oneof(
  fc
    .tuple(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 5 }), garbage, fc.nat())
    .map(([good, bad, at]) => {
      const rows = good.map((v) => JSON.stringify({ step: 1, loss: v }));
      rows.splice(at % (rows.length + 1), 0, JSON.stringify({ step: 2, loss: bad }));
      return {
        name: "jsonl with a non-number",
        format: "jsonl" as const,
        file: "m.jsonl",
        content: rows.join("\n"),
        metric: { file: "m.jsonl", field: "loss", stat: "max" as const },
      };
    }),
  fc
    .tuple(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 5 }), fc.nat(1000))
    .map(([good, cut]) => {
      const text = good.map((v) => `{"loss":${v}}`).join("\n");
      // Cut inside the last line (never at its end): the line a crashed writer leaves.
      const lastStart = text.lastIndexOf("\n") + 1;
      const end = lastStart + 1 + (cut % (text.length - lastStart - 1));
      return {
        name: "jsonl cut mid-line",
        format: "jsonl" as const,
        file: "m.jsonl",
        content: text.slice(0, end),
        metric: { file: "m.jsonl", field: "loss", stat: "max" as const },
      };
    }),
  fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 5 }),
      fc.constantFrom("", "NA", "1,250", "1_000", "0x10", "abc", '"12'),
      fc.nat(),
    )
    .map(([good, bad, at]) => {
      const rows = good.map((v) => `r,${v}`);
      rows.splice(
        at % (rows.length + 1),
        0,
        `r,${bad.includes(",") && !bad.startsWith('"') ? `"${bad}"` : bad}`,
      );
      return {
        name: "csv with a non-number",
        format: "csv" as const,
        file: "m.csv",
        content: `name,latency_ms\n${rows.join("\n")}\n`,
        metric: { file: "m.csv", column: "latency_ms", stat: "max" as const },
      };
    }),
  garbage.map((bad) => ({
    name: "json with a non-number",
    format: "json" as const,
    file: "m.json",
    content: JSON.stringify({ results: { loss: bad } }),
    metric: { file: "m.json", path: "results.loss" },
  })),
  fc.tuple(garbage, fc.constantFrom("median", "mean", "min")).map(([bad, key]) => ({
    name: "pytest-benchmark with a non-number",
    format: "pytest-benchmark" as const,
    file: "b.json",
    content: JSON.stringify({
      benchmarks: [{ name: "t", fullname: "t", stats: { [key]: bad, data: [1, 2] } }],
    }),
    metric: { file: "b.json", format: "pytest-benchmark" as const, stat: key as "median" },
  })),
  garbage.map((bad) => ({
    name: "google-benchmark with a non-number",
    format: "google-benchmark" as const,
    file: "g.json",
    content: JSON.stringify({
      benchmarks: [{ name: "BM_x", run_name: "BM_x", run_type: "iteration", real_time: bad }],
    }),
    metric: { file: "g.json", format: "google-benchmark" as const },
  })),
  garbage.map((bad) => ({
    name: "hyperfine with a non-number",
    format: "hyperfine" as const,
    file: "h.json",
    content: JSON.stringify({ results: [{ command: "x", times: [0.1, bad] }] }),
    metric: { file: "h.json", format: "hyperfine" as const, stat: "mean" as const },
  })),
  fc.constantFrom("", "-1", "1.5", "x", "1e3").map((bad) => ({
    name: "junit with a count that is not one",
    format: "junit" as const,
    file: "t.xml",
    content: `<testsuites><testsuite name="s" tests="3" failures="${bad}" errors="0"/></testsuites>`,
    metric: { file: "t.xml", field: "failures" },
  })),
  fc
    .constantFrom("length", "constructor", "__proto__", "toString", "hasOwnProperty", "valueOf")
    .map((prop) => ({
      name: "a path naming a JavaScript property",
      format: "json" as const,
      file: "m.json",
      content: JSON.stringify({ v: [1, 2, 3], o: { a: 1 } }),
      metric: { file: "m.json", path: `${prop === "length" ? "v" : "o"}.${prop}` },
    })),
  fc.tuple(fc.nat(5), fc.integer({ min: 1, max: 5 })).map(([outer, extra]) => ({
    name: "a nested junit suite whose outer count is below its inner ones",
    format: "junit" as const,
    file: "t.xml",
    content: `<testsuites><testsuite name="o" tests="9" failures="${outer}"><testsuite name="i" tests="9" failures="${outer + extra}"/></testsuite></testsuites>`,
    metric: { file: "t.xml", field: "failures" },
  })),
  fc.double({ max: -Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }).map((t) => ({
    name: "a negative google-benchmark time",
    format: "google-benchmark" as const,
    file: "g.json",
    content: JSON.stringify({
      benchmarks: [{ name: "BM_x", run_name: "BM_x", run_type: "iteration", real_time: t }],
    }),
    metric: { file: "g.json", format: "google-benchmark" as const },
  })),
  fc
    .tuple(
      fc.constantFrom("google-benchmark" as const, "pytest-benchmark" as const),
      fc.constantFrom<unknown>(null, 1, "x", []),
      fc.nat(2),
    )
    .map(([format, bad, at]) => {
      const good =
        format === "google-benchmark"
          ? { name: "BM_x", run_name: "BM_x", run_type: "iteration", real_time: 1 }
          : { name: "t", fullname: "t", stats: { median: 1 } };
      const list: unknown[] = [good, good];
      list.splice(at, 0, bad);
      return {
        name: "benchmarks with an entry that is not an object",
        format,
        file: "b.json",
        content: JSON.stringify({ benchmarks: list }),
        metric: { file: "b.json", format },
      };
    }),
  fc
    .tuple(fc.constantFrom("m.jsonl", "m.json", "b.json", "t.xml"), fc.uint8Array({ maxLength: 300 }))
    .map(([file, bytes]) => ({
      name: "random bytes",
      format: "json" as const,
      file,
      content: Buffer.from(bytes).toString("latin1"),
      metric:
        file === "m.jsonl"
          ? { file, field: "loss", stat: "max" as const }
          : file === "b.json"
            ? { file, format: "pytest-benchmark" as const }
            : file === "t.xml"
              ? { file, field: "failures" }
              : { file, path: "results.loss" },
    })),
);

// ---- reports with planted secrets -----------------------------------------------------------

const SECRET = `s3cr3t-${"Zq7".repeat(8)}`;

describe("fuzz: gpuci under generated input", () => {
  it("is built (run `npm run build` first)", () => {
    expect(existsSync(bin)).toBe(true);
  });

  it("any config: exit code 0, 1 or 2, never an internal error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-fuzz-config-"));
    await fc.assert(
      fc.asyncProperty(configText, async (text) => {
        await writeFile(join(dir, "gpuci.yml"), text);
        const r = await gpuci(["gates", "-c", "gpuci.yml", "--json"], dir);
        expect(r.stderr).not.toMatch(/internal error/);
        expect([0, 1, 2]).toContain(r.code);
      }),
      { numRuns: 40, ...seed },
    );
  }, 180_000);

  it("every metric format: a value gpuci cannot read never passes a gate, and nothing throws", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-fuzz-metric-"));
    await fc.assert(
      fc.asyncProperty(metricCase, async (c) => {
        await writeFile(join(dir, c.file), c.content);
        // Thresholds every real number meets: only reading garbage can fail them... or pass them.
        const gates = [{ id: "g", metric: c.metric, min: -1e300, max: 1e300 }] as Gate[];
        const { section } = await evaluateGates(gates, { baseDir: dir });
        const finding = section.findings.find((f) => f.id === "gate.g")!;
        expect(finding.status, `${c.name}: ${JSON.stringify(c.content).slice(0, 200)}`).not.toBe("pass");
      }),
      { numRuns: 300, ...seed },
    );
  }, 180_000);

  it("any report: a planted secret never reaches the comment, the summary or the terminal", () => {
    process.env.FUZZ_PLANTED_TOKEN = SECRET;
    try {
      const text = fc
        .tuple(fc.string({ maxLength: 40 }), fc.boolean(), fc.string({ maxLength: 40 }))
        .map(([a, plant, b]) => (plant ? `${a}${SECRET}${b}` : `${a}${b}`));
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              title: text,
              summary: text,
              remedy: text,
              details: text,
              status: fc.constantFrom("pass", "warn", "fail", "error", "skip" as const),
            }),
            { minLength: 1, maxLength: 20 },
          ),
          text,
          (findings, runner) => {
            const report = createReport({
              startedAt: "2026-11-30T10:00:00.000Z",
              finishedAt: "2026-11-30T10:00:01.000Z",
              tool: { name: "gpuci", version: "0.0.0" },
              runner: { key: runner },
              sections: [
                createSection(
                  "s",
                  "S",
                  findings.map((f, i): Finding => ({ id: `f${i}`, ...f, data: { argv: ["x", f.summary] } })),
                  1,
                ),
              ],
            });
            for (const out of [
              renderComment(report),
              renderSummary(report),
              renderText(report, { color: false }),
            ])
              expect(out).not.toContain(SECRET);
          },
        ),
        { numRuns: 200, ...seed },
      );
    } finally {
      delete process.env.FUZZ_PLANTED_TOKEN;
    }
  });

  it("end to end: a command that writes garbage and prints a secret fails, and no file holds the secret", async () => {
    const lines = fc
      .tuple(fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 4 }), garbage, fc.nat())
      .map(([good, bad, at]) => {
        const rows = good.map((v) => JSON.stringify({ loss: v }));
        rows.splice(at % (rows.length + 1), 0, JSON.stringify({ loss: bad }));
        return rows.join("\n");
      });
    await fc.assert(
      fc.asyncProperty(lines, async (content) => {
        const dir = await mkdtemp(join(tmpdir(), "gpuci-fuzz-e2e-"));
        await writeFile(
          join(dir, "gpuci.yml"),
          stringify({
            run: [
              {
                name: "writer",
                // The garbage comes in through a variable: generated text is never run as code.
                command: `printf '%s' "$FUZZ_GARBAGE" > m.jsonl; echo "using $FUZZ_API_TOKEN"; echo "--password=$FUZZ_API_TOKEN" >&2`,
              },
            ],
            gates: [{ id: "loss", metric: { file: "m.jsonl", field: "loss", stat: "max" }, max: 100 }],
          }),
        );
        const r = await gpuci(["run", "-c", "gpuci.yml", "--out", "out"], dir, {
          FUZZ_GARBAGE: content,
          FUZZ_API_TOKEN: SECRET,
        });
        expect(r.stderr).not.toMatch(/internal error/);
        expect(r.code).toBe(1);
        expect(r.stdout + r.stderr).not.toContain(SECRET);
        for (const name of await readdir(join(dir, "out"), { recursive: true })) {
          const path = join(dir, "out", name);
          if ((await stat(path)).isFile()) expect(await readFile(path, "utf8"), name).not.toContain(SECRET);
        }
      }),
      { numRuns: 8, ...seed },
    );
  }, 180_000);

  // ---- the classes of #24: configs, parity files, reports, untrusted text, encoded secrets ----

  it("any config with a hostile number, deep nesting, __proto__, bad UTF-8, an empty program or an inverted bound: exit 2 with a located message", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-fuzz-hostile-config-"));
    const hostile = fc.oneof(
      fc
        .tuple(
          fc.constantFrom("1e400", "-1e400", "1e-400", "-2e-999", ".inf", "-.inf", ".nan", ".NaN"),
          fc.constantFrom("max", "min", "equals"),
        )
        .map(([n, key]) => `gates:\n  - { id: g, metric: { file: m.json, path: v }, ${key}: ${n} }\n`),
      fc
        .tuple(fc.integer({ min: 65, max: 20_000 }), fc.boolean())
        .map(([depth, flow]) =>
          flow
            ? `history: ${"[".repeat(depth)}${"]".repeat(depth)}\n`
            : `history:\n${Array.from({ length: depth }, (_, i) => `${"  ".repeat(i + 1)}- `).join("\n")}x\n`,
        ),
      fc.constantFrom(
        "run:\n  - { name: a, command: env, env: { __proto__: x } }\n",
        "gates:\n  - { id: g, __proto__: { max: 1 }, metric: { file: m.json, path: v }, max: 1 }\n",
        'run:\n  - { name: a, command: [""] }\n',
        'run:\n  - { name: a, command: ["  ", "x"] }\n',
        'ab:\n  command: [""]\n  metrics: [{ id: t, file: "{out}/t.json", path: t }]\n',
        'run:\n  - { name: a, command: env, env: { "A=B": x } }\n',
        "gates:\n  - { id: g, metric: { file: m.json, path: v }, range: [5, 1] }\n",
        "gates:\n  - { id: g, metric: { file: m.json, path: v }, min: 3, max: 2 }\n",
        "ab:\n  command: x\n  metrics: [{ id: t, file: '{out}/t.json', path: t }]\n  rounds: { min: 2, max: 3 }\n",
      ),
      fc.tuple(fc.integer({ min: 0x80, max: 0xff }), fc.nat(40)).map(([byte, at]) => {
        const text = Buffer.from(
          "gates:\n  - { id: g, title: 'a title', metric: { file: m.json, path: v }, max: 1 }\n",
        );
        const i = 20 + (at % 10);
        return Buffer.concat([text.subarray(0, i), Buffer.from([byte]), text.subarray(i)]);
      }),
    );
    await fc.assert(
      fc.asyncProperty(hostile, async (text) => {
        await writeFile(join(dir, "gpuci.yml"), text);
        const r = await gpuci(["run", "-c", "gpuci.yml", "--out", "out"], dir);
        expect(r.stderr).not.toMatch(/internal error|Maximum call stack/);
        // A lone byte may complete a valid UTF-8 sequence with its neighbour only by chance:
        // whatever the file says, it is refused with where.
        expect(r.code, `${r.stderr}\n${String(text).slice(0, 200)}`).toBe(2);
        expect(r.stderr).toMatch(/gpuci\.yml(:\d+:\d+)? /);
      }),
      { numRuns: 30, ...seed },
    );
  }, 180_000);

  it("parity files gpuci cannot read as arrays (ragged lists, .npy shapes that are not counts) never pass", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-fuzz-parity-"));
    const npy = (shape: string, n: number) => {
      let header = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shape}, }`;
      header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
      const head = Buffer.alloc(10);
      head.write("\x93NUMPY", 0, "latin1");
      head[6] = 1;
      head.writeUInt16LE(header.length, 8);
      return Buffer.concat([head, Buffer.from(header, "latin1"), Buffer.alloc(n * 8)]);
    };
    const bad = fc.oneof(
      fc
        .array(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 4 }), {
          minLength: 2,
          maxLength: 4,
        })
        .filter((rows) => rows.some((r) => r.length !== rows[0]!.length))
        .map((rows) => ({ file: "a.json", content: Buffer.from(JSON.stringify(rows)) })),
      fc
        .tuple(
          fc.constantFrom("(-2, -2)", "(1.5,)", "(-1,)", "(2, 2.0)", "(x,)", "(1e3,)", "(, 4)"),
          fc.nat(8),
        )
        .map(([shape, n]) => ({ file: "a.npy", content: npy(shape, n) })),
    );
    await fc.assert(
      fc.asyncProperty(bad, async ({ file, content }) => {
        await writeFile(join(dir, file), content);
        await writeFile(
          join(dir, "b.json"),
          JSON.stringify([
            [0, 0],
            [0, 0],
          ]),
        );
        const gates = [
          { id: "p", parity: { a: { file }, b: { file: "b.json" }, maxDrift: 1e300 } },
        ] as Gate[];
        const { section } = await evaluateGates(gates, { baseDir: dir });
        const f = section.findings.find((x) => x.id === "gate.p")!;
        expect(f.status, `${file}: ${content.toString("latin1").slice(0, 120)}`).toBe("error");
      }),
      { numRuns: 60, ...seed },
    );
  });

  it("any report, however deeply nested its data: gpuci render exits 0 or 2, never a crash", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-fuzz-deep-"));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 200_000 }),
        fc.constantFrom("[", '{"a":'),
        async (depth, open) => {
          const close = open === "[" ? "]" : "}";
          const data = `${open.repeat(depth)}1${close.repeat(depth)}`;
          await writeFile(
            join(dir, "report.json"),
            `{"schema":"gpuci.report/v1","status":"fail","startedAt":"a","finishedAt":"b","tool":{"name":"g","version":"0"},"sections":[{"id":"s","title":"S","status":"fail","durationMs":1,"findings":[{"id":"f","title":"F","status":"fail","data":${data}}]}]}`,
          );
          const r = await gpuci(["render", "report.json", "--format", "comment"], dir);
          expect(r.stderr).not.toMatch(/internal error|Maximum call stack/);
          expect(r.code, r.stderr).toBe(depth + 4 > 64 ? 2 : 0);
        },
      ),
      { numRuns: 12, ...seed },
    );
  }, 180_000);

  it("any untrusted text in a report: the comment, rendered by cmark-gfm, has no live link, mention, reference or emoji, and every chart keeps gpuci's own directive", async () => {
    const dom = new Window();
    Object.assign(globalThis, { window: dom, document: dom.document });
    const { default: mermaid } = await import("mermaid");
    const fragment = fc.constantFrom(
      "@octocat",
      "@org/team",
      "#12",
      "owner/repo#7",
      "GH-45",
      "gh-9",
      "https://evil.example/x",
      "HTTP://EVIL.EXAMPLE",
      "www.evil.example",
      "mailto:a@b.c",
      "a@b.example",
      ":rocket:",
      ":+1:",
      "<img src=x>",
      "<details>",
      "[x](https://e.x)",
      "<https://auto.example>",
      "$x$",
      "%%{init: {'theme':'dark'}}%%",
      "%%{",
      "}%%",
      '"',
      "`",
      "|",
      "\n",
      "\u001b[31m",
      " ",
      "a",
    );
    const text = fc.array(fragment, { maxLength: 12 }).map((xs) => xs.join(""));
    const LIVE = [
      /(^|[^\w\u200b])@[A-Za-z0-9]/,
      /#\d/,
      /\bGH-\d/i,
      /\b[a-z][a-z0-9+.-]*:\/\//i,
      /\bwww\./i,
      /\bmailto:/i,
      /:[a-z0-9_+-]+:/i,
    ];
    try {
      await fc.assert(
        fc.asyncProperty(text, text, text, text, async (title, summary, remedy, unit) => {
          const report = createReport({
            startedAt: "2026-12-01T00:00:00.000Z",
            finishedAt: "2026-12-01T00:00:01.000Z",
            tool: { name: "gpuci", version: "0" },
            sections: [
              createSection(
                "gates",
                "Gates",
                [
                  {
                    id: "gate.x",
                    title,
                    status: "fail",
                    summary,
                    remedy,
                    details: summary,
                    data: {
                      verdict: "regressed",
                      ratio: 1.1,
                      base: { value: 1 },
                      value: 1.1,
                      unit,
                      series: [1, 1.1, 1.05, 1],
                    },
                  },
                ],
                1,
              ),
            ],
          });
          const md = renderComment(report);
          const html = spawnSync(
            "cmark-gfm",
            ["--unsafe", "-e", "table", "-e", "autolink", "-e", "tagfilter"],
            {
              input: md,
              encoding: "utf8",
            },
          );
          expect(html.status).toBe(0);
          const doc = new dom.DOMParser().parseFromString(`<body>${html.stdout}</body>`, "text/html");
          expect(doc.body.querySelectorAll("a, img, script").length).toBe(0);
          const walker = doc.createTreeWalker(doc.body, 4);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            // GitHub makes nothing live inside a <pre> block (the chart's own source is one).
            if (n.parentElement?.closest("pre")) continue;
            for (const re of LIVE)
              expect(re.test(n.textContent ?? ""), `${re} in ${n.textContent}`).toBe(false);
          }
          const chart = mermaidTrend({ title, series: [1, 2, 3], head: 4, unit });
          const parsed = await mermaid.parse(chart.replace(/^```mermaid\n|```$/g, ""));
          expect(parsed ? parsed.config : undefined).toEqual({
            themeVariables: { xyChart: { plotColorPalette: "#0969da" } },
          });
        }),
        { numRuns: 40, ...seed },
      );
    } finally {
      await dom.happyDOM.close();
    }
  }, 180_000);

  it("a secret planted in an encoded form (base64 at any alignment, base64url, JSON, URL, quoted-printable, split, colour codes) never reaches what gpuci renders", () => {
    const value = `Xk9-${"p@ss/w:rd".repeat(2)}-77`;
    process.env.FUZZ_ENCODED_TOKEN = value;
    try {
      const encode = fc.constantFrom(
        (v: string) => Buffer.from(v).toString("base64"),
        (v: string) => Buffer.from(`x-access-token:${v}`).toString("base64"),
        (v: string) => Buffer.from(`u:${v}`).toString("base64"),
        (v: string) => Buffer.from(v).toString("base64url"),
        (v: string) => JSON.stringify({ v }),
        (v: string) => encodeURIComponent(v),
        (v: string) => v.replace(/[^!-<>-~]/g, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase()}`),
        (v: string) => `${v.slice(0, 7)}\n${v.slice(7)}`,
        (v: string) => `${v.slice(0, 5)}\u001b[1m${v.slice(5)}`,
      );
      fc.assert(
        fc.property(encode, fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (enc, a, b) => {
          const planted = `${a}${enc(value)}${b}`;
          const report = createReport({
            startedAt: "2026-12-01T00:00:00.000Z",
            finishedAt: "2026-12-01T00:00:01.000Z",
            tool: { name: "gpuci", version: "0" },
            sections: [
              createSection(
                "s",
                "S",
                [{ id: "f", title: "t", status: "fail", summary: planted, details: planted }],
                1,
              ),
            ],
          });
          const b64 = Buffer.from(value).toString("base64").slice(4, -4);
          for (const out of [
            renderComment(report),
            renderSummary(report),
            renderText(report, { color: false }),
          ]) {
            const seen = out
              .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
              .replace(/\u001b\[[0-9;]*m|<br>|\n/g, "");
            for (const form of [value, b64, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)])
              expect(seen.includes(form), `${form} in ${JSON.stringify(planted)}`).toBe(false);
          }
        }),
        { numRuns: 200, ...seed },
      );
    } finally {
      delete process.env.FUZZ_ENCODED_TOKEN;
    }
  });
});
