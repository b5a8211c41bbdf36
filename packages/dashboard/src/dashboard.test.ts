import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HistoryEntry } from "@gpuci/gates";
import { chromium, type Locator } from "playwright-core";
import { describe, expect, it } from "vitest";
import { buildDashboard, dashboardModel, githubCommitUrl } from "./index.js";

/** Debian's chromium (.ci/install-debian-packages installs it), else an installed Chrome; CHROMIUM overrides. */
const CHROMIUM =
  process.env.CHROMIUM ??
  ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) => existsSync(p)) ??
  "/usr/bin/chromium";
const sha = (i: number) => createHash("sha1").update(`commit ${i}`).digest("hex");
const H100 = { gpu: "NVIDIA H100 80GB HBM3", driver: "550.54.15" };
const L4 = { gpu: "NVIDIA L4", driver: "550.54.15" };
/**
 * 60 runs on main alternating between an H100 and an L4, attention stepping +10 % at run 40 on
 * both, a flat matmul, and three pull-request runs; every run priced.
 */
function history(): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (let i = 0; i < 60; i++) {
    const hw = i % 2 ? L4 : H100;
    const wobble = 1 + ((i * 7919) % 13) / 1300 - 0.005;
    out.push({
      v: 1,
      at: new Date(Date.UTC(2026, 8, 1) + i * 3_600_000).toISOString(),
      commit: sha(i),
      branch: "main",
      ...hw,
      costUsd: 0.25,
      results: {
        attention: { value: (hw === H100 ? 6 : 9) * (i >= 40 ? 1.1 : 1) * wobble, unit: "ms" },
        matmul: { value: 300 * wobble, unit: "TFLOP/s" },
      },
    });
    if (i % 20 === 10)
      out.push({
        v: 1,
        at: new Date(Date.UTC(2026, 8, 1) + i * 3_600_000 + 60_000).toISOString(),
        commit: sha(1000 + i),
        branch: "faster-attention",
        pr: 7,
        ...H100,
        costUsd: 0.3,
        results: { attention: { value: 5.1, unit: "ms" } },
      });
  }
  return out;
}
/** A locator's text (its textContent, never null). */
const text = async (l: Locator) => (await l.textContent()) ?? "";
const OPTIONS = {
  baseBranch: "main",
  store: ".gpuci/history/results.jsonl",
  commitUrl: "https://github.com/acme/kernels/commit/",
};

describe("the dashboard's model", () => {
  it("one series per GPU and driver in recording order, the step named by its commits, the noise band, PR runs and cost", () => {
    const data = dashboardModel(history(), OPTIONS);
    expect(data.gpus).toEqual(["NVIDIA H100 80GB HBM3 · driver 550.54.15", "NVIDIA L4 · driver 550.54.15"]);
    expect(data.runs.commit).toHaveLength(63);
    expect(data.runs.label.filter((l) => l === "PR #7")).toHaveLength(3);
    expect(data.runs.cost.every((c) => c !== null)).toBe(true);
    const attention = data.metrics.find((m) => m.id === "attention")!;
    expect(attention).toMatchObject({ anchor: "metric-attention", unit: "ms", n: 60 });
    expect(attention.series.map((s) => s.values.length)).toEqual([30, 30]);
    expect(attention.pr!.values).toEqual([5.1, 5.1, 5.1]);
    // Each GPU's series stepped at run 40 (index 42 counting the two PR runs before it).
    for (const s of attention.series) {
      expect(s.steps).toHaveLength(1);
      const step = s.steps[0]!;
      expect(step.ratio).toBeCloseTo(1.1, 1);
      expect([sha(40), sha(41)]).toContain(step.to);
      expect([sha(38), sha(39)]).toContain(step.from);
      // The band covers the new level only, around its median.
      expect(s.band![2]).toBe(step.run);
      expect(s.band![0]).toBeLessThan(s.values.at(-1)!);
      expect(s.band![1]).toBeGreaterThan(s.values.at(-1)!);
    }
    const matmul = data.metrics.find((m) => m.id === "matmul")!;
    expect(matmul.series.every((s) => s.steps.length === 0)).toBe(true);
    // Metrics measured in the same runs share one list of them: H100 runs, L4 runs, PR runs.
    expect(matmul.series.map((s) => s.runs)).toEqual(attention.series.map((s) => s.runs));
    expect(data.runSets).toHaveLength(3);
  });

  it("links commits on GitHub from a remote URL or the Actions environment, and nowhere else", () => {
    for (const url of [
      "https://github.com/acme/kernels.git",
      "https://x-access-token@github.com/acme/kernels",
      "git@github.com:acme/kernels.git",
      "ssh://git@github.com/acme/kernels.git",
    ])
      expect(githubCommitUrl(url)).toBe("https://github.com/acme/kernels/commit/");
    expect(githubCommitUrl("https://gitlab.com/acme/kernels.git")).toBeUndefined();
    expect(
      githubCommitUrl(undefined, { GITHUB_SERVER_URL: "https://ghe.acme.dev", GITHUB_REPOSITORY: "acme/k" }),
    ).toBe("https://ghe.acme.dev/acme/k/commit/");
  });

  it("escapes what the store holds: a metric named with HTML, a value of </script>", async () => {
    const out = await mkdtemp(join(tmpdir(), "gpuci-dash-escape-"));
    const evil = '<img src=x onerror="alert(1)">';
    await buildDashboard(
      [
        {
          v: 1,
          at: "2026-09-01T00:00:00.000Z",
          commit: "</script><script>alert(2)</script>",
          branch: "main",
          results: { [evil]: { value: 1, unit: "</script>" } },
        },
      ],
      out,
      OPTIONS,
    );
    const page = await readFile(join(out, "index.html"), "utf8");
    expect(page).not.toContain("<img");
    expect(page).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(page).not.toContain("kernels/commit/</script>"); // not a commit id: not linked
    const script = await readFile(join(out, "data.js"), "utf8");
    expect(script).not.toContain("</script>");
  });
});

