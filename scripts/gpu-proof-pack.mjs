// Stages what scripts/gpu-proof.sh needs on a GPU machine that has CUDA, Python and PyTorch
// but no Node: the node binary, the built packages (dist/ and the N-API addon), the runtime
// dependency closure of the workspace packages and of vitest (for the kernel tests), dawn.node
// for linux-x64 only, and the Vulkan loader; then packs it all as .gpu-proof/pack.tar.xz.
// NVRTC is not carried: the GPU machine's CUDA provides it (the addon finds it by soname or
// $CUDA_HOME). Called by scripts/gpu-proof-pack.sh, which checks the size.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outDir = join(root, ".gpu-proof");
const stage = join(outDir, "stage");
rmSync(join(outDir, "pack.tar.xz"), { force: true });
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

// The dependency closure: every package a root needs at run time, found the way Node resolves
// them (the nearest node_modules up the tree), optional dependencies only when installed.
const pkgDirs = new Set();
function resolvePkg(name, fromDir) {
  for (let d = fromDir; ; d = dirname(d)) {
    const candidate = join(d, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (d === root || d === dirname(d)) return undefined;
  }
}
function visit(found) {
  // One real path per package: a workspace reached through its node_modules/@gpuci link is the
  // workspace, and a package nested under a workspace is found there.
  const dir = realpathSync(found);
  if (pkgDirs.has(dir)) return;
  pkgDirs.add(dir);
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const deps = { ...pkg.dependencies, ...pkg.optionalDependencies };
  for (const name of Object.keys(deps)) {
    const found = resolvePkg(name, dir);
    if (found) visit(found);
  }
}
const workspaces = readdirSync(join(root, "packages")).map((p) => join(root, "packages", p));
for (const ws of workspaces) visit(ws);
for (const tool of ["vitest"]) visit(resolvePkg(tool, root));

const SKIP_WEBGPU = /^(darwin-universal|linux-arm64|win32-arm64|win32-x64)$/;
let files = 0;
for (const dir of pkgDirs) {
  const rel = relative(root, dir);
  if (workspaces.includes(dir)) {
    // Workspace packages: package.json and what the build made (sources travel with the tree).
    // native/gen holds the generated sources the CUDA emulator's builds include (git-ignored).
    for (const part of ["package.json", "dist", "build/Release/gpuci_kernels.node", "native/gen"]) {
      const from = join(dir, part);
      if (existsSync(from)) cpSync(from, join(stage, rel, part), { recursive: true });
    }
    continue;
  }
  cpSync(dir, join(stage, rel), {
    recursive: true,
    filter: (src) => {
      const r = relative(dir, src);
      if (rel === "node_modules/webgpu" && r.startsWith("dist/") && SKIP_WEBGPU.test(r.split("/")[1] ?? ""))
        return false;
      if (/(^|\/)node_modules(\/|$)/.test(r)) return false; // nested ones are visited on their own
      files++;
      return true;
    },
  });
}
// Workspace links in node_modules/@gpuci point at packages/: recreated by gpu-proof.sh.
mkdirSync(join(stage, ".gpu-proof", "node", "bin"), { recursive: true });
cpSync(process.execPath, join(stage, ".gpu-proof", "node", "bin", "node"));
// The Vulkan loader and the GLVND EGL loader, for WebGPU on a real GPU (the GPU machine's
// container may have the NVIDIA driver's libraries but not these loaders). dawn.node opens
// `libvulkan.so.1` and the unversioned `libEGL.so`. A missing loader is an error with the fix:
// a pack without it would show "no adapter" on the GPU and waste the device time.
const LOADERS = [
  ["libvulkan.so.1", "libvulkan.so.1", "libvulkan1"],
  ["libEGL.so.1", "libEGL.so", "libegl1"],
  ["libGLdispatch.so.0", "libGLdispatch.so.0", "libglvnd0"],
];
const missing = [];
for (const [from, to, pkg] of LOADERS) {
  const lib = `/usr/lib/x86_64-linux-gnu/${from}`;
  if (existsSync(lib)) cpSync(lib, join(stage, ".gpu-proof", "lib", to), { dereference: true });
  else missing.push(`${from} (Debian package ${pkg})`);
}
if (missing.length > 0) {
  rmSync(stage, { recursive: true, force: true });
  console.error(
    `gpu-proof-pack: missing ${missing.join(", ")}. Fix: bash .ci/install-debian-packages (or apt-get install ${LOADERS.map((l) => l[2]).join(" ")}), then pack again.`,
  );
  process.exit(1);
}
execFileSync("tar", ["-C", stage, "-cJf", join(outDir, "pack.tar.xz"), "--owner=0", "--group=0", "."], {
  env: { ...process.env, XZ_OPT: "-6 -T2" },
  stdio: "inherit",
});
rmSync(stage, { recursive: true, force: true });
console.log(
  `gpu-proof-pack: ${pkgDirs.size} packages (${files} files) + node ${process.version} + Vulkan and EGL loaders → ${relative(root, join(outDir, "pack.tar.xz"))}`,
);
