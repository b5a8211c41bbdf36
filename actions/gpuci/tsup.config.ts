import { definePackageConfig } from "../../tsup.config.base.js";

// One self-contained file: GitHub runs dist/index.js straight from the repository, without
// installing dependencies, so everything except Node's built-ins is bundled.
export default definePackageConfig({
  entry: ["src/index.ts"],
  noExternal: [/.*/],
  splitting: false,
  dts: false,
  treeshake: false,
  minify: false,
});
