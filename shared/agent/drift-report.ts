import { randomUUID } from 'node:crypto';
import { readBodyPrefix } from '../bounded-body';
import { SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER } from '../contracts/cluster-bump/payload';
import {
  CLUSTER_HEADER,
  DRIFT_REPORT_PATH,
  type DriftFinding,
  type DriftReport,
  findingKey,
  MAX_FINDINGS,
} from '../contracts/drift-report/payload';

/** How long one report may take before the round counts it as failed (and the next round retries). */
const SEND_TIMEOUT_MS = 10_000;
/** The most of a refusal's answer read (200 characters of it are shown). */
export const ANSWER_READ_BYTES = 4096;

/** A flag's URL: http(s), without credentials. Throws a one-line reason naming the flag. */
export function httpUrlOption(flag: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${flag} ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`${flag} must be http or https, not ${url.protocol.replace(':', '')}`);
  if (url.username || url.password) throw new Error(`${flag} must not carry credentials`);
  return url;
}

/**
 * `--report-url`: Tagwarden's base URL (`https://tagwarden.example`, the report goes to
 * `/webhooks/agent` under it) or the full `…/webhooks/agent` URL, used as given. http(s) only.
 */
export function reportTarget(text: string): URL {
  const url = httpUrlOption('--report-url', text);
  if (!url.pathname.endsWith(DRIFT_REPORT_PATH))
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${DRIFT_REPORT_PATH}`;
  return url;
}

/** A complete snapshot: the first MAX_FINDINGS findings, `truncated` when there were more. */
export function buildReport(
  cluster: string,
  namespaces: readonly string[] | null,
  findings: readonly DriftFinding[],
  now: number,
  id: string = randomUUID(),
): DriftReport {
  return {
    id,
    cluster,
    timestamp: new Date(now).toISOString(),
    namespaces: namespaces === null ? null : [...namespaces],
    findings: findings.slice(0, MAX_FINDINGS),
    truncated: findings.length > MAX_FINDINGS,
  };
}

/** What makes two rounds' reports the same for "send on change": the finding keys and truncation. */
export function reportSignature(cluster: string, findings: readonly DriftFinding[]): string {
  return JSON.stringify([
    findings.length > MAX_FINDINGS,
    findings
      .slice(0, MAX_FINDINGS)
      .map((f) => findingKey(cluster, f))
      .sort(),
  ]);
}

/** Signs the report with the cluster's secret (the bump's scheme) and POSTs it; throws unless 2xx. */
export async function sendReport(url: URL, secret: string, report: DriftReport): Promise<void> {
  const body = JSON.stringify(report);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      headers: {
        'Content-Type': 'application/json',
        [SIGNATURE_HEADER]: signBody(secret, body),
        [TIMESTAMP_HEADER]: report.timestamp,
        [CLUSTER_HEADER]: report.cluster,
      },
      body,
    });
  } catch (error) {
    const cause =
      error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : '';
    throw new Error(`drift report to ${url.host} failed: ${cause}`);
  }
  if (response.ok) {
    await response.body?.cancel();
    return;
  }
  // The first bytes only: an answer that never ends is not read past them.
  const prefix = await readBodyPrefix(response.body, ANSWER_READ_BYTES).catch(() => Buffer.alloc(0));
  const text = prefix.toString('utf8').slice(0, 200);
  throw new Error(`drift report to ${url.host} answered ${response.status}${text ? `: ${text}` : ''}`);
}
