import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  aggregate,
  commentMarker,
  createReport,
  createSection,
  exitCodeFor,
  type Finding,
  GITHUB_COMMENT_LIMIT,
  type Report,
  readCommentData,
  readCommentMeta,
  readReport,
  renderComment,
  renderSummary,
  renderText,
  rollUp,
  writeFileAtomic,
  writeReport,
} from "./index.js";

const tool = { name: "gpuci", version: "0.1.0" };

function realisticReport(): Report {
  return createReport({
    startedAt: "2026-11-23T10:00:00.000Z",
    finishedAt: "2026-11-23T10:04:05.000Z",
    tool,
    runner: { key: "h100", name: "gpu-runner-7" },
    sections: [
      createSection(
        "preflight",
        "Preflight",
        [
          {
            id: "gpu.smi",
            title: "nvidia-smi",
            status: "pass",
            summary: "answered in 41 ms",
            durationMs: 41,
          },
          {
            id: "gpu.memory",
            title: "GPU free memory",
            status: "warn",
            summary: "GPU 0 has 18.2 GiB free; 20 GiB wanted",
            remedy: "Stop the other process on GPU 0 or lower preflight.gpu.minFreeMemoryGiB.",
          },
        ],
        120,
      ),
      createSection(
        "run",
        "Commands",
        [
          {
            id: "run.bench",
            title: "bench",
            status: "fail",
            summary: "exited with code 3 after 4.0 s",
            remedy: "Read the output tail below, fix the command, and re-run `gpuci run`.",
            details: "Traceback (most recent call last):\nRuntimeError: CUDA error: misaligned address",
            durationMs: 4000,
          },
          { id: "run.prep", title: "prep", status: "pass", summary: "exited 0", durationMs: 300 },
        ],
        4300,
      ),
    ],
  });
}

describe("roll-up", () => {
  it("lets the worst status win and never turns error into pass", () => {
    expect(rollUp(["pass", "warn", "pass"])).toBe("warn");
    expect(rollUp(["pass", "fail", "warn"])).toBe("fail");
    expect(rollUp(["pass", "error", "fail"])).toBe("error");
    expect(rollUp(["skip", "pass"])).toBe("pass");
    expect(rollUp([])).toBe("skip");
  });

  it("maps statuses to exit codes", () => {
    expect([exitCodeFor("pass"), exitCodeFor("warn"), exitCodeFor("skip")]).toEqual([0, 0, 0]);
    expect([exitCodeFor("fail"), exitCodeFor("error")]).toEqual([1, 1]);
  });
});

describe("report.json", () => {
  it("round-trips through disk", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-report-"));
    const report = realisticReport();
    await writeReport(join(dir, "report.json"), report);
    expect(await readReport(join(dir, "report.json"))).toEqual(report);
  });

  it("rejects a report with a bad status, naming the field", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-report-"));
    const bad = realisticReport() as unknown as { sections: Array<{ findings: Array<{ status: string }> }> };
    bad.sections[0]!.findings[0]!.status = "ok";
    await writeFile(join(dir, "report.json"), JSON.stringify(bad));
    await expect(readReport(join(dir, "report.json"))).rejects.toThrow(/sections\.0\.findings\.0\.status/);
  });

  it("rejects another schema version and a missing file with a fix", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-report-"));
    await writeFile(join(dir, "r.json"), JSON.stringify({ ...realisticReport(), schema: "gpuci.report/v9" }));
    await expect(readReport(join(dir, "r.json"))).rejects.toThrow(/gpuci\.report\/v9/);
    await expect(readReport(join(dir, "nope.json"))).rejects.toThrow(/does not exist.*gpuci run --out/);
    await writeFile(join(dir, "x.json"), "{not json");
    await expect(readReport(join(dir, "x.json"))).rejects.toMatchObject({ code: "GPUCI_REPORT_INVALID" });
  });
});

