/**
 * What went wrong talking to the Kubernetes API, and whether a retry can help. A TLS failure, a 401, a
 * 403, or a 404 from a list (the API group is not served there) come from how the agent is set up: the
 * same call fails the same way until a person fixes the kubeconfig, the token or the RBAC Role, so
 * the agent answers such a bump with a permanent failure naming the problem instead of a 502 the
 * sender retries for minutes. Anything else (a 5xx, a refused or reset connection, a timeout) may pass.
 */
export type ConfigurationProblem = 'tls' | 'unauthorized' | 'forbidden' | 'api-not-found';

export class KubernetesApiError extends Error {
  override readonly name = 'KubernetesApiError';
  constructor(
    message: string,
    /** Set when the failure is the agent's configuration (permanent); null when a retry may pass. */
    readonly problem: ConfigurationProblem | null,
  ) {
    super(message);
  }
}

/** The certificate and handshake codes of Node's TLS and OpenSSL (not ECONNRESET: a dropped connection may pass). */
const TLS_CODE =
  /^(EPROTO|ERR_SSL_|ERR_TLS_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|CERT_|HOSTNAME_MISMATCH)/;
/** The client's own refusal of an http:// server unless TLS verification is switched off. */
const HTTP_REFUSED = /HTTP protocol is not allowed/i;

const STATUS_HINTS: Record<number, { problem: ConfigurationProblem; hint: string }> = {
  401: {
    problem: 'unauthorized',
    hint: "the API server does not accept the agent's credentials (check the kubeconfig user or the service account token)",
  },
  403: {
    problem: 'forbidden',
    hint: "the agent's identity may not do this (check its RBAC Role: list and patch on the four workload kinds)",
  },
  404: {
    problem: 'api-not-found',
    hint: "the server does not serve this Kubernetes API (is the kubeconfig's server a Kubernetes API server?)",
  },
};

/**
 * An answer of the API with this status. `listing`: a 404 of a list means the API itself is missing
 * (permanent); a 404 of a patch means the workload went away since it was listed (a retry re-plans).
 */
export function apiStatusError(
  what: string,
  status: number,
  reason: string,
  listing: boolean,
): KubernetesApiError {
  const said = `${what}: Kubernetes API answered ${status}${reason}`;
  const known = status === 404 && !listing ? undefined : STATUS_HINTS[status];
  return known
    ? new KubernetesApiError(`${said}: ${known.hint}`, known.problem)
    : new KubernetesApiError(said, null);
}

/** A request that got no HTTP answer: a TLS failure is permanent, anything else may pass. */
export function connectionError(what: string, error: unknown): KubernetesApiError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (HTTP_REFUSED.test(message))
    return new KubernetesApiError(
      `${what}: the kubeconfig's server is http://, which the Kubernetes client refuses; use its https:// address`,
      'tls',
    );
  if (typeof code === 'string' && TLS_CODE.test(code)) {
    const hint =
      code === 'EPROTO' || code.startsWith('ERR_SSL_')
        ? 'the server did not answer in TLS (is it plain http spoken to as https?)'
        : "the server's certificate is not trusted (check certificate-authority-data and the server name in the kubeconfig)";
    return new KubernetesApiError(`${what}: TLS with the API server failed (${code}): ${hint}`, 'tls');
  }
  return new KubernetesApiError(`${what}: ${message}`, null);
}

const SUMMARIES: Record<ConfigurationProblem | 'unreachable', string> = {
  tls: 'TLS with the Kubernetes API failed (an untrusted certificate, or http spoken to as https)',
  unauthorized: "the Kubernetes API does not accept the agent's credentials",
  forbidden: "the agent's RBAC Role does not let it list its workloads",
  'api-not-found': 'the server named as the Kubernetes API does not serve it',
  unreachable: 'the Kubernetes API did not answer',
};

/**
 * A problem in a few words, without what the API said (its URL, the service account's name): for
 * `/readyz`, which anyone who reaches the agent may call. The agent's log has the details.
 */
export function problemSummary(problem: ConfigurationProblem | null): string {
  return `${SUMMARIES[problem ?? 'unreachable']} (the agent's log has the details)`;
}
