import { apiStatusError, connectionError } from '../../shared/agent/api-errors';
import { workloadsFromManifests } from '../../shared/agent/manifests';

/** Which Kubernetes API failures are the agent's configuration (permanent) and which may pass. */
describe('classifying Kubernetes API failures', () => {
  const withCode = (code: string) => Object.assign(new Error(`request failed, reason: ${code}`), { code });

  it.each([
    'EPROTO',
    'ERR_SSL_WRONG_VERSION_NUMBER',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'CERT_HAS_EXPIRED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
  ])('%s is a TLS problem: permanent', (code) => {
    const error = connectionError('listing Deployments', withCode(code));
    expect(error.problem).toBe('tls');
    expect(error.message).toMatch(
      new RegExp(`^listing Deployments: TLS with the API server failed \\(${code}\\): `),
    );
  });

  it('names a certificate problem differently from a server that does not speak TLS', () => {
    expect(connectionError('x', withCode('CERT_HAS_EXPIRED')).message).toContain(
      'certificate is not trusted',
    );
    expect(connectionError('x', withCode('EPROTO')).message).toContain('plain http spoken to as https');
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND'])('%s may pass: no problem', (code) => {
    const error = connectionError('listing Deployments', withCode(code));
    expect(error.problem).toBeNull();
    expect(error.message).toBe(`listing Deployments: request failed, reason: ${code}`);
  });

  it.each([
    [401, true, 'unauthorized'],
    [403, true, 'forbidden'],
    [403, false, 'forbidden'],
    [404, true, 'api-not-found'],
    [404, false, null],
    [409, false, null],
    [500, true, null],
    [503, false, null],
  ])('HTTP %i (a list: %s) is %s', (status, listing, problem) => {
    const error = apiStatusError('doing it', status, ': said so', listing);
    expect(error.problem).toBe(problem);
    expect(error.message.startsWith(`doing it: Kubernetes API answered ${status}: said so`)).toBe(true);
  });
});

describe('workloads from manifest texts', () => {
  it('reads the four kinds from a multi-document stream and typed lists, skipping other kinds and empty documents', () => {
    const text = [
      'kind: ConfigMap\nmetadata: { name: c }',
      '',
      'kind: DeploymentList\nitems:\n- metadata: { name: a, namespace: n }\n  spec: { template: {} }',
      'kind: CronJob\nmetadata: { name: b }\nspec: { schedule: "* * * * *" }',
    ].join('\n---\n');
    expect(workloadsFromManifests([{ file: 'f.yaml', text }])).toEqual([
      { kind: 'Deployment', metadata: { name: 'a', namespace: 'n' }, spec: { template: {} } },
      { kind: 'CronJob', metadata: { name: 'b', namespace: 'default' }, spec: { schedule: '* * * * *' } },
    ]);
    expect(workloadsFromManifests([{ file: 'empty.yaml', text: '' }])).toEqual([]);
  });

  it('names the file, document and item of a workload without a name', () => {
    const text =
      'kind: ConfigMap\n---\nkind: List\nitems:\n- { kind: Service }\n- { kind: StatefulSet, metadata: {} }';
    expect(() => workloadsFromManifests([{ file: 'f.yaml', text }])).toThrow(
      'f.yaml: document 2, item 2: a StatefulSet without metadata.name',
    );
  });
});
