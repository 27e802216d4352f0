import { jsonSyntaxErrorPosition } from '../../handlers/api/json-syntax.js';

describe('jsonSyntaxErrorPosition', () => {
  it.each([
    ['keys=1', 1, 1],
    ['{"a":tru}', 1, 9],
    ['{"keys":[1,\n  2', 2, 4],
    ['{"a":1,}', 1, 8],
    ['{"a" 1}', 1, 6],
    ['[1 2]', 1, 4],
    ['[1,]', 1, 4],
    ['{,}', 1, 2],
    ['[{"a":[1}]', 1, 9],
    ['{"a":"\u0001"}', 1, 7],
    ['{"a":01}', 1, 7],
    ['{"a":1}x', 1, 8],
    ['"abc', 1, 5],
    ['{"a":"\\x"}', 1, 7],
    ['\r\n\r\n  {]', 3, 4],
  ])('finds the error in %j at line %i, column %i', (text, line, column) => {
    expect(() => JSON.parse(text)).toThrow(SyntaxError);

    expect(jsonSyntaxErrorPosition(text)).toEqual({ line, column });
  });

  it.each(['{"keys":[1,"2",-3.5e+7,true,false,null,{"a":[]},"\\u00e9\\n"]}', ' [ ] ', '0'])(
    'returns undefined for the valid JSON %j',
    (text) => {
      expect(jsonSyntaxErrorPosition(text)).toBeUndefined();
    },
  );

  it('agrees with V8 wherever V8 reports a position', () => {
    const samples = ['{"a":1,}', '[1 2]', '{"a":01}', '{"a":1}x', '{"a" 1}'];
    for (const text of samples) {
      let message = '';
      try {
        JSON.parse(text);
      } catch (error) {
        message = (error as Error).message;
      }
      const [, line, column] = /line (\d+) column (\d+)/.exec(message) ?? [];
      expect(jsonSyntaxErrorPosition(text)).toEqual({ line: Number(line), column: Number(column) });
    }
  });
});
