import { mkdtemp, readFile, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative } from "node:path";
import { execBounded, registerCleanup } from "@gpuci/process";

/** A problem with the repository or the base ref: a finding with a remedy, never a crash. */
export class AbSetupError extends Error {
  constructor(
    message: string,
    readonly remedy: string,
    /** `base` when the base ref itself could not be resolved (a usage error for `--base`). */
    readonly reason?: "base",
  ) {
    super(message);
    this.name = "AbSetupError";
  }
}

/** A word for a POSIX shell: as it is when it is plain, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

async function git(cwd: string, args: string[], timeoutMs = 60_000, evenWhenCancelled = false) {
  const r = await execBounded("git", args, { cwd, timeoutMs, evenWhenCancelled });
  if (r.error)
    throw new AbSetupError(
      r.error.code === "ECANCELED" ? r.error.message : `git could not be started: ${r.error.message}`,
      "Install git on the runner.",
    );
  return r;
}

/** The repository that holds `dir`, and `dir`'s path inside it. */
export async function repositoryOf(dir: string): Promise<{ root: string; subdir: string; head: string }> {
  const top = await git(dir, ["rev-parse", "--show-toplevel"]);
  if (top.exitCode !== 0)
    throw new AbSetupError(
      `${dir} is not inside a git repository, so there is no base to compare with`,
      "Run gpuci ab inside the repository checkout (actions/checkout with fetch-depth: 0).",
    );
  const root = top.stdout.trim();
  const head = await git(dir, ["rev-parse", "--verify", "HEAD"]);
  if (head.exitCode !== 0)
    throw new AbSetupError("the repository has no commit yet", "Commit the base version first.");
  return { root, subdir: relative(await realpath(root), await realpath(dir)), head: head.stdout.trim() };
}

/**
 * The uncommitted changes of the working tree (tracked and untracked files, as `git status`
 * lists them), leaving out folders gpuci writes into (`ignore`, absolute or relative to root).
 */
export async function uncommittedChanges(root: string, ignore: readonly string[] = []): Promise<string[]> {
  const r = await git(root, [
    "status",
    "--porcelain=v1",
    "-z",
    "--untracked-files=normal",
    "--ignore-submodules=none",
  ]);
  if (r.exitCode !== 0) return [];
  const skip = ignore
    .map((p) => (isAbsolute(p) ? relative(root, p) : p))
    .filter((p) => p && !p.startsWith(".."));
  const entries = r.stdout.split("\0");
  const files: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.length < 4) continue;
    // A rename or copy is followed by its old path.
    if (e[0] === "R" || e[0] === "C") i++;
    const path = e.slice(3);
    if (skip.some((s) => path === s || path.startsWith(`${s}/`) || `${path}`.replace(/\/$/, "") === s))
      continue;
    files.push(path);
  }
  return files;
}

/** How the base commit was found, for the report. */
export interface ResolvedBase {
  commit: string;
  /** "merge-base of HEAD and main", or the ref given. */
  how: string;
}

/**
 * The base commit: `merge-base` is the merge base of HEAD with the base branch (tried as a
 * local branch, then as `<remote>/<branch>`), anything else is resolved as a git ref.
 */
export async function resolveBase(
  root: string,
  base: string,
  baseBranch: string,
  remote = "origin",
): Promise<ResolvedBase> {
  if (base === "merge-base") {
    for (const ref of [baseBranch, `${remote}/${baseBranch}`]) {
      const r = await git(root, ["merge-base", "HEAD", "--end-of-options", ref]);
      if (r.exitCode === 0) return { commit: r.stdout.trim(), how: `merge-base of HEAD and ${ref}` };
    }
    throw new AbSetupError(
      `no merge base of HEAD with ${baseBranch} or ${remote}/${baseBranch}`,
      `Fetch the base branch (actions/checkout with fetch-depth: 0, or git fetch ${shellQuote(remote)} ${shellQuote(baseBranch)}), set history.baseBranch, or set ab.base to a ref.`,
      "base",
    );
  }
  const r = await git(root, ["rev-parse", "--verify", "--end-of-options", `${base}^{commit}`]);
  if (r.exitCode !== 0)
    throw new AbSetupError(
      `the base ${JSON.stringify(base)} is not a commit in this repository`,
      `Fetch it (git fetch ${shellQuote(remote)} ${shellQuote(base)}) or name an existing branch, tag or commit.`,
      "base",
    );
  return { commit: r.stdout.trim(), how: base };
}

/**
 * On the base branch itself (the merge base is HEAD: a push to main, a local run on main with a
 * clean tree) an A/B of HEAD with its merge base would compare HEAD with itself. The previous
 * base commit is what a push changed: the push event's `before` (GITHUB_EVENT_PATH, when it is an
 * ancestor of HEAD: a force-push's old tip is not), else HEAD's first parent. Undefined for the
 * first commit of a repository.
 */
