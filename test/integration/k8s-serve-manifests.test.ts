import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Service } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import { loadConfigText } from '../../shared/config/load';
import { readRuntimeStage } from '../support/dockerfile';
import {
  K8S_DIR,
  KUSTOMIZATION,
  loadKustomization,
  loadManifests,
  type Manifest,
  parseCliArgs,
} from '../support/k8s-manifests';
import { MODELS, unknownFields, validateStrictly } from '../support/k8s-strict';

/**
 * Issue 18, item 2: serve's manifests beside the agent's, tied by kustomization.yaml. Every object is
 * validated against the Kubernetes API's JSON schemas (kubernetes-models), and against what Tagwarden
 * itself accepts: its config loader for the ConfigMap, its command line for the containers' args, the
 * release workflow for the image name, the Dockerfile for the default command.
 */
const ROOT = join(__dirname, '..', '..');

const objects = loadManifests();
const named = (kind: string, name: string): Manifest => {
  const found = objects.filter(({ object }) => object.kind === kind && object.metadata?.name === name);
  expect(found).toHaveLength(1);
  return found[0]!.object;
};
const serve = () => named('Deployment', 'tagwarden');
const container = () => serve().spec.template.spec.containers[0] as Manifest;
const configMap = () => named('ConfigMap', 'tagwarden-config');
const secret = () => named('Secret', 'tagwarden-serve');

describe('infra/k8s manifests: validated against the Kubernetes schemas', () => {
  it.each(objects.map(({ file, object }) => [`${file}: ${object.kind} ${object.metadata?.name}`, object]))(
    '%s',
    (_, object: Manifest) => {
      // The schema's types and required fields, and no property the schema does not define.
      expect(() => validateStrictly(object)).not.toThrow();
    },
  );

  it('rejects a property the schema does not define, at any depth (the strict check bites)', () => {
    const typo = structuredClone(serve());
    const securityContext = typo.spec.template.spec.containers[0].securityContext;
    securityContext.readOnlyRootFileSystem = securityContext.readOnlyRootFilesystem;
    delete securityContext.readOnlyRootFilesystem;
    // kubernetes-models alone lets it through (and the API server would drop it silently).
    expect(() => new Deployment(typo).validate()).not.toThrow();
    expect(unknownFields(MODELS['apps/v1/Deployment']!, typo)).toEqual([
      '/spec/template/spec/containers/0/securityContext/readOnlyRootFileSystem',
    ]);
    expect(() => validateStrictly(typo)).toThrow(/not in the schema: .*readOnlyRootFileSystem/);
    const top = { ...structuredClone(named('Service', 'tagwarden')), replicas: 2 };
    expect(unknownFields(MODELS['v1/Service']!, top)).toEqual(['/replicas']);
  });

  it('accepts any key of a map (labels, ConfigMap data, Secret stringData) as the schema does', () => {
    const labelled = structuredClone(serve());
    labelled.metadata.labels['example.com/anything'] = 'yes';
    labelled.spec.template.metadata.annotations = { 'prometheus.io/scrape': 'true' };
    expect(unknownFields(MODELS['apps/v1/Deployment']!, labelled)).toEqual([]);
    const data = { ...structuredClone(configMap()), data: { 'any-file.yaml': 'x', other: 'y' } };
    expect(unknownFields(MODELS['v1/ConfigMap']!, data)).toEqual([]);
  });

  it('rejects a manifest with a wrong field (the validation bites)', () => {
    const broken = structuredClone(serve());
    broken.spec.replicas = 'one';
    expect(() => new Deployment(broken).validate()).toThrow(/replicas must be integer/);
    const noPorts = structuredClone(named('Service', 'tagwarden'));
    noPorts.spec.ports[0].port = 'http';
    expect(() => new Service(noPorts).validate()).toThrow(/port must be integer/);
  });
});

