import { mkdir, readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatRatioChange, formatValue, writeFileAtomic } from "@gpuci/report";
import type { DashboardData, DashboardMetric } from "./model.js";

/** What {@link writeDashboard} wrote. */
export interface DashboardSite {
  outDir: string;
  /** File names written, relative to outDir. */
  files: string[];
  /** Their total size. */
  bytes: number;
}

/** uPlot's files, bundled with the site: the chart library is never loaded from the network. */
const UPLOT_FILES = ["uPlot.iife.min.js", "uPlot.min.css"] as const;

const html = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** A commit, linked to its page when the commit URL is known and it looks like a commit id. */
function commitLink(data: DashboardData, commit: string): string {
  const short = html(commit.slice(0, 12));
  return data.commitUrl && /^[0-9a-f]{7,64}$/i.test(commit)
    ? `<a class="commit" href="${html(data.commitUrl + commit)}"><code>${short}</code></a>`
    : `<code>${short}</code>`;
}

function metricSection(data: DashboardData, m: DashboardMetric, index: number): string {
  const unit = m.unit ? ` <span class="unit">${html(m.unit)}</span>` : "";
  const cvs = m.series.map((s) => s.cv).filter((v): v is number => v !== undefined);
  const cv = cvs.length ? Math.max(...cvs) : undefined;
  const summary = [
    `${m.n} result${m.n === 1 ? "" : "s"} on ${html(data.baseBranch)}`,
    ...(m.last !== undefined ? [`last ${html(formatValue(m.last, m.unit))}`] : []),
    ...(cv !== undefined ? [`CV ${(cv * 100).toFixed(1)} % at the current level`] : []),
    ...(m.series.length > 1 ? [`${m.series.length} GPU/driver series`] : []),
    ...(m.pr ? [`${m.pr.values.length} pull-request run${m.pr.values.length === 1 ? "" : "s"}`] : []),
  ].join(" · ");
  const steps = m.series.flatMap((s) =>
    s.steps.map(
      (c) =>
        `<li>${html(formatRatioChange(c.ratio))} between ${commitLink(data, c.from)} and ${commitLink(data, c.to)}${m.series.length > 1 ? ` on ${html(data.gpus[s.gpu] ?? "")}` : ""} <span class="p">(run ${c.run + 1}; permutation p = ${c.p.toFixed(3)})</span></li>`,
    ),
  );
  const gpus = m.series.map((s) => s.gpu).join(" ");
  return `<section class="metric" id="${html(m.anchor)}" data-metric="${index}" data-gpus="${gpus}" data-steps="${steps.length}" data-name="${html(m.id.toLowerCase())}">
<h2><a href="#${html(m.anchor)}">${html(m.id)}</a>${unit}</h2>
<p class="summary">${summary}</p>
<div class="chart" tabindex="0" role="img" aria-label="${html(m.id)}: ${m.n} results on ${html(data.baseBranch)}. Arrow keys step through the runs."></div>
<p class="tip" aria-live="polite"></p>
${steps.length ? `<ul class="steps" aria-label="change points">${steps.join("")}</ul>` : `<p class="steps none">No change points in the last ${data.analysed} results.</p>`}
</section>`;
}

/** The page: header, filters, the cost chart and one section per metric (charts drawn by dashboard.js). */
export function dashboardHtml(data: DashboardData): string {
  const total = data.runs.commit.length;
  const base = data.runs.base.reduce((a, b) => a + b, 0);
  const priced = data.runs.cost.filter((c) => c !== null).length;
  const from = data.runs.at[0]?.slice(0, 10);
  const to = data.runs.at[total - 1]?.slice(0, 10);
  const gpuOptions = data.gpus.map((g, i) => `<option value="${i}">${html(g)}</option>`).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(data.title)}</title>
