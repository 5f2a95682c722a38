// From a template version (or ad-hoc text) to the words a person reads: the variant for
// the locale asked, each part rendered in strict Liquid, the result checked against the
// channel's limits. Every way this can fail is a Refusal naming the field at fault.
import type { TemplateVariantData } from '../../db/schema/index.js';
import type { Channel } from '../../domain/enums.js';
import { MAX_BODY_LENGTH, MAX_HTML_LENGTH, MAX_SUBJECT_LENGTH } from '../../domain/limits.js';
import { invalid, refuse, UserErrorCode } from '../../domain/refusal.js';
import {
  compileTemplate,
  MissingVariableError,
  renderTemplate,
  TemplateRenderError,
  TemplateSyntaxError,
  type TemplateMode,
} from '../../templates/engine.js';

/** The words of one version: its default locale and variants. */
export interface TemplateText {
  defaultLocale: string;
  variants: readonly TemplateVariantData[];
}

export interface Rendered {
  locale: string;
  subject: string | null;
  body: string;
  htmlBody: string | null;
}

/** BCP 47 tag in its canonical case (fr-ca → fr-CA), or undefined when it is not one. */
export function canonicalLocale(tag: string): string | undefined {
  try {
    const [canonical] = Intl.getCanonicalLocales(tag.trim());
    return canonical;
  } catch {
    return undefined;
  }
}

/**
 * The variant for `locale`: the same tag, else its language alone (fr-CA → fr), else the
 * version's default locale. Every version has a variant for its default locale (checked
 * when it is saved), so a send always finds one.
 */
export function pickVariant(text: TemplateText, locale: string | null | undefined): TemplateVariantData {
  const wanted = locale?.toLowerCase();
  const language = wanted?.split('-')[0];
  const found =
    (wanted && text.variants.find((v) => v.locale.toLowerCase() === wanted)) ||
    (language && text.variants.find((v) => v.locale.toLowerCase() === language)) ||
    text.variants.find((v) => v.locale === text.defaultLocale);
  if (!found) {
    throw refuse(
      UserErrorCode.NOT_FOUND,
      `no variant for ${locale ?? text.defaultLocale} and none for the default locale ${text.defaultLocale}`,
      ['input', 'locale'],
    );
  }
  return found;
}

/**
 * Renders the variant of `text` for `locale` (callers pass the tenant's default locale
 * when the send names none) with `scope`. A value missing from the scope is reported under
 * ["input", "personalisation", …]; a batch send moves the path under its item.
 */
export function renderText(channel: Channel, text: TemplateText, scope: Record<string, unknown>, locale?: string | null): Rendered {
  const variant = pickVariant(text, locale);
  const part = (source: string | null, mode: TemplateMode, field: string) =>
    source === null ? null : renderPart(source, mode, scope, ['input', field]);
  // A subject is one header line: values cannot add lines (or headers) to it.
  const subject =
    part(variant.subject, 'text', 'subject')
      ?.replace(/[\r\n\t\v\f]+/g, ' ')
      .trim() ?? null;
  const body = part(variant.body, 'text', 'body')!;
  const htmlBody = channel === 'EMAIL' ? part(variant.htmlBody, 'html', 'htmlBody') : null;
  if (!body.trim()) throw invalid(['input', 'body'], 'the rendered body is empty');
  if (channel === 'EMAIL' && !subject) throw invalid(['input', 'subject'], 'the rendered subject is empty');
  tooLong('body', body, MAX_BODY_LENGTH[channel], channel);
  tooLong('subject', subject, MAX_SUBJECT_LENGTH, channel);
  tooLong('htmlBody', htmlBody, MAX_HTML_LENGTH, channel);
  return { locale: variant.locale, subject: channel === 'EMAIL' ? subject : null, body, htmlBody };
}

function tooLong(field: string, value: string | null, max: number, channel: Channel): void {
  if (value !== null && value.length > max) {
    throw refuse(UserErrorCode.TOO_LONG, `the rendered ${field} is ${value.length} characters; ${channel} takes at most ${max}`, [
      'input',
      field,
    ]);
  }
}

function renderPart(source: string, mode: TemplateMode, scope: Record<string, unknown>, field: string[]): string {
  try {
    return renderTemplate(compileTemplate(source, mode), scope);
  } catch (error) {
    if (error instanceof MissingVariableError) {
      throw refuse(UserErrorCode.MISSING_PERSONALISATION, `no value for ${error.variable} in personalisation`, [
        'input',
        'personalisation',
        ...error.variable.split('.'),
      ]);
    }
    if (error instanceof TemplateSyntaxError) throw refuse(UserErrorCode.TEMPLATE_SYNTAX, error.message, field);
    if (error instanceof TemplateRenderError) throw invalid(field, error.message);
    throw error;
  }
}

/** The syntax error of one part as "line L, column C: …", or undefined when it parses. */
export function syntaxError(source: string, mode: TemplateMode): string | undefined {
  try {
    compileTemplate(source, mode);
    return undefined;
  } catch (error) {
    if (error instanceof TemplateSyntaxError) return error.message;
    throw error;
  }
}
