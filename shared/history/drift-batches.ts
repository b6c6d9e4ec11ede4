/**
 * Splits groups of writes into batches of at most `capacity` writes, in order, never splitting a
 * group (a group is what must commit whole: a finding's open item with its row, or an event's
 * outbox effects). The last batch may be empty: the caller adds the report's replay marker to it.
 * DynamoDB transactions and Table Storage entity-group transactions both stop at 100 writes.
 */
export function packGroups<T>(groups: T[][], capacity: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  for (const group of groups) {
    if (group.length > capacity)
      throw new Error(`${group.length} writes that must commit together exceed ${capacity}`);
    if (current.length + group.length > capacity) {
      batches.push(current);
      current = [];
    }
    current.push(...group);
  }
  batches.push(current);
  return batches;
}