<link rel="stylesheet" href="uPlot.min.css">
<link rel="stylesheet" href="dashboard.css">
</head>
<body>
<header>
<h1>${html(data.title)}</h1>
<p class="about">${total} run${total === 1 ? "" : "s"} (${base} on ${html(data.baseBranch)}, ${total - base} pull-request run${total - base === 1 ? "" : "s"})${from ? `, ${from} to ${to}` : ""}, from <code>${html(data.store)}</code>; built ${html(data.generatedAt.slice(0, 16).replace("T", " "))} UTC. Runs are in the order they were recorded.</p>
${data.refused ? `<p class="refused" role="status">${html(data.refused)}</p>` : ""}
<form class="filters" role="search" onsubmit="return false">
<label>Filter metrics <input id="search" type="search" placeholder="name, or /regex/" autocomplete="off"></label>
<label>GPU <select id="gpu"><option value="">all</option>${gpuOptions}</select></label>
<label><input id="changed" type="checkbox"> only with change points</label>
<label><input id="prs" type="checkbox" checked> pull-request runs</label>
<span id="shown" aria-live="polite">${data.metrics.length} of ${data.metrics.length} metrics</span>
</form>
</header>
<main>
${priced ? `<section class="cost" id="cost"><h2><a href="#cost">Cost per run</a> <span class="unit">USD</span></h2><p class="summary">${priced} priced run${priced === 1 ? "" : "s"}.</p><div class="chart" tabindex="0" role="img" aria-label="cost per run in USD. Arrow keys step through the runs."></div><p class="tip" aria-live="polite"></p></section>` : ""}
${data.metrics.length ? data.metrics.map((m, i) => metricSection(data, m, i)).join("\n") : `<p class="empty">No results yet: runs on ${html(data.baseBranch)} record their gate results in the history store.</p>`}
</main>
<footer><p>Change points: E-divisive means with a permutation test (Matteson &amp; James 2014) over the last ${data.analysed} results of each series, as <code>gpuci history</code>. The band is the current level's median × e<sup>±2·CV</sup>. Charts by uPlot (MIT), bundled with this page: nothing is loaded from the network.</p></footer>
<script src="data.js"></script>
<script src="uPlot.iife.min.js"></script>
<script src="dashboard.js"></script>
</body>
</html>
`;
}

/**
 * data.js: the model as one script (a page opened from disk cannot fetch JSON). The JSON goes
 * in as a string for JSON.parse, which browsers read much faster than an object literal of the
 * same size; `<` is escaped so no text in it can end a script.
 */
export function dashboardScript(data: DashboardData): string {
  return `window.GPUCI_DASHBOARD = JSON.parse(${JSON.stringify(JSON.stringify(data)).replace(/</g, "\\u003c")});\n`;
}

const assetsDir = fileURLToPath(new URL("../assets/", import.meta.url));

/**
 * Write the site into `outDir`: index.html, data.js, dashboard.js and .css, and uPlot with its
 * licence. Files are replaced one by one (atomically); nothing else in the folder is touched.
 */
export async function writeDashboard(data: DashboardData, outDir: string): Promise<DashboardSite> {
  const existing = await stat(outDir).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new Error(`${outDir} is a file, not a folder`);
  await mkdir(outDir, { recursive: true });
  const uplotDir = dirname(createRequire(import.meta.url).resolve("uplot/package.json"));
  const files: Array<[string, string]> = [
    ["index.html", dashboardHtml(data)],
    ["data.js", dashboardScript(data)],
    ["dashboard.js", await readFile(join(assetsDir, "dashboard.js"), "utf8")],
    ["dashboard.css", await readFile(join(assetsDir, "dashboard.css"), "utf8")],
    ...(await Promise.all(
      UPLOT_FILES.map(
        async (f): Promise<[string, string]> => [f, await readFile(join(uplotDir, "dist", f), "utf8")],
      ),
    )),
    ["uPlot.LICENSE", await readFile(join(uplotDir, "LICENSE"), "utf8")],
  ];
  let bytes = 0;
  for (const [name, content] of files) {
    await writeFileAtomic(join(outDir, name), content);
    bytes += Buffer.byteLength(content);
  }
  return { outDir, files: files.map(([n]) => n), bytes };
}
