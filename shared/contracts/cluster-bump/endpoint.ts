/**
 * What a configured cluster endpoint is, shared by the config that validates it
 * (`shared/config/cluster-schema.ts`) and the sender that calls it (`shared/adapters/cluster`), so
 * that config never imports the sender. Types and constants only: no zod, no I/O.
 */
export const CLUSTER_FORMATS = ['tagwarden', 'flux', 'keel'] as const;
export type ClusterFormat = (typeof CLUSTER_FORMATS)[number];

/** One `clusters[]` entry of the config, after validation and `${VAR}` expansion. */
export interface ClusterEndpoint {
  name: string;
  url: string;
  format: ClusterFormat;
  /** HMAC key (tagwarden, flux) or basic-auth password (keel). A secret: never in an error or log. */
  secret?: string | undefined;
  /** Basic-auth user for keel (Keel's BASIC_AUTH_USER). */
  username?: string | undefined;
  /** Repository globs this cluster runs; left out: every repository. */
  repositories?: string[] | undefined;
  timeoutMs: number;
}
