// Many rows through one parameter: rows go in as one JSON array (json_populate_recordset
// on the table's own row type) and come back as JSON (json_agg), mapped with the
// columns' own driver mapping. One statement whatever the batch size, no 65,535-parameter
// ceiling, and no per-value query building.
import { type Column, getTableColumns, is, SQL, type Table } from 'drizzle-orm';

type Row = Record<string, unknown>;

const columnLists = new WeakMap<Table, [string, Column][]>();

function columnsOf(table: Table): [string, Column][] {
  let columns = columnLists.get(table);
  if (!columns) columnLists.set(table, (columns = Object.entries(getTableColumns(table))));
  return columns;
}

/** A column's default for a JSON row: static values and $defaultFn as drizzle applies them; an SQL default (now()) as now. */
function defaultOf(column: Column, now: string): unknown {
  if (column.defaultFn) return column.defaultFn();
  if (column.default === undefined) return null;
  if (is(column.default, SQL)) return column.dataType === 'date' ? now : null;
  return column.default;
}

/** `rows` (drizzle insert shapes) as the JSON array json_populate_recordset(null::table, …) reads. */
export function toJsonRows(table: Table, rows: readonly Row[]): string {
  const columns = columnsOf(table);
  const now = new Date().toISOString();
  return JSON.stringify(
    rows.map((row) => {
      const out: Row = {};
      for (const [key, column] of columns) {
        const value = row[key] === undefined ? defaultOf(column, now) : row[key];
        // A missing key reads as null: leaving nulls out halves a bulk payload.
        if (value !== null) out[column.name] = value instanceof Date ? value.toISOString() : value;
      }
      return out;
    }),
  );
}

/** Rows of `table` column by column, for `insert … (names) select … from unnest($n::type[], …)`. */
export interface ColumnArrays {
  /** SQL column names, quoted. */
  names: string[];
  /** Each column's SQL type, for its parameter's cast. */
  types: string[];
  /**
   * Each column as one parameter: a PostgreSQL array literal, or the one value every
   * row has (`same[i]`), sent once instead of once per row.
   */
  values: (string | null)[];
  same: boolean[];
}

/**
 * `rows` (drizzle insert shapes) as one array per column: only the columns some row
 * sets (the rest take their SQL defaults), each value through the column's own driver
 * mapping; a column every row gives the same value (tenant, channel, cycle) as that
 * value once. For bulk writes: a fraction of the JSON rows' size, and no JSON for
 * PostgreSQL to take apart row by row.
 */
export function toColumnArrays(table: Table, rows: readonly Row[]): ColumnArrays {
  const out: ColumnArrays = { names: [], types: [], values: [], same: [] };
  const now = new Date().toISOString();
  for (const [key, column] of columnsOf(table)) {
    // One pass over the rows' own values: does any row set the column, do all give the same one?
    const first = rows[0]?.[key];
    let set = false;
    let same = first !== undefined && first !== null && typeof first !== 'object';
    for (const row of rows) {
      const value = row[key];
      if (value !== undefined && value !== null) set = true;
      if (value !== first) same = false;
    }
    if (!set && !column.defaultFn) continue;
    out.names.push(`"${column.name}"`);
    out.types.push(column.getSQLType());
    // (At least one column stays an array: unnest needs one to give the rows.)
    same &&= out.same.some((s) => !s);
    out.same.push(same);
    out.values.push(same ? String(column.mapToDriverValue(first)) : columnLiteral(column, key, rows, now));
  }
  return out;
}

/** One column of `rows` as an array literal, each value through the column's driver mapping. */
function columnLiteral(column: Column, key: string, rows: readonly Row[], now: string): string {
  let literal = '{';
  for (let i = 0; i < rows.length; i++) {
    const value = rows[i][key];
    if (i > 0) literal += ',';
    if (value === null) literal += 'NULL';
    // A row leaving out a column some other row sets gets the column's default.
    else if (value === undefined) literal += arrayElement(column.defaultFn ? column.mapToDriverValue(column.defaultFn()) : defaultOf(column, now));
    else literal += arrayElement(column.mapToDriverValue(value));
  }
  return `${literal}}`;
}

/**
 * Strings, numbers, booleans and nulls as a PostgreSQL array literal (a `$n::type[]`
 * parameter): each value quoted with `"` and `\` escaped, every other character (newlines
 * included) as itself.
 */
export function arrayLiteral(values: readonly unknown[]): string {
  return `{${values.map(arrayElement).join(',')}}`;
}

function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const text = typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : String(value);
  // Most values have nothing to escape. JSON's string quoting escapes `"` and `\` exactly
  // as an array element needs, and fast (JSON texts are full of quotes), but it writes
  // control characters and lone surrogates as \u escapes PostgreSQL would not read back.
  if (!text.includes('"') && !text.includes('\\')) return `"${text}"`;
  return JSON_UNSAFE.test(text) ? `"${text.replace(/[\\"]/g, '\\$&')}"` : JSON.stringify(text);
}

const JSON_UNSAFE = /[\u0000-\u001f\ud800-\udfff]/;

/** A row of `table` as PostgreSQL's to_json/json_agg wrote it, in drizzle's select shape. */
export function fromJsonRow<T>(table: Table, raw: Row): T {
  const out: Row = {};
  for (const [key, column] of columnsOf(table)) {
    const value = raw[column.name];
    out[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return out as T;
}

/** A json / json_agg result column: parsed already by the driver, or text to parse. */
export function jsonValue<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
