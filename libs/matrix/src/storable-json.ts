/**
 * What the projection can store, checked before anything reaches the log. PostgreSQL refuses
 * `\u0000` in `text` and `jsonb` and lone UTF-16 surrogates in `jsonb`; JSON numbers beyond
 * IEEE-754 doubles parse to ±Infinity, which JSON cannot carry; deeply nested values overflow
 * recursive code. A value that passes this check can be encoded, appended and projected.
 */

/** Deepest nesting accepted in a request body or an event (no Matrix body needs more). */
export const MAX_JSON_DEPTH = 100;

/** NUL, or a UTF-16 surrogate that is not half of a pair (with the `u` flag a pair is one code point). */
const UNSTORABLE_CHARACTER = /\0|[\uD800-\uDFFF]/u;

/** Why a string cannot be stored, or null when it can. */
export function unstorableStringProblem(value: string): string | null {
  const match = UNSTORABLE_CHARACTER.exec(value);
  if (match === null) return null;
  return match[0] === '\0' ? 'contains a NUL character' : 'contains an unpaired UTF-16 surrogate';
}

/**
 * Why `value` (as produced by JSON.parse) cannot be stored, naming where, or null when it can.
 * Iterative, so hostile nesting cannot overflow the stack; never echoes the offending value.
 */
export function findUnstorableJson(value: unknown, maxDepth = MAX_JSON_DEPTH): string | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '$', depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value: current, path, depth } = item;
    if (typeof current === 'string') {
      const problem = unstorableStringProblem(current);
      if (problem !== null) return `${path} ${problem}`;
    } else if (typeof current === 'number') {
      if (!Number.isFinite(current)) return `${path} is a number outside the range of a double`;
    } else if (current !== null && typeof current === 'object') {
      if (depth >= maxDepth) return `${path} is nested deeper than ${maxDepth} levels`;
      if (Array.isArray(current)) {
        for (let index = current.length - 1; index >= 0; index -= 1) {
          stack.push({ value: current[index], path: `${path}[${index}]`, depth: depth + 1 });
        }
      } else {
        for (const key of Object.keys(current)) {
          const keyProblem = unstorableStringProblem(key);
          if (keyProblem !== null) return `a key of ${path} ${keyProblem}`;
          stack.push({ value: (current as Record<string, unknown>)[key], path: `${path}.${printableKey(key)}`, depth: depth + 1 });
        }
      }
    } else if (typeof current !== 'boolean' && current !== null) {
      return `${path} is not a JSON value`;
    }
  }
  return null;
}

/** A key as it may appear in an error message: short, and only printable ASCII. */
function printableKey(key: string): string {
  const printable = key.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 64 ? `${printable.slice(0, 61)}...` : printable;
}
