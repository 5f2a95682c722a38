// The README's configuration table and the declarations in config.ts say the same thing:
// the same variables, defaults and descriptions, so neither can drift from the other.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENT, type EnvironmentVariable, RENAMED } from './config.js';

interface Row {
  names: string[];
  /** Each variable's default cell: a shared cell, or its part of `a` / `b` and `a`, `b`. */
  defaults: Map<string, string>;
  meaning: string;
}

const read = (relative: string): string | undefined => {
  const file = fileURLToPath(new URL(relative, import.meta.url));
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
};

/** The first `variable | default | meaning` table under a `## heading`. */
function tableUnder(markdown: string, heading: string): Row[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  if (!section) throw new Error(`no "## ${heading}" section`);
  const lines = section.split('\n').filter((l) => l.startsWith('| `'));
  return lines.map((line) => {
    const [first, defaultCell, meaning] = line.slice(2, -2).split(' | ');
    const names = [...first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]);
    const parts = defaultCell.split(/, | \/ /);
    const defaults = new Map(names.map((name, i) => [name, parts.length === names.length ? parts[i] : defaultCell]));
    return { names, defaults, meaning };
  });
}

const declared = Object.keys(ENVIRONMENT) as EnvironmentVariable[];
const renamed = new Set(Object.keys(RENAMED));
const spec = (name: string) => ENVIRONMENT[name as EnvironmentVariable] as { default?: unknown; desc?: string };

describe("the README's configuration table", () => {
  const rows = tableUnder(read('../README.md')!, 'Configuration');
  const documented = rows.flatMap((row) => row.names);

  it('lists every variable Herald declares, and only those', () => {
    expect(new Set(documented).size).toBe(documented.length);
    expect(documented.filter((name) => !(name in ENVIRONMENT))).toEqual([]);
    expect(declared.filter((name) => !renamed.has(name) && !documented.includes(name))).toEqual([]);
  });

  it('names each old variable name in the row of the variable that replaced it', () => {
    for (const [old, current] of Object.entries(RENAMED)) {
      expect(documented).not.toContain(old);
      expect(rows.find((row) => row.names.includes(current))?.meaning).toContain(`\`${old}\``);
    }
  });

  it('gives each variable its declared default: the value, or "unset…" when it has none', () => {
    for (const row of rows) {
      for (const name of row.names) {
        const value = spec(name).default;
        const cell = row.defaults.get(name);
        if (value === undefined) expect(cell, name).toMatch(/^unset\b/);
        else expect(cell, name).toBe(`\`${value as string | number | boolean}\``);
      }
    }
  });

  it('describes each variable with its declared description', () => {
    for (const row of rows) {
      for (const name of row.names) expect(row.meaning, name).toBe(spec(name).desc);
    }
  });
});

// The run-time contract other projects rely on, when checked out beside this repository.
const contract = read('../../shared/contract/RUNNING.md');

// Listed by the contract for capabilities that are not built yet; each leaves this list when
// the issue that builds it declares the variable.
const NOT_YET_READ = new Set<string>([]);

describe.runIf(contract !== undefined)("the run-time contract's environment", () => {
  const listed = tableUnder(contract ?? '', 'Environment').flatMap((row) => row.names);

  it('is declared, but for the variables of capabilities still to come', () => {
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.filter((name) => !(name in ENVIRONMENT) && !NOT_YET_READ.has(name))).toEqual([]);
    // Once declared, a variable is checked like the rest.
    expect([...NOT_YET_READ].filter((name) => name in ENVIRONMENT || !listed.includes(name))).toEqual([]);
  });
});
