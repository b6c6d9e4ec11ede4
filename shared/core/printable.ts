/**
 * C0 and C1 control characters (ESC starts a terminal escape, CR and LF forge lines), bidirectional
 * embeddings, overrides, isolates and marks (they reorder what a terminal or Slack shows), and the
 * Unicode line and paragraph separators.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

/**
 * Text from an event, a registry or a config as it may be shown to a person: every run of the
 * characters above becomes one space, so an actor like `"\u202Eevil\u001b[31m"` cannot reorder,
 * recolour or add lines to a terminal, a log line or an alert.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, ' ').trim();
}
