import { readFileSync, statSync } from 'node:fs';
import { isMap, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import type * as z from 'zod';
import { closest } from './closest';
import { type TagwardenConfig, TagwardenConfigFile } from './schema';

/** Config files are small; anything larger is a mistake (or an attack on the parser). */
export const MAX_CONFIG_BYTES = 256 * 1024;

/** Aliases a file may expand; a "billion laughs" file needs far more and is rejected. */
const MAX_ALIAS_COUNT = 100;

export const DEFAULT_CONFIG_NOTICE =
  'No config file given: Tagwarden alerts on every tag overwrite except `latest` (allowed to move), and prints alerts to the console.';

export type LoadResult = { ok: true; config: TagwardenConfig } | { ok: false; errors: string[] };

export interface LoadOptions {
  /** The name errors print (`tagwarden.yaml:4:13: …`). */
  file: string;
  /** Where `${VAR}` references are looked up. */
  env: Record<string, string | undefined>;
  /**
   * Read only the policy (`defaults`, `rules`): notify, sources and registries are left out unread,
   * so a policy simulation needs none of their secrets in the environment.
   */
  policyOnly?: boolean;
  /**
   * Read the policy and only these other sections: the rest are left out unread, their `${VAR}`s
   * unresolved, so a command needs only the secrets it uses (`policyOnly` is `sections: []`).
   */
  sections?: readonly ConfigSection[];
  /** Of `registries`, read only these hosts (case-insensitive): a sweep needs its registry's credentials alone. */
  registryHosts?: readonly string[];
}

/** The top-level keys that are not policy; `sections` picks among them (a typo elsewhere is still an error). */
export const CONFIG_SECTIONS = ['notify', 'sources', 'api', 'registries', 'clusters', 'effects'] as const;
export type ConfigSection = (typeof CONFIG_SECTIONS)[number];
export type SectionOptions = Pick<LoadOptions, 'policyOnly' | 'sections' | 'registryHosts'>;

type Path = (string | number)[];

interface Located {
  offset: number;
  message: string;
}

/**
 * Parses and validates a config file's text. Every error names the file, line, column and field:
 * `tagwarden.yaml:4:13: rules[0].action: expected one of allow|alert|lock|revert, got "revrt"`.
 *
 * String values (never keys) expand `${VAR}` and `${VAR:-default}` from `env` before validation;
 * `$${` is a literal `${`. An empty file is valid: alert on every tag, no owners, no rules.
 */
export function loadConfigText(text: string, options: LoadOptions): LoadResult {
  const { file, env } = options;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) {
    return {
      ok: false,
      errors: [`${file}: config file is ${bytes} bytes; the limit is ${MAX_CONFIG_BYTES} (256 KiB)`],
    };
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number, message: string): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}: ${message}`;
  };

  const yamlProblems = [...doc.errors, ...doc.warnings];
  if (yamlProblems.length > 0) {
    return { ok: false, errors: yamlProblems.map((e) => at(e.pos[0], `YAML: ${firstLine(e.message)}`)) };
  }

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml throws on excessive aliases (resource exhaustion) and on broken alias references.
    return {
      ok: false,
      errors: [`${file}: YAML: ${error instanceof Error ? error.message : String(error)}`],
    };
  }
  // An empty file (or one with only comments) is an empty config.
  if (raw === null || raw === undefined) raw = {};
  raw = selectSections(raw, options);

  const problems: Located[] = [];
  const expansionFailed: string[] = [];
  const expanded = expandValue(raw, [], env, (path, message) => {
    expansionFailed.push(formatPath(path));
    problems.push({ offset: offsetOf(doc, path), message: `${formatPath(path)}: ${message}` });
  });

  const parsed = TagwardenConfigFile.safeParse(expanded, { reportInput: true });
  if (parsed.success && problems.length === 0) return { ok: true, config: parsed.data };

  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
      const label = formatPath(path);
      // A value whose ${VAR} failed to expand has already been reported; skip its follow-on errors.
      if (expansionFailed.some((p) => label === p || label.startsWith(`${p}.`) || label.startsWith(`${p}[`)))
        continue;
      problems.push(...describeIssue(doc, issue, path));
    }
  }
  problems.sort((a, b) => a.offset - b.offset);
  // One value can fail two checks with the same message (a URL's format and its http(s) pattern).
  return { ok: false, errors: [...new Set(problems.map((p) => at(p.offset, p.message)))] };
}

/** Reads and loads a config file; a missing, unreadable or oversized file is one clear error. */
export function loadConfigFile(
  path: string,
  env: Record<string, string | undefined> = process.env,
  options: SectionOptions = {},
): LoadResult {
  let text: string;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return { ok: false, errors: [`${path}: config file is not a regular file`] };
    if (stat.size > MAX_CONFIG_BYTES) {
      return {
        ok: false,
        errors: [`${path}: config file is ${stat.size} bytes; the limit is ${MAX_CONFIG_BYTES} (256 KiB)`],
      };
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, errors: [`${path}: config file not found`] };
    return {
      ok: false,
      errors: [`${path}: cannot read config file: ${error instanceof Error ? error.message : String(error)}`],
    };
  }
  return loadConfigText(text, { file: path, env, ...options });
}

/** Leaves out, before expansion, the sections (and registries) the caller does not read. */
function selectSections(raw: unknown, options: SectionOptions): unknown {
  const sections: readonly string[] | undefined = options.policyOnly ? [] : options.sections;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  let entries = Object.entries(raw);
  if (sections) entries = entries.filter(([key]) => !isSection(key) || sections.includes(key));
  const hosts = options.registryHosts?.map((host) => host.toLowerCase());
  if (hosts) {
    entries = entries.map(([key, value]) =>
      key === 'registries' && typeof value === 'object' && value !== null && !Array.isArray(value)
        ? [
            key,
            Object.fromEntries(Object.entries(value).filter(([host]) => hosts.includes(host.toLowerCase()))),
          ]
        : [key, value],
    );
  }
  return Object.fromEntries(entries);
}

function isSection(key: string): key is ConfigSection {
  return (CONFIG_SECTIONS as readonly string[]).includes(key);
}

// ---------------------------------------------------------------------------------------------
// ${VAR} expansion

/**
 * Fields that hold a secret, a token or a URL: the only ones `${VAR}` expands in. Anywhere else (an
 * owner, a glob) an expansion could carry a secret of the environment into an alert or a log.
 */
const EXPANDING_FIELDS = new Set([
  'token',
  'secret',
  'password',
  'username',
  'url',
  'webhookUrl',
  'signingSecret',
]);

function expandsIn(path: Path): boolean {
  const last = path[path.length - 1];
  if (typeof last === 'string' && EXPANDING_FIELDS.has(last)) return true;
  // notify.slack.routes: owner → incoming-webhook URL.
  return path.length === 4 && path[0] === 'notify' && path[1] === 'slack' && path[2] === 'routes';
}

function expandValue(
  value: unknown,
  path: Path,
  env: Record<string, string | undefined>,
  fail: (path: Path, message: string) => void,
): unknown {
  if (typeof value === 'string') {
    const report = (message: string) => fail(path, message);
    return expandsIn(path) ? expandString(value, env, report) : unescapeLiteral(value, report);
  }
  if (Array.isArray(value)) return value.map((item, i) => expandValue(item, [...path, i], env, fail));
  if (value !== null && typeof value === 'object') {
    // Keys are never expanded. Object.fromEntries defines own properties, so a `__proto__` key stays data.
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, expandValue(item, [...path, key], env, fail)]),
    );
  }
  return value;
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** A field that does not expand: `$${` is still a literal `${`, and a bare `${` is refused, not kept. */
function unescapeLiteral(text: string, fail: (message: string) => void): string {
  const bare = text.replaceAll('$${', '').indexOf('${');
  if (bare >= 0) {
    fail(
      `"\${…}" is expanded only in ${[...EXPANDING_FIELDS].join(', ')} fields and notify.slack.routes (secrets, tokens and URLs); write "$\${" for a literal "\${"`,
    );
    return text;
  }
  return text.replaceAll('$${', '${');
}

/** `${VAR}`, `${VAR:-default}` (default when unset or empty), `$${` for a literal `${`. Not recursive. */
export function expandString(
  text: string,
  env: Record<string, string | undefined>,
  fail: (message: string) => void,
): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
    } else if (text.startsWith('${', i)) {
      const end = text.indexOf('}', i + 2);
      if (end < 0) {
        fail('unterminated "${" (write "$${" for a literal "${")');
        return out;
      }
      const body = text.slice(i + 2, end);
      const match = REFERENCE.exec(body);
      if (!match) {
        fail(
          `invalid reference "\${${body}}": expected \${NAME} or \${NAME:-default} (write "$\${" for a literal "\${")`,
        );
        return out;
      }
      const name = match[1]!;
      const fallback = match[2];
      const value = env[name];
      if (fallback !== undefined && (value === undefined || value === '')) out += fallback;
      else if (value === undefined) {
        fail(`environment variable ${name} is not set`);
        return out;
      } else out += value;
      i = end + 1;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Issues → located messages

function describeIssue(
  doc: ReturnType<typeof parseDocument>,
  issue: z.core.$ZodIssue,
  path: Path,
): Located[] {
  const label = formatPath(path);
  const prefix = label === '' ? '' : `${label}: `;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(path);
      return issue.keys.map((key) => {
        const hint = closest(key, known);
        const expected = known.length > 0 ? `; expected ${known.join(', ')}` : '';
        const where = label === '' ? 'at the top level' : `in ${label}`;
        return {
          offset: keyOffsetOf(doc, path, key),
          message: `unknown key "${key}" ${where}${hint ? ` (did you mean "${hint}"?)` : expected}`,
        };
      });
    }
    case 'invalid_key': {
      const key = path[path.length - 1];
      const inner = issue.issues[0]?.message ?? issue.message;
      const parent = formatPath(path.slice(0, -1));
      return [
        {
          offset: keyOffsetOf(doc, path.slice(0, -1), String(key)),
          message: `${parent}: key "${String(key)}": ${inner}`,
        },
      ];
    }
    case 'invalid_value': {
      const expected = issue.values.map((v) => String(v)).join('|');
      const got = issue.input === undefined ? 'nothing' : JSON.stringify(issue.input);
      if (issue.input === undefined) {
        return [{ offset: offsetOf(doc, path), message: `${prefix}is required (one of ${expected})` }];
      }
      return [{ offset: offsetOf(doc, path), message: `${prefix}expected one of ${expected}, got ${got}` }];
    }
    case 'invalid_type': {
      const expected = yamlTypeName(issue.expected);
      if (issue.input === undefined) {
        return [{ offset: offsetOf(doc, path), message: `${prefix}is required (${expected})` }];
      }
      const got = yamlTypeOf(issue.input);
      const hint =
        expected === 'string' && (got === 'number' || got === 'boolean')
          ? ' (quote the value to keep it a string)'
          : '';
      return [{ offset: offsetOf(doc, path), message: `${prefix}expected ${expected}, got ${got}${hint}` }];
    }
    default:
      return [{ offset: offsetOf(doc, path), message: `${prefix}${issue.message}` }];
  }
}

function yamlTypeName(zodType: string): string {
  if (zodType === 'object' || zodType === 'record') return 'a mapping';
  if (zodType === 'array') return 'a list';
  return zodType;
}

function yamlTypeOf(value: unknown): string {
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** `rules[0].action`, `registries["127.0.0.1:5000"].url`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** Start of the YAML node at `path`, or of its nearest existing parent. */
function offsetOf(doc: ReturnType<typeof parseDocument>, path: Path): number {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as Node | null | undefined)?.range;
    if (range) return range[0];
  }
  return 0;
}

/** Start of the key `key` in the mapping at `path` (for unknown or invalid keys). */
function keyOffsetOf(doc: ReturnType<typeof parseDocument>, path: Path, key: string): number {
  const parent = path.length === 0 ? doc.contents : doc.getIn(path, true);
  if (isMap(parent)) {
    for (const pair of parent.items) {
      if (isScalar(pair.key) && String(pair.key.value) === key && pair.key.range) return pair.key.range[0];
    }
  }
  return offsetOf(doc, path);
}

/**
 * The keys the schema allows in the object at `path` (for "did you mean" hints). Walks the core
 * definitions, which classic and mini schemas share (the policy part is written with zod/mini).
 */
function knownKeysAt(path: Path): string[] {
  let schema: z.core.$ZodType | undefined = TagwardenConfigFile;
  for (const key of [...path, null]) {
    while (schema && (schema._zod.def.type === 'default' || schema._zod.def.type === 'optional'))
      schema = (schema._zod.def as z.core.$ZodOptionalDef).innerType;
    if (!schema || key === null) break;
    const def: z.core.$ZodTypeDef = schema._zod.def;
    if (def.type === 'object') schema = (def as z.core.$ZodObjectDef).shape[key as string];
    else if (def.type === 'array') schema = (def as z.core.$ZodArrayDef).element;
    else if (def.type === 'record') schema = (def as z.core.$ZodRecordDef).valueType;
    else return [];
  }
  return schema?._zod.def.type === 'object'
    ? Object.keys((schema._zod.def as z.core.$ZodObjectDef).shape)
    : [];
}

function firstLine(message: string): string {
  return message.split('\n')[0]!;
}
