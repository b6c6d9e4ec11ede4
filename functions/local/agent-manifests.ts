import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readiness, WorkloadClient } from '../../shared/agent/apply';
import { type ManifestText, workloadsFromManifests } from '../../shared/agent/manifests';
import { errorMessage } from '../../shared/core';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/**
 * The agent's workloads from manifest files (`--manifests <dir|file…>`), read again for every bump so
 * an edited file counts. Only a dry run uses it: there is nothing to patch.
 */
export function manifestWorkloadClient(paths: readonly string[]): WorkloadClient {
  const read = () => workloadsFromManifests(readManifests(paths));
  return {
    list: async () => read(),
    // Files hold no pods: drift needs a cluster (the command refuses --report-url/--fix with --manifests).
    running: async () => ({ pods: [], owners: [] }),
    patch: async () => {
      throw new Error('manifests mode patches nothing (it runs only as a dry run)');
    },
    async ready(): Promise<Readiness> {
      try {
        const count = read().length;
        return {
          ready: true,
          source: 'manifests',
          detail: `manifests mode: ${count} workload(s) from ${paths.join(', ')}`,
        };
      } catch (error) {
        return { ready: false, source: 'manifests', error: errorMessage(error), problem: null };
      }
    },
  };
}

/** Each path's text: a file as given, a directory's .yaml/.yml/.json files (sub-directories too) in name order. */
export function readManifests(paths: readonly string[]): ManifestText[] {
  return paths.flatMap((path) => {
    let directory: boolean;
    try {
      directory = statSync(path).isDirectory();
    } catch (error) {
      throw new Error(
        `cannot read manifests ${path}: ${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}`,
      );
    }
    if (!directory) return [{ file: path, text: readFileSync(path, 'utf8') }];
    const entries = readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    return entries.flatMap((entry) => {
      const inner = join(path, entry.name);
      if (entry.isDirectory()) return readManifests([inner]);
      return entry.isFile() && MANIFEST_FILE.test(entry.name)
        ? [{ file: inner, text: readFileSync(inner, 'utf8') }]
        : [];
    });
  });
}
