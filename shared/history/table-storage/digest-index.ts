import { odata, type TableClient } from '@azure/data-tables';
import type { Digest, TagRef, TagState } from '../../core';
import { stillNaming } from '../digest-index';
import { digestPartition, encodeKeyPart } from './keys';
import { callTable, queryRows } from './service';

// The digest index on Table Storage (layout in keys.ts, rules in shared/history/digest-index.ts).

/** Upserts the index entries saying that the tag names `digests`: before the write that makes it so. */
export async function indexDigests(
  client: TableClient,
  ref: TagRef,
  digests: readonly Digest[],
): Promise<void> {
  await Promise.all(
    digests.map((digest) => {
      const entity = {
        partitionKey: digestPartition(ref.registryHost, ref.repository, digest),
        rowKey: encodeKeyPart(ref.tag),
        tag: ref.tag,
      };
      return callTable(`index ${digest} for ${ref.tag}`, () => client.upsertEntity(entity, 'Replace'));
    }),
  );
}

/** The repository's tags that serve `digest` or approved it: the index's entries, checked against each state. */
export async function tagsNaming(
  client: TableClient,
  registryHost: string,
  repository: string,
  digest: Digest,
  stateOf: (ref: TagRef) => Promise<TagState | null>,
): Promise<TagRef[]> {
  const pk = digestPartition(registryHost, repository, digest);
  const entries = await queryRows<{ tag: string }>(
    client,
    `find the tags of ${registryHost}/${repository}@${digest}`,
    odata`PartitionKey eq ${pk}`,
  );
  const refs = entries.map(({ tag }) => ({ registryHost, repository, tag }));
  return stillNaming(refs, digest, stateOf);
}
