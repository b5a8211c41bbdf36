export {
  type DashboardData,
  type DashboardMetric,
  type DashboardOptions,
  type DashboardSeries,
  type DashboardStep,
  dashboardModel,
  githubCommitUrl,
} from "./model.js";
export { type DashboardSite, dashboardHtml, dashboardScript, writeDashboard } from "./site.js";

import type { HistoryEntry } from "@gpuci/gates";
import { type DashboardOptions, dashboardModel } from "./model.js";
import { type DashboardSite, writeDashboard } from "./site.js";

/**
 * Build the static dashboard of a history into `outDir`: model the runs, then write the site.
 * Open `outDir/index.html` from disk or publish the folder (GitHub Pages).
 */
export async function buildDashboard(
  entries: readonly HistoryEntry[],
  outDir: string,
  options: DashboardOptions,
): Promise<DashboardSite & { metrics: number; runs: number }> {
  const data = dashboardModel(entries, options);
  const site = await writeDashboard(data, outDir);
  return { ...site, metrics: data.metrics.length, runs: data.runs.commit.length };
}
