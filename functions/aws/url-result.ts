/** A Function URL answer, always structured (never the bare-string form). */
export interface UrlResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** A JSON answer with its status and any extra headers; `nosniff`, so no browser reads it as HTML. */
export function answer(status: number, body: unknown, headers: Record<string, string> = {}): UrlResult {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', 'x-content-type-options': 'nosniff', ...headers },
    body: JSON.stringify(body),
  };
}

/** A shared handler's `{ status, body }` as a Function URL answer. */
export function urlResult({ status, body }: { status: number; body: unknown }): UrlResult {
  return answer(status, body);
}

/** The request's headers with lower-case names (a Function URL keeps the sender's case). */
export function lowerCaseHeaders(
  headers: Record<string, string | undefined> | undefined,
): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}
