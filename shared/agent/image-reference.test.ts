import {
  canonicalHost,
  familiarToFull,
  namesRepository,
  parseImageReference,
  pinnedReference,
} from './image-reference';

const A = `sha256:${'a'.repeat(64)}`;
const B512 = `sha512:${'b'.repeat(128)}`;
const C384 = `sha384:${'c'.repeat(96)}`;
const OTHER = `blake3:${'d'.repeat(64)}`;

// [reference, registryHost, repository, tag, digest, full form containerd pulls]
const VALID: [string, string, string, string | null, string | null, string][] = [
  ['nginx', 'docker.io', 'library/nginx', 'latest', null, 'docker.io/library/nginx:latest'],
  ['nginx:1.25', 'docker.io', 'library/nginx', '1.25', null, 'docker.io/library/nginx:1.25'],
  ['nginx:latest', 'docker.io', 'library/nginx', 'latest', null, 'docker.io/library/nginx:latest'],
  [`nginx@${A}`, 'docker.io', 'library/nginx', null, A, `docker.io/library/nginx@${A}`],
  [`nginx:1.25@${A}`, 'docker.io', 'library/nginx', '1.25', A, `docker.io/library/nginx:1.25@${A}`],
  ['library/nginx', 'docker.io', 'library/nginx', 'latest', null, 'docker.io/library/nginx:latest'],
  ['docker.io/nginx', 'docker.io', 'library/nginx', 'latest', null, 'docker.io/library/nginx:latest'],
  ['docker.io/library/nginx:1', 'docker.io', 'library/nginx', '1', null, 'docker.io/library/nginx:1'],
  [
    'index.docker.io/nginx',
    'index.docker.io',
    'library/nginx',
    'latest',
    null,
    'docker.io/library/nginx:latest',
  ],
  [
    'registry-1.docker.io/library/redis:7',
    'registry-1.docker.io',
    'library/redis',
    '7',
    null,
    'docker.io/library/redis:7',
  ],
  ['user/app', 'docker.io', 'user/app', 'latest', null, 'docker.io/user/app:latest'],
  ['user/app:v2', 'docker.io', 'user/app', 'v2', null, 'docker.io/user/app:v2'],
  ['docker.io/user/app:v2', 'docker.io', 'user/app', 'v2', null, 'docker.io/user/app:v2'],
  ['user/team/app', 'docker.io', 'user/team/app', 'latest', null, 'docker.io/user/team/app:latest'],
  ['host:5000/a/b:tag', 'host:5000', 'a/b', 'tag', null, 'host:5000/a/b:tag'],
  ['host:5000/a/b', 'host:5000', 'a/b', 'latest', null, 'host:5000/a/b:latest'],
  [`host:5000/a/b@${A}`, 'host:5000', 'a/b', null, A, `host:5000/a/b@${A}`],
  [`host:5000/a/b:tag@${A}`, 'host:5000', 'a/b', 'tag', A, `host:5000/a/b:tag@${A}`],
  [`host.example/a@${A}`, 'host.example', 'a', null, A, `host.example/a@${A}`],
  [`a:tag@${A}`, 'docker.io', 'library/a', 'tag', A, `docker.io/library/a:tag@${A}`],
  ['localhost/x', 'localhost', 'x', 'latest', null, 'localhost/x:latest'],
  ['localhost:5000/x:1', 'localhost:5000', 'x', '1', null, 'localhost:5000/x:1'],
  ['[::1]:5000/x', '[::1]:5000', 'x', 'latest', null, '[::1]:5000/x:latest'],
  ['[::1]/x:2', '[::1]', 'x', '2', null, '[::1]/x:2'],
  ['[2001:db8::1]:443/team/x:v', '[2001:db8::1]:443', 'team/x', 'v', null, '[2001:db8::1]:443/team/x:v'],
  ['127.0.0.1:5000/x:y', '127.0.0.1:5000', 'x', 'y', null, '127.0.0.1:5000/x:y'],
  ['ghcr.io/org/app:1.4.2', 'ghcr.io', 'org/app', '1.4.2', null, 'ghcr.io/org/app:1.4.2'],
  [
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:1.4.2',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    'payments-api',
    '1.4.2',
    null,
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:1.4.2',
  ],
  [
    'myregistry.azurecr.io/a/b/c/d:t',
    'myregistry.azurecr.io',
    'a/b/c/d',
    't',
    null,
    'myregistry.azurecr.io/a/b/c/d:t',
  ],
  ['Example.com/app', 'Example.com', 'app', 'latest', null, 'Example.com/app:latest'],
  [
    'registry.example/shop/api:V1_Release-2',
    'registry.example',
    'shop/api',
    'V1_Release-2',
    null,
    'registry.example/shop/api:V1_Release-2',
  ],
  [
    'registry.example/a_b/c__d/e-f--g.h',
    'registry.example',
    'a_b/c__d/e-f--g.h',
    'latest',
    null,
    'registry.example/a_b/c__d/e-f--g.h:latest',
  ],
  [`registry.example/x@${B512}`, 'registry.example', 'x', null, B512, `registry.example/x@${B512}`],
  [`registry.example/x:t@${C384}`, 'registry.example', 'x', 't', C384, `registry.example/x:t@${C384}`],
  [`registry.example/x:t@${OTHER}`, 'registry.example', 'x', 't', OTHER, `registry.example/x:t@${OTHER}`],
];

