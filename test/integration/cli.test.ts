import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG_NOTICE } from '../../shared/config/load';
import { SqliteHistoryStore } from '../../shared/history';
import {
  type CliResult,
  runCli,
  type ServeProcess,
  spawnServe,
  useCliSnapshot,
} from '../support/cli-process';
import { at, digestOf, noEffects, pushEvent } from '../support/events';
import { buildCli, eventually, freePort, startTagwarden } from '../support/tagwarden';
import { distributionEnvelope, distributionItem } from '../support/webhook-bodies';

const EVENT_KEYS = [
  'id',
  'action',
  'registryHost',
  'repository',
  'tag',
  'digest',
  'mediaType',
  'timestamp',
  'actor',
];
const REPLAY_KEYS = ['id', 'tagRef', 'transition', 'previousDigest', 'digest', 'action'];
const HOST = '127.0.0.1:5000';
const A = digestOf('cli-a');
const B = digestOf('cli-b');

let dir: string;
let dropSnapshot: (() => void) | undefined;

beforeAll(() => {
  buildCli();
  dropSnapshot = useCliSnapshot();
  dir = mkdtempSync(join(tmpdir(), 'tagwarden-cli-'));
}, 60_000);

afterAll(() => {
  dropSnapshot?.();
  rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  return mkdtempSync(join(dir, 'case-'));
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

/** A user-fixable failure: exit 1, exactly one `error: …` line on stderr, no stack trace. */
function expectOneLineError(result: CliResult, pattern: RegExp | string): void {
  expect(result.stderr).not.toContain('    at ');
  expect(result.status).toBe(1);
  const errors = lines(result.stderr);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/^error: /);
  if (typeof pattern === 'string') expect(errors[0]).toContain(pattern);
  else expect(errors[0]).toMatch(pattern);
}

function write(path: string, text: string): string {
  writeFileSync(path, text);
  return path;
}

async function withStore<T>(path: string, work: (store: SqliteHistoryStore) => Promise<T>): Promise<T> {
  const store = new SqliteHistoryStore({ path });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function historyRowCount(path: string): Promise<number> {
  return withStore(
    path,
    async (store) => (store.db.prepare('SELECT COUNT(*) AS n FROM history').get() as { n: number }).n,
  );
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('tagwarden --help', () => {
  it('lists serve, normalize, replay, history and failed', () => {
    const result = runCli(['--help']);
    expect(result.status).toBe(0);
    for (const command of ['serve', 'normalize', 'replay', 'history', 'failed']) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command} `, 'm'));
    }
  });

  it.each(['serve', 'normalize', 'replay', 'history', 'failed'])(
    'prints the usage of %s with --help and exits 0',
    (command) => {
      const result = runCli([command, '--help']);
      expect(result.status).toBe(0);
      expect(result.stdout).toContain(`Usage: tagwarden ${command} `);
      expect(result.stderr).toBe('');
    },
  );

  it("prints Tagwarden's own version with --version, even from another project's npm script", () => {
    const version = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
    const before = process.env.npm_package_version;
    process.env.npm_package_version = '9.9.9'; // what npm sets for `npm run` in a project of that version
    try {
      const result = runCli(['--version']);
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`${version}\n`);
    } finally {
      if (before === undefined) delete process.env.npm_package_version;
      else process.env.npm_package_version = before;
    }
  });
});

describe('tagwarden normalize', () => {
  const push = distributionItem({
    id: 'norm-1',
    repository: 'payments/api',
    tag: 'v1',
    digest: A,
    host: HOST,
  });
  const push2 = distributionItem({
    id: 'norm-2',
    repository: 'payments/api',
    tag: 'v2',
    digest: B,
    host: HOST,
  });
  const pull = distributionItem({
    id: 'norm-pull',
    action: 'pull',
    repository: 'payments/api',
    tag: 'v1',
    digest: A,
  });
  const body = JSON.stringify(distributionEnvelope(push, pull, push2));

  it('prints one JSON line per event with exactly the model keys in order, and reports ignored items on stderr', () => {
    const file = write(join(tempDir(), 'body.json'), body);
    const result = runCli(['normalize', '--source', 'distribution', file]);
    expect(result.status).toBe(0);
    const events = lines(result.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toHaveLength(2);
    for (const event of events) expect(Object.keys(event)).toEqual(EVENT_KEYS);
    expect(events[0]).toEqual({
      id: 'distribution:norm-1',
      action: 'push',
      registryHost: HOST,
      repository: 'payments/api',
      tag: 'v1',
      digest: A,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      timestamp: '2026-11-22T10:00:00.000Z',
      actor: 'alice',
    });
    expect(events[1]).toMatchObject({ id: 'distribution:norm-2', tag: 'v2', digest: B });
    expect(lines(result.stderr)).toEqual([
      expect.stringMatching(/^ignored: events\[1\]: action "pull" ignored/),
    ]);
  });

  it('prints an ECR push refused at an immutable tag (CloudTrail) as an attempt, with who and from where', () => {
    const body = readFileSync(
      join(__dirname, '..', 'fixtures', 'ecr', 'cloudtrail-putimage-tag-exists.json'),
      'utf8',
    );
    const result = runCli(['normalize', '--source', 'ecr', '-'], { input: body });
    expect(result.status).toBe(0);
    const [event] = lines(result.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(Object.keys(event!)).toEqual([...EVENT_KEYS, 'origin']);
    expect(event).toMatchObject({
      id: 'ecr:6f87d04b-9f74-4f04-a780-7acf4b0a9b38',
      action: 'attempt',
      registryHost: '123456789012.dkr.ecr.us-east-2.amazonaws.com',
      repository: 'payments/api',
      tag: '1.4.2',
      digest: null,
      actor: 'arn:aws:sts::123456789012:assumed-role/ci-deploy/ci-runner',
      origin: { sourceIp: '203.0.113.12', userAgent: expect.stringMatching(/^docker\/24\.0\.7 /) },
    });
  });

  it('reads the body from standard input when the file is -', () => {
    const result = runCli(['normalize', '--source', 'distribution', '-'], { input: body });
    expect(result.status).toBe(0);
    expect(lines(result.stdout).map((line) => JSON.parse(line).id)).toEqual([
      'distribution:norm-1',
      'distribution:norm-2',
    ]);
  });

  it('reports a body that is not JSON as one error line and exits 1', () => {
    const result = runCli(['normalize', '--source', 'distribution', '-'], { input: 'nope\n' });
    expectOneLineError(result, 'error: body is not valid JSON');
    expect(result.stdout).toBe('');
  });

  it('reports a body of the wrong shape with the parser reason as one error line', () => {
    const result = runCli(['normalize', '--source', 'distribution', '-'], { input: '{"foo":1}' });
    expectOneLineError(result, 'not a distribution notification envelope');
  });

  it('reports an unknown source as one error line listing the known ones and exits 1', () => {
    const file = write(join(tempDir(), 'body.json'), body);
    const result = runCli(['normalize', '--source', 'nope', file]);
    expectOneLineError(result, 'unknown source "nope"; known sources: distribution, ecr, acr');
  });

  it('reports a missing file as one error line naming it and exits 1', () => {
    const missing = join(tempDir(), 'missing.json');
    const result = runCli(['normalize', '--source', 'distribution', missing]);
    expectOneLineError(result, `cannot read ${missing}`);
  });
});

describe('tagwarden replay', () => {
  test('replays a dead-letter-queue export: EventBridge events and webhook messages, one line per bad message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagwarden-dlq-'));
    const ecrEvent = readFileSync(join(__dirname, '..', 'fixtures', 'ecr', 'push-valid.json'), 'utf8');
    const queued = JSON.stringify({
      kind: 'tagwarden-events',
      source: 'distribution',
      receivedAt: '2026-11-22T10:00:05.000Z',
      events: [
        {
          id: 'q-1',
          action: 'push',
          registryHost: HOST,
          repository: 'payments/api',
          tag: 'v1',
          digest: `sha256:${'c'.repeat(64)}`,
          mediaType: null,
          timestamp: '2026-11-22T10:00:00Z',
          actor: null,
        },
      ],
      rejected: [],
    });
    const file = join(dir, 'dlq.json');
    writeFileSync(
      file,
      JSON.stringify({
        Messages: [
          { MessageId: '1', Body: ecrEvent },
          { MessageId: '2', Body: queued },
          { MessageId: '3', Body: 'not json' },
        ],
      }),
    );
    const result = runCli(['replay', '--config', 'shared/config/example.tagwarden.yaml', file]);
    rmSync(dir, { recursive: true, force: true });
    expect(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).id),
    ).toEqual(['ecr:13cde686-328b-6117-af20-0e5566167482', 'distribution:q-1']);
    expect(result.stderr).toMatch(/^message 3: body is not valid JSON/m);
    expect(result.status).toBe(1);
  });

  test('simulates the example config without its Slack URL or tokens in the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagwarden-replay-env-'));
    const events = join(dir, 'events.jsonl');
    const digest = `sha256:${'a'.repeat(64)}`;
    writeFileSync(
      events,
      `${JSON.stringify({ id: 'r1', action: 'push', registryHost: HOST, repository: 'payments/api', tag: 'v1', digest, mediaType: null, timestamp: null, actor: null })}\n`,
    );
    const result = runCli(['replay', '--config', 'shared/config/example.tagwarden.yaml', events]);
    rmSync(dir, { recursive: true, force: true });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ id: 'r1', transition: 'first-seen', action: 'none' });
  });

  const config = `defaults: { action: alert }
rules:
  - match: { repository: "payments/*" }
    action: revert
`;
  const event = (id: string, digest: string) =>
    JSON.stringify({
      id,
      action: 'push',
      registryHost: HOST,
      repository: 'payments/api',
      tag: 'v1',
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      timestamp: '2026-11-22T10:00:00.000Z',
      actor: 'alice',
    });
  const threeEvents = [event('r1', A), event('r2', A), event('r3', B)].join('\n');

  function setup(): { cwd: string; configFile: string; eventsFile: string } {
    const cwd = tempDir();
    return {
      cwd,
      configFile: write(join(cwd, 'policy.yaml'), config),
      eventsFile: write(join(cwd, 'events.jsonl'), `${threeEvents}\n`),
    };
  }

  it('prints first-seen/none, unchanged/none, overwrite/revert for a push, the same digest again and a new digest', () => {
    const { configFile, eventsFile } = setup();
    const result = runCli(['replay', '--config', configFile, eventsFile]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const rows = lines(result.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const row of rows) expect(Object.keys(row)).toEqual(REPLAY_KEYS);
    expect(rows).toEqual([
      {
        id: 'r1',
        tagRef: `${HOST}/payments/api:v1`,
        transition: 'first-seen',
        previousDigest: null,
        digest: A,
        action: 'none',
      },
      {
        id: 'r2',
        tagRef: `${HOST}/payments/api:v1`,
        transition: 'unchanged',
        previousDigest: A,
        digest: A,
        action: 'none',
      },
      {
        id: 'r3',
        tagRef: `${HOST}/payments/api:v1`,
        transition: 'overwrite',
        previousDigest: A,
        digest: B,
        action: 'revert',
      },
    ]);
  });

  it('continues the history of --db (the first push is already known) without changing the file', async () => {
    const { cwd, configFile, eventsFile } = setup();
    const db = join(cwd, 'history.db');
    await withStore(db, (store) =>
      store.apply(
        pushEvent({ id: 'already-recorded', repository: 'payments/api', tag: 'v1', digest: A }),
        noEffects,
        '2026-11-22T09:00:00.000Z',
      ),
    );
    const rowsBefore = await historyRowCount(db);
    const hashBefore = sha256(db);
    expect(rowsBefore).toBe(1);

    const result = runCli(['replay', '--config', configFile, '--db', db, eventsFile]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(lines(result.stdout).map((line) => JSON.parse(line).transition)).toEqual([
      'unchanged',
      'unchanged',
      'overwrite',
    ]);
    expect(sha256(db)).toBe(hashBefore);
    expect(await historyRowCount(db)).toBe(rowsBefore);
    const history = await withStore(db, (store) =>
      store.history({ registryHost: HOST, repository: 'payments/api', tag: 'v1' }),
    );
    expect(history.map((h) => h.eventId)).toEqual(['already-recorded']);
  });

  it('reports a bad line on stderr as line N, still prints the other lines, and exits 1', () => {
    const { cwd, configFile } = setup();
    const eventsFile = write(
      join(cwd, 'bad.jsonl'),
      [event('r1', A), event('r2', 'sha256:not-a-digest'), event('r3', B)].join('\n'),
    );
    const result = runCli(['replay', '--config', configFile, eventsFile]);
    expect(result.status).toBe(1);
    expect(result.stderr).not.toContain('    at ');
    expect(lines(result.stdout).map((line) => [JSON.parse(line).id, JSON.parse(line).transition])).toEqual([
      ['r1', 'first-seen'],
      ['r3', 'overwrite'],
    ]);
    const errors = lines(result.stderr);
    expect(errors[0]).toMatch(/^line 2: .*digest/);
    expect(errors.slice(1)).toEqual(['error: 1 item(s) could not be replayed (see above)']);
  });

  it("exits 1 with commander's message when --config is missing", () => {
    const { eventsFile } = setup();
    const result = runCli(['replay', eventsFile]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("error: required option '--config <file>' not specified");
    expect(result.stdout).toBe('');
  });

  it('exits 1 naming the file and line of a typo in the config (acton: revert)', () => {
    const { cwd, eventsFile } = setup();
    const configFile = write(join(cwd, 'typo.yaml'), config.replace('action: revert', 'acton: revert'));
    const result = runCli(['replay', '--config', configFile, eventsFile]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toContain('    at ');
    const errors = lines(result.stderr);
    for (const line of errors) expect(line).toMatch(/^error: /);
    expect(errors).toContainEqual(
      `error: ${configFile}:4:5: unknown key "acton" in rules[0] (did you mean "action"?)`,
    );
  });
});

describe('tagwarden history and failed', () => {
  let db: string;
  const ref = `${HOST}/payments/api:v1`;

  beforeAll(async () => {
    db = join(tempDir(), 'history.db');
    await withStore(db, async (store) => {
      await store.apply(
        pushEvent({ id: 'h1', tag: 'v1', digest: A, timestamp: '2026-11-22T10:00:00.000Z' }),
        noEffects,
        '2026-11-22T10:00:01.000Z',
      );
      await store.apply(
        pushEvent({ id: 'h2', tag: 'v1', digest: B, timestamp: '2026-11-22T10:05:00.000Z' }),
        noEffects,
        '2026-11-22T10:05:01.000Z',
      );
      await store.recordFailure({
        source: 'distribution',
        reason: 'events[0]: target.digest "sha256:zz" is not a valid digest',
        payload: '{"events":[]}',
        receivedAt: '2026-11-22T10:06:00.000Z',
      });
    });
  });

  it('prints a table with a TRANSITION and DIGEST header and one row per event', () => {
    const result = runCli(['history', ref, '--db', db]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const out = lines(result.stdout);
    // Short digests by default (`sha256:` and 12 hex digits): see cli-history.test.ts for --wide.
    const [a, b] = [A.slice(0, 19), B.slice(0, 19)];
    expect(out[0]).toBe(`${ref}  serves ${b}`);
    expect(out[1]).toMatch(/^EVENT TIME\s+TRANSITION\s+ACTION\s+DIGEST\s+PREVIOUS\s+ACTOR\s+EVENT ID$/);
    expect(out.slice(2)).toHaveLength(2);
    expect(out[2]).toMatch(new RegExp(`first-seen .*${a}\\s.* h1$`));
    expect(out[3]).toMatch(new RegExp(`overwrite .*${b}\\s+${a}\\s.* h2$`));
  });

  it('prints parseable JSON with --json', () => {
    const result = runCli(['history', ref, '--db', db, '--json']);
    expect(result.status).toBe(0);
    const body = JSON.parse(result.stdout) as {
      tagRef: string;
      current: string;
      history: { eventId: string; transition: string }[];
    };
    expect(body.tagRef).toBe(ref);
    expect(body.current).toBe(B);
    expect(body.history.map((h) => [h.eventId, h.transition])).toEqual([
      ['h1', 'first-seen'],
      ['h2', 'overwrite'],
    ]);
  });

  it('exits 1 with "no history" for a tag it has never seen', () => {
    const result = runCli(['history', `${HOST}/payments/api:never`, '--db', db]);
    expectOneLineError(result, /^error: no history for 127\.0\.0\.1:5000\/payments\/api:never/);
  });

  it('exits 1 for a malformed tag reference', () => {
    const result = runCli(['history', 'not-a-ref', '--db', db]);
    expectOneLineError(result, 'not-a-ref');
  });

  it('exits 1 naming a history file that does not exist (and does not create it)', () => {
    const missing = join(tempDir(), 'missing.db');
    const result = runCli(['history', ref, '--db', missing]);
    expectOneLineError(result, `history file ${missing} does not exist`);
    expect(() => readFileSync(missing)).toThrow();
  });

  it('lists the rejected events recorded as failures', () => {
    const result = runCli(['failed', '--db', db]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const out = lines(result.stdout);
    expect(out).toContain('Failed effects (0):');
    expect(out).toContain('Rejected events (1):');
    expect(out).toContainEqual(
      expect.stringMatching(
        /^ {2}#1 {2}2026-11-22T10:06:00\.000Z {2}distribution: events\[0\]: target\.digest "sha256:zz"/,
      ),
    );
  });
});

describe('tagwarden history and failed with hostile text', () => {
  const EVIL = '\u202Eevil\u001b[31m*bold*\u009b2J\u2066';
  const UNSAFE = ['\u202e', '\u2066', '\u001b', '\u009b'];

  it('prints actors, errors and reasons without bidi or terminal control characters', async () => {
    const db = join(tempDir(), 'history.db');
    const alertAll = { defaults: { action: 'alert' as const, owners: [], bump: false }, rules: [] };
    await withStore(db, async (store) => {
      await store.apply(pushEvent({ id: 'e1', tag: 'v1', digest: A, actor: EVIL }), noEffects, at(1));
      const overwrite = pushEvent({ id: 'e2', tag: 'v1', digest: B, actor: EVIL, timestamp: at(2) });
      await store.apply(overwrite, alertAll, at(3));
      await store.updateEffect('e2#alert', { status: 'failed', error: `slack said ${EVIL}` }, at(4));
      await store.recordFailure({ source: 'distribution', reason: EVIL, payload: '{}', receivedAt: at(5) });
    });
    const history = runCli(['history', `${HOST}/payments/api:v1`, '--db', db]);
    const failed = runCli(['failed', '--db', db]);
    for (const result of [history, failed]) {
      expect(result.status).toBe(0);
      for (const unsafe of UNSAFE) expect(result.stdout).not.toContain(unsafe);
    }
    expect(history.stdout).toMatch(/overwrite .* evil \[31m\*bold\* 2J\s+e2$/m);
    expect(history.stdout).toMatch(/^failed\s+alert\s+1\s+slack said\s+evil \[31m\*bold\* 2J\s+e2#alert$/m);
    expect(failed.stdout).toContain(
      '  e2#alert  127.0.0.1:5000/payments/api:v1  after 1 attempt(s): slack said  evil [31m*bold* 2J',
    );
    expect(failed.stdout).toMatch(/^ {2}#1 {2}\S+ {2}distribution: {2}evil \[31m\*bold\* 2J$/m);
  });
});

describe('tagwarden serve', () => {
  let blocker: NetServer | undefined;
  let serving: ServeProcess | undefined;

  afterEach(async () => {
    await serving?.stop();
    serving = undefined;
    if (blocker?.listening) await new Promise<void>((resolve) => blocker!.close(() => resolve()));
    blocker = undefined;
  });

  it('exits 1 with one error line naming the port when the port is already in use', async () => {
    const port = await freePort();
    blocker = createNetServer();
    await new Promise<void>((resolve) => blocker!.listen(port, '127.0.0.1', resolve));
    const cwd = tempDir();
    const result = runCli(['serve', '--port', String(port), '--db', join(cwd, 'h.db')], { cwd });
    expectOneLineError(result, `port ${port} on 127.0.0.1 is already in use`);
    expect(result.stdout).not.toContain('Tagwarden listening');
  });

  it('refuses to listen beyond loopback without api.token, in one line, before opening the history', () => {
    const cwd = tempDir();
    const config = write(
      join(cwd, 'tagwarden.yaml'),
      'sources:\n  distribution: { token: "a-token-of-sixteen-chars" }\n',
    );
    const result = runCli(
      ['serve', '--host', '0.0.0.0', '--port', '0', '--db', join(cwd, 'h.db'), '--config', config],
      { cwd },
    );
    expectOneLineError(result, 'serve --host 0.0.0.0 listens beyond loopback: set api.token in the config');
    // It names the fix: the key, the variable, and that `init` for a URL beyond loopback writes both.
    expect(result.stderr).toContain(
      `api: { token: "\${TAGWARDEN_API_TOKEN}" } with TAGWARDEN_API_TOKEN exported`,
    );
    expect(result.stderr).toContain('`tagwarden init --url http://<this host>:<port>` writes both');
    expect(result.stdout).not.toContain('Tagwarden listening');
    expect(existsSync(join(cwd, 'h.db'))).toBe(false);
  });

  it('refuses to listen beyond loopback while a source is open (the demo without a config), in one line', () => {
    const cwd = tempDir();
    const result = runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--db', join(cwd, 'h.db')], { cwd });
    expectOneLineError(result, 'refusing to listen on 0.0.0.0: distribution, ecr, acr');
    expect(result.stderr).toContain('without credentials');
    expect(result.stdout).not.toContain('Tagwarden listening');
  });

  it('refuses to listen beyond loopback while a configured source is open: true', () => {
    const cwd = tempDir();
    const config = write(
      join(cwd, 'tagwarden.yaml'),
      'sources:\n  distribution: { token: "a-token-of-sixteen-chars" }\n  harbor: { open: true }\n',
    );
    const result = runCli(
      ['serve', '--host', '10.0.0.1', '--port', '0', '--db', join(cwd, 'h.db'), '--config', config],
      {
        cwd,
      },
    );
    expectOneLineError(
      result,
      'refusing to listen on 10.0.0.1: harbor would accept webhooks without credentials',
    );
  });

  it('names a misspelt source under sources: as a config error with the closest name', () => {
    const cwd = tempDir();
    const config = write(
      join(cwd, 'tagwarden.yaml'),
      'sources:\n  acr-evengrid: { token: "a-token-of-sixteen-chars" }\n',
    );
    const result = runCli(['serve', '--port', '0', '--db', join(cwd, 'h.db'), '--config', config], { cwd });
    expectOneLineError(result, 'sources: key "acr-evengrid": unknown source (did you mean "acr-eventgrid"?)');
  });

  it('exits 1 for --port 99999', () => {
    const cwd = tempDir();
    const result = runCli(['serve', '--port', '99999', '--db', join(cwd, 'h.db')], { cwd });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("error: option '--port <port>' argument '99999' is invalid");
    expect(result.stdout).toBe('');
  });

  it('says it runs on the built-in defaults when there is no config file, and serves', async () => {
    const cwd = tempDir();
    serving = spawnServe(['--port', '0', '--db', join(cwd, 'h.db')], cwd);
    const url = await eventually(
      async () => /Tagwarden listening on (http:\/\/\S+)/.exec(serving!.output())?.[1],
      'serve to listen',
    );
    expect(serving.output()).toContain(DEFAULT_CONFIG_NOTICE);
    expect(DEFAULT_CONFIG_NOTICE).toMatch(/alerts on every tag overwrite except `latest`/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const exit = await serving.stop();
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('records a webhook, then exits 0 on SIGTERM with the event kept in the history file', async () => {
    const cwd = tempDir();
    const db = join(cwd, 'h.db');
    const config = write(
      join(cwd, 'tagwarden.yaml'),
      'defaults: { action: alert }\nsources: { distribution: { open: true } }\n',
    );
    const tagwarden = await startTagwarden([
      '--port',
      String(await freePort()),
      '--db',
      db,
      '--config',
      config,
    ]);
    try {
      expect(tagwarden.output()).not.toContain(DEFAULT_CONFIG_NOTICE);
      const res = await fetch(`${tagwarden.url}/webhooks/distribution`, {
        method: 'POST',
        body: JSON.stringify(
          distributionEnvelope(
            distributionItem({ id: 'serve-1', repository: 'serve/api', tag: 'v1', digest: A }),
          ),
        ),
      });
      expect(res.status).toBe(202);
    } finally {
      await tagwarden.stop();
    }
    expect(tagwarden.process.exitCode).toBe(0);
    expect(tagwarden.process.signalCode).toBeNull();
    expect(tagwarden.output()).not.toContain('    at ');
    const history = await withStore(db, (store) =>
      store.history({ registryHost: HOST, repository: 'serve/api', tag: 'v1' }),
    );
    expect(history.map((h) => h.eventId)).toEqual(['distribution:serve-1']);
  });
});
