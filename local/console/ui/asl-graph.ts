import { type EdgeLabel, Graph, type GraphLabel, layout, type NodeLabel } from '@dagrejs/dagre';

// The workflow graph of an Amazon States Language definition: one node per state
// (the states of a Map's ItemProcessor inside the Map's box), an edge per
// transition (Next, Choice rules, Default, Catch), Start and End, laid out with
// dagre. Pure: no DOM, so it is tested on its own and runs in the page.

/** What kind of transition an edge is. */
export type EdgeKind = 'next' | 'catch' | 'choice' | 'default';

/** A state (or the Start and End markers) placed on the canvas. */
export interface GraphNode {
  /** The state name; `Start` and `End` markers use the ids START and END. */
  readonly id: string;
  readonly label: string;
  /** The state's Type, or `Start` / `End`. */
  readonly type: string;
  /** The Map state whose box holds this state. */
  readonly parent?: string;
  /** Centre of the node and its size, in canvas coordinates. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A transition, with the points of its route. */
export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
  /** For Catch: the error names; for Choice rules: `rule N`. */
  readonly label?: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
  /** Where the label goes. */
  readonly labelAt?: { readonly x: number; readonly y: number };
}

/** The laid-out graph. */
export interface GraphLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

/** Node ids of the markers (no state may be named like them: they have spaces). */
export const START = 'Start marker';
export const END = 'End marker';

/** Sizes, in CSS pixels. */
const NODE_HEIGHT = 34;
const CHAR_WIDTH = 7.4;
const NODE_PADDING = 28;
const MAP_HEADER = 46;
const MAP_PADDING = 18;
/** Room for the Map's progress line (done · running · failed · retried). */
const MAP_MIN_WIDTH = 300;
const LABEL_HEIGHT = 14;

type Json = Record<string, unknown>;

interface Scope {
  readonly states: Json;
  readonly startAt: string;
  readonly parent?: string;
}

interface Placed {
  readonly width: number;
  readonly height: number;
  readonly nodes: GraphNode[];
  readonly edges: GraphEdge[];
}

/**
 * Lays out a state machine definition (the parsed ASL). Throws when it is not a
 * definition (no States or no StartAt), naming what is missing.
 */
export function layoutDefinition(definition: unknown): GraphLayout {
  if (!isObject(definition) || !isObject(definition.States)) {
    throw new Error('not a state machine definition: it has no "States" object');
  }
  if (typeof definition.StartAt !== 'string') {
    throw new Error('not a state machine definition: it has no "StartAt" state name');
  }
  const placed = placeScope({ states: definition.States, startAt: definition.StartAt }, true);
  return { width: placed.width, height: placed.height, nodes: placed.nodes, edges: placed.edges };
}

/** Width a node needs for its label. */
export function nodeWidth(label: string): number {
  return Math.max(96, Math.ceil(label.length * CHAR_WIDTH) + NODE_PADDING);
}

