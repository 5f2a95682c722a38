// The rendering core of message templates: tenant admins write Liquid, API callers supply
// the personalisation, and Herald renders the two together at accept time. Written by one
// party and filled in by another, a template must fail loudly rather than send a wrong
// message, and must never harm the process that renders it. So, whatever the template:
// - strict: an unknown variable or filter is an error, never an empty string (a variable
//   that exists with the value null renders as empty and is falsy in `{% if %}`);
// - sealed: no prototype access, and `include`, `render` and `layout` are refused at compile
//   time, so a template reads nothing but its scope, never a file;
// - bounded: source length, render time, allocated data and output length all have limits,
//   so a runaway loop fails in milliseconds instead of hanging or exhausting memory;
// - explained: every failure is one of three errors carrying a line and column for the author.
//
// In html mode every `{{ output }}` (and `{% echo %}`) is HTML-escaped, literals included.
// Authors are trusted tenant admins and may end an output with `| raw` (it has to be the last
// filter) to insert markup unescaped; personalisation values are escaped unless they do.
// A `{% capture %}` in html mode holds escaped text, so print it with `| raw`.
import { CaptureTag, type Context, filters, Liquid, LiquidError, type Template, UndefinedVariableError } from 'liquidjs';
import { LRUCache } from 'lru-cache';

export type TemplateMode = 'text' | 'html';

export const TEMPLATE_SOURCE_MAX = 100_000;
/** Longest rendered text; above every channel's own limit, so only a runaway template reaches it. */
export const TEMPLATE_OUTPUT_MAX = 1_000_000;
const RENDER_TIME_LIMIT_MS = 200;
// liquidjs charges characters and list items as it builds strings, ranges and arrays.
const RENDER_MEMORY_LIMIT = 10_000_000;

export class TemplateSyntaxError extends Error {
  override readonly name = 'TemplateSyntaxError';
  constructor(
    readonly line: number,
    readonly column: number,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`line ${line}, column ${column}: ${reason}`, options);
  }
}

