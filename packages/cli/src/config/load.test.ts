import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigInvalidError } from "../errors.js";
import { didYouMean, loadConfig } from "./load.js";

async function configFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "gpuci-config-"));
  const path = join(dir, "gpuci.yml");
  await writeFile(path, text);
  return path;
}

async function problemsOf(text: string) {
  const path = await configFile(text);
  try {
    await loadConfig({ path });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    return error as ConfigInvalidError;
  }
  throw new Error("expected the config to be rejected");
}

describe("gpuci.yml loader", () => {
  it("loads a valid config with its digest and base folder", async () => {
    const path = await configFile("run:\n  - name: bench\n    command: echo hi\n    timeoutMinutes: 2\n");
    const loaded = await loadConfig({ path });
    expect(loaded.config.run).toEqual([{ name: "bench", command: "echo hi", timeoutMinutes: 2 }]);
    expect(loaded.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(loaded.baseDir).toBe(join(path, ".."));
  });

  it("uses defaults when no gpuci.yml exists and none was asked for", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-config-"));
    expect(await loadConfig({ cwd: dir })).toEqual({ config: {}, baseDir: dir });
  });

  it("says how to fix a missing explicit file", async () => {
    await expect(loadConfig({ path: "/nonexistent/gpuci.yml" })).rejects.toMatchObject({
      code: "GPUCI_CONFIG_NOT_FOUND",
      exitCode: 2,
      message: expect.stringMatching(/does not exist.*examples\/quickstart/),
    });
  });

  it("names an unknown top-level key with its line and a did-you-mean", async () => {
    const e = await problemsOf("# comment\nrunn:\n  - name: a\n    command: x\n");
    expect(e.code).toBe("GPUCI_CONFIG_INVALID");
    expect(e.problems[0]).toMatchObject({ path: "runn", line: 2, column: 1 });
    expect(e.message).toMatch(/gpuci\.yml:2:1 {2}runn: unknown key "runn"\. Did you mean "run"\?/);
  });

  it("names the key a value belongs to when it is valid elsewhere (stat: failures → field: failures)", async () => {
    const e = await problemsOf(
      "gates:\n  - id: tests\n    metric: { file: junit.xml, format: junit, stat: failures }\n    max: 0\n",
    );
    const p = e.problems.find((x) => x.path === "gates[0].metric.stat");
    expect(p?.line).toBe(3);
    expect(p?.message).toMatch(
      /found string "failures"\. Did you mean `field: failures`\? \(field takes tests, failures, errors, skipped, passed\)/,
    );
  });

  it("refuses unknown YAML tags, unresolved aliases and alias bombs as config errors (exit 2), never as internal errors", async () => {
    const tag = await problemsOf("run:\n  - name: a\n    command: !!python/object/apply:os.system ['ls']\n");
    expect(tag.problems[0]).toMatchObject({
      line: 3,
      message: expect.stringMatching(/unknown YAML tag !!python\/object\/apply:os.system/),
    });
    expect(tag.exitCode).toBe(2);
    const js = await problemsOf("run:\n  - name: a\n    command: !!js/function 'x'\n");
    expect(js.problems[0]!.message).toMatch(/unknown YAML tag !!js\/function/);
    const alias = await problemsOf("run:\n  - name: a\n    command: *nothing\n");
    expect(alias.problems[0]!.message).toMatch(/Unresolved alias.*Define the anchor/);
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (const n of ["b", "c", "d", "e", "f"])
      levels.push(
        `${n}: &${n} [${Array(10)
          .fill(`*${String.fromCharCode(n.charCodeAt(0) - 1)}`)
          .join(", ")}]`,
      );
    const bomb = await problemsOf(`${levels.join("\n")}\n`);
    expect(bomb.problems[0]!.message).toMatch(/too many YAML aliases/);
  });

  it("names an unknown nested key with its YAML path, line and did-you-mean", async () => {
    const e = await problemsOf("run:\n  - name: a\n    command: x\n  - name: b\n    comand: y\n");
    const p = e.problems.find((x) => x.path === "run[1].comand");
    expect(p).toMatchObject({ line: 5, column: 5 });
    expect(p?.message).toMatch(/Did you mean "command"\?/);
  });

  it("says what was found and what was expected for a wrong type", async () => {
    const e = await problemsOf("run:\n  - name: a\n    command: x\n    timeoutMinutes: ten\n");
    const p = e.problems.find((x) => x.path === "run[0].timeoutMinutes");
    expect(p).toMatchObject({ line: 4, column: 21 });
    expect(p?.message).toBe('expected number, found string "ten"');
  });

  it("rejects a missing required key, pointing at its parent", async () => {
    const e = await problemsOf("run:\n  - name: a\n");
    expect(e.problems[0]).toMatchObject({ path: "run[0].command", line: 2 });
    expect(e.problems[0]?.message).toBe('missing required key "command"');
  });

  it("rejects duplicate command names and bad YAML with a line", async () => {
    const dup = await problemsOf("run:\n  - {name: a, command: x}\n  - {name: a, command: y}\n");
    expect(dup.problems[0]).toMatchObject({ path: "run[1].name", line: 3 });
    const bad = await problemsOf("run:\n  - name: a\n   command: x\n");
    expect(bad.problems[0]?.line).toBeGreaterThan(0);
    expect(bad.problems[0]?.message).toMatch(/not valid YAML/);
  });
});

