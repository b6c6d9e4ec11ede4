import { Command } from 'commander';
import { DEFAULT_SECRET_ENV, registerAgentCommand } from '../../functions/local/agent-command';
import { loadManifests, type Manifest } from '../support/k8s-manifests';

/** All objects in infra/k8s; the agent's are the Namespace and those labelled `tagwarden-agent`. */
const manifests: Manifest[] = loadManifests().map(({ object }) => object);
const agentObjects = manifests.filter(
  (m) => m.kind === 'Namespace' || m.metadata?.labels?.['app.kubernetes.io/name'] === 'tagwarden-agent',
);
const one = (kind: string) => {
  const found = agentObjects.filter((m) => m.kind === kind);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe('infra/k8s manifests: the agent', () => {
  it('grants exactly get, list and patch on the four workload kinds, get and list on pods, ReplicaSets and Jobs (drift), and nothing else', () => {
    const role = one('ClusterRole');
    const granted = role.rules.flatMap((rule: Manifest) =>
      rule.apiGroups.flatMap((group: string) =>
        rule.resources.flatMap((resource: string) =>
          rule.verbs.map((verb: string) => `${group}/${resource}:${verb}`),
        ),
      ),
    );
    expect(granted.sort()).toEqual(
      ['apps/daemonsets', 'apps/deployments', 'apps/statefulsets', 'batch/cronjobs']
        .flatMap((r) => ['get', 'list', 'patch'].map((v) => `${r}:${v}`))
        .concat(
          ['/pods', 'apps/replicasets', 'batch/jobs'].flatMap((r) => ['get', 'list'].map((v) => `${r}:${v}`)),
        )
        .sort(),
    );
    expect(
      role.rules.every(
        (rule: Manifest) => rule.resourceNames === undefined && rule.nonResourceURLs === undefined,
      ),
    ).toBe(true);
    expect(manifests.filter((m) => m.kind === 'Role')).toEqual([]);
  });

  it('binds the role to the agent service account only', () => {
    const binding = one('ClusterRoleBinding');
    const account = one('ServiceAccount');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: one('ClusterRole').metadata.name,
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: account.metadata.name, namespace: account.metadata.namespace },
    ]);
    expect(one('Deployment').spec.template.spec.serviceAccountName).toBe(account.metadata.name);
  });

  it('runs the agent as non-root, read-only, without privilege escalation, with resources and a liveness probe', () => {
    const pod = one('Deployment').spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.containers).toHaveLength(1);
    const container = pod.containers[0];
    expect(container.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits.memory).toEqual(expect.any(String));
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  it('gives the agent its secret from a Secret through the environment variable it reads, never in argv', () => {
    const container = one('Deployment').spec.template.spec.containers[0];
    const args: string[] = container.args;
    const secretEnv = args.find((a) => a.startsWith('--secret-env='))?.split('=')[1] ?? DEFAULT_SECRET_ENV;
    expect(secretEnv).toBe(DEFAULT_SECRET_ENV);
    expect(container.env).toEqual([
      { name: secretEnv, valueFrom: { secretKeyRef: { name: 'tagwarden-agent', key: 'secret' } } },
    ]);
    expect(args.join(' ')).not.toMatch(/secret=(?!TAGWARDEN)/i);
  });

  it('passes only flags `tagwarden agent` knows, and listens where the probes and Service look', () => {
    const program = new Command();
    registerAgentCommand(program);
    const agent = program.commands.find((c) => c.name() === 'agent')!;
    const known = new Set(agent.options.map((o) => o.long));
    const container = one('Deployment').spec.template.spec.containers[0];
    const [command, ...flags] = container.args as string[];
    expect(command).toBe('agent');
    for (const flag of flags) expect(known).toContain(flag.split('=')[0]);
    const port = Number(flags.find((f) => f.startsWith('--port='))?.split('=')[1]);
    expect(container.ports).toEqual([{ name: 'http', containerPort: port, protocol: 'TCP' }]);
    expect(flags).toContain('--host=0.0.0.0');
    const service = one('Service');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expect(service.spec.selector).toEqual(one('Deployment').spec.selector.matchLabels);
    expect(one('Deployment').spec.template.metadata.labels).toMatchObject(service.spec.selector);
  });

  it('keeps every namespaced object in the agent namespace', () => {
    const namespace = one('Namespace').metadata.name;
    for (const m of manifests.filter(
      (m) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(m.kind),
    ))
      expect([m.kind, m.metadata.namespace]).toEqual([m.kind, namespace]);
  });
});
