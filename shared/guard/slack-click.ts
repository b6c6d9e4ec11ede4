import * as z from 'zod/mini';
import { type ButtonValue, SLACK_ACTION_IDS, SLACK_ACTION_KINDS } from '../adapters/notify/slack-buttons';
import { digestProblem, parseTagRef, type TagRef } from '../core';

/** One click on an alert's button, as the verified payload says it: nothing in it is trusted yet. */
export interface Click {
  value: ButtonValue;
  ref: TagRef;
  /** The Slack user id of who clicked. */
  user: string;
  responseUrl: string | null;
  /** What makes this click one of a kind: a replay of the same request carries the same id. */
  id: string;
}

const digest = z.string().check(z.refine((d) => digestProblem(d) === null, 'not a digest'));

const ValueSchema = z.strictObject({
  kind: z.enum(SLACK_ACTION_KINDS),
  ref: z.string().check(z.maxLength(1000)),
  from: z.optional(digest),
  to: z.optional(digest),
  key: z.optional(z.string().check(z.maxLength(1500))),
});

/** The fields of Slack's `block_actions` payload Tagwarden reads; others are ignored. */
const PayloadSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().check(z.regex(/^[A-Z0-9]{1,32}$/)) }),
  trigger_id: z.string().check(z.minLength(1), z.maxLength(255)),
  response_url: z.optional(z.string().check(z.maxLength(2000))),
  actions: z
    .array(
      z.object({
        action_id: z.string().check(z.maxLength(255)),
        value: z.string().check(z.maxLength(2000)),
        action_ts: z.string().check(z.regex(/^\d{1,12}(\.\d{1,9})?$/)),
      }),
    )
    .check(z.minLength(1)),
});

function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The click in a form-encoded interactivity request (`payload=<JSON>`), or what is wrong with it.
 * Called only on a body whose signature was verified.
 */
export function parseClick(rawBody: Buffer): { click: Click } | { problem: string } {
  const payload = new URLSearchParams(rawBody.toString('utf8')).get('payload');
  if (payload === null) return { problem: 'the body has no payload field (expected Slack interactivity)' };
  const parsed = PayloadSchema.safeParse(json(payload));
  if (!parsed.success)
    return { problem: 'the payload is not a block_actions click on a button Tagwarden made' };
  const action = parsed.data.actions[0]!;
  const value = ValueSchema.safeParse(json(action.value));
  if (!value.success) return { problem: 'the button value is not one Tagwarden made' };
  if (SLACK_ACTION_IDS[value.data.kind] !== action.action_id)
    return { problem: `action_id ${action.action_id.slice(0, 60)} does not match the button's value` };
  const ref = parseTagRef(value.data.ref);
  if ('problem' in ref) return { problem: `the button names no tag: ${ref.problem}` };
  const { kind, from, to, key } = value.data;
  return {
    click: {
      value: {
        kind,
        ref: value.data.ref,
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        ...(key ? { key } : {}),
      },
      ref,
      user: parsed.data.user.id,
      responseUrl: parsed.data.response_url ?? null,
      id: `slack-action:${parsed.data.trigger_id}:${action.action_ts}`,
    },
  };
}
