// Builds the N-API addon with node-gyp (npm's bundled copy). Uses the system Node headers
// (/usr/include/node) when present, so nothing is downloaded. A failed build is reported and
// does not fail the package build: the napi backend then says why it is unavailable and the
// webgpu backend still serves.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
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
