import { parseAllDocuments } from 'yaml';
import { WORKLOAD_KINDS, type Workload, type WorkloadKind } from './planner';

/**
 * Workloads read from manifest files instead of an API server (`tagwarden agent --dry-run
 * --manifests`): multi-document YAML or JSON, `List` kinds (`List`, `DeploymentList`, …) opened item
 * by item. Other kinds (Services, ConfigMaps, …) are skipped; an object without a namespace is in
 * `default`, as `kubectl apply` would put it.
 */
export interface ManifestText {
  /** Where the text came from, for error messages. */
  file: string;
  text: string;
}

/** The workloads of these texts, in order; throws naming the file and line of the first problem. */
export function workloadsFromManifests(texts: readonly ManifestText[]): Workload[] {
  const workloads: Workload[] = [];
  for (const { file, text } of texts) {
    parseAllDocuments(text).forEach((document, index) => {
      const [error] = document.errors;
      if (error) {
        const line = error.linePos?.[0]?.line;
        throw new Error(`${file}${line ? `: line ${line}` : ''}: not YAML: ${firstLine(error.message)}`);
      }
      collect(document.toJS(), null, `${file}: document ${index + 1}`, workloads);
    });
  }
  return workloads;
}

function collect(value: unknown, listedKind: string | null, where: string, into: Workload[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const object = value as Record<string, unknown>;
  const kind = typeof object.kind === 'string' ? object.kind : listedKind;
  if (kind?.endsWith('List') && Array.isArray(object.items)) {
    const itemKind = kind === 'List' ? null : kind.slice(0, -'List'.length);
    object.items.forEach((item, index) => {
      collect(item, itemKind, `${where}, item ${index + 1}`, into);
    });
    return;
  }
  if (!isWorkloadKind(kind)) return;
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') throw new Error(`${where}: a ${kind} without metadata.name`);
  const namespace =
    typeof metadata.namespace === 'string' && metadata.namespace ? metadata.namespace : 'default';
  const annotations = metadata.annotations as Record<string, string> | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: the four kinds differ in spec shape; the planner reads by kind
  const spec = object.spec as any;
  into.push({ kind, metadata: { name, namespace, annotations }, spec } as Workload);
}

function isWorkloadKind(kind: string | null): kind is WorkloadKind {
  return (WORKLOAD_KINDS as readonly (string | null)[]).includes(kind);
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