describe('parseImageReference', () => {
  it.each(VALID)('parses %s', (text, registryHost, repository, tag, digest, full) => {
    const parsed = parseImageReference(text);
    if ('problem' in parsed) throw new Error(parsed.problem);
    expect(parsed).toMatchObject({ registryHost, repository, tag, digest });
    expect(familiarToFull(parsed)).toBe(full);
  });

  it.each([
    ['', 'is empty'],
    [' nginx', 'whitespace'],
    ['Nginx', 'not a valid repository name'],
    ['registry.example/Shop/api', 'not a valid repository name'],
    ['user/App:1', 'not a valid repository name'],
    ['nginx:', 'not a valid tag'],
    ['nginx:-bad', 'not a valid tag'],
    [`nginx:${'t'.repeat(129)}`, 'not a valid tag'],
    ['nginx@', 'not <algorithm>:<encoded>'],
    ['nginx@sha256:abc', 'not a valid sha256 digest'],
    [`nginx@sha256:${'A'.repeat(64)}`, 'not a valid sha256 digest'],
    [`nginx@sha512:${'a'.repeat(64)}`, 'not a valid sha512 digest'],
    ['nginx@md5:abc', 'too short'],
    [`nginx@SHA256:${'a'.repeat(64)}`, 'not <algorithm>:<encoded>'],
    ['host:5000/', 'repository'],
    ['/x', 'repository'],
    ['a//b', 'repository'],
    ['a/./b', 'repository'],
    ['a/../b', 'repository'],
    ['a/-b', 'repository'],
    ['host:99999x/a', 'not a valid host'],
    ['exa_mple.com/a', 'not a valid host'],
    ['[::1', 'repository'],
    [`registry.example/${'a'.repeat(250)}`, 'longer than 255'],
  ])('rejects %j (%s)', (text, reason) => {
    const parsed = parseImageReference(text);
    expect(parsed).toHaveProperty('problem');
    expect((parsed as { problem: string }).problem).toContain(reason);
  });

  it('keeps a digest of an algorithm it does not know verbatim', () => {
    const parsed = parseImageReference(`registry.example/x@${OTHER}`);
    expect(parsed).toMatchObject({ digest: OTHER, tag: null });
  });

  it('treats a first component with uppercase letters as a host, as distribution does', () => {
    expect(parseImageReference('Example.com/app')).toMatchObject({
      registryHost: 'Example.com',
      repository: 'app',
    });
    expect(parseImageReference('MyHost/app')).toMatchObject({ registryHost: 'MyHost', repository: 'app' });
  });
});

describe('namesRepository', () => {
  const names = (text: string, registryHost: string, repository: string) => {
    const parsed = parseImageReference(text);
    if ('problem' in parsed) throw new Error(parsed.problem);
    return namesRepository(parsed, { registryHost, repository });
  };

  it.each([
    ['nginx', 'docker.io', 'library/nginx'],
    ['nginx', 'docker.io', 'nginx'],
    ['docker.io/library/nginx', 'index.docker.io', 'nginx'],
    ['index.docker.io/nginx:1', 'registry-1.docker.io', 'library/nginx'],
    ['user/app', 'docker.io', 'user/app'],
    ['Registry.Example/shop/api', 'registry.example', 'shop/api'],
    ['[::1]:5000/x', '[::1]:5000', 'x'],
  ])('%s names %s/%s', (text, host, repository) => {
    expect(names(text, host, repository)).toBe(true);
  });

  it.each([
    ['nginx', 'ghcr.io', 'library/nginx'],
    ['registry.example/shop/api', 'registry.example', 'shop/api-v2'],
    ['registry.example/shop/api', 'other.example', 'shop/api'],
    ['registry.example:5000/shop/api', 'registry.example', 'shop/api'],
    ['user/app', 'docker.io', 'library/app'],
    ['localhost/x', 'docker.io', 'x'],
  ])('%s does not name %s/%s', (text, host, repository) => {
    expect(names(text, host, repository)).toBe(false);
  });
});

describe('canonicalHost and pinnedReference', () => {
  it('folds the Docker Hub aliases and the case of a host', () => {
    expect(['docker.io', 'index.docker.io', 'REGISTRY-1.docker.io'].map(canonicalHost)).toEqual([
      'docker.io',
      'docker.io',
      'docker.io',
    ]);
    expect(canonicalHost('Ghcr.IO')).toBe('ghcr.io');
  });

  it('keeps the name as the user wrote it and replaces tag and digest', () => {
    const parsed = parseImageReference(`nginx@${A}`);
    if ('problem' in parsed) throw new Error(parsed.problem);
    expect(pinnedReference(parsed, '1.25', `sha256:${'e'.repeat(64)}`)).toBe(
      `nginx:1.25@sha256:${'e'.repeat(64)}`,
    );
  });
});
