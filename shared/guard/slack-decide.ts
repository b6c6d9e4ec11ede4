import type { SlackResponse } from '../adapters/notify/slack-response';
import {
  type Digest,
  formatTagRef,
  type Incident,
  type Policy,
  type RegistryEvent,
  ruleFor,
  sameTagRef,
  type TagState,
} from '../core';
import type { Outbox, TagHistory } from '../history';
import type { Click } from './slack-click';

export interface ActDeps {
  store: Pick<TagHistory, 'apply' | 'tagState' | 'history' | 'approveDigest'> &
    Pick<Outbox, 'enqueueEffects' | 'effectsOf' | 'updateEffect'>;
  policy: Policy;
  /** Wakes the outbox runner, so an effect queued by a click runs at once. */
  wake: () => void;
}

/** What a click did: acted (the alert is replaced), nothing (the clicker is told why), or a replay. */
export type Acted =
  | { kind: 'done'; message: SlackResponse }
  | { kind: 'stale'; message: SlackResponse }
  | { kind: 'replayed' };

const mention = (user: string) => `<@${user}>`;

function done(text: string): Acted {
  return { kind: 'done', message: { replace_original: true, text } };
}

function stale(click: Click, why: string): Acted {
  return {
    kind: 'stale',
    message: {
      response_type: 'ephemeral',
      replace_original: false,
      text: `Nothing done for ${formatTagRef(click.ref)}: ${why}.`,
    },
  };
}

/**
 * Records the click in the tag's history as a push of the digest it serves at the time it was last
 * recorded at (so it is `unchanged`, moves nothing and never makes a later event stale), under the
 * click's id: the store's duplicate check makes a replay of the same request a no-op. Anything but
 * `unchanged` means the click does not go ahead: a replay, or the tag moved since it was read.
 */
async function recordClick(
  deps: ActDeps,
  click: Click,
  state: TagState,
  note: string,
  now: Date,
): Promise<Acted | null> {
  const event: RegistryEvent = {
    id: click.id,
    action: 'push',
    ...click.ref,
    digest: state.digest,
    mediaType: null,
    timestamp: state.eventTime,
    actor: note,
  };
  const result = await deps.store.apply(event, deps.policy, now.toISOString());
  if (result.transition.kind === 'unchanged') return null;
  return result.transition.kind === 'duplicate' ? REPLAYED : stale(click, 'the tag moved meanwhile');
}

const REPLAYED: Acted = { kind: 'replayed' };

/** Runs a click on the tag as it is now: re-reads history, never the button's word for it. */
export async function actOn(deps: ActDeps, click: Click, now: Date): Promise<Acted> {
  if (click.value.kind === 'retry') return retry(deps, click, now);
  const { from, to } = click.value;
  if (!from || !to) return stale(click, 'the button carries no digests');
  const state = await deps.store.tagState(click.ref);
  const serving = state?.digest ?? null;
  if (click.value.kind === 'approve') {
    if (!state || serving !== to) return stale(click, moved(serving, to));
    const at = now.toISOString();
    const refused = await recordClick(deps, click, state, `approved by ${mention(click.user)} at ${at}`, now);
    if (refused) return refused;
    if (!(await deps.store.approveDigest(click.ref, to))) return stale(click, 'the tag moved meanwhile');
    return done(
      `:white_check_mark: ${mention(click.user)} approved ${to} for ${formatTagRef(click.ref)} at ${at}: a revert now restores it, until the tag moves again.`,
    );
  }
  // Revert puts `from` back over `to`; put back (after a policy revert) puts `to` back over `from`.
  const [current, restore] = click.value.kind === 'revert' ? [to, from] : [from, to];
  if (!state || serving !== current)
    return stale(
      click,
      click.value.kind === 'putBack' && serving === to
        ? `the tag still serves ${to}: the policy's revert has not run yet, try again once it has`
        : moved(serving, current),
    );
  const history = await deps.store.history(click.ref);
  if (!history.some((row) => row.digest === restore))
    return stale(click, `its history has no ${restore} to put back`);
  const at = now.toISOString();
  const note = `revert to ${restore} requested by ${mention(click.user)} at ${at}`;
  const refused = await recordClick(deps, click, state, note, now);
  if (refused) return refused;
  await enqueueRevert(deps, click, current, restore, at);
  const verb = click.value.kind === 'revert' ? 'reverted' : 'approved and put back';
  return done(
    `:leftwards_arrow_with_hook: ${mention(click.user)} ${verb} ${formatTagRef(click.ref)} to ${restore} at ${at}: the revert is queued and runs like a policy revert (checked against the registry first).`,
  );
}

function moved(serving: Digest | null, expected: Digest): string {
  return `the tag has moved since this alert: it serves ${serving ?? 'nothing'} now, not ${expected}`;
}

/** A revert effect through the outbox, exactly as a policy revert: verify, keep tag, expect the echo. */
async function enqueueRevert(deps: ActDeps, click: Click, serving: Digest, restore: Digest, at: string) {
  const rule = ruleFor(deps.policy, click.ref);
  const incident: Incident = {
    eventId: click.id,
    ref: click.ref,
    from: restore,
    to: serving,
    restoreTo: restore,
    actor: `${mention(click.user)} via Slack`,
    eventTime: at,
    ruleAction: rule.action,
    ruleSource: rule.source,
    owners: rule.owners,
  };
  await deps.store.enqueueEffects(click.id, [{ kind: 'revert', incident }], at);
  deps.wake();
}

/** "Retry": the failed effect is due again now, as `tagwarden retry` does it; only while it is failed. */
async function retry(deps: ActDeps, click: Click, now: Date): Promise<Acted> {
  const key = click.value.key ?? '';
  const hash = key.lastIndexOf('#');
  const effect =
    hash > 0 ? (await deps.store.effectsOf(key.slice(0, hash))).find((e) => e.key === key) : undefined;
  if (!effect || !sameTagRef(effect.effect.incident.ref, click.ref))
    return stale(click, `there is no effect ${key.slice(0, 200)} for this tag`);
  if (effect.status !== 'failed')
    return stale(click, `effect ${key} is ${effect.status}, not failed: it was retried already`);
  const at = now.toISOString();
  await deps.store.updateEffect(
    key,
    { status: 'pending', error: effect.lastError ?? 'retried from Slack', nextAttemptAt: at },
    at,
  );
  deps.wake();
  return done(
    `:repeat: ${mention(click.user)} retried ${effect.kind} for ${formatTagRef(click.ref)} at ${at}; a new alert follows only if it fails for good again.`,
  );
}
