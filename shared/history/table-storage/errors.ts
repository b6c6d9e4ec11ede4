import { RestError } from '@azure/data-tables';
import { errorMessage, PermanentError, TransientError } from '../../core';

export function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}

/**
 * SDK errors as the rest of Tagwarden classifies them: 5xx, 429, 408 and no answer at all
 * (connection refused, timeout) are transient; any other 4xx is permanent, with the service's reason.
 */
export function classify(error: unknown, what: string): Error {
  if (error instanceof TransientError || error instanceof PermanentError) return error;
  if (error instanceof RestError) {
    const status = error.statusCode;
    const detail =
      `${what}: Table Storage answered ${status ?? error.code ?? 'nothing'} ${serviceReason(error)}`.trim();
    if (status === undefined || status >= 500 || status === 429 || status === 408)
      return new TransientError(detail, retryAfterMs(error));
    return new PermanentError(detail);
  }
  // Anything unclassified (an abort, a socket error) counts as transient: nothing is dropped on a surprise.
  return new TransientError(`${what}: ${errorMessage(error)}`);
}

/** The `odata.error` code and message, without the request id and time the service appends. */
function serviceReason(error: RestError): string {
  let code = error.code;
  let message = error.message;
  try {
    const body = JSON.parse(error.message) as {
      'odata.error'?: { code?: string; message?: { value?: string } };
    };
    code = body['odata.error']?.code ?? code;
    message = body['odata.error']?.message?.value ?? message;
  } catch {
    // Not JSON: the SDK already extracted the message (transactions do).
  }
  const reason = message.split('\n')[0]!.replace(/^\d+:/, '');
  return code && !reason.includes(code) ? `${code}: ${reason}` : reason;
}

function retryAfterMs(error: RestError): number | null {
  const header = error.response?.headers.get('retry-after');
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}