describe('infra/k8s/kustomization.yaml', () => {
  it('lists every manifest of the directory, and only those', () => {
    const files = readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml') && f !== KUSTOMIZATION);
    expect([...loadKustomization().resources].sort()).toEqual(files.sort());
  });

  it('names the image the release workflow pushes, for every container of serve and the agent', () => {
    const workflow = parse(readFileSync(join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8'));
    const pushed: string = workflow.jobs.image.env.IMAGE;
    // ghcr.io/${{ github.repository_owner }}/tagwarden: any owner, the same registry and name.
    const pattern = new RegExp(
      `^${pushed
        .split(/\$\{\{[^}]*\}\}/)
        .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
        .join('[a-z0-9][a-z0-9-]*')}$`,
    );
    const [image, ...more] = loadKustomization().images;
    expect(more).toEqual([]);
    expect(image.newName).toMatch(pattern);
    const containers = objects
      .filter(({ object }) => object.kind === 'Deployment')
      .flatMap(({ object }) => object.spec.template.spec.containers as Manifest[]);
    expect(containers.length).toBeGreaterThanOrEqual(2);
    for (const c of containers) expect(c.image.replace(/[:@].*$/, '')).toBe(image.name);
  });
});

describe('infra/k8s: tagwarden serve', () => {
  it('runs one replica, replaced not rolled, on the history claim', () => {
    const spec = serve().spec;
    expect(spec.replicas).toBe(1);
    expect(spec.strategy).toEqual({ type: 'Recreate' });
    const claim = named('PersistentVolumeClaim', 'tagwarden-history');
    expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(spec.template.spec.volumes).toContainEqual({
      name: 'history',
      persistentVolumeClaim: { claimName: claim.metadata.name },
    });
  });

  it('runs as the image user, non-root, read-only, no capabilities, RuntimeDefault seccomp, with resources and probes', () => {
    const pod = serve().spec.template.spec;
    const { user } = readRuntimeStage();
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: user.uid,
      runAsGroup: user.gid,
      fsGroup: user.gid,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(container().securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container().resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container().resources.limits.memory).toEqual(expect.any(String));
    expect(container().livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container().readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  it('passes args `tagwarden serve` accepts, the image default command, listening where probes, Service and mounts say', async () => {
    const args: string[] = container().args;
    const parsed = await parseCliArgs(args);
    expect(parsed.command).toBe('serve');
    expect(args).toEqual(readRuntimeStage().cmd);
    expect(container().ports).toEqual([
      { name: 'http', containerPort: parsed.options.port, protocol: 'TCP' },
    ]);
    expect(parsed.options.host).toBe('0.0.0.0');
    const service = named('Service', 'tagwarden');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expect(service.spec.selector).toEqual(serve().spec.selector.matchLabels);
    expect(serve().spec.template.metadata.labels).toMatchObject(service.spec.selector);
    const mounts: Manifest[] = container().volumeMounts;
    const mountOf = (path: string) => mounts.find((m) => path.startsWith(`${m.mountPath}/`));
    expect(mountOf(parsed.options.db)).toMatchObject({ name: 'history' });
    expect(mountOf(parsed.options.config)).toMatchObject({ name: 'config', readOnly: true });
    expect(Object.keys(configMap().data)).toEqual([parsed.options.config.split('/').pop()]);
  });

  it('a container arg the CLI does not know is refused (the args check bites)', async () => {
    await expect(parseCliArgs([...container().args, '--replicas=2'])).rejects.toThrow(/unknown option/);
    await expect(parseCliArgs(['serve', '--port=http'])).rejects.toThrow(/port number/);
  });
});

describe('infra/k8s: the policy ConfigMap and its Secret', () => {
  /** Every variable the pod's environment sets: the Secret's keys (envFrom) and the env entries. */
  function podEnvironment(value: (key: string) => string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const from of container().envFrom as Manifest[]) {
      expect(from.secretRef.name).toBe(secret().metadata.name);
      for (const key of Object.keys(secret().stringData)) env[key] = value(key);
    }
    for (const entry of container().env as Manifest[]) env[entry.name] = value(entry.name);
    return env;
  }
  const filled = (key: string) =>
    key.endsWith('_URL')
      ? 'https://hooks.slack.com/services/T000/B000/placeholder'
      : `${key}-0123456789abcdef`;
  const load = (env: Record<string, string>) =>
    loadConfigText(configMap().data['tagwarden.yaml'], { file: 'tagwarden.yaml', env });

  it("passes Tagwarden's own config validation once the Secret is filled, with every variable it reads from the pod's environment", () => {
    const loaded = load(podEnvironment(filled));
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    expect(loaded.config.api?.token).toBe('TAGWARDEN_API_TOKEN-0123456789abcdef');
    // serve --host 0.0.0.0 starts only when every enabled source has credentials.
    for (const [name, source] of Object.entries(loaded.config.sources ?? {}))
      expect([name, 'token' in source || 'secret' in source]).toEqual([name, true]);
    expect(loaded.config.clusters?.[0]?.url).toBe(
      `http://${named('Service', 'tagwarden-agent').metadata.name}.tagwarden-system.svc/bump`,
    );
  });

  it('holds no secret: the template values are empty, and serve refuses to start on them', () => {
    expect(Object.values(secret().stringData).every((v) => v === '')).toBe(true);
    expect(secret().data).toBeUndefined();
    const loaded = load(podEnvironment((key) => secret().stringData[key] ?? 'agent-secret-0123456789'));
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.errors.join('\n')).toMatch(/api\.token|token/);
  });

  it('takes the agent secret from the Secret the agent reads it from', () => {
    const agent = named('Deployment', 'tagwarden-agent').spec.template.spec.containers[0];
    const fromAgent = agent.env.find((e: Manifest) => e.name === 'TAGWARDEN_AGENT_SECRET').valueFrom;
    expect(container().env).toContainEqual({ name: 'TAGWARDEN_AGENT_SECRET', valueFrom: fromAgent });
  });
});

describe('infra/k8s: the NetworkPolicy', () => {
  it("lets only pods that are in the registry's namespace AND carry its labels reach serve's http port", () => {
    const policy = named('NetworkPolicy', 'tagwarden-webhooks');
    expect(policy.spec.podSelector).toEqual(serve().spec.selector);
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress).toHaveLength(2);
    const [rule] = policy.spec.ingress;
    // One peer with both selectors (AND); two peers would let either in.
    expect(rule.from).toHaveLength(1);
    expect(Object.keys(rule.from[0]).sort()).toEqual(['namespaceSelector', 'podSelector']);
    expect(Object.keys(rule.from[0].namespaceSelector.matchLabels)).toEqual(['kubernetes.io/metadata.name']);
    expect(Object.keys(rule.from[0].podSelector.matchLabels).length).toBeGreaterThan(0);
    expect(rule.ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
    expect(container().ports.map((p: Manifest) => p.name)).toEqual(['http']);
  });

  it('lets Prometheus, in its namespace AND with its labels, reach the metrics port only', async () => {
    const policy = named('NetworkPolicy', 'tagwarden-webhooks');
    const scrape = policy.spec.ingress[1];
    expect(scrape.from).toHaveLength(1);
    expect(scrape.from[0]).toEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': expect.any(String) } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
    });
    // /metrics is served where the webhooks are: the port serve listens on, the same as the registry's rule.
    const { options } = await parseCliArgs(container().args);
    const [port] = container().ports as Manifest[];
    expect(port).toMatchObject({ name: 'http', containerPort: options.port });
    expect(scrape.ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
    expect(scrape.ports).toEqual(policy.spec.ingress[0].ports);
    // No rule without a `from` (that would admit every pod) and no empty selector.
    for (const rule of policy.spec.ingress as Manifest[]) {
      expect(rule.from?.length).toBeGreaterThan(0);
      for (const peer of rule.from as Manifest[])
        for (const selector of Object.values(peer) as Manifest[])
          expect(Object.keys(selector.matchLabels ?? {}).length).toBeGreaterThan(0);
    }
  });
});
