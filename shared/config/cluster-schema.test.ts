// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in a message is the config syntax.
import { clustersFrom } from './cluster-schema';
import { loadConfigText } from './load';

const SECRET = '0123456789abcdef-cluster';

function failure(value: unknown): string {
  try {
    clustersFrom(value, 'TAGWARDEN_CLUSTERS is invalid');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the cluster list to be refused');
}

describe('clustersFrom: the cluster list of a cloud secret or app setting', () => {
  test('left out is no endpoints; a valid list gets the file defaults (format tagwarden, 5000 ms)', () => {
    expect(clustersFrom(undefined, 'x')).toEqual([]);
    expect(clustersFrom(null, 'x')).toEqual([]);
    expect(clustersFrom([{ name: 'prod-eu', url: 'https://a.example/bump', secret: SECRET }], 'x')).toEqual([
      {
        name: 'prod-eu',
        url: 'https://a.example/bump',
        format: 'tagwarden',
        secret: SECRET,
        timeoutMs: 5000,
      },
    ]);
  });

  test('every mistake in one line, named like the config file names it, and never a secret value', () => {
    const message = failure([
      { name: 'prod', url: 'http://a.example', secret: SECRET },
      { name: 'prod', url: 'ftp://b.example', secret: SECRET },
      { name: 'stage', url: 'http://c.example', format: 'flux' },
      { url: 'http://d.example', secret: 'short-secret', extra: true },
    ]);
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toBe(
      [
        'TAGWARDEN_CLUSTERS is invalid: clusters[1].url: expected an http:// or https:// URL',
        'clusters[2].secret: format flux signs every call: set secret (e.g. "${STAGE_CLUSTER_SECRET}")',
        'clusters[3].name: is required (string)',
        'clusters[3].secret: a cluster secret must be at least 16 characters: a short secret is guessable',
        'clusters[3]: unknown key "extra"',
        'clusters[1].name: cluster name "prod" is used twice; names must be unique',
      ].join('; '),
    );
    expect(message).not.toContain('short-secret');
    expect(failure([{ name: 'stage', url: 'http://c.example', format: 'flux' }])).toMatch(
      /^TAGWARDEN_CLUSTERS is invalid: clusters\[0\]\.secret: format flux signs every call: set secret/,
    );
    expect(failure({ name: 'prod' })).toMatch(/^TAGWARDEN_CLUSTERS is invalid: clusters: .*expected array/);
  });

  test('says what the config file says for the same list (one schema for both)', () => {
    const list = [
      { name: 'k', url: 'http://k.example', format: 'keel', username: 'keel' },
      { name: 'Bad_Name', url: 'http://d.example', format: 'argo', secret: 'short', timeoutMs: 50 },
    ];
    const loaded = loadConfigText(`clusters: ${JSON.stringify(list)}`, { file: 'f', env: {} });
    expect(loaded.ok).toBe(false);
    const fromFile = loaded.ok ? [] : loaded.errors.map((line) => line.replace(/^f:\d+:\d+: /, ''));
    const fromSetting = failure(list)
      .replace(/^TAGWARDEN_CLUSTERS is invalid: /, '')
      .split('; ');
    // The file words a bad enum value its own way (with the value); every other line is the same.
    expect(fromSetting).toEqual(
      expect.arrayContaining(fromFile.filter((line) => !line.startsWith('clusters[1].format'))),
    );
    expect(fromSetting).toContain('clusters[1].format: expected one of tagwarden|flux|keel');
    expect(fromFile).toHaveLength(fromSetting.length);
  });
});
