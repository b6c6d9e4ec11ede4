import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { K8S_DIR, loadKustomization, loadManifests, type Manifest } from './k8s-manifests';

/**
 * A kustomize overlay rendered as `kubectl apply -k` would render it, for the few features infra/k8s
 * overlays use (anything else throws): `resources` (a directory: its kustomization's resources; a
 * file: its objects), `patches` with a `target` and a JSON patch file (RFC 6902: add, remove, replace,
 * test), and `patches` without one whose document is a strategic-merge `$patch: delete`. Like
 * kustomize it refuses a base directory that contains the overlay: the overlay must sit beside it.
 */
export function renderOverlay(dir: string): Manifest[] {
  const kustomization = loadKustomization(dir);
  const known = new Set(['apiVersion', 'kind', 'resources', 'patches']);
  const unknown = Object.keys(kustomization).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new Error(`renderOverlay does not render ${unknown.join(', ')}`);
  let objects: Manifest[] = (kustomization.resources as string[]).flatMap((entry) => {
    const path = resolve(dir, entry);
    if (!entry.endsWith('.yaml')) {
      // kustomize refuses a base that contains the overlay (`kubectl apply -k` fails on it).
      if (!relative(path, resolve(dir)).startsWith('..'))
        throw new Error(`cycle detected: candidate root '${path}' contains visited root '${resolve(dir)}'`);
      if (path !== K8S_DIR) throw new Error(`renderOverlay renders only the base ${K8S_DIR}, not ${path}`);
      return loadManifests(path).map(({ object }) => object);
    }
    return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => doc.toJS() as Manifest);
  });
  for (const patch of kustomization.patches as Manifest[]) {
    const body = parse(readFileSync(join(dir, patch.path), 'utf8'));
    if (patch.target) {
      const targets = objects.filter((o) => matches(o, patch.target));
      if (targets.length !== 1) throw new Error(`${patch.path}: ${targets.length} targets`);
      for (const op of body as Manifest[]) applyOperation(targets[0]!, op);
    } else if (body.$patch === 'delete') {
      const before = objects.length;
      objects = objects.filter((o) => !(o.kind === body.kind && o.metadata.name === body.metadata.name));
      if (objects.length !== before - 1) throw new Error(`${patch.path}: deletes no object`);
    } else throw new Error(`${patch.path}: renderOverlay applies only JSON patches and $patch: delete`);
  }
  return objects;
}

function matches(object: Manifest, target: Manifest): boolean {
  const [group, version] = object.apiVersion.includes('/')
    ? object.apiVersion.split('/')
    : ['', object.apiVersion];
  return (
    (target.group ?? '') === group &&
    target.version === version &&
    target.kind === object.kind &&
    target.name === object.metadata.name
  );
}

/** One RFC 6902 operation (add, remove, replace, test), in place. */
export function applyOperation(root: Manifest, op: Manifest): void {
  const keys = (op.path as string)
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = keys.pop()!;
  let parent: Manifest = root;
  for (const key of keys) {
    parent = parent?.[key];
    if (parent === undefined) throw new Error(`${op.op} ${op.path}: no ${key}`);
  }
  const index = Array.isArray(parent) ? (last === '-' ? parent.length : Number(last)) : last;
  if (op.op !== 'add' && !(index in parent)) throw new Error(`${op.op} ${op.path}: nothing there`);
  if (op.op === 'test') {
    if (JSON.stringify(parent[index]) !== JSON.stringify(op.value))
      throw new Error(`test ${op.path}: ${JSON.stringify(parent[index])} is not ${JSON.stringify(op.value)}`);
  } else if (op.op === 'remove' || (op.op === 'add' && Array.isArray(parent))) {
    if (Array.isArray(parent))
      parent.splice(
        index as number,
        op.op === 'remove' ? 1 : 0,
        ...(op.op === 'add' ? [structuredClone(op.value)] : []),
      );
    else delete parent[index];
  } else if (op.op === 'replace' || op.op === 'add') parent[index] = structuredClone(op.value);
  else throw new Error(`${op.op} ${op.path}: renderOverlay does not apply ${op.op}`);
}
