import { readFile, statfs } from "node:fs/promises";
import { freemem } from "node:os";
import { which } from "@gpuci/process";
import type { Finding } from "@gpuci/report";
import type { PreflightConfig } from "../schema.js";

const GiB = 1024 ** 3;

/** `host.disk`: free space where the job runs. */
export async function checkDisk(config: PreflightConfig, cwd: string): Promise<Finding> {
  const s = await statfs(cwd);
  const free = (s.bavail * s.bsize) / GiB;
  const need = config.host.minFreeDiskGiB;
  return free >= need
    ? {
        id: "host.disk",
        title: "free disk",
        status: "pass",
        summary: `${free.toFixed(1)} GiB free in ${cwd}`,
      }
    : {
        id: "host.disk",
        title: "free disk",
        status: "fail",
        summary: `${free.toFixed(1)} GiB free in ${cwd}, ${need} GiB needed`,
        remedy:
          "Free space on the runner (old checkpoints, docker images, ~/.cache) or lower preflight.host.minFreeDiskGiB.",
      };
}

/** Available memory: MemAvailable from /proc/meminfo, else os.freemem(). */
async function availableMemory(): Promise<number> {
  try {
    const text = await readFile("/proc/meminfo", "utf8");
    const kb = /^MemAvailable:\s+(\d+) kB/m.exec(text)?.[1];
    if (kb) return Number(kb) * 1024;
  } catch {}
  return freemem();
}

/** `host.memory`: available host memory. */
export async function checkMemory(config: PreflightConfig): Promise<Finding> {
  const avail = (await availableMemory()) / GiB;
  const need = config.host.minAvailableMemoryGiB;
  return avail >= need
    ? {
        id: "host.memory",
        title: "available memory",
        status: "pass",
        summary: `${avail.toFixed(1)} GiB available`,
      }
    : {
        id: "host.memory",
        title: "available memory",
        status: "fail",
        summary: `${avail.toFixed(1)} GiB available, ${need} GiB needed`,
        remedy: "Stop what is using the runner's memory or lower preflight.host.minAvailableMemoryGiB.",
      };
}

/** `host.env`: required variables are set. Names only: values are never read into the report. */
export function checkEnv(config: PreflightConfig, env: NodeJS.ProcessEnv): Finding | undefined {
  if (config.host.env.length === 0) return undefined;
  const missing = config.host.env.filter((name) => !env[name]);
  return missing.length === 0
    ? {
        id: "host.env",
        title: "environment variables",
        status: "pass",
        summary: `set: ${config.host.env.join(", ")}`,
      }
    : {
        id: "host.env",
        title: "environment variables",
        status: "fail",
        summary: `not set: ${missing.join(", ")}`,
        remedy: "Set them in the workflow (env: or secrets:) or the runner's .env file.",
      };
}

/** `host.commands`: required programs are on PATH. */
export async function checkCommands(
  config: PreflightConfig,
  env: NodeJS.ProcessEnv,
): Promise<Finding | undefined> {
  if (config.host.commands.length === 0) return undefined;
  const found = await Promise.all(config.host.commands.map((c) => which(c, env.PATH)));
  const missing = config.host.commands.filter((_, i) => !found[i]);
  return missing.length === 0
    ? {
        id: "host.commands",
        title: "programs on PATH",
        status: "pass",
        summary: config.host.commands.join(", "),
      }
    : {
        id: "host.commands",
        title: "programs on PATH",
        status: "fail",
        summary: `not on PATH: ${missing.join(", ")}`,
        remedy: "Install them on the runner image or add their folder to PATH.",
      };
}
