import { z } from 'zod';
import { digestProblem, repositoryProblem, tagProblem } from '../core';
import type { ItemOutcome } from './types';

/**
 * Small helpers the registry parsers share (acr, distribution, ecr). Pure: no I/O.
 * `isRecord` and `validatedEvent` live in ./validate.
 */

/** A wire string field that may be absent or null. */
export const optionalString = z.string().nullish();

/** Absent, null and empty strings all read as "not given". */
export function nonEmpty(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === '' ? null : value;
}

/**
 * Names the wire field in a grammar problem: `digest "…" is not…` → `target.digest "…" is not…`
 * (or `detail.image-digest "…" is not…`); a problem not starting with the model name gets `wireName: `.
 */
export function renamed(problem: string | null, modelName: string, wireName: string): string | null {
  if (problem === null) return null;
  return problem.startsWith(`${modelName} `)
    ? `${wireName}${problem.slice(modelName.length)}`
    : `${wireName}: ${problem}`;
}

/** The first three zod issues as `path: message` (or `path is missing`), joined by `; `. */
export function issuesReason(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, '');
      const where = path === '' ? 'body' : path;
      return issue.code === 'invalid_type' && / received undefined$/.test(issue.message)
        ? `${where} is missing`
        : `${where}: ${issue.message}`;
    })
    .join('; ');
}

/** Says where in the body an ignored or rejected item was: `events[0]: …`; events pass unchanged. */
export function prefixed(prefix: string, outcome: ItemOutcome): ItemOutcome {
  return outcome.kind === 'event' ? outcome : { kind: outcome.kind, reason: `${prefix}: ${outcome.reason}` };
}

export function rejected(reason: string): ItemOutcome {
  return { kind: 'rejected', reason };
}

export function ignored(reason: string): ItemOutcome {
  return { kind: 'ignored', reason };
}

/**
 * The first grammar problem among an item's identifiers, named by their wire fields: digest (when
 * given), then repository, then tag (when given); null when all are well formed.
 */
export function identifierProblem(
  ids: { digest: string | null; repository: string; tag: string | null },
  wire: { digest: string; repository: string; tag: string },
): string | null {
  return (
    (ids.digest !== null ? renamed(digestProblem(ids.digest), 'digest', wire.digest) : null) ??
    renamed(repositoryProblem(ids.repository), 'repository', wire.repository) ??
    (ids.tag !== null ? renamed(tagProblem(ids.tag), 'tag', wire.tag) : null)
  );
}
