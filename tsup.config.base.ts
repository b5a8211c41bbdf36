import { defineConfig, type Options } from "tsup";

/**
 * The one tsup configuration every package re-exports with its own entries.
 * ESM only, Node 20 target, declarations emitted, and a `createRequire` banner so that
 * bundled CommonJS dependencies can still call `require` inside an ESM bundle.
 */
export function definePackageConfig(overrides: Options = {}) {
  return defineConfig({
    format: ["esm"],
    target: "node20",
    platform: "node",
    dts: true,
    clean: true,
    sourcemap: false,
    splitting: true,
    treeshake: true,
    banner: {
      js: "import { createRequire as __gpuciCreateRequire } from 'node:module'; const require = __gpuciCreateRequire(import.meta.url);",
    },
    ...overrides,
  });
}
