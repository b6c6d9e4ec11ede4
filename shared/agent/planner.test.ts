import fc from 'fast-check';
import { strategicMerge } from '../../test/support/fake-kubernetes';
import type { DigestBump } from '../contracts/cluster-bump/payload';
import {
  APPLIED_BUMPS_ANNOTATION,
  FOLLOW_DIGEST_ANNOTATION,
  PINNED_IMAGES_ANNOTATION,
  type PlanOptions,
  planBump,
  type Workload,
  type WorkloadKind,
} from './planner';

const OLD = `sha256:${'0'.repeat(64)}`;
const NEW = `sha256:${'1'.repeat(64)}`;
const OLDER = `sha256:${'2'.repeat(64)}`;
const PATCH: PlanOptions = { mode: 'patch', namespaces: null };
const ANNOTATE: PlanOptions = { mode: 'annotate', namespaces: null };

const bump = (fields: Partial<DigestBump> = {}): DigestBump => ({
  id: 'bump-1',
  registryHost: 'registry.example',
  repository: 'shop/api',
  tag: '1.4.2',
  previousDigest: OLD,
  digest: NEW,
  reason: 'moved',
  timestamp: '2026-12-01T04:00:00.000Z',
  ...fields,
});

/** The annotation every patch writes: the bump the workload took, per tag. */
const applied = (b: DigestBump = bump()) => ({
  [APPLIED_BUMPS_ANNOTATION]: JSON.stringify({
    [`${b.registryHost}/${b.repository}:${b.tag}`]: { id: b.id, timestamp: b.timestamp },
  }),
});

type C = { name: string; image?: string };
function workload(
  kind: WorkloadKind,
  containers: C[],
  initContainers: C[] = [],
  namespace = 'shop',
  name = 'web',
): Workload {
  const pod = { containers, ...(initContainers.length > 0 ? { initContainers } : {}) };
  return kind === 'CronJob'
    ? { kind, metadata: { name, namespace }, spec: { jobTemplate: { spec: { template: { spec: pod } } } } }
    : { kind, metadata: { name, namespace }, spec: { template: { spec: pod } } };
}
const deployment = (image: string) => workload('Deployment', [{ name: 'app', image }]);
const imageAfter = (image: string, b: DigestBump = bump()) => {
  const plan = planBump(b, [deployment(image)], PATCH);
  return plan.patches[0]?.changes[0]?.to ?? null;
};

