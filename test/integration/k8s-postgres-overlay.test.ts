import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { historyLocation } from '../../functions/local/db-option';
import {
  K8S_DIR,
  loadKustomization,
  loadManifests,
  type Manifest,
  parseCliArgs,
} from '../support/k8s-manifests';
import { applyOperation, renderOverlay } from '../support/k8s-overlay';
import { validateStrictly } from '../support/k8s-strict';

/**
 * Issue 18 hardening: infra/k8s-overlays/postgres renders serve for several replicas on a PostgreSQL
 * history. The overlay is rendered here as kustomize renders it (its JSON patch applied to the base's
 * Deployment, the claim deleted), and every rendered object is checked as the base's are: strictly
 * against the Kubernetes schemas, and its args against Tagwarden's own command line.
 */
const OVERLAY = join(K8S_DIR, '..', 'k8s-overlays', 'postgres');
const rendered = renderOverlay(OVERLAY);
const one = (kind: string, name: string): Manifest => {
  const found = rendered.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const serve = () => one('Deployment', 'tagwarden');
const container = () => serve().spec.template.spec.containers[0] as Manifest;

it.each(rendered.map((o) => [`${o.kind} ${o.metadata.name}`, o]))('%s is valid, strictly', (_, object) => {
  expect(() => validateStrictly(object as Manifest)).not.toThrow();
});

it('names every file of the overlay, on top of the base', () => {
  const kustomization = loadKustomization(OVERLAY);
  const named = [...kustomization.resources, ...kustomization.patches.map((p: Manifest) => p.path)];
  expect(named).toContain('../../k8s');
  const files = readdirSync(OVERLAY).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  expect(named.filter((n: string) => n.endsWith('.yaml')).sort()).toEqual(files.sort());
});

it('runs two replicas, rolled one new pod at a time, with no PersistentVolumeClaim', () => {
  expect(serve().spec.replicas).toBe(2);
  expect(serve().spec.strategy).toEqual({
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
  });
  expect(rendered.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
  expect(JSON.stringify(rendered)).not.toContain('persistentVolumeClaim');
  expect(serve().spec.template.spec.volumes).toContainEqual({
    name: 'history',
    emptyDir: { sizeLimit: '16Mi' },
  });
  // Everything else of the base stays.
  const base = loadManifests().map(({ object }) => object);
  expect(rendered.length).toBe(base.length); // one claim out, one Secret in
  expect(container().readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
  expect(container().securityContext.readOnlyRootFilesystem).toBe(true);
});

it('reads the database URL from the Secret through --db-env: no URL in the args, serve accepts them', async () => {
  const args: string[] = container().args;
  expect(args.join(' ')).not.toMatch(/postgres|history\.db/);
  const parsed = await parseCliArgs(args);
  expect(parsed.command).toBe('serve');
  expect(parsed.options.dbEnv).toBe('TAGWARDEN_DB_URL');
  const secret = one('Secret', 'tagwarden-db');
  expect(secret.stringData).toEqual({ TAGWARDEN_DB_URL: '' });
  expect(container().env).toContainEqual({
    name: 'TAGWARDEN_DB_URL',
    valueFrom: { secretKeyRef: { name: secret.metadata.name, key: 'TAGWARDEN_DB_URL' } },
  });
  // The pod's environment as the Secret fills it: serve resolves the URL from it.
  const url = 'postgres://tagwarden:pw@db.example.internal:5432/tagwarden';
  const saved = process.env.TAGWARDEN_DB_URL;
  process.env.TAGWARDEN_DB_URL = url;
  try {
    expect(historyLocation(parsed.options as { db: string; dbEnv: string })).toBe(url);
  } finally {
    if (saved === undefined) delete process.env.TAGWARDEN_DB_URL;
    else process.env.TAGWARDEN_DB_URL = saved;
  }
});

it("refuses to patch a base that moved under it (the patch's test ops bite)", () => {
  const ops = parse(readFileSync(join(OVERLAY, 'serve-patch.yaml'), 'utf8')) as Manifest[];
  const moved = structuredClone(
    loadManifests().find(
      ({ object }) => object.kind === 'Deployment' && object.metadata.name === 'tagwarden',
    )!.object,
  );
  moved.spec.template.spec.containers[0].args.splice(3, 0, '--verbose');
  expect(() => {
    for (const op of ops) applyOperation(moved, op);
  }).toThrow(/test \/spec\/template\/spec\/containers\/0\/args\/3/);
});
