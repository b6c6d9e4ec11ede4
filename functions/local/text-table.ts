import { printable } from '../../shared/core';

/** Columns of a table are this wide at most, unless asked for in full (`--wide`). */
export const TERMINAL_WIDTH = 120;
const GAP = 2;
/** A shrunk column keeps at least this many characters (the last one an ellipsis). */
const MIN_SHRUNK = 8;

/** Every digest in a text as `sha256:` and its first 12 hex digits, as `docker images` shows an id. */
export function shortDigests(text: string): string {
  return text.replace(
    /\b(sha256:[0-9a-f]{12})[0-9a-f]{52}\b|\b(sha512:[0-9a-f]{12})[0-9a-f]{116}\b/g,
    '$1$2',
  );
}

export interface TableFit {
  /** The table's widest line. */
  maxWidth: number;
  /** Columns that may be cut (with `…`) to fit, by index. */
  shrink: number[];
}

/**
 * Rows under a header, each column as wide as its widest cell, two spaces apart. Every cell is made
 * printable: an actor or error from an event cannot reorder, recolour or add lines to the terminal.
 * With `fit`, the `shrink` columns are cut, widest first, until a line fits `maxWidth`.
 */
export function alignedTable(header: string[], rows: string[][], fit?: TableFit): string {
  const cells = rows.map((row) => row.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? '').length)));
  if (fit) shrinkToFit(widths, header, fit);
  return [header, ...cells]
    .map((row) =>
      row
        .map((cell, i) => cut(cell, widths[i]!).padEnd(widths[i]!))
        .join(' '.repeat(GAP))
        .trimEnd(),
    )
    .join('\n');
}

function shrinkToFit(widths: number[], header: string[], fit: TableFit): void {
  const floor = (i: number) => Math.max(MIN_SHRUNK, header[i]!.length);
  let excess = widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1) - fit.maxWidth;
  while (excess > 0) {
    const candidates = fit.shrink.filter((i) => widths[i]! > floor(i));
    if (candidates.length === 0) return;
    const widest = candidates.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
    widths[widest]! -= 1;
    excess -= 1;
  }
}

function cut(cell: string, width: number): string {
  return cell.length <= width ? cell : `${cell.slice(0, width - 1)}…`;
}