describe('planBump: which containers follow the bumped tag', () => {
  // [image in the workload, bump, the image after (null: untouched)]
  const cases: [string, Partial<DigestBump>, string | null][] = [
    ['registry.example/shop/api:1.4.2', {}, `registry.example/shop/api:1.4.2@${NEW}`],
    [`registry.example/shop/api:1.4.2@${OLD}`, {}, `registry.example/shop/api:1.4.2@${NEW}`],
    [`registry.example/shop/api:1.4.2@${OLDER}`, {}, `registry.example/shop/api:1.4.2@${NEW}`],
    // Pinned by digest alone: never moved unless the workload opts in (FOLLOW_DIGEST_ANNOTATION).
    [`registry.example/shop/api@${OLD}`, {}, null],
    [
      `registry.example/shop/api:1.4.2@sha512:${'f'.repeat(128)}`,
      {},
      `registry.example/shop/api:1.4.2@${NEW}`,
    ],
    ['Registry.Example/shop/api:1.4.2', {}, `Registry.Example/shop/api:1.4.2@${NEW}`],
    ['registry.example/shop/api:1.4.3', {}, null],
    ['registry.example/shop/api', {}, null],
    [`registry.example/shop/api:stable@${OLD}`, {}, null],
    [`registry.example/shop/api@${OLDER}`, {}, null],
    [`registry.example/shop/api@${OLD}`, { previousDigest: null }, null],
    ['registry.example/shop/api-v2:1.4.2', {}, null],
    ['registry.example/shop/1.4.2', {}, null],
    ['registry.example/api:1.4.2', {}, null],
    ['other.example/shop/api:1.4.2', {}, null],
    ['registry.example:5000/shop/api:1.4.2', {}, null],
    ['shop/api:1.4.2', {}, null],
    ['registry.example/shop/api:1.4.2', { registryHost: 'registry.example:5000' }, null],
    [
      'registry.example:5000/shop/api:1.4.2',
      { registryHost: 'registry.example:5000' },
      `registry.example:5000/shop/api:1.4.2@${NEW}`,
    ],
    [
      'nginx',
      { registryHost: 'docker.io', repository: 'library/nginx', tag: 'latest' },
      `nginx:latest@${NEW}`,
    ],
    [
      'nginx:latest',
      { registryHost: 'index.docker.io', repository: 'nginx', tag: 'latest' },
      `nginx:latest@${NEW}`,
    ],
    [
      'docker.io/library/nginx:1.25',
      { registryHost: 'docker.io', repository: 'nginx', tag: '1.25' },
      `docker.io/library/nginx:1.25@${NEW}`,
    ],
    [
      'index.docker.io/library/nginx:1.25',
      { registryHost: 'registry-1.docker.io', repository: 'library/nginx', tag: '1.25' },
      `index.docker.io/library/nginx:1.25@${NEW}`,
    ],
    ['nginx:1.25', { registryHost: 'ghcr.io', repository: 'library/nginx', tag: '1.25' }, null],
    ['user/app:v1', { registryHost: 'docker.io', repository: 'user/app', tag: 'v1' }, `user/app:v1@${NEW}`],
    ['user/app:v1', { registryHost: 'docker.io', repository: 'library/app', tag: 'v1' }, null],
    [
      'localhost:5000/x:1',
      { registryHost: 'localhost:5000', repository: 'x', tag: '1' },
      `localhost:5000/x:1@${NEW}`,
    ],
    ['[::1]:5000/x:1', { registryHost: '[::1]:5000', repository: 'x', tag: '1' }, `[::1]:5000/x:1@${NEW}`],
    [
      'registry.example/shop/api:1.4.2',
      { tag: '1.4.2', reason: 'reverted' },
      `registry.example/shop/api:1.4.2@${NEW}`,
    ],
  ];
  it.each(cases)('%s with %j becomes %s', (image, fields, after) => {
    expect(imageAfter(image, bump(fields))).toBe(after);
  });

  it.each([`registry.example/shop/api:1.4.2@${NEW}`, `registry.example/shop/api@${NEW}`])(
    'leaves %s alone: it already pins the new digest',
    (image) => {
      const plan = planBump(bump(), [deployment(image)], PATCH);
      expect(plan).toEqual({ patches: [], unchanged: 1, unparsable: [], refused: [] });
    },
  );

  it('reports an image it cannot parse and leaves it alone', () => {
    const plan = planBump(bump(), [deployment('Registry.example/Shop/API:1.4.2')], PATCH);
    expect(plan.patches).toEqual([]);
    expect(plan.unparsable).toEqual([
      {
        kind: 'Deployment',
        namespace: 'shop',
        name: 'web',
        container: 'app',
        problem: expect.stringContaining('repository'),
      },
    ]);
  });

  it('skips containers without an image and workloads without a pod spec', () => {
    const bare: Workload = { kind: 'Deployment', metadata: { name: 'x', namespace: 'shop' } };
    const plan = planBump(bump(), [bare, workload('StatefulSet', [{ name: 'app' }])], PATCH);
    expect(plan).toEqual({ patches: [], unchanged: 0, unparsable: [], refused: [] });
  });
});

