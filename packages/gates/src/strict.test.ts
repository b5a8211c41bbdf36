import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateGates, extractCsv, extractJsonl, parseLooseJson } from "./index.js";

async function dir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "gpuci-strict-"));
}
const find = (section: { findings: Array<{ id: string }> }, id: string) =>
  section.findings.find((f) => f.id === `gate.${id}`) as unknown as {
    status: string;
    summary?: string;
    remedy?: string;
  };

/** What JSON.parse says about one line: the reference the streaming scanner must agree with. */
function reference(line: string, field: string): "invalid" | "missing" | "null" | "text" | number {
  let o: unknown;
  try {
    o = parseLooseJson(line);
  } catch {
    return "invalid";
  }
  if (!o || typeof o !== "object" || Array.isArray(o)) return "invalid";
  let v: unknown = o;
  for (const k of field.split("."))
    v = v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
  if (v === undefined) return "missing";
  if (v === null) return "null";
  return typeof v === "number" ? v : "text";
}

const special = fc.constantFrom("NaN", "Infinity", "-Infinity");
const atom = fc.oneof(
  fc.double(),
  fc.integer(),
  special,
  fc.string(),
  fc.constantFrom("loss went NaN here", "Infinity war", "1000"),
  fc.boolean(),
  fc.constant(null),
);
// Objects with duplicate, escaped (\u0066 is "f") and nested keys, as writers produce them.
const objectLine = fc
  .tuple(fc.array(fc.tuple(fc.constantFrom("f", "g", "h", "\\u0066"), atom), { maxLength: 5 }), fc.boolean())
  .map(([pairs, nest]) => {
    const body = pairs
      .map(
        ([k, v]) => `"${k}":${typeof v === "string" && /^-?Infinity$|^NaN$/.test(v) ? v : JSON.stringify(v)}`,
      )
      .join(",");
    return nest ? `{"g":{${body}},${body || '"x":1'}}` : `{${body}}`;
  });
// Fragments that break JSON in the ways files do: 1xyz, 1.2.3, a lone -, leading zeros, bad
// escapes, raw control characters, a BOM or a non-breaking space.
const fragment = fc.oneof(
  fc.constantFrom(
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    '"f"',
    '"f":',
    "1",
    "-",
    "1xyz",
    "1.2.3",
    "NaN",
    "-Infinity",
    '"\\u0066"',
    '"\\x"',
    " ",
    "\t",
    "\r",
    "\u00a0",
    "\ufeff",
    "true",
    "tru",
    "nul",
    "01",
    "1e5",
    "1E+2",
    "-0",
    ".5",
    "1.",
    '"',
    "\\",
    '"\u0001"',
  ),
  fc.string({ maxLength: 4 }),
);
const anyLine = fc.oneof(
  objectLine,
  fc.array(fragment, { maxLength: 12 }).map((t) => t.join("")),
  // Truncation: a line cut anywhere, as a crashed writer leaves it.
  objectLine.chain((l) => fc.nat(l.length).map((n) => l.slice(0, n))),
);