describe("comment markdown", () => {
  it("puts the verdict first, failures before warnings, and folds passing details", () => {
    const md = renderComment(realisticReport(), { id: "bench" });
    const lines = md.split("\n");
    expect(lines[0]).toBe(commentMarker("bench"));
    expect(lines.find((l) => l.startsWith("## "))).toBe("## ❌ gpuci failed on h100");
    const fail = md.indexOf("CUDA error: misaligned address");
    const warn = md.indexOf("GPU 0 has 18.2 GiB free");
    expect(fail).toBeGreaterThan(0);
    expect(warn).toBeGreaterThan(fail);
    expect(md).toContain("**Fix:** Stop the other process on GPU 0");
    const details = md.indexOf("<details><summary>Passed and skipped checks (2)</summary>");
    expect(details).toBeGreaterThan(warn);
    expect(md.indexOf("answered in 41 ms")).toBeGreaterThan(details);
  });

  it("carries hidden meta and data blocks that read back", () => {
    const md = renderComment(realisticReport(), {
      meta: { runId: 42, attempt: 2, sha: "abc123" },
      dataBlocks: { cost: { totalUsd: 1.25, runs: 3 } },
    });
    expect(readCommentMeta(md)).toEqual({ runId: 42, attempt: 2, sha: "abc123" });
    expect(readCommentData(md, "cost")).toEqual({ totalUsd: 1.25, runs: 3 });
    expect(readCommentData(md, "other")).toBeUndefined();
  });

  const hostile = [
    "<img src=x onerror=alert(1)>",
    "a | b | c",
    "line one\nline two",
    "@org/team and @octocat",
    "</details><script>x</script>",
    "```\nbreak out\n```",
    "\u001b[31mred\u001b[0m",
  ];

  it.each(hostile)("renders %j harmlessly in comment, summary and text", (evil) => {
    const finding: Finding = {
      id: `x.${evil}`,
      title: evil,
      status: "fail",
      summary: evil,
      remedy: evil,
      details: evil,
    };
    const report = createReport({
      startedAt: "2026-11-23T10:00:00.000Z",
      finishedAt: "2026-11-23T10:00:01.000Z",
      tool,
      sections: [createSection(evil, evil, [finding, { ...finding, status: "pass" }], 5)],
    });
    for (const md of [renderComment(report), renderSummary(report)]) {
      expect(md).not.toContain("<img");
      expect(md).not.toContain("<script");
      expect(md).not.toMatch(/@(org|octocat)/);
      expect(md).not.toContain("\u001b");
      expect(md).not.toContain("```");
      // </details> only appears as gpuci's own closing tags, each on its own line.
      for (const line of md.split("\n"))
        if (line.includes("</details>")) expect(line.trim()).toBe("</details>");
      // Every table row keeps its column count: no raw pipe from the hostile text.
      // Every table gpuci draws has five columns: six pipes a row, none from the hostile text.
      for (const line of md.split("\n").filter((l) => l.startsWith("| "))) {
        expect(line.split("|").length - 1).toBe(6);
      }
    }
    expect(renderText(report, { color: false })).not.toContain("\u001b");
  });

  it("caps a 200,000-character report under GitHub's limit and keeps the failures", () => {
    const failures: Finding[] = Array.from({ length: 5 }, (_, i) => ({
      id: `gate.f${i}`,
      title: `failing gate ${i}`,
      status: "fail",
      summary: `value ${i} over the limit`,
      remedy: `Fix thing ${i}`,
      details: "x".repeat(20_000),
    }));
    const passes: Finding[] = Array.from({ length: 800 }, (_, i) => ({
      id: `gate.p${i}`,
      title: `passing gate ${i}`,
      status: "pass",
      summary: "y".repeat(150),
    }));
    const report = createReport({
      startedAt: "2026-11-23T10:00:00.000Z",
      finishedAt: "2026-11-23T10:00:01.000Z",
      tool,
      sections: [createSection("gates", "Gates", [...passes, ...failures], 1)],
    });
    expect(renderSummary(report).length).toBeGreaterThan(200_000);
    const md = renderComment(report, { fullReportUrl: "https://github.com/o/r/actions/runs/1" });
    expect(md.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    for (let i = 0; i < 5; i++) {
      expect(md).toContain(`failing gate ${i}`);
      expect(md).toContain(`Fix thing ${i}`);
    }
    expect(md).not.toContain("passing gate 1");
    expect(md).toMatch(
      /Cut to fit GitHub's limit: 800 passing checks.*\[the full report\]\(https:\/\/github\.com/,
    );
  });

  it("keeps the worst findings when even the failures do not fit", () => {
    const findings: Finding[] = Array.from({ length: 3000 }, (_, i) => ({
      id: `f${i}`,
      title: `finding ${i}`,
      status: i < 10 ? "error" : "warn",
      summary: "z".repeat(100),
    }));
    const report = createReport({
      startedAt: "2026-11-23T10:00:00.000Z",
      finishedAt: "2026-11-23T10:00:01.000Z",
      tool,
      sections: [createSection("s", "S", findings, 1)],
    });
    const md = renderComment(report, { maxLength: 20_000 });
    expect(md.length).toBeLessThanOrEqual(20_000);
    expect(md).toContain("finding 0**");
    expect(md).toContain("finding 9**");
    expect(md).toMatch(/\d+ more findings that need attention/);
  });
});

describe("the comment degrades at row and character boundaries", () => {
  const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  const halfEntity = /&[#a-z0-9]*$/m;
  const wellFormed = (md: string, max: number) => {
    expect(md.length).toBeLessThanOrEqual(max);
    expect(md).not.toMatch(loneSurrogate);
    expect(md).not.toMatch(halfEntity);
    expect((md.match(/<details>/g) ?? []).length).toBe((md.match(/<\/details>/g) ?? []).length);
  };

  it("a huge title, stage name and runner key are cut, and every failure is still listed", () => {
    const huge = `${"🚀".repeat(40_000)}&amp;<b>`;
    const report = createReport({
      startedAt: "2026-11-23T10:00:00.000Z",
      finishedAt: "2026-11-23T10:00:01.000Z",
      tool,
      runner: { key: huge },
      sections: [
        createSection(
          huge,
          huge,
          [
            { id: "big", title: huge, status: "fail", summary: huge, remedy: huge, details: huge },
            ...Array.from(
              { length: 30 },
              (_, i): Finding => ({ id: `gate.f${i}`, title: `failure ${i}`, status: "fail" }),
            ),
          ],
          1,
        ),
      ],
    });
    const md = renderComment(report);
    wellFormed(md, GITHUB_COMMENT_LIMIT);
    for (let i = 0; i < 30; i++) expect(md).toContain(`failure ${i}**`);
  });

  it("an aggregate of 120 runners with long keys keeps whole rows and says what it left out", () => {
    const reports = Array.from({ length: 120 }, (_, i) => ({
      key: `runner-${i}-${"k".repeat(300)}`,
      report: createReport({
        startedAt: "2026-11-23T10:00:00.000Z",
        finishedAt: "2026-11-23T10:00:01.000Z",
        tool,
        sections: [
          createSection(
            "gates",
            "Gates",
            Array.from(
              { length: 50 },
              (_, j): Finding => ({
                id: `gate.g${j}`,
                title: `gate ${j} ${"t".repeat(200)}`,
                status: j === 49 && i === 119 ? "fail" : "pass",
              }),
            ),
            1,
          ),
        ],
      }),
    }));
    const md = renderComment(aggregate(reports));
    wellFormed(md, GITHUB_COMMENT_LIMIT);
    expect(md).toMatch(/…and 100 more runners: see the job summary/);
    expect(md).toContain("gate 49");
    // Every table row is whole: it starts and ends with a pipe.
    for (const line of md.split("\n").filter((l) => l.startsWith("|"))) expect(line.endsWith("|")).toBe(true);
  });

  it("for any title, summary and size, the comment fits and is well formed", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            title: fc.string({ unit: "grapheme", maxLength: 3000 }),
            summary: fc.string({ unit: "binary", maxLength: 5000 }),
            status: fc.constantFrom("pass", "warn", "fail", "error", "skip" as const),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        fc.integer({ min: 2000, max: 70_000 }),
        (fs, max) => {
          const report = createReport({
            startedAt: "2026-11-23T10:00:00.000Z",
            finishedAt: "2026-11-23T10:00:01.000Z",
            tool,
            sections: [
              createSection(
                "s",
                "S",
                fs.map(
                  (f, i): Finding => ({
                    id: `f${i}`,
                    title: f.title,
                    summary: f.summary,
                    status: f.status,
                    details: f.summary,
                  }),
                ),
                1,
              ),
            ],
          });
          wellFormed(renderComment(report, { maxLength: max }), max);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("summary and text", () => {
  it("summary lists every finding with remedies and details", () => {
    const md = renderSummary(realisticReport());
    for (const t of ["nvidia-smi", "GPU free memory", "bench", "prep", "misaligned address"])
      expect(md).toContain(t);
  });

  it("text has colour only when asked", () => {
    const r = realisticReport();
    expect(renderText(r, { color: false })).not.toContain("\u001b[");
    expect(renderText(r, { color: true })).toContain("\u001b[31m");
    expect(renderText(r, { color: false })).toContain("fix: Read the output tail below");
  });
});

describe("atomic writes", () => {
  it("a write that fails leaves the old file and no temporary file behind", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-atomic-"));
    await writeFile(join(dir, "keep.json"), "old");
    await writeFileAtomic(join(dir, "keep.json"), "new");
    expect(await readFile(join(dir, "keep.json"), "utf8")).toBe("new");
    // The rename fails: the target is a folder that is not empty.
    await mkdir(join(dir, "busy/inner"), { recursive: true });
    await expect(writeFileAtomic(join(dir, "busy"), "x")).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(["busy", "keep.json"]);
  });
});

describe("aggregate", () => {
  it("merges reports from several runners, labelling each part, worst status wins", async () => {
    const a = realisticReport();
    const b = createReport({
      startedAt: "2026-11-23T09:59:00.000Z",
      finishedAt: "2026-11-23T10:01:00.000Z",
      tool,
      runner: { key: "l4" },
      sections: [createSection("run", "Commands", [{ id: "run.bench", title: "bench", status: "pass" }], 10)],
    });
    const merged = aggregate([a, b]);
    expect(merged.status).toBe("fail");
    expect(merged.parts?.map((p) => p.key)).toEqual(["h100", "l4"]);
    expect(merged.sections.map((s) => s.part)).toEqual(["h100", "h100", "l4"]);
    expect(merged.startedAt).toBe("2026-11-23T09:59:00.000Z");
    expect(merged.finishedAt).toBe("2026-11-23T10:04:05.000Z");
    const md = renderComment(merged);
    expect(md).toContain("| Check | h100 | l4 |");
    expect(md).toMatch(/\| Commands › bench \| ❌ fail \| ✅ pass \|/);
    // A merged report is still a valid report.json.
    const dir = await mkdtemp(join(tmpdir(), "gpuci-agg-"));
    await writeReport(join(dir, "r.json"), merged);
    expect(JSON.parse(await readFile(join(dir, "r.json"), "utf8")).parts).toHaveLength(2);
  });

  it("gives duplicate keys a suffix", () => {
    const r = realisticReport();
    expect(aggregate([r, r]).parts?.map((p) => p.key)).toEqual(["h100", "h100 (2)"]);
  });
});