describe('planBump: the exact patches', () => {
  const image = 'registry.example/shop/api:1.4.2';
  const pinned = `${image}@${NEW}`;

  it.each(['Deployment', 'StatefulSet', 'DaemonSet'] as const)(
    'patches a %s at spec.template.spec, containers merged by name',
    (kind) => {
      const plan = planBump(
        bump(),
        [
          workload(kind, [
            { name: 'sidecar', image: 'envoy:1' },
            { name: 'app', image },
          ]),
        ],
        PATCH,
      );
      expect(plan.patches).toEqual([
        {
          kind,
          namespace: 'shop',
          name: 'web',
          changes: [{ container: 'app', initContainer: false, from: image, to: pinned }],
          patch: {
            spec: { template: { spec: { containers: [{ name: 'app', image: pinned }] } } },
            metadata: { annotations: applied() },
          },
        },
      ]);
    },
  );

  it('patches a CronJob at spec.jobTemplate.spec.template.spec', () => {
    const plan = planBump(bump(), [workload('CronJob', [{ name: 'job', image }])], PATCH);
    expect(plan.patches[0]?.patch).toEqual({
      spec: {
        jobTemplate: { spec: { template: { spec: { containers: [{ name: 'job', image: pinned }] } } } },
      },
      metadata: { annotations: applied() },
    });
  });

  it('patches init containers and containers of one workload in one patch', () => {
    const followsDigest = workload(
      'Deployment',
      [
        { name: 'app', image },
        { name: 'other', image: 'nginx' },
      ],
      [{ name: 'migrate', image: `registry.example/shop/api@${OLD}` }],
    );
    followsDigest.metadata.annotations = { [FOLLOW_DIGEST_ANNOTATION]: 'true' };
    const plan = planBump(bump(), [followsDigest], PATCH);
    expect(plan.patches).toHaveLength(1);
    expect(plan.patches[0]?.changes.map((c) => [c.container, c.initContainer])).toEqual([
      ['migrate', true],
      ['app', false],
    ]);
    expect(plan.patches[0]?.patch).toEqual({
      spec: {
        template: {
          spec: {
            initContainers: [{ name: 'migrate', image: `registry.example/shop/api:1.4.2@${NEW}` }],
            containers: [{ name: 'app', image: pinned }],
          },
        },
      },
      metadata: { annotations: applied() },
    });
  });

  it('patches init containers of a CronJob', () => {
    const plan = planBump(
      bump(),
      [workload('CronJob', [{ name: 'job', image: 'busybox' }], [{ name: 'init', image }])],
      PATCH,
    );
    expect(plan.patches[0]?.patch).toEqual({
      spec: {
        jobTemplate: { spec: { template: { spec: { initContainers: [{ name: 'init', image: pinned }] } } } },
      },
      metadata: { annotations: applied() },
    });
  });

  it('patches only workloads in allowed namespaces', () => {
    const workloads = [
      workload('Deployment', [{ name: 'app', image }], [], 'shop', 'a'),
      workload('Deployment', [{ name: 'app', image }], [], 'kube-system', 'b'),
      workload('CronJob', [{ name: 'app', image }], [], 'batch', 'c'),
    ];
    expect(
      planBump(bump(), workloads, { mode: 'patch', namespaces: ['shop', 'batch'] }).patches.map(
        (p) => p.name,
      ),
    ).toEqual(['a', 'c']);
    expect(planBump(bump(), workloads, { mode: 'patch', namespaces: ['payments'] })).toEqual({
      patches: [],
      unchanged: 0,
      unparsable: [],
      refused: [],
    });
    expect(planBump(bump(), workloads, { mode: 'patch', namespaces: [] }).patches).toEqual([]);
  });

  it('annotate mode writes only the annotation, merged with what is there', () => {
    const annotated: Workload = {
      kind: 'Deployment',
      metadata: {
        name: 'web',
        namespace: 'shop',
        annotations: { [PINNED_IMAGES_ANNOTATION]: '{"worker":"registry.example/w:1@sha256:x"}' },
      },
      spec: { template: { spec: { containers: [{ name: 'app', image }] } } },
    };
    const plan = planBump(bump(), [annotated], ANNOTATE);
    expect(plan.patches).toEqual([
      {
        kind: 'Deployment',
        namespace: 'shop',
        name: 'web',
        changes: [{ container: 'app', initContainer: false, from: image, to: pinned }],
        patch: {
          metadata: {
            annotations: {
              [PINNED_IMAGES_ANNOTATION]: JSON.stringify({
                app: pinned,
                worker: 'registry.example/w:1@sha256:x',
              }),
              ...applied(),
            },
          },
        },
      },
    ]);
  });

  it('annotate mode rewrites an annotation that is not a JSON object', () => {
    const broken: Workload = {
      kind: 'DaemonSet',
      metadata: { name: 'web', namespace: 'shop', annotations: { [PINNED_IMAGES_ANNOTATION]: 'not json' } },
      spec: { template: { spec: { containers: [{ name: 'app', image }] } } },
    };
    expect(planBump(bump(), [broken], ANNOTATE).patches[0]?.patch).toEqual({
      metadata: {
        annotations: { [PINNED_IMAGES_ANNOTATION]: JSON.stringify({ app: pinned }), ...applied() },
      },
    });
  });

  it('a second run over the patched workloads plans nothing (patch and annotate)', () => {
    for (const options of [PATCH, ANNOTATE]) {
      const workloads = [workload('Deployment', [{ name: 'app', image }], [{ name: 'init', image }])];
      const first = planBump(bump(), workloads, options);
      expect(first.patches).toHaveLength(1);
      const after = applyPlan(workloads, first.patches);
      expect(planBump(bump(), after, options)).toEqual({
        patches: [],
        unchanged: 2,
        unparsable: [],
        refused: [],
      });
    }
  });
});

