import fc from 'fast-check';
import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import { countSms, GSM7_BASIC_ALPHABET } from './sms-segments.js';

/** What Twilio's calculator says, in our names. */
function twilio(text: string) {
  const message = new SegmentedMessage(text, 'auto');
  return {
    encoding: message.encodingName === 'GSM-7' ? 'GSM7' : 'UCS2',
    characters: message.numberOfCharacters,
    segments: message.segmentsCount,
  };
}

const EXTENSION_CHARACTERS = '€{}[]~\\^|\f';

// The calculator takes milliseconds over a long text, so shrinking a failure could run for
// many minutes; cut off, fast-check still reports the failure with the smallest text so far.
const PROPERTY_RUNS = { numRuns: 300, interruptAfterTimeLimit: 5_000 };

describe('countSms', () => {
  it('fits 160 GSM-7 characters in one segment and 153 in each part beyond', () => {
    expect(countSms('a'.repeat(160))).toEqual({
      encoding: 'GSM7',
      characters: 160,
      segments: 1,
      unicodeCharacters: [],
    });
    expect(countSms('a'.repeat(161)).segments).toBe(2);
    expect(countSms('a'.repeat(306)).segments).toBe(2);
    expect(countSms('a'.repeat(307)).segments).toBe(3);
  });

  it('fits 70 UCS-2 characters in one segment and 67 in each part beyond', () => {
    expect(countSms('中'.repeat(70))).toEqual({
      encoding: 'UCS2',
      characters: 70,
      segments: 1,
      unicodeCharacters: ['中'],
    });
    expect(countSms('中'.repeat(71)).segments).toBe(2);
    expect(countSms('中'.repeat(134)).segments).toBe(2);
    expect(countSms('中'.repeat(135)).segments).toBe(3);
  });

  it('counts an empty text as one empty GSM-7 segment, as Twilio does', () => {
    expect(countSms('')).toEqual({
      encoding: 'GSM7',
      characters: 0,
      segments: 1,
      unicodeCharacters: [],
    });
    expect(twilio('')).toEqual({ encoding: 'GSM7', characters: 0, segments: 1 });
  });

  it('counts an extension character such as € as two septets', () => {
    expect(countSms('€'.repeat(80))).toEqual({
      encoding: 'GSM7',
      characters: 160,
      segments: 1,
      unicodeCharacters: [],
    });
    expect(countSms('€'.repeat(81))).toMatchObject({ characters: 162, segments: 2 });
    expect(countSms('{x} [y] ~z\\ ^|')).toMatchObject({ encoding: 'GSM7', characters: 22 });
  });

  it('never splits an escape pair across segments, so a text may need one more', () => {
    // 306 septets would fill two parts exactly, but the € would straddle them.
    const text = `${'a'.repeat(152)}€${'b'.repeat(152)}`;
    expect(countSms(text)).toMatchObject({ encoding: 'GSM7', characters: 306, segments: 3 });
    expect(twilio(text)).toEqual({ encoding: 'GSM7', characters: 306, segments: 3 });
  });

  it('sends a text with a curly apostrophe as UCS-2 and names the apostrophe', () => {
    expect(countSms('I’m late')).toEqual({
      encoding: 'UCS2',
      characters: 8,
      segments: 1,
      unicodeCharacters: ['’'],
    });
  });

  it('lists each character that forces UCS-2 once, in order of first appearance', () => {
    expect(countSms('I’m “here”, it’s me').unicodeCharacters).toEqual(['’', '“', '”']);
  });

  it('counts an emoji outside the BMP as two UTF-16 code units', () => {
    expect(countSms('😀')).toEqual({
      encoding: 'UCS2',
      characters: 2,
      segments: 1,
      unicodeCharacters: ['😀'],
    });
    expect(countSms('😀'.repeat(35))).toMatchObject({ characters: 70, segments: 1 });
    expect(countSms('😀'.repeat(36))).toMatchObject({ characters: 72, segments: 2 });
  });

  it('keeps accented letters of the GSM-7 alphabet in GSM-7', () => {
    expect(countSms('Café, niño, Äpfel')).toEqual({
      encoding: 'GSM7',
      characters: 17,
      segments: 1,
      unicodeCharacters: [],
    });
  });

  it('sends a lower-case ç as UCS-2, as only the capital Ç is in the GSM-7 alphabet', () => {
    expect(countSms('Ça va')).toMatchObject({ encoding: 'GSM7', characters: 5 });
    expect(countSms('garçon')).toEqual({
      encoding: 'UCS2',
      characters: 6,
      segments: 1,
      unicodeCharacters: ['ç'],
    });
    expect(twilio('garçon').encoding).toBe('UCS2');
  });

  it('keeps CR LF line breaks in GSM-7, one septet each', () => {
    expect(countSms('Line one\r\nLine two')).toMatchObject({ encoding: 'GSM7', characters: 18 });
    expect(twilio('Line one\r\nLine two')).toMatchObject({ encoding: 'GSM7', characters: 18 });
  });

  it('treats as basic exactly the BMP characters Twilio encodes as a single septet', () => {
    expect(new Set(GSM7_BASIC_ALPHABET).size).toBe(GSM7_BASIC_ALPHABET.length);
    const singleSeptets: string[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const char = String.fromCharCode(code);
      const message = twilio(char);
      if (message.encoding === 'GSM7' && message.characters === 1) singleSeptets.push(char);
    }
    expect(singleSeptets.sort()).toEqual([...GSM7_BASIC_ALPHABET].sort());
    expect(singleSeptets).toHaveLength(127);
  });

  it('agrees with Twilio on any text of basic GSM-7 characters', () => {
    // size 'max': left to its default, fast-check keeps strings under a dozen characters.
    const basicText = fc.string({
      unit: fc.constantFrom(...GSM7_BASIC_ALPHABET),
      maxLength: 500,
      size: 'max',
    });
    fc.assert(
      fc.property(basicText, (text) => {
        const { unicodeCharacters, ...count } = countSms(text);
        expect(count).toEqual(twilio(text));
        expect(unicodeCharacters).toEqual([]);
      }),
      PROPERTY_RUNS,
    );
  });

  it('agrees with Twilio on every figure for texts of one-unit characters, counted without the calculator', () => {
    const simpleText = fc.string({
      unit: fc.oneof(
        { arbitrary: fc.constantFrom(...GSM7_BASIC_ALPHABET), weight: 20 },
        { arbitrary: fc.constantFrom(...EXTENSION_CHARACTERS), weight: 3 },
        { arbitrary: fc.constantFrom('’', '“', '”', '–', '…', 'ç', '中', 'Ж', '₹', '\t'), weight: 1 },
      ),
      maxLength: 500,
      size: 'max',
    });
    fc.assert(
      fc.property(simpleText, (text) => {
        const reference = new SegmentedMessage(text, 'auto');
        const count = countSms(text);
        expect(count.encoding).toBe(reference.encodingName === 'GSM-7' ? 'GSM7' : 'UCS2');
        expect(count.segments).toBe(reference.segmentsCount);
        expect(count.characters).toBe(count.encoding === 'GSM7' ? reference.numberOfCharacters : text.length);
        expect(count.unicodeCharacters).toEqual(count.encoding === 'GSM7' ? [] : [...new Set(reference.getNonGsmCharacters())]);
      }),
      PROPERTY_RUNS,
    );
  });

  it('agrees with Twilio on encoding and segments for any mix of GSM-7 and other characters', () => {
    const mixedText = fc.string({
      unit: fc.oneof(
        { arbitrary: fc.constantFrom(...GSM7_BASIC_ALPHABET), weight: 20 },
        { arbitrary: fc.constantFrom(...EXTENSION_CHARACTERS), weight: 2 },
        { arbitrary: fc.constantFrom('’', 'é', 'ç', '😀', '中', '\u0301'), weight: 1 },
      ),
      maxLength: 500,
      size: 'max',
    });
    fc.assert(
      fc.property(mixedText, (text) => {
        const count = countSms(text);
        const reference = twilio(text);
        expect(count.encoding).toBe(reference.encoding);
        expect(count.segments).toBe(reference.segments);
        expect(count.characters).toBe(count.encoding === 'GSM7' ? reference.characters : text.length);
        expect(count.unicodeCharacters.length === 0).toBe(count.encoding === 'GSM7');
      }),
      PROPERTY_RUNS,
    );
  });
});
