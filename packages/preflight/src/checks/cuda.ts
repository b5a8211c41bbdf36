import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { execBounded, which } from "@gpuci/process";
import type { Finding } from "@gpuci/report";
import { glob } from "tinyglobby";
import type { PreflightConfig } from "../schema.js";
import { compareVersions } from "./gpu.js";

/** Minimum driver per CUDA major version (NVIDIA's CUDA compatibility table, Linux). */
export const MIN_DRIVER_FOR_CUDA: Record<number, string> = {
  11: "450.80.02",
  12: "525.60.13",
  13: "580.65.06",
};

/**
 * `cuda.path`: when nvcc is not on PATH but a toolkit is installed under a CUDA root
 * (`/usr/local/cuda*`), put its bin on PATH (and lib64 on LD_LIBRARY_PATH) for this process and,
 * inside GitHub Actions, for later steps through GITHUB_PATH / GITHUB_ENV.
 */
export async function fixCudaPath(
  config: PreflightConfig,
  env: NodeJS.ProcessEnv,
  roots: string[] = ["/usr/local"],
): Promise<Finding> {
  const base = { id: "cuda.path", title: "nvcc on PATH" };
  const found = await which("nvcc", env.PATH);
  if (found) return { ...base, status: "pass", summary: `nvcc is ${found}` };
  const candidates = (
    await Promise.all(roots.map((r) => glob("cuda*/bin/nvcc", { cwd: r, absolute: true, onlyFiles: true })))
  )
    .flat()
    // Prefer versioned folders, newest first; plain "cuda" (usually a symlink) last.
    .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  if (candidates.length === 0)
    return config.cuda.nvcc
      ? {
          ...base,
          status: "fail",
          summary: "nvcc is not on PATH and no /usr/local/cuda*/bin/nvcc exists",
          remedy:
            "Install the CUDA toolkit (or use an image that has it), or set preflight.cuda.nvcc: false if the job does not compile CUDA.",
        }
      : { ...base, status: "skip", summary: "no CUDA toolkit installed (not required)" };
  const nvcc = candidates[0]!;
  const bin = join(nvcc, "..");
  const lib = join(bin, "..", "lib64");
  if (!config.cuda.fixPath)
    return {
      ...base,
      status: config.cuda.nvcc ? "fail" : "warn",
      summary: `nvcc is installed at ${nvcc} but not on PATH`,
      remedy: `Add ${bin} to PATH (and ${lib} to LD_LIBRARY_PATH), or set preflight.cuda.fixPath: true to let gpuci do it.`,
    };
  env.PATH = `${bin}:${env.PATH ?? ""}`;
  env.LD_LIBRARY_PATH = env.LD_LIBRARY_PATH ? `${lib}:${env.LD_LIBRARY_PATH}` : lib;
  const changed = [`PATH += ${bin}`, `LD_LIBRARY_PATH += ${lib}`];
  if (env.GITHUB_PATH) {
    await appendFile(env.GITHUB_PATH, `${bin}\n`);
    changed.push("later steps via GITHUB_PATH");
  }
  if (env.GITHUB_ENV) {
    await appendFile(env.GITHUB_ENV, `LD_LIBRARY_PATH=${env.LD_LIBRARY_PATH}\n`);
    changed.push("GITHUB_ENV");
  }
  return {
    ...base,
    status: "warn",
    summary: `nvcc was not on PATH; gpuci added it (${changed.join(", ")})`,
    remedy: `Put ${bin} on the runner's PATH permanently (e.g. in the runner's .env file) so other tools find nvcc too.`,
    data: { nvcc, bin, lib },
  };
}

/** Parse `nvcc --version` ("Cuda compilation tools, release 12.4, V12.4.131"). */
export function parseNvccVersion(text: string): string | undefined {
  return /release (\d+\.\d+)/.exec(text)?.[1];
}

/**
 * `cuda.toolkit`: nvcc's version against the driver's CUDA version and the minimum driver of
 * its CUDA family.
 */
export async function checkCudaToolkit(
  config: PreflightConfig,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  driver: { driverVersion?: string; cudaVersion?: string } | undefined,
): Promise<Finding> {
  const base = { id: "cuda.toolkit", title: "CUDA toolkit vs driver" };
  const r = await execBounded("nvcc", ["--version"], { timeoutMs, env });
  if (r.error?.code === "ENOENT")
    return config.cuda.nvcc
      ? {
          ...base,
          status: "fail",
          summary: "nvcc not found",
          remedy: "Install the CUDA toolkit or put its bin folder on PATH.",
        }
      : { ...base, status: "skip", summary: "nvcc not on PATH (not required)" };
  const version = parseNvccVersion(r.stdout);
  if (r.exitCode !== 0 || !version)
    return {
      ...base,
      status: "error",
      summary: r.timedOut
        ? "nvcc --version timed out"
        : `nvcc --version printed no release (exit ${r.exitCode})`,
      remedy: "Run `nvcc --version` by hand; the toolkit install looks broken.",
      details: `${r.stdout}${r.stderr}`.slice(0, 2000) || undefined,
    };
  if (!driver?.driverVersion)
    return {
      ...base,
      status: "pass",
      summary: `nvcc ${version}; no driver here to compare with`,
      data: { nvcc: version },
    };
  const major = Number(version.split(".")[0]);
  const familyMin = MIN_DRIVER_FOR_CUDA[major];
  const problems: string[] = [];
  if (driver.cudaVersion && compareVersions(version, driver.cudaVersion) > 0)
    problems.push(
      `nvcc ${version} is newer than the CUDA ${driver.cudaVersion} driver ${driver.driverVersion} supports`,
    );
  if (familyMin && compareVersions(driver.driverVersion, familyMin) < 0)
    problems.push(`CUDA ${major}.x needs driver ≥ ${familyMin}; this runner has ${driver.driverVersion}`);
  if (problems.length)
    return {
      ...base,
      status: "fail",
      summary: problems.join("; "),
      remedy: `Update the driver to ${familyMin ?? "a newer version"} or newer, or pin the CUDA toolkit to ${driver.cudaVersion ?? "the driver's CUDA version"} or older.`,
      data: { nvcc: version, ...driver },
    };
  return {
    ...base,
    status: "pass",
    summary: `nvcc ${version} ≤ driver CUDA ${driver.cudaVersion ?? "?"} (driver ${driver.driverVersion})`,
    data: { nvcc: version, ...driver },
  };
}
