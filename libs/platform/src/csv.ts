/** CSV as RFC 4180 has it: what the usage export writes and the audit tools read back. */

/**
 * A cell a spreadsheet would run as a formula starts with one of these (OWASP's list); a leading
 * apostrophe is a spreadsheet's "this is text" mark, and is escaped too so the guard reads back.
 */
const FORMULA_START = /^[=+\-@\t\r']/;

/**
 * CSV as RFC 4180 writes it: a field with a comma, quote or line break is quoted, quotes doubled.
 * A field that would start a formula (`=cmd|' /C calc'!A0` in a correlation id or a reason) is
 * prefixed with an apostrophe and quoted, so the reader's spreadsheet shows it as text; parseCsvLine
 * takes the apostrophe off again, so exports keep their exact values (and their hash chain).
 */
export function csvField(value: string | null): string {
  if (value === null) return '';
  if (FORMULA_START.test(value)) return `"'${value.replace(/"/g, '""')}"`;
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A field as csvField wrote it, without the formula guard. */
const unguarded = (field: string): string => (field.startsWith("'") ? field.slice(1) : field);

/** One CSV line into its fields (as csvField wrote them: formula guards taken off); throws on a malformed quote. */
export function parseCsvLine(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        if (quote < 0) throw new Error('a quoted field is not closed');
        value += text.slice(i, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      fields.push(unguarded(value));
      if (i === text.length) return fields;
      if (text[i] !== ',') throw new Error('text follows a quoted field');
      i++;
    } else {
      const comma = text.indexOf(',', i);
      if (comma < 0) {
        fields.push(text.slice(i));
        return fields;
      }
      fields.push(text.slice(i, comma));
      i = comma + 1;
    }
  }
}
