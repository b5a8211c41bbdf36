/**
 * One redaction for everything gpuci writes or posts: report.json, report.md, the comment, the
 * job summary, terminal text, provenance files, `--json` output and commands' live output.
 * Three kinds of secret are removed:
 * - the values of secret-looking environment variables (names matching SECRET_NAME) and values
 *   masked with `::add-mask::` in GitHub Actions output — as written, and in the encodings a
 *   program may print them in: base64 (at any alignment, so inside `base64("x-access-token:" +
 *   value)` too), base64url, JSON-escaped, URL-encoded, quoted-printable, and split over two
 *   lines;
 * - well-known token shapes (GitHub, GitLab, AWS, Hugging Face, OpenAI-style, Slack, JWT, PEM
 *   private keys, Sentry DSN keys);
 * - credentials by position: URL passwords, `Authorization:`/`Bearer` headers, and the values
 *   of flags named like secrets (`--password=…`, `--api-key …`, `-p VALUE`).
 * Control sequences (ANSI colours) are looked through: a secret with a colour code inside is
 * still found, and the span it covered is replaced whole.
 *
 * The work is precomputed once per {@link Redactor} (one automaton over every secret and its
 * encodings), so redacting 100,000 strings costs one pass over each, not one pass over the
 * environment for each.
 */

/** Variable names that look secret: their values are redacted, and never recorded. */
export const SECRET_NAME =
  /TOKEN|SECRET|KEY|PASSWORD|PASSWD|PASS\b|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE|SIGNATURE|CERT|DSN/i;

/** Values shorter than this are not treated as secrets (they would redact ordinary words). */
const MIN_SECRET_LENGTH = 6;
/** Encoded forms shorter than this are not looked for (too likely to occur by chance). */
const MIN_ENCODED_LENGTH = 8;

interface Pattern {
  re: RegExp;
  /** The secret's span inside a match (from its start), and what replaces it. */
  span: (m: RegExpExecArray) => { from: number; to: number; replacement: string };
}

const whole =
  (replacement: string) =>
  (m: RegExpExecArray): ReturnType<Pattern["span"]> => ({ from: 0, to: m[0].length, replacement });
const afterGroup1 =
  (replacement = "[REDACTED]") =>
  (m: RegExpExecArray): ReturnType<Pattern["span"]> => ({
    from: m[1]!.length,
    to: m[0].length,
    replacement,
  });

