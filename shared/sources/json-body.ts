/**
 * The largest webhook body: each runtime enforces it once, at its edge, while the bytes arrive (the
 * local server, the AWS webhook, the Azure HTTP functions; the CLI where it reads a file).
 */
export const MAX_BODY_BYTES = 1024 * 1024;
/** JSON.parse alone accepts a 10,000-deep object. */
export const MAX_JSON_DEPTH = 32;

export type JsonBodyResult = { ok: true; value: unknown } | { ok: false; reason: string };

/** Parses a body already bounded by its edge: rejects empty text, deep nesting and bad JSON. */
export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): JsonBodyResult {
  if (text.trim() === '') return { ok: false, reason: 'body is empty; expected JSON' };
  const depth = jsonDepth(text);
  if (depth > maxDepth) {
    return { ok: false, reason: `JSON nests deeper than ${maxDepth} levels` };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    // V8 quotes the offending text, raw: escape control characters so the reason stays one line.
    const message = Array.from((error as Error).message, (c) =>
      c < ' ' || c === '\x7f' ? JSON.stringify(c).slice(1, -1) : c,
    ).join('');
    return { ok: false, reason: `body is not valid JSON: ${message}` };
  }
}

/** Deepest nesting of objects and arrays, outside strings; stops counting once past any sane limit. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}
