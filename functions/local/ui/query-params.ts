import { parseTagRef, type TagRef, TRANSITION_KINDS, type TransitionKind } from '../../../shared/core';
import type { TagFilter } from '../../../shared/history';
import { DEFAULT_LIMIT, MAX_LIMIT } from './queries';

// The query strings of the pages and their JSON twins, checked the same way for both: a bad value is
// a 400 naming it, never a silently ignored filter.

export interface ListQuery {
  filter: TagFilter;
  limit: number;
  cursor: number | null;
}

type Problem = { problem: string };

function paging(params: URLSearchParams): { limit: number; cursor: number | null } | Problem {
  const limitText = params.get('limit');
  const limit = limitText ? Number(limitText) : DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    return { problem: `limit must be a whole number from 1 to ${MAX_LIMIT}` };
  const cursorText = params.get('cursor');
  const cursor = cursorText ? Number(cursorText) : null;
  if (cursor !== null && (!Number.isSafeInteger(cursor) || cursor < 1))
    return { problem: 'cursor must be the positive number a previous page gave as next' };
  return { limit, cursor };
}

export function listQuery(params: URLSearchParams): ListQuery | Problem {
  const page = paging(params);
  if ('problem' in page) return page;
  const filter: TagFilter = {};
  const registry = params.get('registry');
  const repository = params.get('repository');
  const transition = params.get('transition');
  if (registry) filter.registryHost = registry.toLowerCase();
  if (repository) filter.repository = repository;
  if (transition) {
    if (!TRANSITION_KINDS.includes(transition as TransitionKind))
      return { problem: `transition must be one of ${TRANSITION_KINDS.join(', ')}` };
    filter.transition = transition as TransitionKind;
  }
  return { filter, ...page };
}

export function timelineQuery(
  encodedRef: string,
  params: URLSearchParams,
): { ref: TagRef; limit: number; cursor: number | null } | Problem {
  const page = paging(params);
  if ('problem' in page) return page;
  let text: string;
  try {
    text = decodeURIComponent(encodedRef);
  } catch {
    return { problem: 'the tag in the path is not valid percent-encoding' };
  }
  const ref = parseTagRef(text);
  if ('problem' in ref) return { problem: `${ref.problem}; expected <registryHost>/<repository>:<tag>` };
  return { ref, ...page };
}

export function effectState(params: URLSearchParams): 'pending' | 'failed' | Problem {
  const state = params.get('state') ?? 'failed';
  return state === 'pending' || state === 'failed' ? state : { problem: 'state must be pending or failed' };
}
