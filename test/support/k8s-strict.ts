import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import {
  ConfigMap,
  Namespace,
  PersistentVolumeClaim,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-models/v1';
import type { Manifest } from './k8s-manifests';

/** A kubernetes-models class: its `validate()` runs the API's JSON schema, compiled, on `this`. */
export type ModelClass = new (data: never) => { validate(): void };

/** The kubernetes-models class of every kind infra/k8s uses, by `<apiVersion>/<kind>`. */
export const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
};

/** The object validated against its kind's schema (types, required fields) and strictly (no unknown key). */
export function validateStrictly(object: Manifest): void {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) throw new Error(`no kubernetes-models class for ${object.apiVersion} ${object.kind}`);
  new Model(object as never).validate();
  const unknown = unknownFields(Model, object);
  if (unknown.length > 0)
    throw new Error(`${object.kind} ${object.metadata?.name}: not in the schema: ${unknown.join(', ')}`);
}

/**
 * The properties of `object` that the Kubernetes schema of `Model` does not define: kubernetes-models
 * validates types and required fields but lets unknown keys through, so `readOnlyRootFileSystem`
 * (a typo) would pass it, and the API server would drop it silently.
 *
 * The package ships its schemas compiled (ajv standalone code under `_schemas/`), not as JSON, so the
 * schema is walked as that code walks it: the object is validated through a Proxy that records which
 * keys the schema reads. A schema with `properties` reads each property it defines (`data.name`) and no
 * other; a map (`additionalProperties`) enumerates its keys and reads every one; `$ref`s are calls to
 * the referenced schema's code, which reads the same way. A key the schema never read is one it does
 * not define. An object of which the schema read nothing at all is opaque to it
 * (`x-kubernetes-preserve-unknown-fields`, RawExtension, `{}`): its contents are accepted as they are.
 */
export function unknownFields(Model: ModelClass, object: Manifest): string[] {
  const reads = new Map<object, Set<PropertyKey>>();
  const enumerated = new Set<object>();
  const watch = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const target = value as object;
    reads.set(target, reads.get(target) ?? new Set());
    return new Proxy(target, {
      get(t, key, receiver) {
        reads.get(t)!.add(key);
        return watch(Reflect.get(t, key, receiver));
      },
      ownKeys(t) {
        enumerated.add(t);
        return Reflect.ownKeys(t);
      },
    });
  };
  // validate() is the schema's code run on `this`: called on the proxy, nothing is copied first.
  Model.prototype.validate.call(watch(object));
  const unknown: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (value === null || typeof value !== 'object') return;
    const read = reads.get(value) ?? new Set();
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) walk(item, `${path}/${i}`);
      return;
    }
    if (read.size === 0 && !enumerated.has(value)) return; // opaque to the schema
    for (const [key, child] of Object.entries(value)) {
      if (read.has(key)) walk(child, `${path}/${key}`);
      else unknown.push(`${path}/${key}`);
    }
  };
  walk(object, '');
  return unknown;
}
