/**
 * One redaction for everything gpuci writes or posts: report.json, report.md, the comment, the
 * job summary, terminal text, provenance files. Three kinds of secret are removed:
 * - the values of secret-looking environment variables (names matching SECRET_NAME) and values
 *   masked with `::add-mask::` in GitHub Actions output;
 * - well-known token shapes (GitHub, GitLab, AWS, Hugging Face, OpenAI-style, Slack, JWT, PEM
 *   private keys);
 * - credentials by position: URL passwords, `Authorization:`/`Bearer` headers, and the values
 *   of flags named like secrets (`--password=…`, `--api-key …`, `-p VALUE`).
 */

/** Variable names that look secret: their values are redacted, and never recorded. */
export const SECRET_NAME =
  /TOKEN|SECRET|KEY|PASSWORD|PASSWD|PASS\b|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE|SIGNATURE|CERT/i;

/** Values shorter than this are not treated as secrets (they would redact ordinary words). */
const MIN_SECRET_LENGTH = 6;

const PATTERNS: Array<[RegExp, string]> = [
  [
    /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    "[REDACTED:private-key]",
  ],
  [/\bgh[pousr]_[A-Za-z0-9]{30,}\b/g, "[REDACTED:github-token]"],
  [/\bgithub_pat_[A-Za-z0-9_]{20,}\b/g, "[REDACTED:github-token]"],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, "[REDACTED:aws-key]"],
  [/\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b/g, "[REDACTED:jwt]"],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g, "[REDACTED:slack-token]"],
  [/\bsk-[A-Za-z0-9_-]{20,}\b/g, "[REDACTED:api-key]"],
  [/\bhf_[A-Za-z0-9]{30,}\b/g, "[REDACTED:hf-token]"],
  [/\bglpat-[A-Za-z0-9_-]{20,}\b/g, "[REDACTED:gitlab-token]"],
  // Authorization: Basic/Bearer/token VALUE, and a bare "Bearer VALUE".
  [/(\bAuthorization\s*[:=]\s*(?:Basic|Bearer|token|Token)?\s*)(?!\[REDACTED)[^\s'"]+/gi, "$1[REDACTED]"],
  [/(\b[Bb]earer\s+)(?!\[REDACTED)[A-Za-z0-9._~+/-]{8,}=*/g, "$1[REDACTED]"],
  // Credentials in URLs: https://user:pass@host → https://[REDACTED]@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:'"]+:[^\s/@'"]*@/gi, "$1[REDACTED]@"],
  // --token=VALUE and --password VALUE (flags), API_KEY=VALUE and password: VALUE (assignments).
  [
    /((?:(?<![^\s'"])--?[A-Za-z0-9_-]*(?:token|secret|password|passwd|api[_-]?key|access[_-]?key)[A-Za-z0-9_-]*(?:=|\s+))|(?:\b[A-Za-z0-9_-]*(?:token|secret|password|passwd|api[_-]?key|access[_-]?key)[A-Za-z0-9_-]*(?:=|:\s*)))(?!\[REDACTED|\$)['"]?[^\s'"]+['"]?/gi,
    "$1[REDACTED]",
  ],
  // -p VALUE / -pVALUE after programs whose -p is a password (mysql, sshpass, zip, 7z, …).
  [
    /(\b(?:mysql\w*|mariadb\w*|sshpass|htpasswd|7z|7za|zip|unzip|rar|unrar|openssl)\b[^\n]*?\s-p\s*)(?!\[REDACTED|\$)[^\s'"]+/g,
    "$1[REDACTED]",
  ],
];

const masked = new Set<string>();

/** Treat `value` as a secret from now on (for values a command masked with ::add-mask::). */
export function addSecret(value: string): void {
  const v = value.trim();
  if (v.length >= MIN_SECRET_LENGTH) masked.add(v);
}

/** Register the values of `::add-mask::VALUE` lines in a command's output. */
export function noteMasks(text: string): void {
  if (!text.includes("::add-mask::")) return;
  for (const m of text.matchAll(/::add-mask::([^\r\n]+)/g)) addSecret(m[1]!);
}

/** The secret values an environment holds: variables whose names look secret. */
export function secretsOf(env: NodeJS.ProcessEnv = process.env): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const [name, value] of Object.entries(env))
    if (value && value.length >= MIN_SECRET_LENGTH && SECRET_NAME.test(name)) out.push({ name, value });
  // Longest first, so a secret that contains another is replaced whole.
  return out.sort((a, b) => b.value.length - a.value.length);
}

/** Options for {@link redactText}. */
export interface RedactOptions {
  /** Where secret values come from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Replace an environment secret's value with `${NAME}` (a re-runnable command) instead of a marker. */
  asVariable?: boolean;
}

/** Replace anything that looks like a credential in a string. */
export function redactText(text: string, options: RedactOptions = {}): string {
  let out = text;
  for (const { name, value } of secretsOf(options.env))
    if (out.includes(value))
      out = out.split(value).join(options.asVariable ? `\${${name}}` : `[REDACTED:${name}]`);
  for (const value of masked) if (out.includes(value)) out = out.split(value).join("[REDACTED:masked]");
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

const SECRET_FLAG =
  /^--?[A-Za-z0-9_-]*(?:token|secret|password|passwd|api[_-]?key|access[_-]?key|auth)[A-Za-z0-9_-]*$/i;
const PASSWORD_P = /(?:^|\/)(?:mysql\w*|mariadb\w*|sshpass|htpasswd|7z|7za|zip|unzip|rar|unrar|openssl)$/;

/**
 * Redact an argv list: each element as text, and the element after a secret-named flag
 * (`--api-key VALUE`) or after `-p` for a program whose -p is a password.
 */
export function redactArgv(argv: readonly string[], options: RedactOptions = {}): string[] {
  const passwordP = argv.some((a) => PASSWORD_P.test(a));
  return argv.map((a, i) => {
    const prev = argv[i - 1];
    if (prev !== undefined && (SECRET_FLAG.test(prev) || (passwordP && prev === "-p")) && !a.startsWith("$"))
      return "[REDACTED]";
    return redactText(a, options);
  });
}

/** Deeply redact every string in a JSON-like value (keys included); string lists as argv. */
export function redactDeep<T>(value: T, options: RedactOptions = {}): T {
  if (typeof value === "string") return redactText(value, options) as T;
  if (Array.isArray(value))
    return (
      value.every((v) => typeof v === "string")
        ? redactArgv(value, options)
        : value.map((v) => redactDeep(v, options))
    ) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redactText(k, options)] = redactDeep(v, options);
    return out as T;
  }
  return value;
}

/** Strip credentials from a git remote URL (https://x-access-token:…@github.com/o/r → https://github.com/o/r). */
export function stripUrlCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}
