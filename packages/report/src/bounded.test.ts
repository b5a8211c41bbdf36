// Reading a report is bounded: a hostile or broken report.json ends in a clear error (exit 2),
// never a crash of render, aggregate or the action's comment mode.
import { execFileSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  createReport,
  createSection,
  MAX_REPORT_DEPTH,
  readReport,
  renderComment,
  renderSummary,
  renderText,
  writeReport,
} from "./index.js";

const base = {
  startedAt: "2026-12-01T00:00:00.000Z",
  finishedAt: "2026-12-01T00:00:01.000Z",
  tool: { name: "gpuci", version: "0" },
};

describe("bounded report reading", () => {
  it("a report whose finding data nests 100,000 levels is refused with the reason, not a stack overflow", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-deep-"));
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const text = `{"schema":"gpuci.report/v1","status":"pass","startedAt":"a","finishedAt":"b","tool":{"name":"g","version":"0"},"sections":[{"id":"s","title":"S","status":"pass","durationMs":1,"findings":[{"id":"f","title":"F","status":"pass","data":${deep}}]}]}`;
    await writeFile(join(dir, "report.json"), text);
    await expect(readReport(join(dir, "report.json"))).rejects.toMatchObject({
      code: "GPUCI_REPORT_INVALID",
      exitCode: 2,
      message: expect.stringMatching(/nests deeper than 64 levels \(at character \d+\)/),
    });
  });

  it("a report over 64 MiB is refused from its size, before it is read", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-big-"));
    const path = join(dir, "report.json");
    await writeFile(path, "");
    // A sparse file: 200 MiB of nothing, so the test never writes or reads 200 MiB.
    execFileSync("truncate", ["-s", "200M", path]);
    await expect(readReport(path)).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/is 200\.0 MiB; gpuci reads reports up to 64 MiB/),
    });
  });

  it("an in-memory report with deep data renders and writes, and what is written reads back", async () => {
    let data: unknown = { leaf: "x" };
    for (let i = 0; i < 100_000; i++) data = [data];
    const report = createReport({
      ...base,
      sections: [createSection("s", "S", [{ id: "f", title: "F", status: "fail", summary: "s", data }], 1)],
    });
    for (const out of [renderComment(report), renderSummary(report), renderText(report, { color: false })])
      expect(out).toContain("F");
    const dir = await mkdtemp(join(tmpdir(), "gpuci-deep-write-"));
    await writeReport(join(dir, "report.json"), report);
    const back = await readReport(join(dir, "report.json"));
    expect(JSON.stringify(back)).toContain("[not shown: nested deeper than 50 levels]");
    expect(MAX_REPORT_DEPTH).toBe(64);
  });
});
