import { definePackageConfig } from "../../tsup.config.base.js";

// One self-contained file: GitHub runs dist/index.js straight from the repository, without
// installing dependencies, so everything except Node's built-ins is bundled.
export default definePackageConfig({
  entry: ["src/index.ts"],
  noExternal: [/^(?!webgpu$|@gpuci\/cuda-kernels$).*/],
  // Native parts stay outside the bundle and load only when kernels: is configured (see README).
  external: ["webgpu", "@gpuci/cuda-kernels"],
  splitting: false,
  dts: false,
  treeshake: false,
  minify: false,
});
