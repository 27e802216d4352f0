/**
 * Finds where a JSON text first breaks RFC 8259, so a 400 can say "line 3,
 * column 7" whatever message the engine's JSON.parse happens to produce (V8
 * omits the position for an unexpected token). Only called on text that
 * JSON.parse already rejected.
 */

/** A 1-based line and column (in UTF-16 code units, as editors count). */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/** The position of the first JSON syntax error in `text`, or undefined when there is none. */
export function jsonSyntaxErrorPosition(text: string): TextPosition | undefined {
  let offset: number;
  try {
    offset = firstErrorOffset(text);
  } catch (error) {
    // Nesting deeper than the stack: give up on the position, the body is still rejected.
    if (error instanceof RangeError) return undefined;
    throw error;
  }
  if (offset < 0) return undefined;
  return positionOf(text, offset);
}

/**
 * Where the nesting of arrays and objects in `text` first goes deeper than
 * `max` levels (brackets inside strings do not count), or undefined when it
 * never does. Iterative, so any depth is measured without recursion.
 */
export function jsonNestingBeyond(text: string, max: number): TextPosition | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (char === '[' || char === '{') {
      depth += 1;
      if (depth > max) return positionOf(text, i);
    } else if (char === ']' || char === '}') {
      depth -= 1;
    }
  }
  return undefined;
}

function positionOf(text: string, offset: number): TextPosition {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

class SyntaxAt {
  constructor(readonly offset: number) {}
}

function firstErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw new SyntaxAt(i);
  };
  const skipWhitespace = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i += 1;
  };
  const expect = (char: string) => {
    if (text[i] !== char) fail();
    i += 1;
  };
  const literal = (word: string) => {
    for (const char of word) expect(char);
  };
  const string = () => {
    expect('"');
    for (;;) {
      const char = text[i];
      if (char === undefined || char.charCodeAt(0) < 0x20) fail();
      if (char === '"') {
        i += 1;
        return;
      }
      if (char === '\\') {
        ESCAPE.lastIndex = i;
        if (!ESCAPE.test(text)) fail();
        i = ESCAPE.lastIndex;
      } else {
        i += 1;
      }
    }
  };
  // An object's or an array's body after its opening bracket: comma-separated items, then `close`.
  const items = (close: string, item: () => void) => {
    i += 1;
    skipWhitespace();
    if (text[i] === close) {
      i += 1;
      return;
    }
    for (;;) {
      item();
      skipWhitespace();
      if (text[i] !== ',') {
        expect(close);
        return;
      }
      i += 1;
    }
  };
  const member = () => {
    skipWhitespace();
    string();
    skipWhitespace();
    expect(':');
    value();
  };
  const value = (): void => {
    skipWhitespace();
    const char = text[i];
    if (char === '{') items('}', member);
    else if (char === '[') items(']', value);
    else if (char === '"') string();
    else if (char === 't') literal('true');
    else if (char === 'f') literal('false');
    else if (char === 'n') literal('null');
    else {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) fail();
      i = NUMBER.lastIndex;
    }
  };

  try {
    value();
    skipWhitespace();
    if (i < text.length) fail();
    return -1;
  } catch (error) {
    if (error instanceof SyntaxAt) return error.offset;
    throw error;
  }
}
