import type { ApplyResult, Policy, RegistryEvent } from '../core';

/**
 * `applyAll` for a store whose writes cannot span a batch (one transaction per tag): each event in
 * order, exactly as `apply` records it alone. A batch may hold two pushes of one tag, so never in
 * parallel: the older must commit first.
 */
export async function applyInOrder(
  apply: (event: RegistryEvent, policy: Policy, receivedAt: string) => Promise<ApplyResult>,
  events: readonly RegistryEvent[],
  policy: Policy,
  receivedAt: string,
): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  for (const event of events) results.push(await apply(event, policy, receivedAt));
  return results;
}
