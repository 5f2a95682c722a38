import { describe, expect, it } from 'vitest';
import { arrayLiteral } from './json-rows.js';

// What PostgreSQL's array_in reads back from the literal: quoted elements with \" and \\
// escapes, unquoted NULL as null, every other character (newlines included) as itself.
function readBack(literal: string): (string | null)[] {
  expect(literal.startsWith('{') && literal.endsWith('}')).toBe(true);
  const out: (string | null)[] = [];
  const body = literal.slice(1, -1);
  let i = 0;
  while (i < body.length) {
    if (body[i] === '"') {
      let value = '';
      for (i++; body[i] !== '"'; i++) value += body[i] === '\\' ? body[++i] : body[i];
      out.push(value);
      i++;
    } else {
      const end = body.indexOf(',', i) === -1 ? body.length : body.indexOf(',', i);
      const bare = body.slice(i, end);
      out.push(bare.toLowerCase() === 'null' ? null : bare);
      i = end;
    }
    if (body[i] === ',') i++;
  }
  return out;
}

describe('arrayLiteral', () => {
  it('keeps quotes, backslashes, braces, commas, empty strings and the text "NULL" as given, and null as NULL', () => {
    const values = ['a"b', 'c\\d', '{x,y}', '', 'NULL', null, 'Zoë 🚀', '\\"', 'ends with \\', '{"n":"Zoë \\"🚀\\""}', '"\ud800"'];
    expect(readBack(arrayLiteral(values))).toEqual(values);
  });

  it('writes control characters as themselves, not as JSON escapes PostgreSQL would misread', () => {
    const values = ['line\nbreak', 'tab\there', 'cr\r', 'bell\u0007', 'back\\nslash-n (not a newline)', '\\\n', '"quoted"\nline', '\\\t"'];
    const literal = arrayLiteral(values);
    expect(literal).toContain('line\nbreak');
    expect(literal).not.toContain('\\u0007');
    expect(readBack(literal)).toEqual(values);
  });

  it('writes numbers, booleans and dates as their text (PostgreSQL casts each to the column type)', () => {
    expect(arrayLiteral([0, 12, true, new Date('2026-11-26T03:00:00Z')])).toBe('{"0","12","true","2026-11-26T03:00:00.000Z"}');
  });
});