describe("didYouMean", () => {
  it("suggests close keys only", () => {
    expect(didYouMean("preflite", ["preflight", "gates"])).toBe("preflight");
    expect(didYouMean("zzzzzz", ["preflight", "gates"])).toBeUndefined();
  });

  describe("what no schema used to catch is a config error (exit 2) that names the line", () => {
    const gate = (extra: string) => `gates:\n  - { id: g, metric: { file: m.json, path: v }, ${extra} }\n`;
    const cases: Array<[string, string | Buffer, RegExp]> = [
      ["an inverted range", gate("range: [5, 1]"), /gates\[0\]\.range: range \[5, 1\] is inverted/],
      ["min above max", gate("min: 5, max: 1"), /gates\[0\]\.min: min 5 is above max 1/],
      [
        "an empty program",
        'run:\n  - { name: a, command: [""] }\n',
        /run\[0\]\.command: the program \(the list's first element\) is empty/,
      ],
      [
        "an env name with =",
        'run:\n  - { name: a, command: env, env: { "A=B": x } }\n',
        /run\[0\]\.env\.A=B: the key "A=B" is not allowed here: an environment variable name/,
      ],
      [
        "an env key __proto__",
        "run:\n  - { name: a, command: env, env: { __proto__: x } }\n",
        /run\[0\]\.env\.__proto__: the key "__proto__" is not allowed/,
      ],
      ["1e400", gate("max: 1e400"), /gates\[0\]\.max: 1e400 is not a finite number \(it reads as Infinity\)/],
      [
        "-1e400",
        gate("min: -1e400"),
        /gates\[0\]\.min: -1e400 is not a finite number \(it reads as -Infinity\)/,
      ],
      [
        "1e-400",
        gate("min: 1e-400, max: 1"),
        /gates\[0\]\.min: 1e-400 is too small to represent: it reads as 0/,
      ],
      [".nan", gate("max: .nan"), /gates\[0\]\.max: \.nan is not a finite number \(it reads as NaN\)/],
      [
        "a title that is not UTF-8",
        Buffer.concat([
          Buffer.from('gates:\n  - { id: g, title: "bad '),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('", metric: { file: m.json, path: v }, max: 1 }\n'),
        ]),
        /:2:26 {2}\(top level\): not valid UTF-8: byte 0xff at offset 32/,
      ],
      [
        "20,000 levels of YAML",
        `gates: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`,
        /nested deeper than gpuci reads \(64 levels at most\)/,
      ],
      [
        "70 levels of YAML",
        `history: ${"{a: ".repeat(70)}1${"}".repeat(70)}\n`,
        /nested deeper than 64 levels: a gpuci\.yml never needs this/,
      ],
    ];
    it.each(cases)("%s", async (_what, text, message) => {
      const e = await problemsOf(text as string);
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(message);
      expect(e.message).not.toMatch(/Maximum call stack|Invalid key in record/);
    });
  });
});
