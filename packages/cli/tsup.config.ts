import { readFileSync } from "node:fs";
import { definePackageConfig } from "../../tsup.config.base.js";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  version: string;
};

export default definePackageConfig({
  entry: ["src/bin.ts", "src/index.ts"],
  define: { __GPUCI_VERSION__: JSON.stringify(version) },
  dts: { entry: "src/index.ts" },
});