const PATTERNS: Pattern[] = [
  {
    re: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    span: whole("[REDACTED:private-key]"),
  },
  { re: /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g, span: whole("[REDACTED:github-token]") },
  { re: /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g, span: whole("[REDACTED:github-token]") },
  { re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, span: whole("[REDACTED:aws-key]") },
  {
    re: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b/g,
    span: whole("[REDACTED:jwt]"),
  },
  { re: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g, span: whole("[REDACTED:slack-token]") },
  { re: /\bsk-[A-Za-z0-9_-]{20,}\b/g, span: whole("[REDACTED:api-key]") },
  { re: /\bhf_[A-Za-z0-9]{30,}\b/g, span: whole("[REDACTED:hf-token]") },
  { re: /\bglpat-[A-Za-z0-9_-]{20,}\b/g, span: whole("[REDACTED:gitlab-token]") },
  // Authorization: Basic/Bearer/token VALUE, and a bare "Bearer VALUE".
  {
    re: /(\bAuthorization\s*[:=]\s*(?:Basic|Bearer|token|Token)?\s*)(?!\[REDACTED)[^\s'"]+/gi,
    span: afterGroup1(),
  },
  { re: /(\b[Bb]earer\s+)(?!\[REDACTED)[A-Za-z0-9._~+/-]{8,}=*/g, span: afterGroup1() },
  // A Sentry DSN's key: https://<32 hex>[:<32 hex>]@o1.ingest.sentry.io/2
  {
    re: /\b([a-z][a-z0-9+.-]*:\/\/)[0-9a-f]{32}(?::[0-9a-f]{32})?@/gi,
    span: (m) => ({ from: m[1]!.length, to: m[0].length - 1, replacement: "[REDACTED:dsn-key]" }),
  },
  // Credentials in URLs: https://user:pass@host → https://[REDACTED]@host
  {
    re: /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:'"]+:[^\s/@'"]*@/gi,
    span: (m) => ({ from: m[1]!.length, to: m[0].length - 1, replacement: "[REDACTED]" }),
  },
  // --token=VALUE and --password VALUE (flags), API_KEY=VALUE and password: VALUE (assignments).
  {
    re: /((?:(?<![^\s'"])--?[A-Za-z0-9_-]*(?:token|secret|password|passwd|api[_-]?key|access[_-]?key)[A-Za-z0-9_-]*(?:=|\s+))|(?:\b[A-Za-z0-9_-]*(?:token|secret|password|passwd|api[_-]?key|access[_-]?key)[A-Za-z0-9_-]*(?:=|:\s*)))(?!\[REDACTED|\$)['"]?[^\s'"]+['"]?/gi,
    span: afterGroup1(),
  },
  // -p VALUE / -pVALUE after programs whose -p is a password (mysql, sshpass, zip, 7z, …).
  {
    re: /(\b(?:mysql\w*|mariadb\w*|sshpass|htpasswd|7z|7za|zip|unzip|rar|unrar|openssl)\b[^\n]*?\s-p\s*)(?!\[REDACTED|\$)[^\s'"]+/g,
    span: afterGroup1(),
  },
];

/** Text none of the patterns can match without: strings without any of these skip them all. */
const PATTERN_ANCHORS =
  /-----BEGIN|gh[pousr]_|github_pat_|AKIA|ASIA|eyJ|xox[abposr]-|sk-|hf_|glpat-|authorization|bearer|:\/\/|token|secret|passw|api[_-]?key|access[_-]?key|\s-p/i;

// ---- values masked with ::add-mask:: (process-wide, as the runner's masker is) ---------------

interface MaskState {
  values: Set<string>;
  version: number;
}
const MASKS_KEY = Symbol.for("gpuci.report.masks");
const maskHolder = globalThis as unknown as Record<symbol, MaskState | undefined>;
if (!maskHolder[MASKS_KEY]) maskHolder[MASKS_KEY] = { values: new Set(), version: 0 };
const masks: MaskState = maskHolder[MASKS_KEY];

/** Treat `value` as a secret from now on (for values a command masked with ::add-mask::). */
export function addSecret(value: string): void {
  const v = value.trim();
  if (v.length >= MIN_SECRET_LENGTH && !masks.values.has(v)) {
    masks.values.add(v);
    masks.version++;
  }
}

/** Register the values of `::add-mask::VALUE` lines in a command's output. */
export function noteMasks(text: string): void {
  if (!text.includes("::add-mask::")) return;
  for (const m of text.matchAll(/::add-mask::([^\r\n]+)/g)) addSecret(m[1]!);
}

/** True for a line the GitHub runner consumes as a mask command (`::add-mask::VALUE`). */
export function isAddMaskLine(line: string): boolean {
  return /^\s*::add-mask::/.test(line);
}

/** The secret values an environment holds: variables whose names look secret. */
export function secretsOf(env: NodeJS.ProcessEnv = process.env): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const [name, value] of Object.entries(env))
    if (value && value.length >= MIN_SECRET_LENGTH && SECRET_NAME.test(name)) out.push({ name, value });
  // Longest first, so a secret that contains another is replaced whole.
  return out.sort((a, b) => b.value.length - a.value.length);
}

// ---- encodings -------------------------------------------------------------------------------

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * The base64 text that every base64 string containing `bytes` contains, for each of the three
 * alignments the bytes can start at: the characters made only of the secret's own bits.
 */
function base64Cores(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
    let text = "";
    for (let i = 0; i + 2 < padded.length + 2; i += 3) {
      const a = padded[i] ?? 0;
      const b = padded[i + 1] ?? 0;
      const c = padded[i + 2] ?? 0;
      text +=
        B64[a >> 2]! + B64[((a & 3) << 4) | (b >> 4)]! + B64[((b & 15) << 2) | (c >> 6)]! + B64[c & 63]!;
    }
    const first = Math.ceil((shift * 8) / 6);
    const last = Math.floor(((shift + bytes.length) * 8) / 6);
    out.push(text.slice(first, last));
  }
  return out;
}

function percentEncodings(value: string): string[] {
  const strict = encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  const variants = [
    encodeURIComponent(value),
    strict,
    strict.replace(/%20/g, "+"),
    strict.replace(/%2F/g, "/"),
  ];
  return [...variants, ...variants.map((v) => v.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()))];
}

function quotedPrintable(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8"))
    out +=
      (byte >= 33 && byte <= 126 && byte !== 61) || byte === 32 || byte === 9
        ? String.fromCharCode(byte)
        : `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}

/** Every form a secret value is looked for in: as written, then its encodings. */
export function secretForms(value: string): string[] {
  const forms = new Set<string>([value]);
  if (value.length >= MIN_ENCODED_LENGTH) {
    const bytes = Buffer.from(value, "utf8");
    for (const core of base64Cores(bytes)) {
      forms.add(core);
      forms.add(core.replace(/\+/g, "-").replace(/\//g, "_"));
    }
    const json = JSON.stringify(value).slice(1, -1);
    forms.add(json);
    forms.add(json.replace(/\//g, "\\/"));
    forms.add(json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
    for (const p of percentEncodings(value)) forms.add(p);
    forms.add(quotedPrintable(value));
  }
  return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

// ---- the automaton -----------------------------------------------------------------------------

interface Needle {
  text: string;
  /** The variable it came from (for `${NAME}`), or undefined for a masked value. */
  name?: string;
  /** True for the value as written (the only form `${NAME}` may stand for). */
  plain: boolean;
}

/** Aho-Corasick over UTF-16 code units: every needle found in one pass over a text. */
class Automaton {
  private readonly next: Array<Map<number, number>> = [new Map()];
  private readonly fail: number[] = [0];
  /** The longest needle ending at a node, or -1. */
  private readonly out: number[] = [-1];
  /** The nearest node on the fail chain that ends a needle, or 0. */
  private readonly dict: number[] = [0];
  readonly maxLength: number;
  /** The shortest needle: a shorter text holds none (most file names and ids). */
  readonly minLength: number;

  constructor(readonly needles: Needle[]) {
    let max = 0;
    let min = Number.POSITIVE_INFINITY;
    needles.forEach((n, index) => {
      let node = 0;
      for (let i = 0; i < n.text.length; i++) {
        const c = n.text.charCodeAt(i);
        let to = this.next[node]!.get(c);
        if (to === undefined) {
          to = this.next.length;
          this.next.push(new Map());
          this.fail.push(0);
          this.out.push(-1);
          this.dict.push(0);
          this.next[node]!.set(c, to);
        }
        node = to;
      }
      const existing = this.out[node]!;
      if (existing < 0 || needles[existing]!.text.length < n.text.length) this.out[node] = index;
      max = Math.max(max, n.text.length);
      min = Math.min(min, n.text.length);
    });
    this.maxLength = max;
    this.minLength = min;
    const queue: number[] = [];
    for (const to of this.next[0]!.values()) queue.push(to);
    for (let q = 0; q < queue.length; q++) {
      const node = queue[q]!;
      for (const [c, to] of this.next[node]!) {
        let f = this.fail[node]!;
        while (f !== 0 && !this.next[f]!.has(c)) f = this.fail[f]!;
        const target = this.next[f]!.get(c);
        this.fail[to] = target !== undefined && target !== to ? target : 0;
        const ft = this.fail[to]!;
        this.dict[to] = this.out[ft]! >= 0 ? ft : this.dict[ft]!;
        queue.push(to);
      }
    }
  }

  /** Calls `found(start, end, needle)` for every occurrence of every needle. */
  scan(text: string, found: (start: number, end: number, needle: number) => void): void {
    let node = 0;
    const root = this.next[0]!;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (node === 0) {
        const to = root.get(c);
        if (to === undefined) continue;
        node = to;
      } else {
        let to = this.next[node]!.get(c);
        while (to === undefined && node !== 0) {
          node = this.fail[node]!;
          to = this.next[node]!.get(c);
        }
        node = to ?? 0;
      }
      let at = this.out[node]! >= 0 ? node : this.dict[node]!;
      while (at !== 0) {
        const n = this.out[at]!;
        found(i + 1 - this.needles[n]!.text.length, i + 1, n);
        at = this.dict[at]!;
      }
    }
  }
}

// ---- views: the text as a reader sees it --------------------------------------------------------

const CONTROL_OR_BREAK = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const ANSI_AT = /\u001b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-_])/y;

/** The characters a view leaves out or splits at: control characters (line breaks included). */
const SPECIAL = /[\u0000-\u001f\u007f]/g;

/** A text with some characters left out, and where each kept run starts in the original. */
interface View {
  text: string;
  /** Kept runs: [start in this view, start in the original], in order. */
  runs: number[];
}

/** The index in the original of a view's character (binary search over the runs). */
function toOriginal(view: View, at: number): number {
  const r = view.runs;
  let lo = 0;
  let hi = r.length / 2 - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (r[mid * 2]! <= at) lo = mid;
    else hi = mid - 1;
  }
  return r[lo * 2 + 1]! + (at - r[lo * 2]!);
}

/**
 * The text with control sequences removed (`visible`), and with line breaks and
 * quoted-printable soft breaks removed as well (`joined`), each mapping back to the original.
 */
function views(text: string): { visible: View; joined: View } {
  const visible: View = { text: "", runs: [] };
  const joined: View = { text: "", runs: [] };
  const vparts: string[] = [];
  const jparts: string[] = [];
  let vlen = 0;
  let jlen = 0;
  const keep = (from: number, to: number, alsoJoined: boolean) => {
    if (to <= from) return;
    visible.runs.push(vlen, from);
    vparts.push(text.slice(from, to));
    vlen += to - from;
    if (alsoJoined) {
      joined.runs.push(jlen, from);
      jparts.push(text.slice(from, to));
      jlen += to - from;
    }
  };
  let at = 0;
  SPECIAL.lastIndex = 0;
  for (let m = SPECIAL.exec(text); m; m = SPECIAL.exec(text)) {
    const i = m.index;
    const c = text.charCodeAt(i);
    if (c === 0x0a || c === 0x0d) {
      // "=\n" is a quoted-printable soft break: its "=" is not part of the text either.
      const soft = i > at && text.charCodeAt(i - 1) === 0x3d;
      keep(at, soft ? i - 1 : i, true);
      if (soft) keep(i - 1, i, false);
      keep(i, i + 1, false);
      at = i + 1;
    } else if (c === 0x09) {
    } else if (c === 0x1b) {
      keep(at, i, true);
      ANSI_AT.lastIndex = i;
      const seq = ANSI_AT.exec(text);
      at = i + (seq ? seq[0].length : 1);
      SPECIAL.lastIndex = at;
    } else {
      keep(at, i, true);
      at = i + 1;
    }
  }
  keep(at, text.length, true);
  visible.text = vparts.join("");
  joined.text = jparts.join("");
  return { visible, joined };
}

/** Options for {@link Redactor.text}. */
export interface RedactTextOptions {
  /** Replace an environment secret's value with `${NAME}` (a re-runnable command) instead of a marker. */
  asVariable?: boolean;
}

/** Options for {@link createRedactor} and the one-call functions. */
export interface RedactOptions extends RedactTextOptions {
  /** Where secret values come from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

interface Span {
  start: number;
  end: number;
  replacement: string;
  /** Which wins where spans overlap: an environment secret (2), a masked value (1), a pattern (0). */
  rank: number;
  variable?: string;
}

/** Objects nested deeper than this are not walked: what gpuci writes stays readable (readReport takes 64 levels). */
export const MAX_REDACT_DEPTH = 50;

/**
 * A redaction precomputed for one environment: its secrets and their encodings in one
 * automaton, rebuilt only when a command masks a new value. Use one per run, or per file.
 */
export class Redactor {
  private automaton: Automaton;
  private maskVersion: number;
  private readonly fromEnv: Needle[];

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.fromEnv = [];
    for (const { name, value } of secretsOf(env))
      for (const form of secretForms(value)) this.fromEnv.push({ text: form, name, plain: form === value });
    this.maskVersion = masks.version;
    this.automaton = this.build();
  }

  private build(): Automaton {
    const needles = [...this.fromEnv];
    for (const value of masks.values)
      for (const form of secretForms(value)) needles.push({ text: form, plain: form === value });
    return new Automaton(needles);
  }

  private current(): Automaton {
    if (masks.version !== this.maskVersion) {
      this.maskVersion = masks.version;
      this.automaton = this.build();
    }
    return this.automaton;
  }

  /** The longest text a secret can span: output is held back at least this much. */
  get longestSecret(): number {
    return this.current().maxLength;
  }

  /** Replace anything that looks like a credential in a string. */
  text(text: string, options: RedactTextOptions = {}): string {
    if (text.length < MIN_SECRET_LENGTH) return text;
    const automaton = this.current();
    const spans: Span[] = [];
    const v = CONTROL_OR_BREAK.test(text) ? views(text) : undefined;
    const literal = v ? v.joined : undefined;
    if (automaton.needles.length && text.length >= automaton.minLength)
      automaton.scan(literal ? literal.text : text, (start, end, index) => {
        const n = automaton.needles[index]!;
        spans.push({
          start: literal ? toOriginal(literal, start) : start,
          end: literal ? toOriginal(literal, end - 1) + 1 : end,
          replacement: n.name ? `[REDACTED:${n.name}]` : "[REDACTED:masked]",
          rank: n.name ? 2 : 1,
          ...(n.name && n.plain ? { variable: n.name } : {}),
        });
      });
    const visible = v ? v.visible : undefined;
    const seen = visible ? visible.text : text;
    if (PATTERN_ANCHORS.test(seen))
      for (const p of PATTERNS) {
        p.re.lastIndex = 0;
        for (let m = p.re.exec(seen); m; m = p.re.exec(seen)) {
          if (m[0].length === 0) {
            p.re.lastIndex++;
            continue;
          }
          const s = p.span(m);
          if (s.to > s.from) {
            const from = m.index + s.from;
            const to = m.index + s.to;
            spans.push({
              start: visible ? toOriginal(visible, from) : from,
              end: visible ? toOriginal(visible, to - 1) + 1 : to,
              replacement: s.replacement,
              rank: 0,
            });
          }
        }
      }
    if (spans.length === 0) return text;
    // Earliest first; overlapping spans become one, named by the best of them (an environment
    // secret's name over a masked value over a pattern's marker).
    spans.sort((a, b) => a.start - b.start || b.end - a.end);
    let out = "";
    let at = 0;
    for (let i = 0; i < spans.length; ) {
      const start = spans[i]!.start;
      let end = spans[i]!.end;
      let best = spans[i]!;
      let j = i + 1;
      for (; j < spans.length && spans[j]!.start < end; j++) {
        end = Math.max(end, spans[j]!.end);
        if (spans[j]!.rank > best.rank) best = spans[j]!;
      }
      out += text.slice(at, start);
      out +=
        options.asVariable && best.variable && best.start === start && best.end === end
          ? `\${${best.variable}}`
          : best.replacement;
      // Keep the line breaks a split secret spanned, so the lines around it stay lines.
      const breaks = text.slice(start, end).match(/\n/g)?.length ?? 0;
      if (breaks && best.rank > 0) out += "\n".repeat(breaks);
      at = end;
      i = j;
    }
    return out + text.slice(at);
  }

  /**
   * Redact an argv list: each element as text, and the element after a secret-named flag
   * (`--api-key VALUE`) or after `-p` for a program whose -p is a password.
   */
  argv(argv: readonly string[], options: RedactTextOptions = {}): string[] {
    const passwordP = argv.some((a) => PASSWORD_P.test(a));
    return argv.map((a, i) => {
      const prev = argv[i - 1];
      if (
        prev !== undefined &&
        (SECRET_FLAG.test(prev) || (passwordP && prev === "-p")) &&
        !a.startsWith("$")
      )
        return "[REDACTED]";
      return this.text(a, options);
    });
  }

  /**
   * Deeply redact every string in a JSON-like value (keys included); string lists as argv.
   * Values nested deeper than {@link MAX_REDACT_DEPTH} are replaced by a note, never walked.
   */
  deep<T>(value: T, options: RedactTextOptions = {}, depth = 0): T {
    if (typeof value === "string") return this.text(value, options) as T;
    if (depth >= MAX_REDACT_DEPTH && value && typeof value === "object")
      return `[not shown: nested deeper than ${MAX_REDACT_DEPTH} levels]` as T;
    if (Array.isArray(value))
      return (
        value.every((v) => typeof v === "string")
          ? this.argv(value, options)
          : value.map((v) => this.deep(v, options, depth + 1))
      ) as T;
    if (value && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value))
        out[this.text(k, options)] = this.deep(v, options, depth + 1);
      return out as T;
    }
    return value;
  }
}

const SECRET_FLAG =
  /^--?[A-Za-z0-9_-]*(?:token|secret|password|passwd|api[_-]?key|access[_-]?key|auth)[A-Za-z0-9_-]*$/i;
const PASSWORD_P = /(?:^|\/)(?:mysql\w*|mariadb\w*|sshpass|htpasswd|7z|7za|zip|unzip|rar|unrar|openssl)$/;

/** A redactor for `env` (default process.env): precompute once, use for a whole run or file. */
export function createRedactor(env: NodeJS.ProcessEnv = process.env): Redactor {
  return new Redactor(env);
}

// One-call functions keep the last redactor while the environment's secrets are unchanged.
let cached: { env: NodeJS.ProcessEnv; key: string; redactor: Redactor } | undefined;
function redactorFor(env: NodeJS.ProcessEnv = process.env): Redactor {
  const key = secretsOf(env)
    .map((s) => `${s.name}\u0000${s.value}`)
    .join("\u0000");
  if (cached && cached.env === env && cached.key === key) return cached.redactor;
  const redactor = new Redactor(env);
  cached = { env, key, redactor };
  return redactor;
}

/** Replace anything that looks like a credential in a string (one call; see {@link Redactor}). */
export function redactText(text: string, options: RedactOptions = {}): string {
  return redactorFor(options.env).text(text, options);
}

/**
 * Redact an argv list: each element as text, and the element after a secret-named flag
 * (`--api-key VALUE`) or after `-p` for a program whose -p is a password.
 */
export function redactArgv(argv: readonly string[], options: RedactOptions = {}): string[] {
  return redactorFor(options.env).argv(argv, options);
}

/** Deeply redact every string in a JSON-like value (keys included); one redactor for all of it. */
export function redactDeep<T>(value: T, options: RedactOptions = {}): T {
  return new Redactor(options.env ?? process.env).deep(value, options);
}

/** Strip credentials from a git remote URL (https://x-access-token:…@github.com/o/r → https://github.com/o/r). */
export function stripUrlCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}
