import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApprovedDigests } from '../../shared/agent/drift';
import { apiBase, MAX_LOOKUP_BYTES } from '../../shared/agent/drift-api';
import { driftLoop } from '../../shared/agent/drift-loop';
import type { Logger } from '../../shared/log';
import { bump, fakeClusterClient, workloadObject } from '../support/agent';
import { runCli, useCliSnapshot } from '../support/cli-process';
import { type FakeKubernetes, ownedObject, podObject, startFakeKubernetes } from '../support/fake-kubernetes';
import { buildCli } from '../support/tagwarden';

// Issue 15, item "stale": what a tag serves per Tagwarden's read API (GET /api/tags/<ref>) when the
// agent received no bump for it. Bounded: a timeout, a size limit, one request per tag and round.

const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;
const IMAGE = 'registry.example/shop/api';
const API_TOKEN = 'read-api-token-0123456789';

interface Asked {
  path: string;
  headers: IncomingHttpHeaders;
}

let kube: FakeKubernetes;
let api: Server;
let apiUrl: string;
const asked: Asked[] = [];
/** What the stand-in API answers for the tag: a body, or a status alone. */
let answer: { status: number; body?: string } = { status: 200 };

beforeAll(async () => {
  kube = await startFakeKubernetes();
  api = createServer((req, res) => {
    asked.push({ path: req.url ?? '', headers: req.headers });
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await kube.close();
  api.closeAllConnections();
  await new Promise<void>((resolve) => api.close(() => resolve()));
});
beforeEach(() => {
  kube.reset();
  asked.length = 0;
  answer = { status: 200, body: JSON.stringify({ tagRef: `${IMAGE}:1.4.2`, current: NEW, history: [] }) };
});

/** Two Deployments on IMAGE:1.4.2 (policy Always, so not risky), every pod on `digest`. */
function twoDeployments(digest: string): void {
  for (const name of ['api', 'worker']) {
    const deployment = workloadObject('shop', name, [{ name: 'app', image: `${IMAGE}:1.4.2` }]);
    deployment.spec.template.spec.containers[0].imagePullPolicy = 'Always';
    kube.put('deployments', deployment);
    kube.put('replicasets', ownedObject('shop', `${name}-1`, { kind: 'Deployment', name }));
    kube.put(
      'pods',
      podObject('shop', `${name}-1-a`, { kind: 'ReplicaSet', name: `${name}-1` }, [
        { name: 'app', image: `${IMAGE}:1.4.2`, imageID: `${IMAGE}@${digest}`, imagePullPolicy: 'Always' },
      ]),
    );
  }
}

function recordingLog(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log: Logger = {
    info: () => {},
    error: () => {},
    warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields ?? {})}`),
  };
  return { log, warnings };
}

function loop(options: { approved?: ApprovedDigests; log?: Logger; api?: boolean } = {}) {
  return driftLoop({
    client: fakeClusterClient(kube),
    approved: options.approved ?? new ApprovedDigests(),
    log: options.log ?? recordingLog().log,
    cluster: 'prod-eu',
    send: null,
    reportEveryMs: 300_000,
    fix: false,
    mode: 'patch',
    dryRun: false,
    namespaces: ['shop'],
    ...(options.api === false ? {} : { api: { base: apiBase(apiUrl), token: API_TOKEN } }),
  });
}

describe('stale per Tagwarden read API (--tagwarden-api)', () => {
  it('finds pods stale against the digest the API says the tag serves, asking once per tag and round, with the token', async () => {
    twoDeployments(OLD);
    const drift = loop();
    const round = await drift.round();
    expect(round.findings.map((f) => [f.kind, f.workload.name, f.tagDigest])).toEqual([
      ['stale', 'api', NEW],
      ['stale', 'worker', NEW],
    ]);
    expect(asked).toHaveLength(1);
    expect(decodeURIComponent(asked[0]!.path)).toBe(`/api/tags/${IMAGE}:1.4.2`);
    expect(asked[0]!.headers.authorization).toBe(`Bearer ${API_TOKEN}`);
    await drift.round();
    expect(asked).toHaveLength(2);
  });

  it('asks nothing without the flag, and nothing for a tag a bump already named', async () => {
    twoDeployments(OLD);
    expect((await loop({ api: false }).round()).findings).toEqual([]);
    const approved = new ApprovedDigests();
    approved.accept(
      bump({ registryHost: 'registry.example', repository: 'shop/api', tag: '1.4.2', digest: OLD }),
    );
    expect((await loop({ approved }).round()).findings).toEqual([]);
    expect(asked).toHaveLength(0);
  });

  it('leaves the tag unknown, and says why, on a 404, a refusal, an answer past the size limit or a bad digest', async () => {
    twoDeployments(OLD);
    const cases: [typeof answer, RegExp | null][] = [
      [{ status: 404, body: '{"error":"no history"}' }, null],
      [{ status: 401, body: '{"error":"unauthorized"}' }, /answered 401/],
      [
        { status: 200, body: JSON.stringify({ current: NEW, pad: 'x'.repeat(MAX_LOOKUP_BYTES) }) },
        /larger than/,
      ],
      [{ status: 200, body: JSON.stringify({ current: 'sha256:nope' }) }, /no valid current digest/],
    ];
    for (const [given, problem] of cases) {
      answer = given;
      const { log, warnings } = recordingLog();
      const round = await loop({ log }).round();
      expect(round).toMatchObject({ observed: true, findings: [] });
      if (problem) expect(warnings.join('\n')).toMatch(problem);
      else expect(warnings).toEqual([]);
    }
  });
});

describe('tagwarden agent --tagwarden-api', () => {
  let dropSnapshot: () => void;
  beforeAll(() => {
    buildCli();
    dropSnapshot = useCliSnapshot();
    process.env.TAGWARDEN_AGENT_SECRET = 'agent-secret-0123456789abcdef';
  }, 60_000);
  afterAll(() => {
    dropSnapshot?.();
    delete process.env.TAGWARDEN_AGENT_SECRET;
  });

  it('refuses the flag without drift, and a URL that is not http(s) or carries credentials, in one line', () => {
    const alone = runCli(['agent', '--tagwarden-api', 'http://127.0.0.1:1']);
    expect(alone.status).not.toBe(0);
    expect(alone.stderr.trim()).toMatch(/--tagwarden-api needs --report-url or --fix drift$/);
    const drift = ['--report-url', 'http://127.0.0.1:1', '--cluster-name', 'prod-eu'];
    const ftp = runCli(['agent', ...drift, '--tagwarden-api', 'ftp://tagwarden.example']);
    expect(ftp.stderr.trim()).toMatch(/--tagwarden-api must be http or https, not ftp$/);
    const creds = runCli(['agent', ...drift, '--tagwarden-api', 'https://u:p@tagwarden.example']);
    expect(creds.stderr.trim()).toMatch(/--tagwarden-api must not carry credentials$/);
  });
});
