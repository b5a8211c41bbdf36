/** Variable names that look secret: never recorded, even when allowlisted. */
export const SECRET_NAME =
  /TOKEN|SECRET|KEY|PASSWORD|PASSWD|PASS\b|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE|SIGNATURE|CERT/i;

const PATTERNS: Array<[RegExp, string]> = [
  [/\bgh[pousr]_[A-Za-z0-9]{30,}\b/g, "[REDACTED:github-token]"],
  [/\bgithub_pat_[A-Za-z0-9_]{20,}\b/g, "[REDACTED:github-token]"],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, "[REDACTED:aws-key]"],
  [/\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b/g, "[REDACTED:jwt]"],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g, "[REDACTED:slack-token]"],
  [/\bsk-[A-Za-z0-9_-]{20,}\b/g, "[REDACTED:api-key]"],
  [/\bhf_[A-Za-z0-9]{30,}\b/g, "[REDACTED:hf-token]"],
  [/\bglpat-[A-Za-z0-9_-]{20,}\b/g, "[REDACTED:gitlab-token]"],
  [/(\b[Bb]earer\s+)[A-Za-z0-9._~+/-]{16,}=*/g, "$1[REDACTED]"],
  // Credentials in URLs: https://user:pass@host → https://host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+(?::[^\s/@]*)?@/gi, "$1"],
  // --token=VALUE, --password VALUE, TOKEN=VALUE on command lines.
  [
    /((?:--?|\b)[A-Za-z0-9_-]*(?:token|secret|password|passwd|api[_-]?key)[A-Za-z0-9_-]*(?:=|\s+))(?!\[REDACTED)[^\s'"]+/gi,
    "$1[REDACTED]",
  ],
];

/** Replace anything that looks like a credential in a string. */
export function redactText(text: string): string {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

/** Deeply redact every string in a JSON-like value (keys included). */
export function redactDeep<T>(value: T): T {
  if (typeof value === "string") return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redactText(k)] = redactDeep(v);
    return out as T;
  }
  return value;
}

/** Strip credentials from a git remote URL (https://x-access-token:…@github.com/o/r → https://github.com/o/r). */
export function stripUrlCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}
