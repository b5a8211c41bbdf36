import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      {
        find: /^@gpuci\/cuda-kernels\/schema$/,
        replacement: fileURLToPath(new URL("./packages/cuda-kernels/src/schema.ts", import.meta.url)),
      },
      { find: /^@gpuci\/([a-z-]+)$/, replacement: pkg("$1") },
    ],
  },
  test: {
    include: ["packages/*/src/**/*.test.ts", "actions/*/src/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
