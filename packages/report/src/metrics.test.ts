import { Window } from "happy-dom";
import { afterAll, describe, expect, it } from "vitest";
import {
  createReport,
  createSection,
  type Finding,
  formatChangeCell,
  GITHUB_COMMENT_LIMIT,
  mermaidTrend,
  metricRows,
  renderComment,
  renderSummary,
  sparkline,
} from "./index.js";

const tool = { name: "gpuci", version: "0.1.0" };

function metric(id: string, verdict: string, ratio: number, extra: Record<string, unknown> = {}): Finding {
  const status = verdict === "regressed" ? "fail" : verdict === "inconclusive" ? "warn" : "pass";
  return {
    id: `gate.${id}`,
    title: id,
    status,
    summary: `${verdict}`,
    ...(status === "fail" ? { remedy: "Profile the change." } : {}),
    data: {
      verdict,
      ratio,
      ci: { low: ratio - 0.03, high: ratio + 0.03 },
      confidence: 0.95,
      base: { value: 12.3 },
      value: 12.3 * ratio,
      unit: "ms",
      ...extra,
    },
  };
}

function reportWith(findings: Finding[], meta: Record<string, unknown> = {}) {
  return createReport({
    startedAt: "2026-11-30T10:00:00.000Z",
    finishedAt: "2026-11-30T10:01:00.000Z",
    tool,
    sections: [createSection("gates", "Gates", findings, 10)],
    meta,
  });
}

const series = Array.from({ length: 30 }, (_, i) => ({
  commit: `${String(i).padStart(2, "0")}abcdef0123`,
  value: 12 + (i % 3) * 0.1,
}));

// Mermaid's own parser (the mermaid package) needs a DOM for DOMPurify: happy-dom provides one.
const dom = new Window();
Object.assign(globalThis, { window: dom, document: dom.document });
afterAll(() => dom.happyDOM.close());

describe("the comment tells the performance story", () => {
  it("headline: verdict counts and the money; then the metrics table, regressions first, values with units", () => {
    const report = reportWith(
      [
        metric("unchanged-one", "unchanged", 1.004),
        metric("latency", "regressed", 1.123),
        metric("noisy-one", "inconclusive", 1.04),
      ],
      { costUsd: 0.42, prCost: { costUsd: 3.1 } },
    );
    const md = renderComment(report);
    expect(md).toContain("**1 regressed · 1 inconclusive · 1 unchanged · $0.42 this run, $3.10 this PR**");
    const table = md.slice(md.indexOf("| metric | base | head | change [interval] | verdict |"));
    const rows = table.split("\n").slice(2, 5);
    expect(rows[0]).toBe("| latency | 12.3 ms | 13.81 ms | +12.3 % [+9.3, +15.3] | ❌ regressed |");
    expect(rows[1]).toMatch(/^\| noisy-one .* ⚠️ inconclusive \|$/);
    expect(rows[2]).toMatch(/^\| unchanged-one .* ✅ unchanged \|$/);
    // All stages passed or warned: the stage table says nothing the counts do not.
    expect(md).not.toContain("| | Stage | Status |");
    expect(renderSummary(report)).toContain("| latency | 12.3 ms | 13.81 ms |");
  });

  it("folds the rest when there are many, keeping regressions open", () => {
    const many = Array.from({ length: 30 }, (_, i) =>
      metric(`m${i}`, i === 29 ? "regressed" : "unchanged", 1.01),
    );
    const md = renderComment(reportWith(many));
    const open = md.slice(0, md.indexOf("<details><summary>20 more metrics</summary>"));
    expect(open).toContain("| m29 |");
    expect(open.indexOf("| m29 |")).toBeLessThan(open.indexOf("| m0 |"));
  });

  it("stays under GitHub's limit with 5,000 metrics, cutting whole rows and saying where the rest are", () => {
    const many = Array.from({ length: 5000 }, (_, i) =>
      metric(`metric-${i}`, i % 50 === 0 ? "regressed" : "unchanged", 1.01),
    );
    const md = renderComment(reportWith(many));
    expect(md.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(md).toMatch(/_…and \d+ more metrics: the full table is in the job summary\._/);
    for (const line of md.split("\n").filter((l) => l.startsWith("| metric-"))) expect(line).toMatch(/ \|$/);
  });

  it("draws a trend with Mermaid's xychart-beta that Mermaid's own parser accepts", async () => {
    const md = renderComment(reportWith([metric("latency", "regressed", 1.12, { series })]));
    const block = /```mermaid\n([\s\S]*?)```/.exec(md);
    expect(block).not.toBeNull();
    expect(block![1]).toMatch(/xychart-beta\n {4}title "latency \(ms\)"/);
    expect(block![1]).toContain('x-axis "30 base-branch runs 00abcde…29abcde, then this PR" 1 --> 31');
    const { default: mermaid } = await import("mermaid");
    await expect(mermaid.parse(block![1]!)).resolves.toMatchObject({ diagramType: "xychart" });
    // A title with quotes and a newline still parses.
    const odd = mermaidTrend({ title: 'say "hi"\nthere', series: [1, 2, 3], head: 4, unit: "ms" });
    await expect(mermaid.parse(odd.replace(/^```mermaid\n|```$/g, ""))).resolves.toBeTruthy();
  });

  it("sparklines instead of charts when asked, and no trend at all with charts: none", () => {
    const report = reportWith([metric("latency", "regressed", 1.12, { series })]);
    const spark = renderComment(report, { charts: "sparkline" });
    expect(spark).not.toContain("```mermaid");
    expect(spark).toMatch(/13\.78 ms [▁▂▃▄▅▆▇█]{31} \|/);
    const none = renderComment(report, { charts: "none" });
    expect(none).not.toContain("```mermaid");
    expect(none).not.toMatch(/[▁▂▃▄▅▆▇█]{5}/);
  });

  it("reads rows only from findings that carry a verdict and a ratio", () => {
    const report = reportWith([
      { id: "x", title: "x", status: "pass", data: { value: 1 } },
      metric("y", "unchanged", 1),
    ]);
    expect(metricRows(report).map((r) => r.finding.id)).toEqual(["gate.y"]);
  });

  it("formats changes and sparklines", () => {
    expect(formatChangeCell({ ratio: 1.123, ci: { low: 1.09, high: 1.139 }, confidence: 0.95 })).toBe(
      "+12.3 % [+9.0, +13.9]",
    );
    expect(formatChangeCell({ ratio: 0.97, ci: { low: 0.95, high: 0.99 }, confidence: 0.995 })).toBe(
      "−3.0 % [−5.0, −1.0] (99.5 %)",
    );
    // Tied samples (a coarse timer): an end the test rejected is open, shown with a parenthesis.
    const tied = metric("t", "regressed", 1.1, { ci: { low: 1.05, high: 1.1, lowOpen: true } });
    const [row] = metricRows(reportWith([tied]));
    expect(row!.ci).toEqual({ low: 1.05, high: 1.1, lowOpen: true });
    expect(formatChangeCell(row!)).toBe("+10.0 % (+5.0, +10.0]");
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8])).toBe("▁▂▃▄▅▆▇█");
    expect(sparkline([5, 5, 5])).toBe("▄▄▄");
  });
});
