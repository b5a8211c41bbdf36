import { createSection, type Finding, type Section } from "@gpuci/report";
import { checkCudaToolkit, fixCudaPath } from "./checks/cuda.js";
import { GPU_CHECK_IDS, gpuFindings, queryNvidiaSmi, readKernelModuleVersion } from "./checks/gpu.js";
import { checkCommands, checkDisk, checkEnv, checkMemory } from "./checks/host.js";
import { checkFiles, checkSmoke, checkSymbols } from "./checks/project.js";
import { checkTorch } from "./checks/python.js";
import type { GpuInventory } from "./nvidia-smi.js";
import { type PreflightConfig, type PreflightConfigInput, PreflightConfigSchema } from "./schema.js";

/** Options for {@link runPreflight}. */
export interface PreflightOptions {
  /** Where files, smoke commands and symbols are resolved (default: process.cwd()). */
  cwd?: string;
  /** The environment checks run with; cuda.path may prepend to its PATH. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Skip every check that needs a GPU (the pre-GPU checklist). */
  local?: boolean;
  /** Where the kernel module's version is read (default /proc/driver/nvidia/version). */
  procVersionPath?: string;
  /** Folders searched for cuda*\/bin/nvcc by cuda.path (default ["/usr/local"]). */
  cudaRoots?: string[];
}

/** What preflight found: its Section and, when nvidia-smi answered, the GPU inventory (for provenance). */
export interface PreflightResult {
  section: Section;
  inventory?: GpuInventory;
}

function timeoutFinding(id: string, title: string, ms: number): Finding {
  return {
    id,
    title,
    status: "error",
    summary: `did not finish within ${ms / 1000} s`,
    remedy:
      "Something on the runner hangs (see this check's program); raise preflight.timeoutSeconds only if it is just slow.",
  };
}

/** Run a check, turning a timeout or a crash into an `error` finding (never a pass). */
async function bounded(
  id: string,
  title: string,
  ms: number,
  work: () => Promise<Finding[]>,
): Promise<Finding[]> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      work(),
      new Promise<Finding[]>((resolve) => {
        timer = setTimeout(() => resolve([timeoutFinding(id, title, ms)]), ms);
      }),
    ]);
    const elapsed = Math.round(performance.now() - t0);
    return result.map((f) => (f.durationMs === undefined ? { ...f, durationMs: elapsed } : f));
  } catch (error) {
    return [
      {
        id,
        title,
        status: "error",
        summary: `the check crashed: ${(error as Error).message}`,
        remedy: "This is a gpuci bug; report it with the message.",
        durationMs: Math.round(performance.now() - t0),
      },
    ];
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Check the runner. Every check runs concurrently under its own timeout, and the whole
 * preflight under `totalTimeoutSeconds`; a hung nvidia-smi never hangs gpuci.
 */
export async function runPreflight(
  input: PreflightConfigInput | Partial<PreflightConfig> | undefined = {},
  options: PreflightOptions = {},
): Promise<PreflightResult> {
  const config = PreflightConfigSchema.parse(input ?? {});
  const started = performance.now();
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const perCheck = config.timeoutSeconds * 1000;

  // cuda.path first: it may change PATH for the checks after it.
  const pathFinding = await bounded("cuda.path", "nvcc on PATH", perCheck, async () => [
    await fixCudaPath(config, env, options.cudaRoots),
  ]);

  let inventory: GpuInventory | undefined;
  const smi = options.local
    ? undefined
    : bounded("gpu.smi", "nvidia-smi answers", perCheck + 2000, async () => {
        const [q, module] = await Promise.all([
          queryNvidiaSmi(env, perCheck),
          readKernelModuleVersion(options.procVersionPath),
        ]);
        inventory = q.inventory;
        return [q.finding, ...(q.inventory ? gpuFindings(q.inventory, config, module) : [])];
      });

  const tasks: Array<Promise<Finding[]>> = [
    ...(smi ? [smi] : []),
    bounded("cuda.toolkit", "CUDA toolkit vs driver", perCheck + 2000, async () => {
      if (smi) await smi;
      return [await checkCudaToolkit(config, env, perCheck, inventory)];
    }),
    bounded("host.disk", "free disk", perCheck, async () => [await checkDisk(config, cwd)]),
    bounded("host.memory", "available memory", perCheck, async () => [await checkMemory(config)]),
    bounded("host.env", "environment variables", perCheck, async () => {
      const f = checkEnv(config, env);
      return f ? [f] : [];
    }),
    bounded("host.commands", "programs on PATH", perCheck, async () => {
      const f = await checkCommands(config, env);
      return f ? [f] : [];
    }),
  ];
  if (config.files.length)
    tasks.push(bounded("files", "files present", perCheck, () => checkFiles(config.files, cwd)));
  if (config.smoke.length)
    tasks.push(
      bounded("smoke", "smoke commands", perCheck * config.smoke.length + 5000, () =>
        checkSmoke(config.smoke, cwd, env, perCheck),
      ),
    );
  if (Object.keys(config.symbols).length)
    tasks.push(
      bounded("symbols", "exported symbols", perCheck, () =>
        checkSymbols(config.symbols, cwd, env, perCheck),
      ),
    );
  if (config.python.torch && !options.local)
    tasks.push(
      bounded("python.torch", "PyTorch with CUDA", config.python.timeoutSeconds * 1000 + 2000, async () => [
        await checkTorch(config, env),
      ]),
    );

  const total = config.totalTimeoutSeconds * 1000;
  const settled = tasks.map((t) => t.then((f) => ({ done: true as const, f })));
  let timer: NodeJS.Timeout | undefined;
  const results = await Promise.race([
    Promise.all(settled),
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), total);
    }),
  ]);
  clearTimeout(timer);
  const findings: Finding[] = [...pathFinding];
  if (results) for (const r of results) findings.push(...r.f);
  else
    findings.push({
      id: "preflight.timeout",
      title: "preflight finished in time",
      status: "error",
      summary: `preflight did not finish within ${config.totalTimeoutSeconds} s`,
      remedy:
        "A check hangs; run `gpuci preflight` by hand to see which, or raise preflight.totalTimeoutSeconds.",
    });

  if (options.local)
    for (const id of ["gpu.smi", ...GPU_CHECK_IDS])
      findings.push({
        id,
        title: id,
        status: "skip",
        summary: "skipped: --local runs only the checks that need no GPU",
      });
  else if (config.gpu.min === 0) {
    // No GPU required: a missing nvidia-smi is not a failure.
    for (const f of findings)
      if (f.id === "gpu.smi" && f.status === "fail" && !inventory) {
        f.status = "skip";
        f.summary = `${f.summary} (preflight.gpu.min is 0)`;
        delete f.remedy;
      }
  }
  const section = createSection("preflight", "Preflight", findings, Math.round(performance.now() - started));
  return inventory ? { section, inventory } : { section };
}
