import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/** NVRTC unpacked by .ci/install-nvrtc into .nvrtc/, for the CUDA compile checks (no GPU needed). */
function localNvrtc(): string | undefined {
  const root = fileURLToPath(new URL("./.nvrtc/nvidia/", import.meta.url));
  if (!existsSync(root)) return undefined;
  for (const cu of readdirSync(root)) {
    const lib = `${root}${cu}/lib`;
    const so = existsSync(lib) ? readdirSync(lib).find((f) => /^libnvrtc\.so\.\d+$/.test(f)) : undefined;
    if (so) return `${lib}/${so}`;
  }
  return undefined;
}
const nvrtc = process.env.GPUCI_NVRTC ?? localNvrtc();

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      {
        find: /^@gpuci\/cuda-kernels\/schema$/,
        replacement: fileURLToPath(new URL("./packages/cuda-kernels/src/schema.ts", import.meta.url)),
      },
      {
        find: /^@gpuci\/report\/(redact|errors)$/,
        replacement: fileURLToPath(new URL("./packages/report/src/$1.ts", import.meta.url)),
      },
      {
        find: /^@gpuci\/provenance\/verify$/,
        replacement: fileURLToPath(new URL("./packages/provenance/src/verify.ts", import.meta.url)),
      },
      { find: /^@gpuci\/([a-z-]+)$/, replacement: pkg("$1") },
    ],
  },
  test: {
    include: ["packages/*/src/**/*.test.ts", "actions/*/src/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    env: nvrtc ? { GPUCI_NVRTC: nvrtc } : {},
  },
});
