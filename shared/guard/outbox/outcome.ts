import type { EffectKind, PolicyAction } from '../../core';
import type { HarmlessClass } from '../../core/classify-move';

/**
 * What an effect did, as data. The stores keep it as text in their `outcome` column: `encodeOutcome`
 * writes JSON, `decodeOutcome` reads it back, and also reads the plain text older versions wrote,
 * which existing databases still hold. Only the edges (Slack, CLI, logs) turn it into words.
 */
export type EffectOutcome =
  /**
   * The tag serves `restored` again; the offending digest is kept referenced under `keptAs`. Older rows
   * may know none of it. `move` says what the move was (a real overwrite, or why it could not be told).
   */
  | {
      kind: 'reverted';
      restored: string | null;
      offending: string | null;
      keptAs: string | null;
      move?: string;
    }
  /**
   * Left out: the move changed no platform's image (`class`), and the rule's `harmless: action` does
   * not run this effect. `approved`: under allow or alert, whether the moved-to digest became the
   * tag's approved digest (false: the tag serves another one by now); absent on older rows and under
   * lock or revert.
   */
  | { kind: 'harmless'; class: HarmlessClass; action: PolicyAction; move: string; approved?: boolean }
  | { kind: 'skipped'; reason: string }
  | { kind: 'locked' }
  | { kind: 'notLocked'; reason: string }
  /**
   * Sent; `before` names the effects it reports that had not settled when it went out (its wait for
   * them ran out), each of which is alerted again only if it then fails for good.
   */
  | { kind: 'alerted'; via: string; before?: EffectKind[] }
  /** A planned bump queued as one effect per cluster endpoint. */
  | { kind: 'fannedOut'; clusters: string[] }
  /** One cluster endpoint told; `report` is the endpoint's answer in words. */
  | { kind: 'delivered'; report: string }
  | { kind: 'resolved'; digest: string; transition: string }
  /** Text an older version wrote in a form not known here; shown as it is. */
  | { kind: 'note'; text: string };

export function encodeOutcome(outcome: EffectOutcome): string {
  return JSON.stringify(outcome);
}

const KINDS = new Set<EffectOutcome['kind']>([
  'reverted',
  'harmless',
  'skipped',
  'locked',
  'notLocked',
  'alerted',
  'fannedOut',
  'delivered',
  'resolved',
  'note',
]);

/** The outcome a store holds, whether written by `encodeOutcome` or as the text of older versions. */
export function decodeOutcome(text: string | null): EffectOutcome | null {
  if (text === null) return null;
  if (text.startsWith('{')) {
    try {
      const value = JSON.parse(text) as { kind?: unknown };
      if (KINDS.has(value.kind as EffectOutcome['kind'])) return value as EffectOutcome;
    } catch {
      // Not ours: fall through and keep it as text.
    }
  }
  return decodeLegacy(text);
}

const FAN_OUT_PREFIX = 'queued for cluster(s): ';

/** Every form the outcome column held before outcomes were data. */
function decodeLegacy(text: string): EffectOutcome {
  if (text === 'reverted') return { kind: 'reverted', restored: null, offending: null, keptAs: null };
  const reverted = /^reverted to (\S+?)(?:; (\S+) kept as tag (\S+))?$/.exec(text);
  if (reverted)
    return {
      kind: 'reverted',
      restored: reverted[1]!,
      offending: reverted[2] ?? null,
      keptAs: reverted[3] ?? null,
    };
  if (text.startsWith('skipped: ')) return { kind: 'skipped', reason: text.slice('skipped: '.length) };
  if (text === 'locked') return { kind: 'locked' };
  if (text.startsWith('not locked: '))
    return { kind: 'notLocked', reason: text.slice('not locked: '.length) };
  if (text.startsWith('sent via ')) return { kind: 'alerted', via: text.slice('sent via '.length) };
  if (text.startsWith(FAN_OUT_PREFIX)) {
    const clusters = text.slice(FAN_OUT_PREFIX.length).split(', ');
    return { kind: 'fannedOut', clusters: clusters.filter((name) => name !== '') };
  }
  if (text.startsWith('delivered to ')) return { kind: 'delivered', report: text };
  const resolved = /^resolved to (\S+): (\S+)$/.exec(text);
  if (resolved) return { kind: 'resolved', digest: resolved[1]!, transition: resolved[2]! };
  return { kind: 'note', text };
}

/** The outcome in words, as alerts, `tagwarden history`, `tagwarden retry` and logs show it. */
export function renderOutcome(outcome: EffectOutcome): string {
  switch (outcome.kind) {
    case 'reverted':
      if (!outcome.restored) return 'reverted';
      return `reverted to ${outcome.restored}${outcome.keptAs ? `; ${outcome.offending} kept as tag ${outcome.keptAs}` : ''}${outcome.move ? `; ${outcome.move}` : ''}`;
    case 'harmless':
      return `harmless move, not acted on (rule harmless: ${outcome.action}); ${harmlessMove(outcome)}`;
    case 'skipped':
      return `skipped: ${outcome.reason}`;
    case 'locked':
      return 'locked';
    case 'notLocked':
      return `not locked: ${outcome.reason}`;
    case 'alerted':
      return `sent via ${outcome.via}${outcome.before?.length ? ` before the ${outcome.before.join(', ')} settled` : ''}`;
    case 'fannedOut':
      return `${FAN_OUT_PREFIX}${outcome.clusters.join(', ')}`;
    case 'delivered':
      return outcome.report;
    case 'resolved':
      return `resolved to ${outcome.digest}: ${outcome.transition}`;
    case 'note':
      return outcome.text;
  }
}

export const APPROVED = "approved as the tag's digest";

/** The move in words, with what became of its approval: `index-grew, approved as the tag's digest: …`. */
function harmlessMove(outcome: Extract<EffectOutcome, { kind: 'harmless' }>): string {
  if (outcome.approved === undefined) return outcome.move;
  const said = outcome.approved ? APPROVED : 'not approved: the tag serves another digest by now';
  const head = `${outcome.class}: `;
  return outcome.move.startsWith(head)
    ? `${outcome.class}, ${said}: ${outcome.move.slice(head.length)}`
    : `${outcome.move}; ${said}`;
}

/** A stored outcome column in words; null when the effect has none yet. */
export function outcomeText(text: string | null): string | null {
  const outcome = decodeOutcome(text);
  return outcome ? renderOutcome(outcome) : null;
}
