import { ChromiumMissingError, launchChromium } from '../../local/console/chromium.js';
import { checkKey } from '../../local/console/objects.js';
import { recordsPath } from '../../local/console/records.js';
import {
  END,
  edgePath,
  type GraphNode,
  layoutDefinition,
  START,
} from '../../local/console/ui/asl-graph.js';
import { statesOf } from '../../local/console/views.js';
import { loadDefinition } from '../support/workflow-definition.js';

// The console's graph is laid out from the ASL file itself, by dagre.
const definition = loadDefinition();
const layout = layoutDefinition(definition);
const byId = new Map(layout.nodes.map((node) => [node.id, node]));

function box(node: GraphNode) {
  return {
    left: node.x - node.width / 2,
    right: node.x + node.width / 2,
    top: node.y - node.height / 2,
    bottom: node.y + node.height / 2,
  };
}

describe('console graph: layoutDefinition', () => {
  it('draws one node per state of the definition (the Map body included) plus Start and End', () => {
    expect(layout.nodes.map((node) => node.id).sort()).toEqual(
      [...statesOf(definition).keys(), START, END].sort(),
    );
  });

  it('puts the Map body inside the Map box', () => {
    const map = byId.get('LoadChunks');
    const inner = byId.get('LoadChunk');
    expect(inner?.parent).toBe('LoadChunks');
    if (!map || !inner) throw new Error('missing nodes');
    const outer = box(map);
    const child = box(inner);
    expect(child.left).toBeGreaterThan(outer.left);
    expect(child.right).toBeLessThan(outer.right);
    expect(child.top).toBeGreaterThan(outer.top);
    expect(child.bottom).toBeLessThan(outer.bottom);
  });

  it('lets no two top-level nodes overlap', () => {
    const top = layout.nodes.filter((node) => node.parent === undefined).map(box);
    for (const [index, a] of top.entries()) {
      for (const b of top.slice(index + 1)) {
        const apart =
          a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
        expect(apart).toBe(true);
      }
    }
  });

  it('draws every transition: Next, Catch (with its errors), Start and End', () => {
    const edges = layout.edges.map((edge) => [edge.from, edge.to, edge.kind, edge.label ?? '']);
    expect([...edges].sort()).toEqual(
      [
        [START, 'Configure', 'next', ''],
        ['Configure', 'PlanFile', 'next', ''],
        ['PlanFile', 'LoadChunks', 'next', ''],
        ['PlanFile', 'PlanFileFailed', 'catch', 'States.ALL'],
        ['LoadChunks', 'Summarize', 'next', ''],
        ['LoadChunks', 'LoadChunksFailed', 'catch', 'States.ALL'],
        ['Summarize', 'Succeeded', 'next', ''],
        ['Succeeded', END, 'next', ''],
        ['PlanFileFailed', 'BuildFailureRecord', 'next', ''],
        ['LoadChunksFailed', 'BuildFailureRecord', 'next', ''],
        ['BuildFailureRecord', 'SendToDeadLetterQueue', 'next', ''],
        ['BuildFailureRecord', 'FailureRecordLost', 'catch', 'States.ALL'],
        ['SendToDeadLetterQueue', 'Failed', 'next', ''],
        ['SendToDeadLetterQueue', 'FailureRecordLost', 'catch', 'States.ALL'],
        ['Failed', END, 'next', ''],
        ['FailureRecordLost', 'FailedWithoutRecord', 'next', ''],
        ['FailedWithoutRecord', END, 'next', ''],
      ].sort(),
    );
    for (const edge of layout.edges) expect(edge.points.length).toBeGreaterThanOrEqual(2);
  });

  it('draws Choice rules and the Default of a Choice state', () => {
    const choice = layoutDefinition({
      StartAt: 'Pick',
      States: {
        Pick: {
          Type: 'Choice',
          Choices: [{ Variable: '$.a', BooleanEquals: true, Next: 'Yes' }],
          Default: 'No',
        },
        Yes: { Type: 'Succeed' },
        No: { Type: 'Fail' },
      },
    });
    expect(choice.edges.map((edge) => [edge.from, edge.to, edge.kind, edge.label])).toEqual(
      expect.arrayContaining([
        ['Pick', 'Yes', 'choice', 'rule 1'],
        ['Pick', 'No', 'default', 'default'],
      ]),
    );
  });

  it.each([
    [null, 'no "States" object'],
    [{ States: {} }, 'no "StartAt" state name'],
  ])('throws for %j, saying what is missing', (input, message) => {
    expect(() => layoutDefinition(input)).toThrow(message);
  });

  it('rounds the bends of an edge path', () => {
    expect(
      edgePath([
        { x: 0, y: 0 },
        { x: 0, y: 10 },
        { x: 10, y: 10 },
      ]),
    ).toBe('M0,0 Q0,10 5,10 L10,10');
    expect(edgePath([])).toBe('');
  });
});

describe('console: object keys from the page', () => {
  it.each([
    ['books.csv', 'books.csv'],
    ['in/2026/books.csv', 'in/2026/books.csv'],
    ['Файл с пробелом.csv', 'Файл с пробелом.csv'],
  ])('accepts %s', (key, expected) => {
    expect(checkKey(key)).toBe(expected);
  });

  it.each([
    ['absent', null, 'missing'],
    ['empty', '', 'missing'],
    ['absolute', '/abs.csv', 'starts with "/"'],
    ['climbing', 'a/../b.csv', '".." segment'],
    ['with a line break', 'a\nb.csv', 'control character'],
    ['of 1025 bytes', 'x'.repeat(1025), 'over 1024 bytes'],
  ])('refuses a key that is %s', (_what, key, message) => {
    expect(() => checkKey(key)).toThrow(message);
  });
});

describe('console: records paths', () => {
  it.each([
    [{ key: '9781400395958' }, '/books/9781400395958'],
    [{ key: 'a/b c' }, '/books/a%2Fb%20c'],
    [{ limit: 25 }, '/books?limit=25'],
    [{ limit: 10, cursor: 'ey+J/=' }, '/books?limit=10&cursor=ey%2BJ%2F%3D'],
    [{}, '/books'],
  ])('sends %j as %s', (query, path) => {
    expect(recordsPath('books', query)).toBe(path);
  });
});

describe('console: Chromium', () => {
  it('fails with how to install it when the browser is missing', async () => {
    const launched = launchChromium({ executablePath: '/nonexistent/chromium' });
    await expect(launched).rejects.toThrow(ChromiumMissingError);
    await expect(launched).rejects.toThrow('apt-get install -y chromium');
  });
});
