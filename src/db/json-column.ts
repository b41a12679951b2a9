/**
 * JSON text columns. They are only ever written by Hookpost from schema-validated values, so
 * reading one back as the type it was written with is sound.
 */

export function readJsonColumn<T>(text: string): T {
  return JSON.parse(text) as T;
}

export function readNullableJsonColumn<T>(text: string | null): T | null {
  return text === null ? null : readJsonColumn<T>(text);
}
