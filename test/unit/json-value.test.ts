import {
  describeJsonValue,
  JsonNumber,
  JsonSyntaxError,
  type JsonValue,
  parseJson,
} from '../../handlers/shared/json-value.js';

/** The value with every JsonNumber as a JavaScript number: what JSON.parse returns. */
function asParsed(value: JsonValue): unknown {
  if (value instanceof JsonNumber) return Number(value.text);
  if (Array.isArray(value)) return value.map(asParsed);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([name, inner]) => [name, asParsed(inner)]),
    );
  }
  return value;
}

function syntaxError(text: string): { offset: number; reason: string } {
  try {
    parseJson(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return { offset: error.offset, reason: error.reason };
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

/** A small seeded generator (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NUMBERS = [
  '0',
  '-0',
  '7',
  '-12',
  '3.25',
  '0.1',
  '1e3',
  '1E-7',
  '2.5e+10',
  '12345678901234567890',
  '-0.000001',
];
const STRINGS = [
  '',
  'a',
  'é',
  '日本',
  '\u{1F600}',
  'q"uote',
  'back\\slash',
  'tab\t',
  'line\nfeed',
  '\u0001',
  '/',
];

/** A random JSON text (objects without duplicate names), with random whitespace. */
function generate(next: () => number, depth = 0): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const space = () => pick(['', '', ' ', '\n', '\t', ' \r\n ']);
  const kind = depth > 3 ? Math.floor(next() * 4) : Math.floor(next() * 6);
  const text = (() => {
    switch (kind) {
      case 0:
        return pick(NUMBERS);
      case 1: {
        const value = pick(STRINGS);
        // Sometimes every character escaped as \uXXXX, which JSON.parse must read the same.
        return next() < 0.2
          ? `"${Array.from({ length: value.length }, (_, at) => `\\u${value.charCodeAt(at).toString(16).padStart(4, '0')}`).join('')}"`
          : JSON.stringify(value);
      }
      case 2:
        return pick(['true', 'false', 'null']);
      case 3:
        return JSON.stringify(pick(STRINGS));
      case 4: {
        const count = Math.floor(next() * 4);
        return `[${Array.from({ length: count }, () => space() + generate(next, depth + 1) + space()).join(',')}]`;
      }
      default: {
        const count = Math.floor(next() * 4);
        const members = Array.from(
          { length: count },
          (_, index) =>
            `${space()}${JSON.stringify(`${pick(STRINGS)}${index}`)}${space()}:${generate(next, depth + 1)}`,
        );
        return `{${members.join(',')}${space()}}`;
      }
    }
  })();
  return space() + text + space();
}

describe('parseJson', () => {
  it('keeps numbers as their exact source text', () => {
    const value = parseJson('{"id": 12345678901234567890, "price": 0.1, "big": 1E+400, "neg": -0}');
    expect(value).toEqual({
      id: new JsonNumber('12345678901234567890'),
      price: new JsonNumber('0.1'),
      big: new JsonNumber('1E+400'),
      neg: new JsonNumber('-0'),
    });
  });

  it('reads escapes, surrogate pairs and a __proto__ member as data', () => {
    const value = parseJson('{"a":"\\u00e9\\ud83d\\ude00\\n\\/","__proto__":{"x":1}}') as Record<
      string,
      JsonValue
    >;
    expect(value.a).toBe('é\u{1F600}\n/');
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['a', '__proto__']);
  });

  it.each([
    ['{"a":1,}', 7, 'a trailing comma before } (remove the comma after the last member)'],
    ['[1,2,]', 5, 'a trailing comma before ] (remove the comma after the last element)'],
    [
      '{"a":"abc',
      5,
      'a string that is never closed (missing closing " before the end of the record)',
    ],
    [
      '{"a":1} {"b":2}',
      8,
      'a second JSON value or other text ("{") after the end of the value: one value only',
    ],
    [
      '{"a":1}\ufeff',
      7,
      'a byte order mark (U+FEFF) after the value: only the very start of a file may hold one',
    ],
    [
      '{"a":\ufeff1}',
      5,
      'a byte order mark (U+FEFF) in the middle of the file: only the very start of a file may hold one',
    ],
    ['{"a":1,"a":2}', 7, 'duplicate member name "a" in this object'],
    [
      '{"a":01}',
      5,
      'a number with a leading zero (JSON numbers cannot start with 0 unless they are 0 or 0.x)',
    ],
    ['{"a":1.}', 5, 'a number ending in "." (digits must follow the decimal point)'],
    ['{"a":1e}', 5, 'a number with an exponent but no exponent digits'],
    ['{"a":-}', 5, 'a - not followed by digits'],
    [
      "{'a':1}",
      1,
      'expected a member name in double quotes, found "\'" (JSON strings use double quotes)',
    ],
    ['{"a":NaN}', 5, 'expected a value, found "NaN"'],
    ['{"a":1 // note\n}', 7, 'expected , or } after the member, found "/" (JSON has no comments)'],
    ['{"a" 1}', 5, 'expected : after the member name, found "1"'],
    [
      '{"a":"\\x"}',
      6,
      'an invalid escape \\x in a string (valid: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)',
    ],
    ['{"a":"\\u12"}', 6, 'an invalid \\u escape: four hex digits must follow \\u'],
    [
      '{"a":"\\ud800"}',
      6,
      'an unpaired surrogate \\ud800 in a string: it is not a character (escape a character outside the BMP as a surrogate pair, or write it as UTF-8)',
    ],
    [
      '{"a":"tab\there"}',
      9,
      'a control character U+0009 inside a string (write it as an escape such as \\t or \\u00XX)',
    ],
    ['{"a":[1,2}', 9, 'expected , or ] after the element, found "}"'],
    ['{"a":1', 0, 'an object that is never closed (missing })'],
    ['', 0, 'expected a value, found the end of the record'],
  ])('refuses %j at offset %i: %s', (text, offset, reason) => {
    expect(syntaxError(text)).toEqual({ offset, reason });
  });

  it('refuses nesting deeper than 64 levels', () => {
    expect(syntaxError(`${'['.repeat(65)}${']'.repeat(65)}`).reason).toBe(
      'nested deeper than 64 levels',
    );
  });

  it('records where each value starts when asked', () => {
    const starts = new Map<string, number>();
    parseJson('{"a": [1, {"b c": true}], "d": null}', starts);
    expect(Object.fromEntries(starts)).toEqual({
      $: 0,
      '$.a': 6,
      '$.a[0]': 7,
      '$.a[1]': 10,
      '$.a[1]["b c"]': 18,
      '$.d': 31,
    });
  });

  it.each([
    [null, 'null'],
    ['x', 'a string'],
    [true, 'a boolean'],
    [new JsonNumber('1'), 'a number'],
    [[], 'an array'],
    [{}, 'an object'],
  ] as const)('describes %j as %s', (value, description) => {
    expect(describeJsonValue(value as JsonValue)).toBe(description);
  });
});

describe('parseJson against JSON.parse (differential)', () => {
  it('returns what JSON.parse returns for 3000 generated texts', () => {
    const next = random(14);
    for (let run = 0; run < 3000; run++) {
      const text = generate(next);
      expect({ text, value: asParsed(parseJson(text)) }).toEqual({ text, value: JSON.parse(text) });
    }
  });

  it('accepts and refuses exactly as JSON.parse does for 5000 texts with one character changed', () => {
    const next = random(41);
    const alphabet = [
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '\\',
      '0',
      '1',
      '-',
      '.',
      'e',
      ' ',
      '\n',
      'u',
      'x',
      't',
      'n',
      '\ufeff',
    ];
    let refused = 0;
    for (let run = 0; run < 5000; run++) {
      const original = generate(next);
      const at = Math.floor(next() * (original.length + 1));
      const change = Math.floor(next() * 3);
      const character = alphabet[Math.floor(next() * alphabet.length)] ?? '';
      const text =
        change === 0
          ? original.slice(0, at) + original.slice(at + 1)
          : change === 1
            ? original.slice(0, at) + character + original.slice(at)
            : original.slice(0, at) + character + original.slice(at + 1);
      let expected: unknown;
      let nativeOk = true;
      try {
        expected = JSON.parse(text);
      } catch {
        nativeOk = false;
      }
      let ours: unknown;
      let oursOk = true;
      let reason = '';
      try {
        ours = asParsed(parseJson(text));
      } catch (error) {
        if (!(error instanceof JsonSyntaxError)) throw error;
        oursOk = false;
        reason = error.reason;
      }
      if (nativeOk && !oursOk) {
        // The two refusals JSON.parse does not make (see json-value.ts).
        expect({ text, reason }).toEqual({
          text,
          reason: expect.stringMatching(/^(duplicate member name|an unpaired surrogate)/),
        });
      } else {
        expect({ text, oursOk }).toEqual({ text, oursOk: nativeOk });
        if (oursOk) expect({ text, ours }).toEqual({ text, ours: expected });
      }
      if (!oursOk) refused++;
    }
    // The changes break most texts: the comparison covers refusals, not only acceptance.
    expect(refused).toBeGreaterThan(1000);
  });
});

describe('parseJson over a run of records (names guessed from the records before)', () => {
  /** Member names that make guesses hit, miss, overlap as prefixes and repeat. */
  const NAMES = ['a', 'ab', 'b', 'price', '__proto__', '', 'é', 'q"uote', 'back\\slash'];

  /** A record's text from its members, and the offset of its first repeated name, if any. */
  function record(
    members: readonly (readonly [string, string])[],
    escaped: (at: number) => boolean,
  ) {
    let text = '{';
    let duplicateAt: number | undefined;
    const seen = new Set<string>();
    members.forEach(([name, value], index) => {
      if (index > 0) text += ',';
      if (seen.has(name)) duplicateAt ??= text.length;
      seen.add(name);
      // The same name spelled with \u escapes: a guess must not take it as another name.
      const spelled = escaped(index)
        ? `"${Array.from(name, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
        : JSON.stringify(name);
      text += `${spelled}:${value}`;
    });
    return { text: `${text}}`, duplicateAt };
  }

  it('parses 20000 records of varying member lists as a lone parse would, refusing each duplicate at its place', () => {
    const next = random(16);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    const shapes = Array.from({ length: 6 }, () =>
      Array.from({ length: 1 + Math.floor(next() * 6) }, () => pick(NAMES)),
    );
    let duplicates = 0;
    for (let run = 0; run < 20000; run++) {
      // Mostly a known shape (the guesses hit), sometimes with a member left out or repeated.
      const names = [...pick(shapes)];
      const change = next();
      if (change < 0.15) names.splice(Math.floor(next() * names.length), 1);
      else if (change < 0.3) names.push(pick(names.length > 0 ? names : NAMES));
      const members = names.map(
        (name) => [name, pick(['1', '"x"', 'null', '[2]', '{"a":3}'])] as const,
      );
      const { text, duplicateAt } = record(members, () => next() < 0.05);
      if (duplicateAt === undefined) {
        expect({ text, value: asParsed(parseJson(text)) }).toEqual({
          text,
          value: JSON.parse(text),
        });
      } else {
        duplicates++;
        expect({ text, error: syntaxError(text) }).toEqual({
          text,
          error: { offset: duplicateAt, reason: expect.stringMatching(/^duplicate member name /) },
        });
      }
    }
    expect(duplicates).toBeGreaterThan(1000);
  });

  it('refuses a repeated name that a guess would take when an earlier name was not guessed', () => {
    parseJson('{"a":1,"b":2,"c":3,"s":4}');
    expect(syntaxError('{"s":1,"a":2,"b":3,"c":4,"s":5}')).toEqual({
      offset: 25,
      reason: 'duplicate member name "s" in this object',
    });
  });

  it.each([
    ['{"q\\"uote":1}', '{"q"uote":1}', 4, 'expected : after the member name, found "uote"'],
    [
      '{"back\\\\slash":1}',
      '{"back\\slash":1}',
      6,
      'an invalid escape \\s in a string (valid: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)',
    ],
  ])(
    'after %s, refuses %s (a name with escapes is never guessed)',
    (before, text, offset, reason) => {
      parseJson(before);
      expect(syntaxError(text)).toEqual({ offset, reason });
    },
  );
});