export async function previousBaseCommit(
  root: string,
  baseBranch: string,
  env: NodeJS.ProcessEnv,
): Promise<ResolvedBase | undefined> {
  if (env.GITHUB_EVENT_NAME === "push" && env.GITHUB_EVENT_PATH) {
    const before = await readFile(env.GITHUB_EVENT_PATH, "utf8")
      .then((t) => (JSON.parse(t) as { before?: unknown }).before)
      .catch(() => undefined);
    if (typeof before === "string" && /^[0-9a-f]{40}$/.test(before) && !/^0+$/.test(before)) {
      const ok = await git(root, ["merge-base", "--is-ancestor", before, "HEAD"]);
      if (ok.exitCode === 0)
        return {
          commit: before,
          how: `the ${baseBranch} commit before this push (HEAD is on ${baseBranch})`,
        };
    }
  }
  const r = await git(root, ["rev-parse", "--verify", "--quiet", "HEAD^1^{commit}"]);
  if (r.exitCode !== 0) return undefined;
  return {
    commit: r.stdout.trim(),
    how: `the previous ${baseBranch} commit, HEAD's first parent (HEAD is on ${baseBranch})`,
  };
}

/** A checkout of the base commit in a folder of its own, outside the user's tree. */
export interface BaseWorktree {
  dir: string;
  /** Submodules checked out in the base from the local checkouts' objects (paths). */
  submodules: string[];
  /** Remove the worktree and its folder; safe to call more than once. */
  remove(): Promise<void>;
}

/** The submodules checked out under `dir` (recursively): name, path, and the folder they sit in. */
async function checkedOutSubmodules(
  dir: string,
): Promise<Array<{ name: string; path: string; top: string }>> {
  const r = await git(dir, [
    "submodule",
    "foreach",
    "--quiet",
    "--recursive",
    'printf "%s\\0%s\\0%s\\0" "$name" "$sm_path" "$toplevel"',
  ]);
  if (r.exitCode !== 0) return [];
  const parts = r.stdout.split("\0");
  const out: Array<{ name: string; path: string; top: string }> = [];
  for (let i = 0; i + 2 < parts.length; i += 3)
    out.push({ name: parts[i]!, path: parts[i + 1]!, top: parts[i + 2]! });
  return out;
}

/**
 * Check out `commit` in a new git worktree under the system temp folder (detached, so no
 * branch is created or moved), with its submodules (`git submodule update --init --recursive`)
 * cloned from the submodules checked out in the user's tree, never from the network.
 * `remove()` deletes the worktree and its administrative files; the user's working tree, index
 * and git config are never touched. A cancel (SIGINT/SIGTERM) removes it too.
 */
export async function addWorktree(root: string, commit: string): Promise<BaseWorktree> {
  const parent = await mkdtemp(join(tmpdir(), "gpuci-ab-"));
  const dir = join(parent, "base");
  let removing: Promise<void> | undefined;
  const remove = () => {
    removing ??= (async () => {
      await git(root, ["worktree", "remove", "--force", "--force", dir], 60_000, true).catch(() => {});
      await rm(parent, { recursive: true, force: true });
      await git(root, ["worktree", "prune"], 60_000, true).catch(() => {});
    })();
    return removing;
  };
  const unregister = registerCleanup(`the A/B base worktree ${dir}`, remove);
  const removeAndForget = async () => {
    await remove();
    unregister();
  };
  const r = await git(root, ["worktree", "add", "--detach", "--quiet", dir, commit], 300_000).catch(
    (error: unknown) => error as Error,
  );
  if (r instanceof Error || r.exitCode !== 0) {
    await removeAndForget();
    if (r instanceof Error) throw r;
    throw new AbSetupError(
      `git worktree add failed: ${r.stderr.trim().split("\n").pop()}`,
      "Check that the repository is writable and not a shallow clone missing the base commit.",
    );
  }
  const submodules: string[] = [];
  const gitmodules = await stat(join(dir, ".gitmodules")).catch(() => undefined);
  if (gitmodules) {
    // Point every submodule at the checkout the user's tree already has (`-c` settings only:
    // nothing is written to the repository's config), and clone from it.
    const local = await checkedOutSubmodules(root);
    const settings = ["-c", "protocol.file.allow=always"];
    for (const s of local) settings.push("-c", `submodule.${s.name}.url=${join(s.top, s.path)}`);
    const u = await git(
      dir,
      [...settings, "submodule", "update", "--init", "--recursive", "--no-recommend-shallow"],
      300_000,
    );
    if (u.exitCode !== 0) {
      await removeAndForget();
      const missing = local.length === 0;
      throw new AbSetupError(
        `the base commit has submodules, and ${missing ? "none is checked out in your tree to copy them from" : "they could not be checked out from your tree's copies"}: ${u.stderr.trim().split("\n").slice(-2).join(" ")}`,
        missing
          ? "Check them out first (git submodule update --init --recursive, or actions/checkout with submodules: recursive), so the base gets them from local objects."
          : "Fetch the submodules' history (git submodule update --init --recursive, then git -C <submodule> fetch), so the base's submodule commits are in your checkouts.",
      );
    }
    const st = await git(dir, ["submodule", "status", "--recursive"]);
    for (const line of st.stdout.split("\n"))
      if (line.trim()) submodules.push(line.trim().split(/\s+/)[1] ?? "");
  }
  return { dir, submodules: submodules.filter(Boolean), remove: removeAndForget };
}
