// How an SMS/WhatsApp text travels over the network: its encoding and how many segments it
// is billed as. Twilio's own calculator is the reference; plain GSM-7 texts are counted
// directly because the calculator splits every text into graphemes, which costs more than
// the rest of accepting a message.
import { SegmentedMessage } from 'sms-segments-calculator';

export type SmsEncodingName = 'GSM7' | 'UCS2';

export interface SmsCount {
  encoding: SmsEncodingName;
  /**
   * As the network counts them: GSM-7 septets (an extension character such as € or { takes
   * two), or UTF-16 code units for UCS-2 (an emoji outside the BMP takes two).
   */
  characters: number;
  /**
   * 160/153 septets per segment for GSM-7, 70/67 code units for UCS-2; an escape sequence or
   * a grapheme is never split across two segments, so a long text may need one more.
   */
  segments: number;
  /** The characters that force UCS-2, each once, in order of first appearance; empty for GSM-7. */
  unicodeCharacters: string[];
}

/**
 * The 3GPP TS 23.038 GSM-7 default alphabet in table order (0x00–0x7F), without the escape
 * at 0x1B: each of these is one septet. The extension table (€ { } [ ] ~ \ ^ | and form feed)
 * is not here, as each of its characters takes an escape plus a septet.
 */
export const GSM7_BASIC_ALPHABET =
  '@£$¥èéùìòÇ\nØø\rÅå' +
  'Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ' +
  ' !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§' +
  '¿abcdefghijklmnopqrstuvwxyzäöñüà';

const ONLY_GSM7_BASIC = new RegExp(`^[${GSM7_BASIC_ALPHABET.replace(/[-\\\]^]/g, '\\$&')}]*$`);

const SINGLE_SEGMENT_SEPTETS = 160;
// Each part of a concatenated message gives 6 of its 140 octets to the user data header.
const CONCATENATED_SEGMENT_SEPTETS = 153;

/** The GSM-7 extension table: each takes an escape septet plus its own. */
const GSM7_EXTENSION = '\f^{}\\[~]|€';
const BASIC = new Set(GSM7_BASIC_ALPHABET);
const EXTENSION = new Set(GSM7_EXTENSION);
const UCS2_SINGLE_SEGMENT_UNITS = 70;
const UCS2_CONCATENATED_SEGMENT_UNITS = 67;

/**
 * True for a UTF-16 unit that is a grapheme on its own whatever surrounds it, in ranges
 * kept narrow on purpose: Latin and spacing modifiers before the combining marks, Greek and
 * Cyrillic before theirs, general punctuation without the zero-width joiners, currency
 * signs, CJK ideographs. Any other unit (a combining mark, a joiner, a variation selector,
 * a surrogate of an emoji, Hangul jamo…) sends the text to the calculator.
 */
function standsAlone(unit: number): boolean {
  return (
    unit < 0x0300 ||
    (unit >= 0x0370 && unit < 0x0483) ||
    (unit >= 0x2010 && unit <= 0x2027) ||
    (unit >= 0x2030 && unit <= 0x205e) ||
    (unit >= 0x20a0 && unit <= 0x20bf) ||
    (unit >= 0x4e00 && unit <= 0x9fff)
  );
}

export function countSms(text: string): SmsCount {
  // Basic characters are one septet per UTF-16 unit, with no escape pair or grapheme to keep
  // whole, so the count is arithmetic. An empty text is still one (empty) segment, as Twilio's
  // calculator says.
  if (ONLY_GSM7_BASIC.test(text)) {
    const septets = text.length;
    return {
      encoding: 'GSM7',
      characters: septets,
      segments: septets <= SINGLE_SEGMENT_SEPTETS ? 1 : Math.ceil(septets / CONCATENATED_SEGMENT_SEPTETS),
      unicodeCharacters: [],
    };
  }
  // Texts whose every character is its own grapheme (a curly quote, an extension character
  // such as €, Cyrillic, CJK) are counted here too, by the calculator's own rules; the
  // calculator splits graphemes first, which costs ~250 µs a text on the accept path.
  return countSimple(text) ?? countWithCalculator(text);
}

/** The count of a text of single-unit graphemes, or undefined when it has any other. */
function countSimple(text: string): SmsCount | undefined {
  let gsm = true;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (!standsAlone(text.charCodeAt(i))) return undefined;
    if (gsm && !BASIC.has(char) && !EXTENSION.has(char)) gsm = false;
  }
  if (gsm) {
    // Septets, an escape pair kept whole within a segment.
    let septets = 0;
    for (const char of text) septets += EXTENSION.has(char) ? 2 : 1;
    if (septets <= SINGLE_SEGMENT_SEPTETS) return { encoding: 'GSM7', characters: septets, segments: 1, unicodeCharacters: [] };
    let segments = 1;
    let used = 0;
    for (const char of text) {
      const width = EXTENSION.has(char) ? 2 : 1;
      if (used + width > CONCATENATED_SEGMENT_SEPTETS) {
        segments += 1;
        used = 0;
      }
      used += width;
    }
    return { encoding: 'GSM7', characters: septets, segments, unicodeCharacters: [] };
  }
  const units = text.length;
  const unicodeCharacters = [...new Set([...text].filter((char) => !BASIC.has(char) && !EXTENSION.has(char)))];
  return {
    encoding: 'UCS2',
    characters: units,
    segments: units <= UCS2_SINGLE_SEGMENT_UNITS ? 1 : Math.ceil(units / UCS2_CONCATENATED_SEGMENT_UNITS),
    unicodeCharacters,
  };
}

function countWithCalculator(text: string): SmsCount {
  const message = new SegmentedMessage(text, 'auto');
  if (message.encodingName === 'GSM-7') {
    return {
      encoding: 'GSM7',
      characters: message.numberOfCharacters,
      segments: message.segmentsCount,
      unicodeCharacters: [],
    };
  }
  return {
    encoding: 'UCS2',
    // The calculator counts graphemes here; the network bills 16-bit code units.
    characters: text.length,
    segments: message.segmentsCount,
    unicodeCharacters: [...new Set(message.getNonGsmCharacters())],
  };
}