describe("the dashboard in a real browser (headless Chromium)", () => {
  it("loads with no console error and no network, draws one chart per metric, shows the commit on hover and from the keyboard", async () => {
    expect(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: bash .ci/install-debian-packages installs chromium`,
    ).toBe(true);
    const out = await mkdtemp(join(tmpdir(), "gpuci-dash-"));
    const site = await buildDashboard(history(), out, OPTIONS);
    expect(site.files.sort()).toEqual([
      "dashboard.css",
      "dashboard.js",
      "data.js",
      "index.html",
      "uPlot.LICENSE",
      "uPlot.iife.min.js",
      "uPlot.min.css",
    ]);
    expect((await stat(join(out, "uPlot.iife.min.js"))).size).toBeGreaterThan(40_000);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("request", (r) => {
        if (!r.url().startsWith("file://")) problems.push(`network: ${r.url()}`);
      });
      await page.goto(`file://${out}/index.html#metric-matmul`);
      await page.waitForSelector("html[data-ready=true]");
      // The anchor of a metric opens at its chart.
      await page.waitForSelector("#metric-matmul .uplot");
      // Every section draws its chart once it scrolls into view: the cost chart and one per metric.
      for (const id of ["cost", "metric-attention", "metric-matmul"]) {
        await page.locator(`#${id}`).scrollIntoViewIfNeeded();
        await page.waitForSelector(`#${id} .uplot`);
      }
      expect(await page.locator("section.metric .uplot").count()).toBe(2);
      expect(await page.locator("section.metric .uplot canvas").count()).toBe(2);
      expect(await page.locator("section.cost .uplot").count()).toBe(1);
      // One series per GPU and driver, and the pull-request runs.
      expect(await page.locator("#metric-attention .u-legend .u-series .u-label").allInnerTexts()).toEqual([
        "run",
        "NVIDIA H100 80GB HBM3 · driver 550.54.15",
        "NVIDIA L4 · driver 550.54.15",
        "pull-request runs",
      ]);
      // The step is listed with both commits linked to GitHub.
      const links = page.locator("#metric-attention .steps a.commit");
      expect(await links.count()).toBe(4);
      for (const a of await links.all())
        expect(await a.getAttribute("href")).toMatch(
          /^https:\/\/github\.com\/acme\/kernels\/commit\/[0-9a-f]{40}$/,
        );

      // Hover: the run under the pointer, with its commit linked.
      const commits = dashboardModel(history(), OPTIONS).runs.commit;
      const chart = page.locator("#metric-attention .u-over");
      await chart.scrollIntoViewIfNeeded();
      const box = (await chart.boundingBox())!;
      const tip = page.locator("#metric-attention .tip");
      for (const at of [0.3, 0.7]) {
        await page.mouse.move(box.x + box.width * at, box.y + box.height / 2);
        // Runs 1..63 span the x axis: the pointer at 30 % is near run 19, at 70 % near run 44.
        const near = 1 + at * 62;
        await expect
          .poll(async () => Math.abs(Number(/^run (\d+) · /.exec(await text(tip))?.[1]) - near))
          .toBeLessThan(2);
        const run = Number(/^run (\d+)/.exec(await text(tip))![1]);
        expect(await text(tip)).toContain(`run ${run} · ${commits[run - 1]!.slice(0, 12)}`);
        expect(await tip.locator("a.commit").getAttribute("href")).toBe(
          `https://github.com/acme/kernels/commit/${commits[run - 1]}`,
        );
      }

      // Keyboard: Tab from the filters reaches the charts; arrows step through the runs.
      await page.locator("#prs").focus();
      const focusPath: string[] = [];
      for (let i = 0; i < 5; i++) {
        await page.keyboard.press("Tab");
        focusPath.push(
          await page
            .locator(":focus")
            .evaluate((el) => `${el.closest("section")?.id} ${el.className || el.tagName}`),
        );
      }
      // Each section's heading link, then its chart, then the commit of the run it shows.
      expect(focusPath).toEqual([
        "cost A",
        "cost chart",
        "cost commit",
        "metric-attention A",
        "metric-attention chart",
      ]);
      await page.keyboard.press("End");
      await expect.poll(() => text(tip)).toContain(sha(59).slice(0, 12));
      await page.keyboard.press("ArrowLeft");
      await expect.poll(() => text(tip)).toContain(`run 62 · ${sha(58).slice(0, 12)}`);
      await page.keyboard.press("Home");
      await expect.poll(() => text(tip)).toContain(`run 1 · ${sha(0).slice(0, 12)}`);

      // Search and filters.
      await page.locator("#search").fill("matm");
      await expect.poll(() => text(page.locator("#shown"))).toBe("1 of 2 metrics");
      expect(await page.locator("#metric-attention").isHidden()).toBe(true);
      await page.locator("#search").fill("");
      await page.locator("#changed").check();
      await expect.poll(() => text(page.locator("#shown"))).toBe("1 of 2 metrics");
      expect(await page.locator("#metric-matmul").isHidden()).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
