import type { RegistryEvent } from '../../shared/core';
import { INTERNAL_PARSER_ERROR } from '../../shared/sources/source';
import type { ItemOutcome, ParseResult, SourceParser, SourceRequest } from '../../shared/sources/types';

/**
 * Unwrappers for parser tests: run `parser.parse` and hand back the items (or events, or ids),
 * throwing a clear Error when the body, or an item expected to be an event, is not understood.
 */
type Parser = Pick<SourceParser, 'parse'>;

/** The items of a body the parser understands; throws with the parser's reason otherwise. */
export function parsedItems(parser: Parser, body: unknown, request?: SourceRequest): ItemOutcome[] {
  const result = parser.parse(body, request);
  if (!result.ok) throw new Error(`expected the body to be understood, got: ${result.reason}`);
  return result.items;
}

/** The single item of an understood body; asserts there is exactly one. */
export function onlyItem(parser: Parser, body: unknown, request?: SourceRequest): ItemOutcome {
  const items = parsedItems(parser, body, request);
  expect(items).toHaveLength(1);
  return items[0]!;
}

/** The event of the first item; throws when that item is not an event. */
export function firstEvent(parser: Parser, body: unknown, request?: SourceRequest): RegistryEvent {
  const [item] = parsedItems(parser, body, request);
  if (item?.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(item)}`);
  return item.event;
}

/** The id of the first item's event. */
export function eventIdOf(parser: Parser, body: unknown, request?: SourceRequest): string {
  return firstEvent(parser, body, request).id;
}

/** The events of every item; throws on the first item that is not an event. */
export function eventsOf(parser: Parser, body: unknown, request?: SourceRequest): RegistryEvent[] {
  return parsedItems(parser, body, request).map((item) => {
    if (item.kind !== 'event') throw new Error(`expected an event, got ${item.kind}: ${item.reason}`);
    return item.event;
  });
}

/** The ids of the events of every item. */
export function eventIdsOf(parser: Parser, body: unknown, request?: SourceRequest): string[] {
  return eventsOf(parser, body, request).map((event) => event.id);
}

/**
 * What a robustness test asks of any result: whole-body refusals and item ignores/rejections carry a
 * reason, and none of them is the defensive catch's marker: a parser that crashed fails the test.
 */
export function expectNoCrash(result: ParseResult): void {
  const reasons = result.ok
    ? result.items.map((item) => {
        expect(['event', 'ignored', 'rejected']).toContain(item.kind);
        return item.kind === 'event' ? '' : item.reason;
      })
    : [result.reason];
  if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
  for (const reason of reasons) {
    expect(typeof reason).toBe('string');
    expect(reason).not.toContain(INTERNAL_PARSER_ERROR);
  }
}
