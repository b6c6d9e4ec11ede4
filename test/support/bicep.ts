/**
 * Reads a Bicep template as ARM would evaluate it, far enough for the deployment rehearsals: params
 * (given values or defaults), vars, resources (name, type, scope, parent, body) and the expressions
 * in between (strings with `${…}`, objects, arrays, `a ? b : c`, operators, lambdas and the common
 * functions). What only Azure knows after creating a resource (`vault.properties.vaultUri`,
 * `registry.properties.loginServer`, …) comes from `runtime`, by resource type. Anything this reader
 * does not know throws with its name, so a template change is seen, never guessed at.
 *
 *   const template = readBicep(readFileSync('infra/azure/main.bicep', 'utf8'));
 *   const settings = appSettings(template, deployment);   // { NAME: 'value', … } of the Function App
 */
import { createHash } from 'node:crypto';

type Node =
  | { t: 'lit'; v: unknown }
  | { t: 'tpl'; parts: (string | Node)[] }
  | { t: 'id'; name: string }
  | { t: 'member'; obj: Node; prop: string; safe: boolean }
  | { t: 'index'; obj: Node; idx: Node }
  | { t: 'call'; name: string; args: Node[] }
  | { t: 'arr'; items: Node[] }
  | { t: 'obj'; props: [string, Node][] }
  | { t: 'cond'; test: Node; yes: Node; no: Node }
  | { t: 'unary'; op: string; arg: Node }
  | { t: 'bin'; op: string; l: Node; r: Node }
  | { t: 'lambda'; params: string[]; body: Node };

interface Token {
  kind: 'str' | 'num' | 'id' | 'op';
  text: string;
  /** For strings: the literal parts and the source of each `${…}`. */
  parts?: { text: string; expr: boolean }[];
  /** A newline came before this token. */
  nl: boolean;
}

const OPS = ['=>', '==', '!=', '=~', '!~', '<=', '>=', '&&', '||', '??', '.?', ...'{}[](),:.?!=<>+-*/%@|'];

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let nl = true;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\n') {
      nl = true;
      i++;
    } else if (/\s/.test(c)) i++;
    else if (source.startsWith('//', i))
      i = source.indexOf('\n', i) < 0 ? source.length : source.indexOf('\n', i);
    else if (source.startsWith('/*', i)) i = source.indexOf('*/', i) + 2;
    else if (source.startsWith("'''", i)) {
      const end = source.indexOf("'''", i + 3);
      tokens.push({ kind: 'str', text: '', parts: [{ text: source.slice(i + 3, end), expr: false }], nl });
      i = end + 3;
      nl = false;
    } else if (c === "'") {
      const { parts, end } = readString(source, i + 1);
      tokens.push({ kind: 'str', text: '', parts, nl });
      i = end;
      nl = false;
    } else {
      const word = /^(?:[A-Za-z_][\w]*|\d+)/.exec(source.slice(i, i + 200))?.[0];
      const op = word ? undefined : OPS.find((o) => source.startsWith(o, i));
      const text = word ?? op;
      if (!text) throw new Error(`bicep: unexpected "${c}" at ${lineOf(source, i)}`);
      tokens.push({ kind: word ? (/^\d/.test(word) ? 'num' : 'id') : 'op', text, nl });
      i += text.length;
      nl = false;
    }
  }
  return tokens;
}

function lineOf(source: string, at: number): string {
  return `line ${source.slice(0, at).split('\n').length}`;
}

/** A single-quoted string from `start` (after the quote): its literal parts and `${…}` sources. */
function readString(
  source: string,
  start: number,
): { parts: { text: string; expr: boolean }[]; end: number } {
  const parts: { text: string; expr: boolean }[] = [];
  let text = '';
  let i = start;
  const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', "'": "'", '\\': '\\', $: '$' };
  while (source[i] !== "'") {
    if (i >= source.length) throw new Error('bicep: unterminated string');
    if (source[i] === '\\') {
      text += ESCAPES[source[i + 1]!] ?? source[i + 1];
      i += 2;
    } else if (source.startsWith('${', i)) {
      parts.push({ text, expr: false });
      text = '';
      let depth = 1;
      let j = i + 2;
      for (; depth > 0; j++) {
        if (source[j] === "'") j = readString(source, j + 1).end - 1;
        else if (source[j] === '{') depth++;
        else if (source[j] === '}') depth--;
      }
      parts.push({ text: source.slice(i + 2, j - 1), expr: true });
      i = j;
    } else text += source[i++];
  }
  parts.push({ text, expr: false });
  return { parts, end: i + 1 };
}

