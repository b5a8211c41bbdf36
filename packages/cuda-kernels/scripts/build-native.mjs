// Builds the N-API addon with node-gyp (npm's bundled copy). Uses the system Node headers
// (/usr/include/node) when present, so nothing is downloaded. A failed build is reported and
// does not fail the package build: the napi backend then says why it is unavailable and the
// webgpu backend still serves.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));

// The CUDA catalog (native/kernels.cu) is embedded in the addon as a C++ raw string literal.
const cu = readFileSync(join(here, "native/kernels.cu"), "utf8");
if (cu.includes(')CUDA"')) throw new Error('native/kernels.cu must not contain )CUDA"');
mkdirSync(join(here, "native/gen"), { recursive: true });
writeFileSync(
  join(here, "native/gen/kernels_cu.inc"),
  `// Generated from native/kernels.cu by scripts/build-native.mjs.\nR"CUDA(${cu})CUDA"\n`,
);
const args = ["rebuild", "--release"];
if (!process.env.npm_config_nodedir && existsSync("/usr/include/node/node_api.h"))
  args.push("--nodedir=/usr");
const npmDir = dirname(dirname(process.execPath));
const candidates = [
  process.env.npm_config_node_gyp,
  join(npmDir, "lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
  "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
  "/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
].filter(Boolean);
const gyp = candidates.find((c) => existsSync(c));
if (!gyp) {
  console.error(
    "gpuci: node-gyp not found; the napi backend will be unavailable (install node-gyp or build with npm >= 7)",
  );
  process.exit(0);
}
const r = spawnSync(process.execPath, [gyp, ...args], { cwd: here, stdio: "inherit" });
if (r.status !== 0) {
  console.error("gpuci: building the N-API addon failed (see above); the napi backend will be unavailable");
  process.exit(process.env.GPUCI_REQUIRE_NATIVE ? 1 : 0);
}