export class MissingVariableError extends Error {
  override readonly name = 'MissingVariableError';
  constructor(
    readonly variable: string,
    message = `undefined variable ${variable}`,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class TemplateRenderError extends Error {
  override readonly name = 'TemplateRenderError';
}

export interface CompiledTemplate {
  readonly mode: TemplateMode;
  readonly source: string;
}

// The parse stays beside the compiled template, which remains plain data that can be
// logged or put in a job.
const parses = new WeakMap<CompiledTemplate, Template[]>();

// The same few templates are rendered for every send: parse each once. Bounded by count and
// by total source length, so many large templates cannot hold the heap.
const cache = new LRUCache<string, CompiledTemplate>({
  max: 5_000,
  maxSize: 50_000_000,
  sizeCalculation: (template) => template.source.length + 1,
});

export function compileTemplate(source: string, mode: TemplateMode): CompiledTemplate {
  const key = `${mode}:${source}`;
  const cached = cache.get(key);
  if (cached) return cached;
  if (source.length > TEMPLATE_SOURCE_MAX) {
    throw new TemplateSyntaxError(1, 1, `template is longer than ${TEMPLATE_SOURCE_MAX.toLocaleString('en-US')} characters`);
  }
  let parsed: Template[];
  try {
    parsed = engines[mode].parse(source);
  } catch (error) {
    if (!LiquidError.is(error)) throw error;
    const [line, column] = error.token.getPosition();
    throw new TemplateSyntaxError(line, column, reasonOf(error), { cause: error });
  }
  const compiled: CompiledTemplate = Object.freeze({ mode, source });
  parses.set(compiled, parsed);
  cache.set(key, compiled);
  return compiled;
}

/**
 * `scope` is JSON data (the personalisation and Herald's own values). A CompiledTemplate
 * that did not come from compileTemplate is compiled first, so may throw TemplateSyntaxError.
 */
export function renderTemplate(compiled: CompiledTemplate, scope: Record<string, unknown>): string {
  // A template that went through JSON (a queued job, say) comes back without its parse.
  const parsed = parses.get(compiled) ?? parses.get(compileTemplate(compiled.source, compiled.mode))!;
  let output: string;
  try {
    output = engines[compiled.mode].renderSync(parsed, scope) as string;
  } catch (error) {
    throw renderFailure(error);
  }
  if (output.length > TEMPLATE_OUTPUT_MAX) {
    throw new TemplateRenderError(`the rendered text is longer than ${TEMPLATE_OUTPUT_MAX.toLocaleString('en-US')} characters`);
  }
  return output;
}

const LIMIT_REASONS: Record<string, string> = {
  'memory alloc limit exceeded': `the template builds more than ${RENDER_MEMORY_LIMIT.toLocaleString('en-US')} characters or list items; a loop, append or capture probably repeats too often`,
  'template render limit exceeded': `rendering took longer than ${RENDER_TIME_LIMIT_MS} ms; a loop probably runs too many times`,
  // V8's own limit, reached by repeating a long value (output and captures are not charged).
  'Invalid string length': 'the template builds a text too long to hold; a loop probably repeats too often',
};

function renderFailure(error: unknown): Error {
  if (error instanceof UndefinedVariableError) {
    // liquidjs names the path it could not resolve on the error it wraps.
    const variable = (error.originalError as { variableName?: unknown } | undefined)?.variableName;
    if (typeof variable === 'string') {
      const [line, column] = error.token.getPosition();
      return new MissingVariableError(variable, `line ${line}, column ${column}: undefined variable ${variable}`, { cause: error });
    }
  }
  if (LiquidError.is(error)) {
    const [line, column] = error.token.getPosition();
    return new TemplateRenderError(`line ${line}, column ${column}: ${reasonOf(error)}`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TemplateRenderError(LIMIT_REASONS[message] ?? message, { cause: error });
}

/** liquidjs's reason without the position it appends (", line:2, col:5"), limits in words. */
function reasonOf(error: LiquidError): string {
  const reason = error.originalError?.message ?? error.message.replace(/, line:\d+, col:\d+$/, '');
  return LIMIT_REASONS[reason] ?? reason;
}

// liquidjs charges the memory limit for strings that filters build, but not for what a
// capture collects; a capture that doubles itself would otherwise reach hundreds of
// megabytes in a few milliseconds, and `replace` on such a string aborts the process.
class ChargedCaptureTag extends CaptureTag {
  override *render(ctx: Context): Generator<unknown, void, string> {
    yield* super.render(ctx);
    const captured: unknown = (ctx.bottom() as Record<string, unknown>)[this.variable];
    ctx.memoryLimit.use(String(captured).length);
  }
}

/**
 * liquidjs's own `escape`, writing a double quote as &quot; (it writes &#34;): the same in a
 * browser, and byte for byte the HTML Herald's e-mails carried before they were templates.
 */
function escapeOutput(this: unknown, value: unknown): string {
  return (filters.escape as (this: unknown, v: unknown) => string).call(this, value).replaceAll('&#34;', '&quot;');
}

function createEngine(mode: TemplateMode): Liquid {
  const engine = new Liquid({
    strictVariables: true,
    strictFilters: true,
    // A misspelt condition is caught too; null-valued variables are still falsy, not errors.
    lenientIf: false,
    jsTruthy: false,
    ownPropertyOnly: true,
    // Lookups go to an empty in-memory map, never to the disk, should a file tag remain.
    templates: {},
    outputEscape: mode === 'html' ? escapeOutput : undefined,
    parseLimit: TEMPLATE_SOURCE_MAX,
    renderLimit: RENDER_TIME_LIMIT_MS,
    memoryLimit: RENDER_MEMORY_LIMIT,
  });
  // A template may read nothing but its scope; these tags load other templates by name.
  for (const tag of ['include', 'render', 'layout']) {
    engine.registerTag(tag, {
      parse(token) {
        throw new Error(`the ${token.name} tag is not available: a message template cannot load other templates or files`);
      },
      render: () => undefined,
    });
  }
  engine.registerTag('capture', ChargedCaptureTag);
  return engine;
}

const engines: Record<TemplateMode, Liquid> = { text: createEngine('text'), html: createEngine('html') };