/** Applies patches as the API server would (strategic merge), keyed by kind/namespace/name. */
function applyPlan(workloads: Workload[], patches: ReturnType<typeof planBump>['patches']): Workload[] {
  return workloads.map((w) => {
    const patch = patches.find(
      (p) => p.kind === w.kind && p.namespace === w.metadata.namespace && p.name === w.metadata.name,
    );
    return patch ? (strategicMerge(w, patch.patch) as Workload) : w;
  });
}

describe('planBump: property', () => {
  const hex = (c: string) => `sha256:${c.repeat(64)}`;
  const digest = fc.constantFrom(hex('0'), hex('1'), hex('2'));
  const name = fc.constantFrom(
    'registry.example/shop/api',
    'Registry.Example/shop/api',
    'other.example/shop/api',
    'shop/api',
    'nginx',
    'docker.io/library/nginx',
  );
  const tag = fc.constantFrom('1.4.2', 'latest', 'stable');
  const image = fc
    .tuple(name, fc.option(tag), fc.option(digest))
    .map(([n, t, d]) => `${n}${t === null ? '' : `:${t}`}${d === null ? '' : `@${d}`}`);
  const containers = fc.uniqueArray(fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd'), image }), {
    selector: (c) => c.name,
    maxLength: 4,
  });
  const workloadArb = fc
    .tuple(
      fc.constantFrom(...(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'] as const)),
      containers,
      fc.constantFrom('shop', 'other'),
      fc.integer({ min: 0, max: 3 }),
    )
    .map(([kind, cs, namespace, n]) => {
      // Container names are unique across init and regular containers of a pod.
      const init = cs.filter((_, i) => i % 2 === 1).map((c) => ({ ...c, name: `init-${c.name}` }));
      return workload(kind, cs, init, namespace, `w${n}`);
    });
  const workloadsArb = fc.uniqueArray(workloadArb, {
    selector: (w) => `${w.kind}/${w.metadata.namespace}/${w.metadata.name}`,
    maxLength: 6,
  });
  const bumpArb = fc
    .tuple(
      fc.constantFrom(
        ['registry.example', 'shop/api'],
        ['docker.io', 'nginx'],
        ['index.docker.io', 'library/nginx'],
      ),
      tag,
      fc.option(digest),
      digest,
    )
    .map(([[registryHost, repository], t, previousDigest, d]) =>
      bump({ registryHost: registryHost!, repository: repository!, tag: t, previousDigest, digest: d }),
    );
  const optionsArb = fc.record({
    mode: fc.constantFrom('patch' as const, 'annotate' as const),
    namespaces: fc.constantFrom(null, ['shop'], ['other', 'shop'], []),
  });

  it('is idempotent: applying the plan and planning again yields nothing', () => {
    fc.assert(
      fc.property(bumpArb, workloadsArb, optionsArb, (b, workloads, options) => {
        const first = planBump(b, workloads, options);
        const second = planBump(b, applyPlan(workloads, first.patches), options);
        expect(second.patches).toEqual([]);
        const changed = first.patches.reduce((n, p) => n + p.changes.length, 0);
        expect(second.unchanged).toBe(first.unchanged + changed);
      }),
      { numRuns: 500 },
    );
  });

  it('touches nothing outside the allowed namespaces and only images of the bumped repository', () => {
    fc.assert(
      fc.property(bumpArb, workloadsArb, optionsArb, (b, workloads, options) => {
        for (const patch of planBump(b, workloads, options).patches) {
          if (options.namespaces) expect(options.namespaces).toContain(patch.namespace);
          for (const change of patch.changes) expect(change.to.endsWith(`:${b.tag}@${b.digest}`)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** The applied-bumps annotation a patch writes. */
function appliedOf(patch: Record<string, unknown> | undefined): string {
  const metadata = patch?.metadata as { annotations?: Record<string, string> } | undefined;
  return metadata?.annotations?.[APPLIED_BUMPS_ANNOTATION] ?? '';
}

describe('planBump: digest pins and replays', () => {
  const image = 'registry.example/shop/api:1.4.2';
  const withAnnotations = (annotations: Record<string, string>, img = image): Workload => ({
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', annotations },
    spec: { template: { spec: { containers: [{ name: 'app', image: img }] } } },
  });

  it('moves a reference pinned by digest alone only when its workload opts in', () => {
    const pinnedOnly = `registry.example/shop/api@${OLD}`;
    expect(planBump(bump(), [withAnnotations({}, pinnedOnly)], PATCH).patches).toEqual([]);
    expect(
      planBump(bump(), [withAnnotations({ [FOLLOW_DIGEST_ANNOTATION]: 'yes' }, pinnedOnly)], PATCH).patches,
    ).toEqual([]);
    const optedIn = planBump(
      bump(),
      [withAnnotations({ [FOLLOW_DIGEST_ANNOTATION]: 'true' }, pinnedOnly)],
      PATCH,
    );
    expect(optedIn.patches[0]?.changes[0]?.to).toBe(`registry.example/shop/api:1.4.2@${NEW}`);
  });

  it('refuses the bump a workload already took, and any older one of the same tag', () => {
    const took = (id: string, timestamp: string) =>
      withAnnotations({
        [APPLIED_BUMPS_ANNOTATION]: JSON.stringify({ 'registry.example/shop/api:1.4.2': { id, timestamp } }),
      });
    const same = planBump(bump(), [took('bump-1', '2026-12-01T03:00:00.000Z')], PATCH);
    expect(same.patches).toEqual([]);
    expect(same.refused).toEqual([
      {
        kind: 'Deployment',
        namespace: 'shop',
        name: 'web',
        reason: 'bump bump-1 was already applied (replay refused)',
      },
    ]);
    const newer = planBump(bump(), [took('bump-0', '2026-12-01T04:00:00.000Z')], PATCH);
    expect(newer.patches).toEqual([]);
    expect(newer.refused[0]?.reason).toContain('is not newer than bump bump-0');
    const older = planBump(bump(), [took('bump-0', '2026-12-01T03:59:59.999Z')], PATCH);
    expect(older.refused).toEqual([]);
    expect(older.patches).toHaveLength(1);
    // Another tag's entry does not stand in the way, and is kept.
    const otherTag = withAnnotations({
      [APPLIED_BUMPS_ANNOTATION]: JSON.stringify({
        'registry.example/shop/api:9.9': { id: 'x', timestamp: '2027-01-01T00:00:00Z' },
      }),
    });
    const plan = planBump(bump(), [otherTag], PATCH);
    expect(plan.patches).toHaveLength(1);
    const written = JSON.parse(appliedOf(plan.patches[0]?.patch));
    expect(Object.keys(written)).toEqual([
      'registry.example/shop/api:1.4.2',
      'registry.example/shop/api:9.9',
    ]);
  });

  it('ignores an unreadable record of applied bumps and keeps at most 32 tags', () => {
    expect(
      planBump(bump(), [withAnnotations({ [APPLIED_BUMPS_ANNOTATION]: 'not json' })], PATCH).patches,
    ).toHaveLength(1);
    const many = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [
        `registry.example/shop/api:t${i}`,
        { id: `b${i}`, timestamp: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() },
      ]),
    );
    const plan = planBump(
      bump(),
      [withAnnotations({ [APPLIED_BUMPS_ANNOTATION]: JSON.stringify(many) })],
      PATCH,
    );
    const written = JSON.parse(appliedOf(plan.patches[0]?.patch));
    expect(Object.keys(written)).toHaveLength(32);
    expect(written['registry.example/shop/api:1.4.2']).toEqual({ id: 'bump-1', timestamp: bump().timestamp });
    expect(written['registry.example/shop/api:t0']).toBeUndefined();
  });
});
