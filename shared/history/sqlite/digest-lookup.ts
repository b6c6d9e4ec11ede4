import type Database from 'better-sqlite3';
import type { Digest, TagRef } from '../../core';

/**
 * The repository's tags that serve `digest` or whose approved digest it is (see `tagsServing`): a
 * range over the tags table's primary key (host, repository), filtered on the two digests.
 */
export function tagsServingIn(
  db: Database.Database,
  registryHost: string,
  repository: string,
  digest: Digest,
): TagRef[] {
  const rows = db
    .prepare<[string, string, string, string], { tag: string }>(
      `SELECT tag FROM tags WHERE registry_host = ? AND repository = ?
         AND (digest = ? OR approved_digest = ?) ORDER BY tag`,
    )
    .all(registryHost, repository, digest, digest);
  return rows.map(({ tag }) => ({ registryHost, repository, tag }));
}
