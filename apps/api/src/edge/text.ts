/**
 * What the ledger accepts as text from outside: no NUL or other control characters (they erase an
 * auditor's terminal, and Postgres refuses NUL), and well-formed UTF-16 (a lone surrogate cannot be
 * stored as UTF-8). One linear scan, so a long string costs no more than reading it.
 */

/** Why `text` is refused, or undefined when it is clean. */
export function textProblem(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0) return 'holds NUL';
    // C0 controls (tab and line breaks included: no field is multi-line), DEL and the C1 controls.
    if (unit < 0x20 || (unit >= 0x7f && unit <= 0x9f)) return `holds the control character U+${hex(unit)}`;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (next < 0xdc00 || next > 0xdfff) return 'holds a lone surrogate (invalid Unicode)';
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return 'holds a lone surrogate (invalid Unicode)';
    }
  }
  return undefined;
}

const hex = (unit: number): string => unit.toString(16).toUpperCase().padStart(4, '0');
