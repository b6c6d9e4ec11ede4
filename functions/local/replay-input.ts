import { existsSync } from 'node:fs';
import { z } from 'zod';
import { type EffectKind, EVENT_ACTIONS, errorMessage, TRANSITION_KINDS } from '../../shared/core';
import { type RecordedHistory, readRecordedHistory } from '../../shared/history';
import { CliError } from './cli-io';

/** A history file, read only: a missing or unreadable one is a CliError naming it. */
export function readHistoryFile(path: string): RecordedHistory {
  if (!existsSync(path)) throw new CliError(`history file ${path} does not exist`);
  try {
    return readRecordedHistory(path);
  } catch (error) {
    throw new CliError(`cannot read history file ${path}: ${errorMessage(error)}`);
  }
}

const digestOrNull = z.string().nullable();
const historyRow = z.object({
  seq: z.number().int(),
  eventId: z.string(),
  action: z.enum(EVENT_ACTIONS),
  registryHost: z.string(),
  repository: z.string(),
  tag: z.string(),
  digest: digestOrNull,
  previousDigest: digestOrNull,
  transition: z.enum(TRANSITION_KINDS),
  eventTime: z.string(),
  receivedAt: z.string(),
  actor: z.string().nullable(),
});
const historyDocumentSchema = z.object({
  tagRef: z.string(),
  history: z.array(historyRow),
  effects: z.array(z.object({ eventId: z.string(), kind: z.string() })),
});

/**
 * The recorded history in `tagwarden history --json` output, or null when the input is not one
 * (JSON lines and dead-letter exports are read as events). A document that names a tag's history
 * but does not have its shape is a CliError naming the first problem.
 */
export function historyDocument(text: string): RecordedHistory | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof json !== 'object' || json === null || !('history' in json) || !('tagRef' in json)) return null;
  const parsed = historyDocumentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CliError(
      `the tagwarden history --json input has a bad field ${issue.path.join('.')}: ${issue.message}`,
    );
  }
  const effectKinds = new Map<string, EffectKind[]>();
  for (const { eventId, kind } of parsed.data.effects)
    effectKinds.set(eventId, [...(effectKinds.get(eventId) ?? []), kind as EffectKind]);
  return { rows: parsed.data.history, effectKinds };
}
