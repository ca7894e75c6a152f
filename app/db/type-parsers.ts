import pg from 'pg';
import parseTimestamp from 'postgres-date';

// How the pools turn PostgreSQL's text into JavaScript values: pg's own parsers, except for
// timestamptz. pg reads those with postgres-date 1, a regular expression and a second one for the
// offset per value, about 1.5 µs each here: a slice of all pages holds a hundred, and parsing them
// was a third of the CPU the app spent on the query (docs/benchmarks.md). postgres-date 2, by the
// same author, reads the same text character by character and gives the same Date.

export function createTypeParsers(): pg.CustomTypesConfig {
  const parsers = new pg.TypeOverrides();
  parsers.setTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text', (text: string) => parseTimestamp(text));
  return parsers;
}
