import { hostname } from "node:os";
import { join, resolve } from "node:path";
import type { GpuInventory } from "@gpuci/preflight";
import {
  createReport,
  type Report,
  type Runner,
  renderSummary,
  type Section,
  skippedSection,
  writeFileAtomic,
  writeReport,
} from "@gpuci/report";
import { type LoadedConfig, loadConfig } from "./config/load.js";
import { type ProgressSink, silentProgress } from "./progress.js";
import { type CommandResult, type OutputSinks, runCommandsStage } from "./stages/commands.js";
import { VERSION } from "./version.js";

/** Options for one `gpuci run`. */
export interface RunOptions {
  /** Path of gpuci.yml (default: gpuci.yml in cwd, or no config). */
  configPath?: string;
  /** An already loaded config (the action loads it itself); wins over configPath. */
  loaded?: LoadedConfig;
  cwd?: string;
  /** Output folder for report.json and report.md (default `.gpuci` under cwd). */
  outDir?: string;
  progress?: ProgressSink;
  /** Where the commands' live output goes. */
  output?: OutputSinks;
  runner?: Runner;
}

/** What `gpuci run` produced. */
export interface RunResult {
  report: Report;
  reportPath: string;
  markdownPath: string;
  outDir: string;
  commands: CommandResult[];
}

/** State shared by the stages of one run. */
export interface StageContext {
  loaded: LoadedConfig;
  outDir: string;
  progress: ProgressSink;
  output: OutputSinks;
  commands: CommandResult[];
  /** The GPU inventory preflight read, for later stages (provenance) to reuse. */
  inventory?: GpuInventory;
}

/** One stage of the pipeline. `run` returns its Section; a `fail` from a blocking stage stops later ones. */
interface Stage {
  id: string;
  title: string;
  /** When a failing result should stop every later stage (preflight). */
  blocking?: boolean;
  /** Why the stage does not apply (no config), or undefined when it should run. */
  notConfigured(ctx: StageContext): string | undefined;
  run(ctx: StageContext): Promise<Section>;
}

const STAGES: Stage[] = [
  {
    id: "preflight",
    title: "Preflight",
    blocking: true,
    notConfigured: (ctx) => (ctx.loaded.config.preflight ? undefined : "no preflight: section"),
    async run(ctx) {
      const { runPreflight } = await import("@gpuci/preflight");
      const { section, inventory } = await runPreflight(ctx.loaded.config.preflight, {
        cwd: ctx.loaded.baseDir,
        env: process.env,
      });
      if (inventory) ctx.inventory = inventory;
      return section;
    },
  },
  {
    id: "run",
    title: "Commands",
    notConfigured: (ctx) => (ctx.loaded.config.run?.length ? undefined : "no run: commands configured"),
    async run(ctx) {
      const { section, results } = await runCommandsStage(
        ctx.loaded.config.run ?? [],
        ctx.loaded.baseDir,
        ctx.progress,
        ctx.output,
      );
      ctx.commands.push(...results);
      return section;
    },
  },
];

/**
 * The engine behind `gpuci run` and the GitHub Action: load the config, run each configured
 * stage in order, and write report.json and report.md. A blocking stage that fails marks
 * every later stage `skip` with the reason; the report is always written.
 */
export async function runGpuci(options: RunOptions = {}): Promise<RunResult> {
  const cwd = options.cwd ?? process.cwd();
  const progress = options.progress ?? silentProgress;
  const loaded = options.loaded ?? (await loadConfig({ path: options.configPath, cwd }));
  const outDir = resolve(cwd, options.outDir ?? ".gpuci");
  const ctx: StageContext = { loaded, outDir, progress, output: options.output ?? {}, commands: [] };
  if (!loaded.path) progress({ type: "note", message: "no gpuci.yml found: running with defaults" });

  const startedAt = new Date();
  const sections: Section[] = [];
  let stoppedBy: string | undefined;
  for (const stage of STAGES) {
    if (stoppedBy) {
      sections.push(skippedSection(stage.id, stage.title, `not run: ${stoppedBy} failed`));
      continue;
    }
    const reason = stage.notConfigured(ctx);
    if (reason) continue;
    progress({ type: "stage-start", stage: stage.id, title: stage.title });
    const t0 = Date.now();
    let section: Section;
    try {
      section = await stage.run(ctx);
    } catch (error) {
      section = {
        id: stage.id,
        title: stage.title,
        status: "error",
        durationMs: Date.now() - t0,
        findings: [
          {
            id: `${stage.id}.crashed`,
            title: `${stage.title} could not finish`,
            status: "error",
            summary: (error as Error).message ?? String(error),
            remedy:
              "This is a gpuci problem, not your code's: re-run with the same config and report it with the message above.",
          },
        ],
      };
    }
    sections.push(section);
    progress({
      type: "stage-end",
      stage: stage.id,
      title: stage.title,
      status: section.status,
      durationMs: section.durationMs,
    });
    if (stage.blocking && (section.status === "fail" || section.status === "error")) stoppedBy = stage.title;
  }

  const report = createReport({
    sections,
    startedAt,
    finishedAt: new Date(),
    tool: { name: "gpuci", version: VERSION },
    runner: options.runner ?? { name: hostname() },
    meta: loaded.path ? { config: loaded.path } : {},
  });
  const reportPath = join(outDir, "report.json");
  const markdownPath = join(outDir, "report.md");
  await writeReport(reportPath, report);
  await writeFileAtomic(markdownPath, `${renderSummary(report)}\n`);
  return { report, reportPath, markdownPath, outDir, commands: ctx.commands };
}
