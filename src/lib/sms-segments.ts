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
