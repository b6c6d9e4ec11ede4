import { type Alert, formatTagRef } from '../../core';
import { shortDigest } from './console';

/**
 * The buttons an alert carries in Slack, and what each click sends back. A button's `value` names
 * the tag and digests it was made for; the action endpoint never trusts it (it re-reads history and
 * acts only while the tag is where the alert said), it only says what the person saw.
 */
export const SLACK_ACTION_KINDS = ['revert', 'approve', 'putBack', 'retry'] as const;
export type SlackActionKind = (typeof SLACK_ACTION_KINDS)[number];

/** `action_id` of each button: one per kind, so the endpoint tells them apart. */
export const SLACK_ACTION_IDS: Record<SlackActionKind, string> = {
  revert: 'tagwarden_revert',
  approve: 'tagwarden_approve',
  putBack: 'tagwarden_put_back',
  retry: 'tagwarden_retry',
};

/** What a button binds: the tag, the digest it serves now (`to`), the one before (`from`), an effect. */
export interface ButtonValue {
  kind: SlackActionKind;
  /** `<registryHost>/<repository>:<tag>`. */
  ref: string;
  from?: string;
  to?: string;
  /** Only on "Retry": the outbox key of the effect that failed. */
  key?: string;
}

/** Slack caps a button's value at 2000 characters and its text at 75. */
export const BUTTON_VALUE_MAX = 2000;
const BUTTON_TEXT_MAX = 75;

function button(text: string, value: ButtonValue, style?: 'primary' | 'danger') {
  const encoded = JSON.stringify(value);
  if (encoded.length > BUTTON_VALUE_MAX) return null;
  return {
    type: 'button',
    action_id: SLACK_ACTION_IDS[value.kind],
    text: { type: 'plain_text', text: text.slice(0, BUTTON_TEXT_MAX), emoji: false },
    value: encoded,
    ...(style ? { style } : {}),
  };
}

/** Slack shows `sha256:abcdef123456…`: the short form, without the ellipsis, fits a button. */
function short(digest: string): string {
  return shortDigest(digest).replace(/…$/, '');
}

/**
 * The actions block of an alert, or null when it offers nothing to click. By rule: under `alert`,
 * "Revert to <old>" and "Approve <new>"; under `revert` and `lock`, "Approve <new> (put it back)";
 * on the alert of an effect that failed for good, "Retry" (and nothing else).
 */
export function alertButtons(alert: Alert): unknown | null {
  const { incident } = alert;
  const ref = formatTagRef(incident.ref);
  if (alert.retryKey !== undefined)
    return actions([button('Retry', { kind: 'retry', ref, key: alert.retryKey })]);
  if (incident.attempt || incident.digestDeleted || !incident.from || !incident.to) return null;
  const old = incident.restoreTo ?? incident.from;
  const { to } = incident;
  if (old === to) return null;
  if (incident.ruleAction === 'alert')
    return actions([
      button(`Revert to ${short(old)}`, { kind: 'revert', ref, from: old, to }, 'danger'),
      button(`Approve ${short(to)}`, { kind: 'approve', ref, from: old, to }, 'primary'),
    ]);
  if (incident.ruleAction === 'revert' || incident.ruleAction === 'lock')
    return actions([button(`Approve ${short(to)} (put it back)`, { kind: 'putBack', ref, from: old, to })]);
  return null;
}

function actions(elements: (object | null)[]): unknown | null {
  const kept = elements.filter((e) => e !== null);
  return kept.length === 0 ? null : { type: 'actions', block_id: 'tagwarden_actions', elements: kept };
}
