import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as core from "@actions/core";

/**
 * The kernels stage needs native parts (dawn.node and the N-API addon) that cannot live in one
 * JavaScript file, so the bundle leaves `@gpuci/cuda-kernels` and `webgpu` outside and Node
 * resolves them from the repository the action runs from. GitHub downloads the whole repository
 * for `uses: <owner>/gpuci/actions/gpuci@<ref>`, and `uses: ./actions/gpuci` is a checkout of it,
 * so in both cases the action's repository root is two folders above `actions/gpuci`. When the
 * packages are not installed there yet, this installs them once (`npm ci`) and builds the kernels
 * package (node-gyp), in the action's own folder — never in the user's workspace.
 */
export async function ensureKernelPackages(): Promise<void> {
  try {
    await import("@gpuci/cuda-kernels");
    return;
  } catch {
    // Not installed next to the action yet.
  }
  const here = dirname(fileURLToPath(import.meta.url)); // actions/gpuci/dist
  const repo = resolve(here, "../../..");
  if (
    !existsSync(join(repo, "packages/cuda-kernels/package.json")) ||
    !existsSync(join(repo, "package-lock.json"))
  ) {
    core.warning(
      `the kernels stage needs @gpuci/cuda-kernels, and ${repo} is not a gpuci repository to install it from`,
    );
    return;
  }
  await core.group(
    "gpuci: installing the kernel backends (dawn.node, N-API addon) for kernels:",
    async () => {
      const run = (args: string[]) => {
        core.info(`$ npm ${args.join(" ")}`);
        const r = spawnSync("npm", args, { cwd: repo, stdio: "inherit", env: process.env });
        return r.status === 0;
      };
      if (!run(["ci", "--no-audit", "--no-fund"]) && !run(["install", "--no-audit", "--no-fund"])) {
        core.warning("installing the kernel backends failed; the kernels stage will report why");
        return;
      }
      if (!run(["run", "build", "-w", "@gpuci/report", "-w", "@gpuci/cuda-kernels"]))
        core.warning("building the kernel backends failed; the kernels stage will report why");
    },
  );
}
