export { type Artifact, collectArtifacts, manifestLine, parseManifest, renderManifest } from "./artifacts.js";
export {
  type CiFacts,
  collectCi,
  collectEnv,
  collectGit,
  collectHost,
  collectLockfiles,
  collectToolchain,
  ENV_ALLOWLIST,
  type GitFacts,
  type HostFacts,
  LOCKFILE_GLOBS,
  type ToolchainFacts,
} from "./collect.js";
export { type FoundEntries, findEntries, findFiles, globToRegExp } from "./glob.js";
export { type FileDigest, type HashOptions, hashFiles, hashInto, sha256Hex } from "./hash.js";
export {
  type ProvenanceInput,
  type ProvenanceRecord,
  type ProvenanceResult,
  type RecordedCommand,
  recordProvenance,
} from "./provenance.js";
export { redactDeep, redactText, SECRET_NAME, stripUrlCredentials } from "./redact.js";
export { type ProvenanceConfig, ProvenanceConfigSchema } from "./schema.js";
export { GPUCI_BUILD_TYPE, type ProvenanceStatement, ProvenanceStatementSchema } from "./statement.js";
export { type VerifyLine, type VerifyResult, verifyProvenance } from "./verify.js";