describe("the JSONL scanner agrees with JSON.parse on every line", () => {
  it("on generated lines: NaN in strings, duplicate keys, escapes, truncation, BOM, garbage", async () => {
    const d = await dir();
    const file = join(d, "p.jsonl");
    await fc.assert(
      fc.asyncProperty(
        fc.array(anyLine, { minLength: 1, maxLength: 8 }),
        fc.constantFrom("f", "g.f"),
        async (raw, field) => {
          const lines = raw.map((l) => l.replaceAll("\n", " "));
          await writeFile(file, lines.join("\n"));
          const ex = await extractJsonl(file, field);
          const want = { invalid: 0, missing: 0, nulls: 0, nonNumeric: 0, values: [] as number[] };
          // A BOM at the start of the file is an encoding mark, not part of the first line.
          lines.forEach((l, i) => {
            const line = i === 0 ? l.replace(/^\ufeff/, "") : l;
            if (/^[ \t\r]*$/.test(line)) return;
            const r = reference(line, field);
            if (typeof r === "number") want.values.push(r);
            else if (r === "invalid") want.invalid++;
            else if (r === "missing") want.missing++;
            else if (r === "null") want.nulls++;
            else want.nonNumeric++;
          });
          expect({
            invalid: ex.invalid,
            missing: ex.missing,
            nulls: ex.nulls,
            nonNumeric: ex.nonNumeric,
            values: Array.from(ex.values),
          }).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads numbers exactly as Number() does", async () => {
    const d = await dir();
    const file = join(d, "n.jsonl");
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1 }),
        async (xs) => {
          await writeFile(file, xs.map((x) => `{"f":${JSON.stringify(x)}}`).join("\n"));
          const ex = await extractJsonl(file, "f");
          expect(Array.from(ex.values)).toEqual(xs.map((x) => Number(JSON.stringify(x))));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("the WebAssembly scanner", () => {
  it("embedded in src/jsonl-wasm.ts is what wasm/jsonl.ts compiles to", () => {
    const build = fileURLToPath(new URL("../wasm/build.mjs", import.meta.url));
    const r = spawnSync(process.execPath, [build, "--check"], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toContain("src/jsonl-wasm.ts is current.");
    expect(r.status).toBe(0);
  }, 120_000);

  it("reads escaped keys, long strings and deep nesting as JSON.parse does, and refuses nesting deeper than 1,000", async () => {
    const d = await dir();
    const long = "x".repeat(100_000);
    const lines = [
      '{"\\u0066": 5}',
      `{"t": "${long}", "f": 6}`,
      `{"f": 7, "t": "${long}\u0001"}`,
      `${"[".repeat(999)}${"]".repeat(999)}`,
      `{"g": ${"[".repeat(998)}${"]".repeat(998)}, "f": 8}`,
      `{"g": ${"[".repeat(1001)}${"]".repeat(1001)}, "f": 9}`,
      '{"f": 1e400, "g": "\\ud800"}',
      '{"f": 0.1234567890123456789}',
    ];
    await writeFile(join(d, "w.jsonl"), lines.join("\n"));
    const ex = await extractJsonl(join(d, "w.jsonl"), "f");
    // 5 (escaped key), 6, 8, Infinity (1e400), and the 19-digit number as Number() reads it; the
    // raw control character, the non-object line and the 1,001-deep array are invalid.
    expect(Array.from(ex.values)).toEqual([
      5,
      6,
      8,
      Number.POSITIVE_INFINITY,
      Number("0.1234567890123456789"),
    ]);
    expect(ex.invalid).toBe(3);
  });
});

describe("where over numbers", () => {
  it("counts each matching value once, whichever scanner read it, in file order", async () => {
    const d = await dir();
    const lines = [
      '{"f": 7}',
      '{"\\u0066": 9}',
      '{"f": 1e2}',
      '{"f": 3}',
      '{"f": 12345678901234567890}',
      '{"f": "9"}',
    ];
    await writeFile(join(d, "w.jsonl"), lines.join("\n"));
    const ex = await extractJsonl(join(d, "w.jsonl"), "f", { where: { gte: 5 } });
    expect(Array.from(ex.values)).toEqual([7, 9, 100, 3, Number("12345678901234567890")]);
    expect(ex.matched).toBe(4);
    expect(ex.nonNumeric).toBe(1);
  });
});

describe("gates never pass on rows they could not read", () => {
  it("JSONL: NaN inside a string, a number in quotes and a line that does not parse fail max: unless tolerated", async () => {
    const d = await dir();
    await writeFile(
      join(d, "loss.jsonl"),
      [
        '{"step":1,"loss":0.5,"note":"loss went NaN here"}',
        '{"step":2,"loss":"1000"}',
        '{"step":3,"loss":0.4',
        '{"step":4,"loss":1xyz}',
        '{"step":5,"loss":0.3}',
      ].join("\n"),
    );
    const { section } = await evaluateGates(
      [
        { id: "strict", metric: { file: "loss.jsonl", field: "loss", stat: "max" }, max: 1 },
        {
          id: "tolerant",
          metric: { file: "loss.jsonl", field: "loss", stat: "max", invalid: { max: 3 } },
          max: 1,
        },
        {
          id: "short",
          metric: { file: "loss.jsonl", field: "loss", stat: "max", invalid: { max: 2 } },
          max: 1,
        },
      ],
      { baseDir: d },
    );
    expect(find(section, "strict")).toMatchObject({
      status: "error",
      summary: expect.stringContaining(
        '3 of 5 lines could not be read: 2 not a valid JSON object (first at line 3); 1 where "loss" is not a number (first at line 2)',
      ),
      remedy: expect.stringContaining("metric.invalid: { max: 3 }"),
    });
    // The string "loss went NaN here" is text: line 1 is read, and max is over 0.5, 0.3.
    expect(find(section, "tolerant")).toMatchObject({
      status: "pass",
      summary: expect.stringContaining("3 unreadable, tolerated by invalid.max"),
    });
    expect(find(section, "short").status).toBe("error");
  });

  it("JSONL: duplicate keys take the last value (as JSON.parse), a BOM first line is read, null is unreadable", async () => {
    const d = await dir();
    await writeFile(join(d, "d.jsonl"), '\ufeff{"v":9,"v":1}\n{"v":2}\n{"v":null}\n');
    const { section } = await evaluateGates(
      [
        { id: "dup", metric: { file: "d.jsonl", field: "v", stat: "max", invalid: { max: 1 } }, max: 5 },
        { id: "null", metric: { file: "d.jsonl", field: "v", stat: "max" }, max: 5 },
      ],
      { baseDir: d },
    );
    expect(find(section, "dup").status).toBe("pass");
    expect(find(section, "null")).toMatchObject({
      status: "error",
      summary: expect.stringContaining('1 where "v" is null (first at line 3)'),
    });
  });

  it("CSV (RFC 4180): 1,250 and 1_000 are text, a short row and an unterminated quote are invalid; quoted newlines are one row", async () => {
    const d = await dir();
    await writeFile(
      join(d, "lat.csv"),
      'name,latency_ms\n"a, first",10\n"multi\nline",12\n"1,250",x\nb,"1,250"\nc,1_000\nd\n"e,11\n',
    );
    await writeFile(join(d, "ok.csv"), 'name,latency_ms\r\n"a, ""quoted""",10\r\n"multi\r\nline",12\r\n');
    const { section } = await evaluateGates(
      [
        { id: "bad", metric: { file: "lat.csv", column: "latency_ms", stat: "max" }, max: 100 },
        {
          id: "rate",
          metric: { file: "lat.csv", column: "latency_ms", stat: "rate", where: { lt: 11 } },
          min: 0,
        },
        { id: "ok", metric: { file: "ok.csv", column: "latency_ms", stat: "max" }, max: 12 },
      ],
      { baseDir: d },
    );
    expect(find(section, "bad")).toMatchObject({
      status: "error",
      summary: expect.stringMatching(
        /5 of 7 rows could not be read: 2 not a valid CSV record \(first at line 8: 1 cells where the header has 2\); 3 where "latency_ms" is not a number \(first at line 5\)/,
      ),
    });
    // rate counts text as a non-match, but never drops a broken record.
    expect(find(section, "rate")).toMatchObject({
      status: "error",
      summary: expect.stringContaining("2 of 7 rows"),
    });
    expect(find(section, "ok")).toMatchObject({
      status: "pass",
      summary: expect.stringContaining("over 2 rows"),
    });
  });

  it("CSV: an empty cell (pandas' NaN) is unreadable for a number, and an empty file is an error", async () => {
    const d = await dir();
    await writeFile(join(d, "e.csv"), "epoch,loss\n1,0.5\n2,\n3,0.4\n");
    await writeFile(join(d, "none.csv"), "");
    const { section } = await evaluateGates(
      [
        { id: "empty", metric: { file: "e.csv", column: "loss", stat: "max" }, max: 1 },
        { id: "none", metric: { file: "none.csv", column: "loss" }, max: 1 },
      ],
      { baseDir: d },
    );
    expect(find(section, "empty").summary).toContain('1 where "loss" is empty or NA (first at line 3)');
    expect(find(section, "none")).toMatchObject({
      status: "error",
      summary: expect.stringContaining("no header row"),
    });
  });

  it("±Inf or NaN among the values fails even when the aggregate is on the good side", async () => {
    const d = await dir();
    await writeFile(join(d, "l.jsonl"), '{"loss":0.1}\n{"loss":-Infinity}\n{"loss":0.2}\n');
    await writeFile(join(d, "a.json"), '{"times":[1.0, Infinity, 2.0]}');
    const { section } = await evaluateGates(
      [
        { id: "max", metric: { file: "l.jsonl", field: "loss", stat: "max" }, max: 1 },
        { id: "min", metric: { file: "a.json", path: "times", stat: "min" }, max: 5 },
        { id: "allowed", metric: { file: "l.jsonl", field: "loss", stat: "max" }, max: 1, allowNaN: true },
      ],
      { baseDir: d },
    );
    expect(find(section, "max")).toMatchObject({
      status: "fail",
      summary: expect.stringContaining("1 value(s) are NaN or ±Inf (first at line 2)"),
    });
    expect(find(section, "min").status).toBe("fail");
    expect(find(section, "allowed").status).toBe("pass");
  });
});

describe("reading is bounded", () => {
  it("a FIFO or a directory is refused at once, not read forever", async () => {
    const d = await dir();
    execFileSync("mkfifo", [join(d, "pipe.jsonl")]);
    const { section } = await evaluateGates(
      [
        { id: "fifo", metric: { file: "pipe.jsonl", field: "f" }, max: 1 },
        { id: "dir", metric: { file: ".", path: "x" }, max: 1 },
      ],
      { baseDir: d },
    );
    expect(find(section, "fifo")).toMatchObject({
      status: "error",
      summary: "could not read the metric: pipe.jsonl is a FIFO (named pipe), not a regular file",
    });
    expect(find(section, "dir").summary).toContain("is a directory");
  });

  it("a where.matches that backtracks is stopped at the deadline with a remedy", async () => {
    const d = await dir();
    await writeFile(join(d, "r.jsonl"), `{"s":"${"a".repeat(40)}!"}\n`);
    const t0 = Date.now();
    const { section } = await evaluateGates(
      [
        {
          id: "re",
          metric: {
            file: "r.jsonl",
            field: "s",
            stat: "rate",
            where: { matches: "^(a+)+$" },
            timeoutSeconds: 1,
          },
          max: 1,
        },
      ],
      { baseDir: d },
    );
    expect(find(section, "re")).toMatchObject({
      status: "error",
      summary: expect.stringContaining("reading took longer than 1 s"),
      remedy: expect.stringContaining("nested quantifiers"),
    });
    expect(Date.now() - t0).toBeLessThan(60_000);
  });

  it("a line or field over the cap is a clear error, not a RangeError", async () => {
    const d = await dir();
    await writeFile(join(d, "long.jsonl"), `{"f":1}\n{"t":"${"x".repeat(2048)}"}\n`);
    await expect(extractJsonl(join(d, "long.jsonl"), "f", { maxLineBytes: 1024 })).rejects.toThrow(
      /a line starting at byte 8 is longer than 1 KiB/,
    );
    await writeFile(join(d, "long.csv"), `a,b\n1,"${"y".repeat(4096)}"\n`);
    await expect(extractCsv(join(d, "long.csv"), "a", { maxFieldBytes: 1024 })).rejects.toThrow(
      /a field starting at byte 4 is longer than 1 KiB/,
    );
  });

  it("a where.matches that is not a regular expression is a config error", async () => {
    const { GatesConfigSchema } = await import("./index.js");
    const r = GatesConfigSchema.safeParse([
      { id: "x", metric: { file: "a.jsonl", field: "s", stat: "rate", where: { matches: "(" } }, min: 0 },
    ]);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain("not a valid JavaScript regular expression");
  });
});
