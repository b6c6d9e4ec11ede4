import { createHash } from 'node:crypto';
import type { ClusterEndpoint } from '../contracts/cluster-bump/endpoint';
import { verifyBodySignature } from '../contracts/cluster-bump/payload';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../contracts/cluster-bump/signature';
import { CLUSTER_HEADER, DriftReport, findingKey } from '../contracts/drift-report/payload';
import {
  type Digest,
  diffDrift,
  driftEffects,
  driftNotice,
  findingRef,
  formatTagRef,
  type KeyedFinding,
  type Policy,
  ruleFor,
} from '../core';
import type { DriftLog, DriftPlan, TagHistory } from '../history';
import { parseJsonBody } from '../sources/json-body';

/** How far a report's signed timestamp may be from now, either way: the bump's window. */
export const DRIFT_WINDOW_MS = 5 * 60_000;
/** Report ids are remembered this long; a replay older than the window is refused by its timestamp. */
const REMEMBER_REPORTS_MS = 4 * DRIFT_WINDOW_MS;

export interface DriftReceiverDeps {
  drift: DriftLog;
  store: Pick<TagHistory, 'tagState'>;
  policy: Policy;
  /** The `secret` of the `clusters[]` entry named so (format tagwarden), or null: unknown or none. */
  clusterSecret: (name: string) => string | null;
  now?: () => Date;
  windowMs?: number;
}

type Headers = Record<string, string | string[] | undefined>;

/** What became of one report; each runtime's edge turns it into its answer (`driftAnswer`). */
export type DriftOutcome =
  | { kind: 'unauthenticated'; reason: string }
  | { kind: 'rejected'; reason: string }
  | { kind: 'replay'; reason: string }
  | { kind: 'recorded'; cluster: string; id: string; opened: number; cleared: number };

/** The secret of each `clusters[]` entry an agent reports as (format tagwarden, with a secret). */
export function clusterSecrets(clusters: ClusterEndpoint[]): (name: string) => string | null {
  const secrets = new Map(
    clusters.filter((c) => c.format === 'tagwarden' && c.secret).map((c) => [c.name, c.secret!]),
  );
  return (name) => secrets.get(name) ?? null;
}

/** The cluster a report claims and its secret, from the headers alone (before any body byte is read). */
export function admitDriftReport(
  deps: Pick<DriftReceiverDeps, 'clusterSecret'>,
  headers: Headers,
): { ok: true; cluster: string; secret: string } | { ok: false; outcome: DriftOutcome } {
  const cluster = header(headers, CLUSTER_HEADER);
  const secret = cluster === undefined ? null : deps.clusterSecret(cluster);
  // The same words whether the cluster is unknown or has no secret: the sender learns no names.
  if (cluster === undefined || secret === null)
    return {
      ok: false,
      outcome: {
        kind: 'unauthenticated',
        reason: `missing or unknown ${CLUSTER_HEADER}, or no secret for it`,
      },
    };
  return { ok: true, cluster, secret };
}

/**
 * A drift report (issue 15): the signature over the raw bytes first, then the body, its cluster and
 * signed time (equal to the headers, within the window), then recorded — where a report id already
 * received is refused as a replay, atomically with the recording.
 */
export async function receiveDriftReport(
  deps: DriftReceiverDeps,
  admitted: { cluster: string; secret: string },
  headers: Headers,
  body: Buffer,
): Promise<DriftOutcome> {
  const signature = verifyBodySignature(admitted.secret, body, header(headers, SIGNATURE_HEADER));
  if (!signature.ok) return { kind: 'unauthenticated', reason: signature.reason };
  const json = parseJsonBody(body.toString('utf8'));
  if (!json.ok) return { kind: 'rejected', reason: json.reason };
  const parsed = DriftReport.safeParse(json.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      kind: 'rejected',
      reason: `bad drift report: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
    };
  }
  const report = parsed.data;
  if (report.cluster !== admitted.cluster)
    return { kind: 'unauthenticated', reason: `the report's cluster does not equal ${CLUSTER_HEADER}` };
  const now = (deps.now?.() ?? new Date()).getTime();
  const late = timeProblem(
    report.timestamp,
    header(headers, TIMESTAMP_HEADER),
    now,
    deps.windowMs ?? DRIFT_WINDOW_MS,
  );
  if (late) return late;
  return recordReport(deps, report, new Date(now));
}

function timeProblem(
  timestamp: string,
  stamp: string | undefined,
  now: number,
  windowMs: number,
): DriftOutcome | null {
  if (stamp === undefined) return { kind: 'unauthenticated', reason: `missing ${TIMESTAMP_HEADER} header` };
  if (stamp !== timestamp)
    return {
      kind: 'unauthenticated',
      reason: `${TIMESTAMP_HEADER} does not equal the signed body's timestamp`,
    };
  const signedAt = Date.parse(timestamp);
  if (Number.isNaN(signedAt))
    return { kind: 'rejected', reason: `timestamp ${JSON.stringify(timestamp)} is not an RFC 3339 time` };
  if (Math.abs(now - signedAt) > windowMs)
    return {
      kind: 'unauthenticated',
      reason: `timestamp ${timestamp} is outside the accepted window of ${windowMs / 1000} s (check the clocks)`,
    };
  return null;
}

async function recordReport(deps: DriftReceiverDeps, report: DriftReport, now: Date): Promise<DriftOutcome> {
  const { cluster, id } = report;
  const keyed: KeyedFinding[] = report.findings.map((finding) => ({
    key: findingKey(cluster, finding),
    finding,
  }));
  const serves = await servedDigests(deps, keyed);
  const receivedAt = now.toISOString();
  const plan = (open: Parameters<typeof diffDrift>[0]): DriftPlan => {
    const diff = diffDrift(open, keyed, report.truncated);
    const effects = diff.opened.map(({ key, finding }) => {
      const ref = findingRef(finding);
      const digest = serves.get(formatTagRef(ref)) ?? finding.tagDigest;
      const eventId = `drift-${createHash('sha256').update(`${cluster}\n${id}\n${key}`).digest('hex').slice(0, 32)}`;
      const notice = driftNotice(cluster, finding, digest);
      return {
        eventId,
        effects: driftEffects(
          eventId,
          notice,
          { finding, serves: digest },
          ruleFor(deps.policy, ref),
          receivedAt,
        ),
      };
    });
    return { diff, effects };
  };
  const forgetBefore = new Date(now.getTime() - REMEMBER_REPORTS_MS).toISOString();
  const result = await deps.drift.applyReport({ cluster, reportId: id, receivedAt, forgetBefore }, plan);
  if (result.kind === 'replay')
    return { kind: 'replay', reason: `report ${id} was already received (replay refused)` };
  return { kind: 'recorded', cluster, id, opened: result.opened, cleared: result.cleared };
}

/** What Tagwarden's history says each reported tag serves now (absent: unknown here). */
async function servedDigests(deps: DriftReceiverDeps, keyed: KeyedFinding[]): Promise<Map<string, Digest>> {
  const refs = new Map(keyed.map(({ finding }) => [formatTagRef(findingRef(finding)), findingRef(finding)]));
  const served = new Map<string, Digest>();
  for (const [text, ref] of refs) {
    const digest = (await deps.store.tagState(ref))?.digest;
    if (digest) served.set(text, digest);
  }
  return served;
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
