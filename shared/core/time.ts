/**
 * Event times decide which event is newest. Registries send RFC 3339 times with up to nanosecond
 * fractions and any offset; we normalize to UTC and compare on (milliseconds, sub-millisecond nanos)
 * so that distribution's nanosecond timestamps keep their order.
 */
const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:?\d{2})$/;

export interface EventTime {
  epochMs: number;
  subMsNanos: number;
}

export function parseEventTime(text: string): EventTime | null {
  const match = RFC3339.exec(text);
  if (!match) return null;
  const [, date, clock, fraction = '', zone = 'Z'] = match;
  const offset =
    zone === 'Z' || zone === 'z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const epochSeconds = Date.parse(`${date}T${clock}${offset}`);
  if (Number.isNaN(epochSeconds) || !isCalendarDate(date!)) return null;
  const nanos = Number(fraction.padEnd(9, '0') || '0');
  return { epochMs: epochSeconds + Math.floor(nanos / 1e6), subMsNanos: nanos % 1e6 };
}

/** Normalizes an RFC 3339 time to ISO-8601 UTC (`Z`), keeping sub-millisecond digits when present. */
export function normalizeTimestamp(text: string): string | null {
  const time = parseEventTime(text);
  if (!time) return null;
  const iso = new Date(time.epochMs).toISOString();
  if (time.subMsNanos === 0) return iso;
  const extra = String(time.subMsNanos).padStart(6, '0').replace(/0+$/, '');
  return `${iso.slice(0, -1)}${extra}Z`;
}

export function fromUnixSeconds(seconds: number): string | null {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 32503680000) return null;
  return new Date(Math.round(seconds * 1000)).toISOString();
}

/** Negative when a is earlier than b, 0 when equal, positive when later. Both must be normalized. */
export function compareEventTimes(a: string, b: string): number {
  const ta = parseEventTime(a);
  const tb = parseEventTime(b);
  if (!ta || !tb) throw new Error(`cannot compare event times ${a} and ${b}`);
  return ta.epochMs - tb.epochMs || ta.subMsNanos - tb.subMsNanos;
}

/** Date.parse rolls 2026-02-30 over to March; a registry time naming a day that does not exist is bad input. */
function isCalendarDate(date: string): boolean {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const probe = new Date(Date.UTC(year, month - 1, day));
  return probe.getUTCFullYear() === year && probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day;
}