/** Lays out one scope (the machine, or a Map's body); inner scopes first, as boxes. */
function placeScope(scope: Scope, markers: boolean): Placed {
  const graph = new Graph<GraphLabel, NodeLabel, EdgeLabel>({ multigraph: true });
  graph.setGraph({ rankdir: 'TB', nodesep: 28, ranksep: 38, edgesep: 14, marginx: 8, marginy: 8 });
  graph.setDefaultEdgeLabel(() => ({}));
  const inner = new Map<string, Placed>();
  const types = new Map<string, string>();

  if (markers) {
    graph.setNode(START, { width: 72, height: 26 });
    graph.setNode(END, { width: 72, height: 26 });
    types.set(START, 'Start');
    types.set(END, 'End');
  }
  for (const [name, raw] of Object.entries(scope.states)) {
    const state = isObject(raw) ? raw : {};
    const type = String(state.Type ?? 'Unknown');
    types.set(name, type);
    const body = isObject(state.ItemProcessor)
      ? state.ItemProcessor
      : isObject(state.Iterator)
        ? state.Iterator
        : undefined;
    if (type === 'Map' && body && isObject(body.States) && typeof body.StartAt === 'string') {
      const placedBody = placeScope(
        { states: body.States, startAt: body.StartAt, parent: name },
        false,
      );
      inner.set(name, placedBody);
      graph.setNode(name, {
        width: Math.max(placedBody.width + 2 * MAP_PADDING, nodeWidth(name) + 120, MAP_MIN_WIDTH),
        height: placedBody.height + MAP_HEADER + MAP_PADDING,
      });
    } else {
      graph.setNode(name, { width: nodeWidth(name), height: NODE_HEIGHT });
    }
  }

  const edges: Array<{ from: string; to: string; kind: EdgeKind; label?: string }> = [];
  if (markers) edges.push({ from: START, to: scope.startAt, kind: 'next' });
  for (const [name, raw] of Object.entries(scope.states)) {
    const state = isObject(raw) ? raw : {};
    if (typeof state.Next === 'string') edges.push({ from: name, to: state.Next, kind: 'next' });
    if (Array.isArray(state.Choices)) {
      state.Choices.forEach((choice, index) => {
        if (isObject(choice) && typeof choice.Next === 'string')
          edges.push({ from: name, to: choice.Next, kind: 'choice', label: `rule ${index + 1}` });
      });
    }
    if (typeof state.Default === 'string')
      edges.push({ from: name, to: state.Default, kind: 'default', label: 'default' });
    if (Array.isArray(state.Catch)) {
      for (const entry of state.Catch) {
        if (!isObject(entry) || typeof entry.Next !== 'string') continue;
        const errors = Array.isArray(entry.ErrorEquals) ? entry.ErrorEquals.join(', ') : '';
        edges.push({ from: name, to: entry.Next, kind: 'catch', label: errors || 'catch' });
      }
    }
    const terminal = state.End === true || state.Type === 'Succeed' || state.Type === 'Fail';
    if (markers && terminal) edges.push({ from: name, to: END, kind: 'next' });
  }
  edges.forEach((edge, index) => {
    if (!graph.hasNode(edge.to)) return; // a Next to a missing state: drawn as nothing
    graph.setEdge(
      edge.from,
      edge.to,
      edge.label
        ? {
            width: nodeWidth(edge.label) - NODE_PADDING,
            height: LABEL_HEIGHT,
            labelpos: 'c',
            // Catch paths are the exception: let the main path run straight.
            weight: edge.kind === 'catch' ? 1 : 2,
          }
        : { weight: 2 },
      String(index),
    );
  });

  layout(graph);

  const nodes: GraphNode[] = [];
  const placedEdges: GraphEdge[] = [];
  for (const id of graph.nodes()) {
    const label = graph.node(id);
    const node: GraphNode = {
      id,
      label: id === START ? 'Start' : id === END ? 'End' : id,
      type: types.get(id) ?? 'Unknown',
      ...(scope.parent === undefined ? {} : { parent: scope.parent }),
      x: label.x ?? 0,
      y: label.y ?? 0,
      width: label.width,
      height: label.height,
    };
    nodes.push(node);
    const body = inner.get(id);
    if (body) {
      // The body's own origin is its top left: move it into the box, under the header.
      const left = node.x - node.width / 2 + (node.width - body.width) / 2;
      const top = node.y - node.height / 2 + MAP_HEADER;
      for (const child of body.nodes) nodes.push({ ...child, x: child.x + left, y: child.y + top });
      for (const edge of body.edges) placedEdges.push(shift(edge, left, top));
    }
  }
  for (const ref of graph.edges()) {
    const label = graph.edge(ref);
    const spec = edges[Number(ref.name)];
    if (!spec) continue;
    placedEdges.push({
      from: spec.from,
      to: spec.to,
      kind: spec.kind,
      ...(spec.label === undefined ? {} : { label: spec.label }),
      points: ((label.points ?? []) as { x: number; y: number }[]).map(({ x, y }) => ({ x, y })),
      ...(spec.label !== undefined && label.x !== undefined && label.y !== undefined
        ? { labelAt: { x: label.x, y: label.y } }
        : {}),
    });
  }
  const size = graph.graph();
  return { width: size.width ?? 0, height: size.height ?? 0, nodes, edges: placedEdges };
}

function shift(edge: GraphEdge, dx: number, dy: number): GraphEdge {
  return {
    ...edge,
    points: edge.points.map((point) => ({ x: point.x + dx, y: point.y + dy })),
    ...(edge.labelAt ? { labelAt: { x: edge.labelAt.x + dx, y: edge.labelAt.y + dy } } : {}),
  };
}

/** An SVG path through the points, rounded at the bends. */
export function edgePath(points: readonly { readonly x: number; readonly y: number }[]): string {
  const [first, ...rest] = points;
  if (!first) return '';
  if (rest.length === 0) return `M${first.x},${first.y}`;
  let path = `M${round(first.x)},${round(first.y)}`;
  for (let index = 0; index < rest.length; index += 1) {
    const point = rest[index] as { x: number; y: number };
    const after = rest[index + 1];
    if (!after) {
      path += ` L${round(point.x)},${round(point.y)}`;
      break;
    }
    // A quadratic curve through the bend, between the midpoints of its two segments.
    const mid = { x: (point.x + after.x) / 2, y: (point.y + after.y) / 2 };
    path += ` Q${round(point.x)},${round(point.y)} ${round(mid.x)},${round(mid.y)}`;
  }
  return path;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
