import { printable } from '../../shared/core';

/**
 * Rows under a header, each column as wide as its widest cell, two spaces apart. Every cell is made
 * printable: an actor or error from an event cannot reorder, recolour or add lines to the terminal.
 */
export function alignedTable(header: string[], rows: string[][]): string {
  const cells = rows.map((row) => row.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? '').length)));
  return [header, ...cells]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
