import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigText } from '../../shared/config/load';

/**
 * Every key of the config file's JSON Schema is documented in docs/configuration.md: a key added to
 * the schema without a line there fails here, naming it.
 */
const ROOT = join(__dirname, '..', '..');
type Node = Record<string, unknown>;
const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'tagwarden.schema.json'), 'utf8')) as Node;
const docs = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');

function resolved(node: Node): Node {
  if (typeof node.$ref !== 'string') return node;
  let target: unknown = schema;
  for (const part of node.$ref.replace(/^#\//, '').split('/')) target = (target as Node)[part];
  return resolved(target as Node);
}

/** `rules[].match.tag`, `sources.<name>.token`…: every property path the schema allows. */
export function keyPaths(raw: Node, prefix = ''): string[] {
  const node = resolved(raw);
  const paths: string[] = [];
  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, Node>)) {
    paths.push(`${prefix}${name}`, ...keyPaths(child, `${prefix}${name}.`));
  }
  if (node.additionalProperties && typeof node.additionalProperties === 'object')
    paths.push(...keyPaths(node.additionalProperties as Node, `${prefix}<name>.`));
  if (node.items && typeof node.items === 'object')
    paths.push(...keyPaths(node.items as Node, `${prefix.replace(/\.$/, '')}[].`));
  for (const branch of ['anyOf', 'oneOf', 'allOf'] as const)
    for (const alternative of (node[branch] ?? []) as Node[]) paths.push(...keyPaths(alternative, prefix));
  return [...new Set(paths)];
}

it('finds the keys of the schema (the walk itself works)', () => {
  const paths = keyPaths(schema);
  expect(paths).toEqual(
    expect.arrayContaining(['rules[].match.tag', 'sources.<name>.token', 'effects.maxAttempts']),
  );
});

it('documents every key of the config schema in docs/configuration.md', () => {
  const documented = (path: string) => docs.includes(`\`${path}\``);
  expect(keyPaths(schema).filter((path) => !documented(path))).toEqual([]);
});

/** The ```yaml blocks of the README and docs/ whose top-level keys are config keys: Tagwarden configs. */
function configExamples(): { where: string; text: string }[] {
  const topLevel = Object.keys((schema.properties ?? {}) as Node);
  const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((page) => `docs/${page}`)];
  return pages
    .filter((page) => page.endsWith('.md'))
    .flatMap((page) => {
      const text = readFileSync(join(ROOT, page), 'utf8');
      return [...text.matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)].map((block) => ({
        where: `${page}:${text.slice(0, block.index).split('\n').length}`,
        text: block[1]!,
      }));
    })
    .filter(({ text }) => {
      const keys = [...text.matchAll(/^([A-Za-z]+):/gm)].map((match) => match[1]!);
      return keys.length > 0 && keys.every((key) => topLevel.includes(key));
    });
}

it('loads every config example of the README and docs/ as Tagwarden would (a newcomer copies them)', () => {
  const examples = configExamples();
  expect(examples.map(({ where }) => where.split(':')[0])).toEqual(
    expect.arrayContaining(['README.md', 'docs/configuration.md', 'docs/clusters.md', 'docs/slack.md']),
  );
  // Every ${VAR} set, as the page asks: URLs for *_URL, a long secret for the rest.
  const env = new Proxy({} as Record<string, string>, {
    get: (_, name) =>
      typeof name === 'string' && name.endsWith('URL')
        ? 'https://hooks.slack.com/services/T000/B000/example'
        : 'an-example-secret-of-32-characters',
  });
  const failures = examples.flatMap(({ where, text }) => {
    const result = loadConfigText(text, { file: where, env });
    return result.ok ? [] : result.errors;
  });
  expect(failures).toEqual([]);
});