class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  done(): boolean {
    return this.at >= this.tokens.length;
  }
  peek(offset = 0): Token | undefined {
    return this.tokens[this.at + offset];
  }
  next(): Token {
    const token = this.tokens[this.at++];
    if (!token) throw new Error('bicep: unexpected end of template');
    return token;
  }
  is(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token !== undefined && token.kind !== 'str' && token.text === text;
  }
  /** Consumes the token if it is `text`. */
  accept(text: string): boolean {
    if (!this.is(text)) return false;
    this.at++;
    return true;
  }
  expect(text: string): void {
    const token = this.next();
    if (token.text !== text) throw new Error(`bicep: expected "${text}", found "${token.text}"`);
  }
  /** Skips separators (commas; newlines are already gone) inside objects and arrays. */
  private commas(): void {
    while (this.is(',')) this.at++;
  }

  expression(): Node {
    const test = this.binary(0);
    if (!this.is('?')) return test;
    this.at++;
    const yes = this.expression();
    this.expect(':');
    return { t: 'cond', test, yes, no: this.expression() };
  }

  private static readonly LEVELS = [
    ['??'],
    ['||'],
    ['&&'],
    ['==', '!=', '=~', '!~'],
    ['<', '>', '<=', '>='],
    ['+', '-'],
    ['*', '/', '%'],
  ];

  private binary(level: number): Node {
    if (level === Parser.LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    while (this.peek()?.kind === 'op' && Parser.LEVELS[level]!.includes(this.peek()!.text)) {
      const op = this.next().text;
      left = { t: 'bin', op, l: left, r: this.binary(level + 1) };
    }
    return left;
  }

  private unary(): Node {
    if (this.is('!') || this.is('-')) {
      const op = this.next().text;
      return { t: 'unary', op, arg: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private postfix(node: Node): Node {
    for (;;) {
      const token = this.peek();
      if (!token || token.nl) return node;
      if (this.is('.') || this.is('.?')) {
        const safe = this.next().text === '.?';
        node = { t: 'member', obj: node, prop: this.next().text, safe };
      } else if (this.is('[')) {
        this.at++;
        const idx = this.expression();
        this.expect(']');
        node = { t: 'index', obj: node, idx };
      } else return node;
    }
  }

  private primary(): Node {
    const token = this.next();
    if (token.kind === 'str') return template(token);
    if (token.kind === 'num') return { t: 'lit', v: Number(token.text) };
    if (token.kind === 'id') {
      if (token.text === 'true' || token.text === 'false') return { t: 'lit', v: token.text === 'true' };
      if (token.text === 'null') return { t: 'lit', v: null };
      if (this.is('=>')) {
        this.at++;
        return { t: 'lambda', params: [token.text], body: this.expression() };
      }
      if (this.is('(') && !this.peek()!.nl) {
        this.at++;
        return { t: 'call', name: token.text, args: this.list(')') };
      }
      return { t: 'id', name: token.text };
    }
    if (token.text === '(') {
      const inner = this.expression();
      this.expect(')');
      return inner;
    }
    if (token.text === '[') return { t: 'arr', items: this.list(']') };
    if (token.text === '{') return this.object();
    throw new Error(`bicep: unexpected "${token.text}"`);
  }

  private list(close: string): Node[] {
    const items: Node[] = [];
    for (this.commas(); !this.is(close); this.commas()) {
      if (this.is('for')) throw new Error('bicep: for-expressions are not supported by this reader');
      items.push(this.expression());
    }
    this.at++;
    return items;
  }

  object(): Node {
    const props: [string, Node][] = [];
    for (this.commas(); !this.is('}'); this.commas()) {
      const key = this.next();
      const name = key.kind === 'str' ? (key.parts ?? []).map((p) => p.text).join('') : key.text;
      this.expect(':');
      props.push([name, this.expression()]);
    }
    this.at++;
    return { t: 'obj', props };
  }
}

function template(token: Token): Node {
  const parts = (token.parts ?? []).map((part) =>
    part.expr ? new Parser(tokenize(part.text)).expression() : part.text,
  );
  return parts.length === 1 && typeof parts[0] === 'string' ? { t: 'lit', v: parts[0] } : { t: 'tpl', parts };
}

export interface BicepResource {
  symbol: string;
  type: string;
  existing: boolean;
  condition: Node | null;
  body: Node & { t: 'obj' };
}

export interface BicepTemplate {
  params: Map<string, Node | null>;
  vars: Map<string, Node>;
  resources: Map<string, BicepResource>;
}

/** The declarations of a Bicep file (decorators, outputs and modules are read and set aside). */
export function readBicep(source: string): BicepTemplate {
  const p = new Parser(tokenize(source));
  const out: BicepTemplate = { params: new Map(), vars: new Map(), resources: new Map() };
  while (!p.done()) {
    const keyword = p.next();
    if (keyword.text === '@') {
      p.expression(); // a decorator: @description('…'), @minLength(3), …
    } else if (keyword.text === 'param') {
      const name = p.next().text;
      while (!p.done() && !p.is('=') && !p.peek()!.nl) p.next(); // the type
      out.params.set(name, p.accept('=') ? p.expression() : null);
    } else if (keyword.text === 'var') {
      const name = p.next().text;
      p.expect('=');
      out.vars.set(name, p.expression());
    } else if (keyword.text === 'resource' || keyword.text === 'module') {
      const symbol = p.next().text;
      const type = String((template(p.next()) as { v: unknown }).v);
      const existing = p.accept('existing');
      p.expect('=');
      let condition: Node | null = null;
      if (p.accept('if')) condition = p.expression();
      p.expect('{');
      const body = p.object() as Node & { t: 'obj' };
      if (keyword.text === 'resource')
        out.resources.set(symbol, { symbol, type: type.split('@')[0]!, existing, condition, body });
    } else if (['output', 'targetScope', 'metadata'].includes(keyword.text)) {
      while (!p.is('=')) p.next();
      p.next();
      p.expression();
    } else throw new Error(`bicep: "${keyword.text}" is not a declaration this reader knows`);
  }
  return out;
}

/** Where and with what the template is deployed, and what Azure reports about what it created. */
export interface Deployment {
  subscriptionId: string;
  tenantId: string;
  resourceGroup: string;
  location: string;
  /** `-p name=value` of the deployment command. */
  params: Record<string, unknown>;
  /** Properties only Azure knows once a resource exists, by resource type (e.g. a vault's vaultUri). */
  runtime: Record<string, (name: string) => Record<string, unknown>>;
}

type Scope = Map<string, unknown>;

class Evaluator {
  private readonly cache = new Map<string, unknown>();
  constructor(
    private readonly bicep: BicepTemplate,
    private readonly deployment: Deployment,
  ) {}

  value(node: Node, scope: Scope = new Map()): unknown {
    const v = (n: Node) => this.value(n, scope);
    switch (node.t) {
      case 'lit':
        return node.v;
      case 'tpl':
        return node.parts.map((part) => (typeof part === 'string' ? part : String(v(part)))).join('');
      case 'id':
        return scope.has(node.name) ? scope.get(node.name) : this.symbol(node.name);
      case 'member': {
        const obj = v(node.obj) as Record<string, unknown> | null | undefined;
        if (obj == null && node.safe) return null;
        if (obj == null || !(node.prop in Object(obj)))
          throw new Error(`bicep: ${describe(node.obj)} has no property "${node.prop}"`);
        return obj[node.prop];
      }
      case 'index':
        return (v(node.obj) as Record<string, unknown>)[String(v(node.idx))];
      case 'arr':
        return node.items.map(v);
      case 'obj':
        return Object.fromEntries(node.props.map(([key, value]) => [key, v(value)]));
      case 'cond':
        return v(node.test) ? v(node.yes) : v(node.no);
      case 'unary':
        return node.op === '!' ? !v(node.arg) : -(v(node.arg) as number);
      case 'bin':
        return binary(node.op, v(node.l), () => v(node.r));
      case 'lambda':
        return (...args: unknown[]) =>
          this.value(node.body, new Map([...scope, ...node.params.map((p, i) => [p, args[i]] as const)]));
      case 'call':
        return this.call(node.name, node.args.map(v));
    }
  }

  private symbol(name: string): unknown {
    if (this.cache.has(name)) return this.cache.get(name);
    let value: unknown;
    if (this.bicep.params.has(name)) {
      const fallback = this.bicep.params.get(name);
      if (name in this.deployment.params) value = this.deployment.params[name];
      else if (fallback) value = this.value(fallback);
      else throw new Error(`bicep: parameter ${name} is required and was not given`);
    } else if (this.bicep.vars.has(name)) value = this.value(this.bicep.vars.get(name)!);
    else if (this.bicep.resources.has(name)) value = this.resource(this.bicep.resources.get(name)!);
    else throw new Error(`bicep: "${name}" is not a parameter, variable or resource`);
    this.cache.set(name, value);
    return value;
  }

  /** A resource as its symbol reads: name, type, id (from scope and parent), runtime properties, body. */
  private resource(resource: BicepResource): Record<string, unknown> {
    const body = new Map(resource.body.props);
    const name = String(this.value(body.get('name')!));
    const parent = body.has('parent') ? (this.value(body.get('parent')!) as { id: string }) : undefined;
    const scope = body.has('scope') ? (this.value(body.get('scope')!) as { id?: string }) : undefined;
    const group = scope?.id?.includes('/resourceGroups/') ? scope.id : this.resourceGroup().id;
    const id = parent
      ? `${parent.id}/${resource.type.split('/').pop()}/${name}`
      : `${group}/providers/${resource.type}/${name}`;
    const known = () => this.deployment.runtime[resource.type]?.(name) ?? {};
    const declared = () => (body.has('properties') ? (this.value(body.get('properties')!) as object) : {});
    // Read only when used: a body may refer to what is never needed here (and to itself, by identity).
    return {
      name,
      type: resource.type,
      id,
      get properties() {
        return { ...declared(), ...known() };
      },
    };
  }

  private resourceGroup() {
    const { subscriptionId, resourceGroup, location } = this.deployment;
    return {
      name: resourceGroup,
      location,
      id: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`,
    };
  }

  private call(name: string, args: unknown[]): unknown {
    const [a, b, c] = args as [never, never, never];
    const functions: Record<string, () => unknown> = {
      resourceGroup: () =>
        a === undefined
          ? this.resourceGroup()
          : {
              ...this.resourceGroup(),
              name: a,
              id: `/subscriptions/${this.deployment.subscriptionId}/resourceGroups/${a}`,
            },
      subscription: () => ({
        subscriptionId: this.deployment.subscriptionId,
        tenantId: this.deployment.tenantId,
        id: `/subscriptions/${this.deployment.subscriptionId}`,
      }),
      environment: () => PUBLIC_CLOUD,
      toLower: () => String(a).toLowerCase(),
      toUpper: () => String(a).toUpperCase(),
      substring: () => String(a).substring(b, c === undefined ? undefined : b + c),
      uniqueString: () => base32(args.join('-')).slice(0, 13),
      guid: () => createHash('sha256').update(args.join('-')).digest('hex').slice(0, 32),
      concat: () => (Array.isArray(a) ? args.flat(1) : args.join('')),
      union: () => Object.assign({}, ...args),
      empty: () =>
        a == null ||
        (a as { length?: number }).length === 0 ||
        (typeof a === 'object' && Object.keys(a).length === 0),
      contains: () =>
        typeof a === 'string' || Array.isArray(a) ? (a as string).includes(b) : b in Object(a),
      length: () => (a as unknown[]).length,
      string: () => (typeof a === 'string' ? a : JSON.stringify(a)),
      json: () => JSON.parse(a),
      replace: () => String(a).split(b).join(c),
      split: () => String(a).split(b),
      join: () => (a as string[]).join(b),
      filter: () => (a as unknown[]).filter((item) => (b as (x: unknown) => unknown)(item)),
      map: () => (a as unknown[]).map((item) => (b as (x: unknown) => unknown)(item)),
      subscriptionResourceId: () =>
        `/subscriptions/${this.deployment.subscriptionId}/providers/${a}/${args.slice(1).join('/')}`,
    };
    const fn = functions[name];
    if (!fn) throw new Error(`bicep: function ${name}() is not known to this reader`);
    return fn();
  }
}

/** What `environment()` returns in Azure's public cloud (the parts a template may read). */
const PUBLIC_CLOUD = {
  name: 'AzureCloud',
  resourceManager: 'https://management.azure.com/',
  authentication: {
    loginEndpoint: 'https://login.microsoftonline.com/',
    audiences: ['https://management.azure.com/'],
  },
  suffixes: { storage: 'core.windows.net', keyvaultDns: '.vault.azure.net', acrLoginServer: '.azurecr.io' },
};

function binary(op: string, left: unknown, right: () => unknown): unknown {
  if (op === '&&') return left && right();
  if (op === '||') return left || right();
  if (op === '??') return left ?? right();
  const r = right() as never;
  const l = left as never;
  const ops: Record<string, () => unknown> = {
    '==': () => l === r,
    '!=': () => l !== r,
    '=~': () => String(l).toLowerCase() === String(r).toLowerCase(),
    '!~': () => String(l).toLowerCase() !== String(r).toLowerCase(),
    '<': () => l < r,
    '>': () => l > r,
    '<=': () => l <= r,
    '>=': () => l >= r,
    '+': () => l + r,
    '-': () => l - r,
    '*': () => l * r,
    '/': () => Math.trunc(l / r),
    '%': () => l % r,
  };
  return ops[op]!();
}

function base32(text: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return [...createHash('sha256').update(text).digest()].map((byte) => alphabet[byte % 32]).join('');
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as { t?: unknown }).t === 'string';
}

function describe(node: Node): string {
  if (node.t === 'id') return node.name;
  if (node.t === 'member') return `${describe(node.obj)}.${node.prop}`;
  return 'the expression';
}

/** Evaluates any expression of the template (e.g. a resource's name) for `deployment`. */
export function evaluate(bicep: BicepTemplate, deployment: Deployment, symbol: string): unknown {
  return new Evaluator(bicep, deployment).value({ t: 'id', name: symbol });
}

/**
 * The app settings of the template's Function App (`Microsoft.Web/sites`, `siteConfig.appSettings`)
 * as App Service would hold them before resolving Key Vault references: name → value. Values that
 * evaluate to null are left out.
 */
export function appSettings(bicep: BicepTemplate, deployment: Deployment): Record<string, string> {
  const sites = [...bicep.resources.values()].filter((r) => r.type === 'Microsoft.Web/sites' && !r.existing);
  if (sites.length !== 1)
    throw new Error(`bicep: expected one Function App (Microsoft.Web/sites), found ${sites.length}`);
  const evaluator = new Evaluator(bicep, deployment);
  // Down the path properties.siteConfig.appSettings without evaluating the siblings on the way.
  const list = ['properties', 'siteConfig', 'appSettings'].reduce<Node | unknown>(
    (at, key) =>
      isNode(at) && at.t === 'obj'
        ? new Map(at.props).get(key)
        : ((isNode(at) ? evaluator.value(at) : at) as Record<string, unknown> | undefined)?.[key],
    sites[0]!.body,
  );
  const entries = isNode(list) ? evaluator.value(list) : list;
  if (!Array.isArray(entries)) throw new Error('bicep: the Function App has no siteConfig.appSettings list');
  const settings: Record<string, string> = {};
  for (const entry of entries as { name: string; value: unknown }[]) {
    if (entry.name in settings) throw new Error(`bicep: app setting ${entry.name} is defined twice`);
    if (entry.value === null || entry.value === undefined) continue;
    settings[entry.name] = typeof entry.value === 'string' ? entry.value : JSON.stringify(entry.value);
  }
  return settings;
}
