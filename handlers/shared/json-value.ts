/**
 * The JSON text parser of JSON Lines and JSON array files: one JSON value from a
 * string, with numbers kept as their exact source text (a JsonNumber, never a
 * float), a duplicate member name refused, and every syntax error named with its
 * place (an offset into the text) and what was wrong there.
 *
 * It accepts exactly the texts JSON.parse accepts (RFC 8259), with two refusals
 * JSON.parse does not make: a duplicate member name (JSON.parse keeps the last one
 * silently) and an escaped lone surrogate such as `"\ud800"` (not a character:
 * DynamoDB would store U+FFFD instead). The differential test in
 * test/unit/json-value.test.ts holds it to that over generated texts.
 *
 * Why our own and not a streaming tokenizer from npm: none keeps both the byte offsets
 * and the exact number text at a speed near JSON.parse (see docs/ingestion-files.md
 * and the `parse` bench), and the records are small: the streaming part (finding
 * where each record starts and ends) is json-records.ts, this parses one record.
 */

/** A JSON number, as its exact source text (`12345678901234567890`, `0.1`, `1E+3`). */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** A JSON object: member names in file order (duplicates are refused). */
export interface JsonObject {
  [name: string]: JsonValue;
}

/** A parsed JSON value; numbers keep their text. */
export type JsonValue = string | boolean | null | JsonNumber | JsonValue[] | JsonObject;

/** A syntax error at `offset` (UTF-16 index into the parsed text). */
export class JsonSyntaxError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`at offset ${offset}: ${reason}`);
    this.name = 'JsonSyntaxError';
  }
}

/** What the value at a JSON path is, for messages: `a string`, `an object`, ... */
export function describeJsonValue(value: JsonValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  if (value instanceof JsonNumber) return 'a number';
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** True for a JSON object (not an array, not a number). */
export function isJsonObject(value: JsonValue): value is JsonObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof JsonNumber)
  );
}

/** Largest nesting depth accepted: far more than any record needs, far less than the stack. */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses `text` as exactly one JSON value (whitespace around it allowed). Throws a
 * JsonSyntaxError naming the first problem. With `starts`, records where each value
 * starts (its JSON path → offset), which error messages use to point at a member.
 */
export function parseJson(text: string, starts?: Map<string, number>): JsonValue {
  const parser = new Parser(text, starts);
  const value = parser.value(0, '$');
  parser.end();
  return value;
}

/** Offset just past the JSON value that starts at `at` in `text` (which must hold one there). */
export function jsonValueEnd(text: string, at: number): number {
  const parser = new Parser(text, undefined);
  parser.seek(at);
  parser.value(0, '$');
  return parser.offset;
}

