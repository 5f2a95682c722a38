import { describe, expect, it } from 'vitest';
import {
  compileTemplate,
  MissingVariableError,
  renderTemplate,
  TEMPLATE_OUTPUT_MAX,
  TEMPLATE_SOURCE_MAX,
  TemplateRenderError,
  TemplateSyntaxError,
  type TemplateMode,
} from './engine.js';

const ORDER_STATUS = 'Order {{ order.id }} is now {{ order.status }}.{% if order.note %} {{ order.note }}{% endif %}';

function render(source: string, scope: Record<string, unknown> = {}, mode: TemplateMode = 'text'): string {
  return renderTemplate(compileTemplate(source, mode), scope);
}

function failure(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

function syntaxError(source: string): TemplateSyntaxError {
  const error = failure(() => compileTemplate(source, 'text'));
  expect(error).toBeInstanceOf(TemplateSyntaxError);
  return error as TemplateSyntaxError;
}

function missingVariable(source: string, scope: Record<string, unknown> = {}): string {
  const error = failure(() => render(source, scope));
  expect(error).toBeInstanceOf(MissingVariableError);
  return (error as MissingVariableError).variable;
}

/** The render error and how long it took to be raised. */
function renderFailure(source: string, scope: Record<string, unknown> = {}, mode: TemplateMode = 'text') {
  const compiled = compileTemplate(source, mode);
  const started = performance.now();
  const error = failure(() => renderTemplate(compiled, scope));
  const ms = performance.now() - started;
  expect(error).toBeInstanceOf(TemplateRenderError);
  return { message: (error as TemplateRenderError).message, ms };
}

describe('compileTemplate', () => {
  it('parses a source once per mode and reuses it', () => {
    const text = compileTemplate(ORDER_STATUS, 'text');
    expect(compileTemplate(ORDER_STATUS, 'text')).toBe(text);
    expect(compileTemplate(ORDER_STATUS, 'html')).not.toBe(text);
    expect(text).toMatchObject({ mode: 'text', source: ORDER_STATUS });
  });

  it('reports an unclosed if with the line and column of the tag', () => {
    const error = syntaxError('Hello\n  {% if order.note %}note');
    expect([error.line, error.column]).toEqual([2, 3]);
    expect(error.message).toBe('line 2, column 3: tag {% if order.note %} not closed');
  });

  it('reports an unclosed output with the line and column where it opens', () => {
    const error = syntaxError('Hello {{ name }},\nyour order {{ order.id is ready');
    expect([error.line, error.column]).toEqual([2, 12]);
    expect(error.message).toBe('line 2, column 12: output "{{ order.id is ready" not closed');
  });

  it('reports an unknown filter at compile time, at the start of its output', () => {
    const error = syntaxError('Hello {{ name }},\nyour order {{ order.id | shout }}');
    expect([error.line, error.column]).toEqual([2, 12]);
    expect(error.message).toBe('line 2, column 12: undefined filter: shout');
  });

  it('refuses a source longer than the limit without parsing it', () => {
    const error = syntaxError('x'.repeat(TEMPLATE_SOURCE_MAX + 1));
    expect([error.line, error.column]).toEqual([1, 1]);
    expect(error.message).toBe('line 1, column 1: template is longer than 100,000 characters');
    expect(compileTemplate('x'.repeat(TEMPLATE_SOURCE_MAX), 'text').source).toHaveLength(TEMPLATE_SOURCE_MAX);
  });

  it.each([
    ["{% include '/etc/passwd' %}", 'include'],
    ["{% render 'package.json' %}", 'render'],
    ["{% layout '../../package.json' %}body", 'layout'],
    ['{% include file %}', 'include'],
  ])('refuses %s instead of reading a file', (source, tag) => {
    const error = syntaxError(`Hello\n${source}`);
    expect(error.message).toBe(
      `line 2, column 1: the ${tag} tag is not available: a message template cannot load other templates or files`,
    );
    expect(error.message).not.toMatch(/root:|herald/);
  });
});

describe('renderTemplate', () => {
  it('renders the order-status line with and without a note', () => {
    expect(render(ORDER_STATUS, { order: { id: 'A-1', status: 'shipped', note: 'Left at the door.' } })).toBe(
      'Order A-1 is now shipped. Left at the door.',
    );
    expect(render(ORDER_STATUS, { order: { id: 'A-1', status: 'shipped', note: null } })).toBe('Order A-1 is now shipped.');
  });

  it('renders a null value, or a path through one, as empty text', () => {
    expect(render('[{{ order.note }}|{{ order.note.text }}]', { order: { note: null } })).toBe('[|]');
  });

  it('names the variable that is missing from the scope', () => {
    expect(missingVariable('Hello {{ name }}')).toBe('name');
    expect(missingVariable('Order {{ order.id }}', { order: {} })).toBe('order.id');
    // liquidjs stops at the first segment it cannot resolve.
    expect(missingVariable('{{ order.customer.name }}', { order: {} })).toBe('order.customer');
  });

  it('says where the missing variable is used', () => {
    const error = failure(() => render('Hello\n{{ recipient.name }}', { recipient: {} }));
    expect((error as Error).message).toBe('line 2, column 4: undefined variable recipient.name');
  });

  it('treats a misspelt condition as a missing variable, not as false', () => {
    expect(missingVariable('{% if order.nte %}{{ order.note }}{% endif %}', { order: { note: 'x' } })).toBe('order.nte');
    expect(missingVariable('{% unless missing %}x{% endunless %}')).toBe('missing');
  });

  it('does not let default stand in for a missing variable', () => {
    expect(missingVariable("{{ nickname | default: 'friend' }}")).toBe('nickname');
    expect(render("{{ nickname | default: 'friend' }}", { nickname: null })).toBe('friend');
  });

  it.each([
    ['{{ name.constructor }}', { name: 'Ada' }],
    ['{{ x.__proto__ }}', { x: {} }],
    ["{{ 'a' | append: x.constructor.name }}", { x: {} }],
    ['{{ x.constructor.constructor }}', { x: {} }],
    ['{{ items.__proto__.push }}', { items: [] }],
  ])('does not reach the prototype through %s', (source, scope) => {
    expect(() => render(source, scope)).toThrow(MissingVariableError);
  });

  it('gives filters that read properties only own properties', () => {
    const scope = { items: [{ id: 1 }, { id: 2 }] };
    expect(render("{{ items | map: 'constructor' | json }}|{{ items | map: 'id' | json }}", scope)).toBe('[null,null]|[1,2]');
  });

  it('escapes values, quotes included, in html mode', () => {
    const value = `<script>alert("hi")</script> & 'bye'`;
    expect(render('<p>{{ v }}</p>', { v: value }, 'html')).toBe(
      '<p>&lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt; &amp; &#39;bye&#39;</p>',
    );
    expect(render('<p>{% echo v | upcase %}</p>', { v: '<b>' }, 'html')).toBe('<p>&lt;B&gt;</p>');
  });

  it('lets the template author opt out of escaping with raw, as the last filter only', () => {
    expect(render('{{ link | raw }}', { link: '<a href="/o/1">order</a>' }, 'html')).toBe('<a href="/o/1">order</a>');
    expect(render('{{ v | raw | upcase }}', { v: '<b>' }, 'html')).toBe('&lt;B&gt;');
  });

  it('escapes a capture again in html mode unless it is printed raw', () => {
    const source = '{% capture who %}<b>{{ name }}</b>{% endcapture %}{{ who }}|{{ who | raw }}';
    expect(render(source, { name: 'A&B' }, 'html')).toBe('&lt;b&gt;A&amp;amp;B&lt;/b&gt;|<b>A&amp;B</b>');
  });

  it('leaves markup alone in text mode', () => {
    expect(render('Hi {{ name }}', { name: '<b>Ada</b> & "co"' })).toBe('Hi <b>Ada</b> & "co"');
  });

  it('renders a template that lost its parse on the way through a queue', () => {
    const queued = JSON.parse(JSON.stringify(compileTemplate(ORDER_STATUS, 'text'))) as { mode: TemplateMode; source: string };
    expect(renderTemplate(queued, { order: { id: 'B-2', status: 'packed', note: null } })).toBe('Order B-2 is now packed.');
  });

  it('reports other render failures with their position', () => {
    expect(renderFailure('Hi\n{{ name | append }}', { name: 'Ada' }).message).toBe('line 2, column 1: append expect 2 arguments');
  });

  describe('limits', () => {
    it('stops a loop over a huge range before it starts', () => {
      const { message, ms } = renderFailure('{% for i in (1..100000000) %}x{% endfor %}');
      expect(message).toMatch(/^line 1, column 1: the template builds more than 10,000,000 characters or list items/);
      expect(ms).toBeLessThan(5_000);
    });

    it('stops a string that doubles with append', () => {
      const { message, ms } = renderFailure(
        "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..64) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}",
      );
      expect(message).toMatch(/the template builds more than 10,000,000 characters/);
      expect(ms).toBeLessThan(5_000);
    });

    // Uncharged, this reaches 268M characters in milliseconds, and `| replace` on it aborts Node.
    it('stops a capture that doubles itself', () => {
      const { message, ms } = renderFailure(
        '{% capture s %}x{% endcapture %}{% for i in (1..28) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{{ s | size }}',
      );
      expect(message).toMatch(/the template builds more than 10,000,000 characters/);
      expect(ms).toBeLessThan(5_000);
    });

    it('stops a render that runs out of time', () => {
      const { message, ms } = renderFailure('{% for i in (1..3000) %}{% for j in (1..3000) %}{{ j }}{% endfor %}{% endfor %}');
      expect(message).toMatch(/rendering took longer than 200 ms; a loop probably runs too many times$/);
      expect(ms).toBeLessThan(5_000);
    });

    it('stops an output that outgrows any string', () => {
      const { message, ms } = renderFailure('{% for i in (1..100000) %}{{ value }}{% endfor %}', { value: 'x'.repeat(16_000) });
      expect(message).toMatch(/the template builds a text too long to hold/);
      expect(ms).toBeLessThan(5_000);
    });

    it('refuses an output longer than the limit', () => {
      const { message } = renderFailure('{% for i in (1..101) %}{{ line }}{% endfor %}', { line: 'x'.repeat(10_000) });
      expect(message).toBe(`the rendered text is longer than ${TEMPLATE_OUTPUT_MAX.toLocaleString('en-US')} characters`);
    });
  });
});
