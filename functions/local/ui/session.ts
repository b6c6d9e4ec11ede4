import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// The web interface's session: `api.token` is entered once on the login form; the cookie then holds
// a random nonce and an HMAC of it under the token (never the token itself). Nothing is stored on the
// server: changing `api.token` ends every session. The CSRF token of a session is another HMAC of its
// cookie, so a page can carry it in a form and a forged request from elsewhere cannot know it.

export const SESSION_COOKIE = 'tagwarden_session';
/** A session lasts a working day; then the token is asked for again. */
const SESSION_SECONDS = 12 * 60 * 60;

const hmac = (key: string, text: string) => createHmac('sha256', key).update(text).digest('base64url');

/** Compares two secrets in constant time (over their hashes, so lengths leak nothing either). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function newSession(token: string, now = Date.now()): string {
  const nonce = `${randomBytes(18).toString('base64url')}.${Math.floor(now / 1000) + SESSION_SECONDS}`;
  return `${nonce}.${hmac(token, `session:${nonce}`)}`;
}

/** The request's session cookie when it is one this token signed and it has not expired. */
export function sessionOf(req: IncomingMessage, token: string, now = Date.now()): string | null {
  const value = cookieValue(req.headers.cookie, SESSION_COOKIE);
  const parts = value?.split('.');
  if (!value || parts?.length !== 3) return null;
  const [random, expires, mac] = parts as [string, string, string];
  if (!(Number(expires) * 1000 > now)) return null;
  return sameSecret(mac, hmac(token, `session:${random}.${expires}`)) ? value : null;
}

export function csrfToken(token: string, session: string): string {
  return hmac(token, `csrf:${session}`);
}

export function sessionCookie(value: string, secure: boolean): string {
  const attributes = [`Max-Age=${SESSION_SECONDS}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  return [`${SESSION_COOKIE}=${value}`, ...attributes, ...(secure ? ['Secure'] : [])].join('; ');
}

export function clearedCookie(secure: boolean): string {
  return sessionCookie('', secure).replace(/Max-Age=\d+/, 'Max-Age=0');
}

/** Behind https (a TLS socket, or a proxy that says so): the cookie is then sent over https only. */
export function isHttps(req: IncomingMessage): boolean {
  const forwarded = req.headers['x-forwarded-proto'];
  return ('encrypted' in req.socket && req.socket.encrypted === true) || forwarded === 'https';
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return null;
}