/** The text of a JSON path step: `.name`, or `["odd name"]` when the name is not an identifier. */
export function pathStep(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The member names records are expected to have, in the order they come in (names
 * spelled without escapes only, each once): a cache, so the names of the common record
 * are neither sliced from the text nor interned again. A record's name that is not
 * here yet is added where it came. Guesses are distinct, so an object whose names were
 * all guessed, each later in this list than the one before, has no duplicate.
 */
const RECORD_GUESSES: string[] = [];
/** Guesses kept at most: records with ever new names stop adding them. */
const MAX_RECORD_GUESSES = 64;

/** Adds a record's plain member name at `at` unless it is a guess already; the next place to guess from. */
function addGuess(name: string, at: number): number {
  if (RECORD_GUESSES.length >= MAX_RECORD_GUESSES || RECORD_GUESSES.includes(name)) return at;
  RECORD_GUESSES.splice(at, 0, name);
  return at + 1;
}

class Parser {
  private at = 0;

  constructor(
    private readonly text: string,
    private readonly starts: Map<string, number> | undefined,
  ) {}

  /** Moves the cursor (to parse a value inside a text). */
  seek(at: number): void {
    this.at = at;
  }

  /** The cursor: where the next value would start. */
  get offset(): number {
    return this.at;
  }

  /** Skips whitespace and returns the next character code (NaN at the end). */
  private skip(): number {
    const { text } = this;
    let code = text.charCodeAt(this.at);
    while (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) {
      code = text.charCodeAt(++this.at);
    }
    return code;
  }

  /** After the value: only whitespace may follow. */
  end(): void {
    const code = this.skip();
    if (this.at < this.text.length) {
      throw new JsonSyntaxError(
        this.at,
        code === 0xfeff
          ? 'a byte order mark (U+FEFF) after the value: only the very start of a file may hold one'
          : `a second JSON value or other text (${this.shown()}) after the end of the value: one value only`,
      );
    }
  }

  value(depth: number, path: string): JsonValue {
    const code = this.skip();
    if (this.starts !== undefined) this.starts.set(path, this.at);
    if (code === QUOTE) return this.string();
    if (code === 0x7b) return this.object(depth + 1, path);
    if (code === 0x5b) return this.array(depth + 1, path);
    if (code === 0x2d || (code >= 0x30 && code <= 0x39)) return this.number();
    if (code === 0x74) return this.word('true', true);
    if (code === 0x66) return this.word('false', false);
    if (code === 0x6e) return this.word('null', null);
    throw new JsonSyntaxError(this.at, this.unexpected('a value'));
  }

  private object(depth: number, path: string): JsonObject {
    if (depth > MAX_JSON_DEPTH) {
      throw new JsonSyntaxError(this.at, `nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    const open = this.at++;
    const object: JsonObject = {};
    let code = this.skip();
    if (code === 0x7d) {
      this.at++;
      return object;
    }
    const record = depth === 1;
    // Records (top-level objects) mostly repeat the member names of the records before.
    let guess = record ? 0 : RECORD_GUESSES.length;
    let checked = !record;
    for (;;) {
      if (code !== QUOTE) {
        throw new JsonSyntaxError(
          this.at,
          code === 0x7d
            ? 'a trailing comma before } (remove the comma after the last member)'
            : this.unexpected('a member name in double quotes'),
        );
      }
      const nameAt = this.at;
      const guessed = this.guessedName(guess);
      let name: string;
      if (guessed !== -1) {
        name = RECORD_GUESSES[guessed] as string;
        guess = guessed + 1;
      } else {
        name = this.string();
        // Once a name was not guessed, a later guess may repeat it: check every name.
        checked = true;
        if (record && this.at - nameAt === name.length + 2) guess = addGuess(name, guess);
      }
      if (checked && object[name] !== undefined && Object.hasOwn(object, name)) {
        throw new JsonSyntaxError(
          nameAt,
          `duplicate member name ${JSON.stringify(name)} in this object`,
        );
      }
      if (this.skip() !== 0x3a)
        throw new JsonSyntaxError(this.at, this.unexpected(': after the member name'));
      this.at++;
      const value = this.value(depth, this.starts === undefined ? path : path + pathStep(name));
      if (name === '__proto__') {
        Object.defineProperty(object, name, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        object[name] = value;
      }
      code = this.skip();
      if (code === 0x2c) {
        this.at++;
        code = this.skip();
        continue;
      }
      if (code === 0x7d) {
        this.at++;
        return object;
      }
      if (Number.isNaN(code)) {
        throw new JsonSyntaxError(open, 'an object that is never closed (missing })');
      }
      throw new JsonSyntaxError(this.at, this.unexpected(', or } after the member'));
    }
  }

  /**
   * Where in RECORD_GUESSES (from `from` on) the member name at the cursor is, when it
   * is there: the text between its quotes is the name (guesses hold no quote or
   * backslash), and the cursor moves past it. -1 (cursor unmoved) otherwise.
   */
  private guessedName(from: number): number {
    const { text } = this;
    const start = this.at + 1;
    for (let index = from; index < RECORD_GUESSES.length; index++) {
      const name = RECORD_GUESSES[index] as string;
      if (text.charCodeAt(start + name.length) === QUOTE && text.startsWith(name, start)) {
        this.at = start + name.length + 1;
        return index;
      }
    }
    return -1;
  }

  private array(depth: number, path: string): JsonValue[] {
    if (depth > MAX_JSON_DEPTH) {
      throw new JsonSyntaxError(this.at, `nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    const open = this.at++;
    const array: JsonValue[] = [];
    let code = this.skip();
    if (code === 0x5d) {
      this.at++;
      return array;
    }
    for (;;) {
      if (code === 0x5d) {
        throw new JsonSyntaxError(
          this.at,
          'a trailing comma before ] (remove the comma after the last element)',
        );
      }
      array.push(this.value(depth, this.starts === undefined ? path : `${path}[${array.length}]`));
      code = this.skip();
      if (code === 0x2c) {
        this.at++;
        code = this.skip();
        continue;
      }
      if (code === 0x5d) {
        this.at++;
        return array;
      }
      if (Number.isNaN(code)) {
        throw new JsonSyntaxError(open, 'an array that is never closed (missing ])');
      }
      throw new JsonSyntaxError(this.at, this.unexpected(', or ] after the element'));
    }
  }

  /** A string starting at the opening quote; returns its value. */
  private string(): string {
    const { text } = this;
    const open = this.at;
    const from = ++this.at;
    for (;;) {
      const code = text.charCodeAt(this.at);
      if (code === QUOTE) return text.slice(from, this.at++);
      if (code === BACKSLASH) return this.escapedString(open, from);
      if (code < 0x20 || Number.isNaN(code)) throw this.badStringCharacter(open, code);
      this.at++;
    }
  }

  /** The rest of a string holding an escape: built piece by piece. */
  private escapedString(open: number, from: number): string {
    const { text } = this;
    let value = text.slice(from, this.at);
    let piece = this.at;
    for (;;) {
      const code = text.charCodeAt(this.at);
      if (code === QUOTE) {
        value += text.slice(piece, this.at++);
        return value;
      }
      if (code < 0x20 || Number.isNaN(code)) throw this.badStringCharacter(open, code);
      if (code !== BACKSLASH) {
        this.at++;
        continue;
      }
      value += text.slice(piece, this.at);
      const escaped = text.charCodeAt(this.at + 1);
      const simple = SIMPLE_ESCAPES[String.fromCharCode(escaped)];
      if (simple !== undefined) {
        value += simple;
        this.at += 2;
      } else if (escaped === 0x75) {
        const unit = this.hex4(this.at);
        if (unit >= 0xdc00 && unit <= 0xdfff) throw this.loneSurrogate(this.at, unit);
        if (unit >= 0xd800 && unit <= 0xdbff) {
          const low =
            text.charCodeAt(this.at + 6) === BACKSLASH && text.charCodeAt(this.at + 7) === 0x75
              ? this.hex4(this.at + 6)
              : -1;
          if (low < 0xdc00 || low > 0xdfff) throw this.loneSurrogate(this.at, unit);
          value += String.fromCharCode(unit, low);
          this.at += 12;
        } else {
          value += String.fromCharCode(unit);
          this.at += 6;
        }
      } else {
        throw new JsonSyntaxError(
          this.at,
          Number.isNaN(escaped)
            ? 'a string that is never closed (missing closing ")'
            : `an invalid escape \\${String.fromCodePoint(text.codePointAt(this.at + 1) ?? 0)} in a string (valid: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)`,
        );
      }
      piece = this.at;
    }
  }

  /** The value of the four hex digits after `\u` at `at`. */
  private hex4(at: number): number {
    const digits = this.text.slice(at + 2, at + 6);
    if (!/^[0-9A-Fa-f]{4}$/.test(digits)) {
      throw new JsonSyntaxError(at, 'an invalid \\u escape: four hex digits must follow \\u');
    }
    return Number.parseInt(digits, 16);
  }

  private loneSurrogate(at: number, unit: number): JsonSyntaxError {
    return new JsonSyntaxError(
      at,
      `an unpaired surrogate \\u${unit.toString(16).padStart(4, '0')} in a string: it is not a character (escape a character outside the BMP as a surrogate pair, or write it as UTF-8)`,
    );
  }

  private badStringCharacter(open: number, code: number): JsonSyntaxError {
    if (Number.isNaN(code) || code === 0x0a || code === 0x0d) {
      return new JsonSyntaxError(
        open,
        `a string that is never closed (missing closing " before the ${Number.isNaN(code) ? 'end of the record' : 'end of the line'})`,
      );
    }
    return new JsonSyntaxError(
      this.at,
      `a control character U+${code.toString(16).toUpperCase().padStart(4, '0')} inside a string (write it as an escape such as \\t or \\u00XX)`,
    );
  }

  /** A number per the JSON grammar `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`, kept as its text. */
  private number(): JsonNumber {
    const { text } = this;
    const from = this.at;
    let code = text.charCodeAt(this.at);
    if (code === 0x2d) code = text.charCodeAt(++this.at);
    if (code === 0x30) {
      code = text.charCodeAt(++this.at);
      if (code >= 0x30 && code <= 0x39) {
        throw new JsonSyntaxError(
          from,
          'a number with a leading zero (JSON numbers cannot start with 0 unless they are 0 or 0.x)',
        );
      }
    } else if (code >= 0x31 && code <= 0x39) {
      do code = text.charCodeAt(++this.at);
      while (code >= 0x30 && code <= 0x39);
    } else {
      throw new JsonSyntaxError(from, 'a - not followed by digits');
    }
    if (code === 0x2e) {
      const fraction = ++this.at;
      code = text.charCodeAt(this.at);
      while (code >= 0x30 && code <= 0x39) code = text.charCodeAt(++this.at);
      if (this.at === fraction)
        throw new JsonSyntaxError(
          from,
          'a number ending in "." (digits must follow the decimal point)',
        );
    }
    if (code === 0x65 || code === 0x45) {
      code = text.charCodeAt(++this.at);
      if (code === 0x2b || code === 0x2d) code = text.charCodeAt(++this.at);
      const exponent = this.at;
      while (code >= 0x30 && code <= 0x39) code = text.charCodeAt(++this.at);
      if (this.at === exponent)
        throw new JsonSyntaxError(from, 'a number with an exponent but no exponent digits');
    }
    return new JsonNumber(text.slice(from, this.at));
  }

  private word<V>(word: string, value: V): V {
    if (!this.text.startsWith(word, this.at))
      throw new JsonSyntaxError(this.at, this.unexpected('a value'));
    this.at += word.length;
    return value;
  }

  /** `expected X, found Y` for the character at the cursor. */
  private unexpected(expected: string): string {
    const code = this.text.charCodeAt(this.at);
    if (Number.isNaN(code)) return `expected ${expected}, found the end of the record`;
    if (code === 0xfeff) {
      return 'a byte order mark (U+FEFF) in the middle of the file: only the very start of a file may hold one';
    }
    const hint =
      code === 0x27
        ? ' (JSON strings use double quotes)'
        : code === 0x2f
          ? ' (JSON has no comments)'
          : '';
    return `expected ${expected}, found ${this.shown()}${hint}`;
  }

  /** The text at the cursor, for messages: a word or one character, quoted. */
  private shown(): string {
    const rest = this.text.slice(this.at, this.at + 12);
    const word = /^[A-Za-z0-9_+.-]+/.exec(rest)?.[0];
    const shown = word ?? String.fromCodePoint(this.text.codePointAt(this.at) ?? 0);
    return JSON.stringify(shown);
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};
