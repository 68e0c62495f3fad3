/**
 * Plain-text tables for the terminal, and CSV.
 *
 * @packageDocumentation
 */

/**
 * Columns padded to their widest cell; numbers (and the headers above them) aligned right.
 *
 * @example
 * ```ts
 * textTable(['model', 'NDCG@20'], [['corml', '0.1590']]) // 'model  NDCG@20\ncorml   0.1590\n'
 * ```
 */
export function textTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const numeric = headers.map(
    (_, c) =>
      rows.length > 0 &&
      rows.every((r) => /^[-+]?[\d.,]+(e[-+]?\d+)?( s| ms|%)?$|^$/.test(r[c] ?? '')),
  )
  const width = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (numeric[c] ? cell.padStart(width[c]!) : cell.padEnd(width[c]!)))
      .join('  ')
      .trimEnd()
  return `${[line(headers), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`
}

/** One CSV field, quoted when it holds a comma, a quote or a line break. */
function csvField(value: string | number | boolean): string {
  const text = String(value)
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** CSV text with a header line. */
export function csv(
  headers: readonly string[],
  rows: readonly (readonly (string | number | boolean)[])[],
): string {
  return `${[headers, ...rows].map((r) => r.map(csvField).join(',')).join('\n')}\n`
}
