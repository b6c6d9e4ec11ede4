import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import type { Logger } from '../../shared/log';

// How many wrong `api.token`s one client may try (the login form, a Bearer token on the read API; the
// agent's `TAGWARDEN_METRICS_TOKEN` on its `/metrics` has a limiter of its own, with the same limits):
// at most `failures` within a sliding `windowMs` per client address; past that the address is
// answered 429 until its oldest counted failure leaves the window, and its attempts are not checked
// (a right guess during the lock-out is not confirmed either) nor counted. A success resets nothing:
// behind a proxy one address is everyone's, and a colleague's sign-in must not clear a guesser's
// count. At most `addresses` addresses are remembered, the one whose last failure is oldest dropped
// first: an attacker with more addresses than that can push its own out and is then bounded only by
// how fast `serve` answers (docs/security.md).

export interface GuessLimits {
  /** Failed attempts an address may make within the window; the next is refused. */
  failures: number;
  windowMs: number;
  /** Addresses remembered at once. */
  addresses: number;
}

export const GUESS_LIMITS: GuessLimits = { failures: 10, windowMs: 60_000, addresses: 10_000 };

export class GuessLimiter {
  /** Per address, the times of its failures still in the window, oldest first (at most `failures`). */
  private readonly failed = new Map<string, number[]>();

  constructor(
    private readonly limits: GuessLimits = GUESS_LIMITS,
    private readonly now: () => number = Date.now,
    /** Told when a failure locks an address out, with the seconds until it may try again. */
    private readonly onLockout: (address: string, seconds: number) => void = () => {},
  ) {}

  /** Whole seconds until `address` may try again; 0 when it may try now. */
  lockedFor(address: string): number {
    const times = this.recent(address);
    if (times.length < this.limits.failures) return 0;
    return Math.max(1, Math.ceil((times[0]! + this.limits.windowMs - this.now()) / 1000));
  }

  /** Counts a wrong token from `address`. */
  failure(address: string): void {
    const times = this.recent(address);
    times.push(this.now());
    if (times.length > this.limits.failures) times.shift();
    this.failed.delete(address);
    if (this.failed.size >= this.limits.addresses) {
      const oldest = this.failed.keys().next().value;
      if (oldest !== undefined) this.failed.delete(oldest);
    }
    this.failed.set(address, times);
    if (times.length === this.limits.failures) this.onLockout(address, this.lockedFor(address));
  }

  /** How many addresses are remembered (for tests of the cap). */
  get size(): number {
    return this.failed.size;
  }

  private recent(address: string): number[] {
    const since = this.now() - this.limits.windowMs;
    const times = (this.failed.get(address) ?? []).filter((t) => t > since);
    if (times.length === 0) this.failed.delete(address);
    return times;
  }
}

/**
 * The address a request's guesses are counted under: the socket's peer. `X-Forwarded-For` is not
 * trusted (any client can send it), so behind a proxy every client shares the proxy's budget.
 */
export function clientAddress(req: IncomingMessage): string {
  return budgetKey(req.socket.remoteAddress ?? 'unknown');
}

/**
 * One budget per IPv4 address and per IPv6 /64: one host is handed a whole /64, so counting each
 * IPv6 address alone would give it more addresses than the table remembers. An IPv4-mapped IPv6
 * address (`::ffff:a.b.c.d`, what a dual-stack socket reports) counts as its IPv4 address.
 */
export function budgetKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare)) return address;
  const groupsIn = (part: string) =>
    part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const [head = '', tail] = bare.split('::');
  const left = groupsIn(head);
  const right = tail === undefined ? [] : groupsIn(tail);
  const zeros = Array<string>(8 - left.length - right.length).fill('0');
  const groups = tail === undefined ? left : [...left, ...zeros, ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** The token a limiter guards, as its messages name it. */
export const API_TOKEN = 'api.token';

/**
 * One warning per lock-out, so an operator sees a guesser. The window slides: an address that keeps
 * guessing is locked again by each guess it lets through, up to `failures` warnings per window.
 */
export function lockoutWarning(log: Logger, token = API_TOKEN): (address: string, seconds: number) => void {
  return (remoteAddress, retryAfterSeconds) =>
    log.warn(`${token} guessed wrong too often: refusing this address for a while`, {
      remoteAddress,
      retryAfterSeconds,
    });
}

/** A limiter with the default limits that warns in `log` at each lock-out: one per server. */
export function warningGuessLimiter(log: Logger, token = API_TOKEN): GuessLimiter {
  return new GuessLimiter(GUESS_LIMITS, Date.now, lockoutWarning(log, token));
}

/** The one-line reason a locked-out attempt is refused with. */
export function lockedOutReason(seconds: number, token = API_TOKEN): string {
  return `too many wrong ${token} attempts from this address; try again in ${seconds} s`;
}
