import { useMemo } from 'preact/hooks';
import { type MapProgress, STATE_STATUSES, type StateStatus } from '../model.js';
import { END, edgePath, type GraphNode, layoutDefinition, START } from './asl-graph.js';
import { statusLabel } from './format.js';

/**
 * The workflow graph of the definition, every state coloured by its status in
 * this execution; the Map's box shows its iterations. Clicking (or Enter on) a
 * state selects it.
 */
export function WorkflowGraph({
  definition,
  states,
  map,
  selected,
  onSelect,
}: {
  definition: string;
  states: Readonly<Record<string, StateStatus>>;
  map?: MapProgress;
  selected?: string;
  onSelect: (state: string) => void;
}) {
  const layout = useMemo(() => layoutDefinition(JSON.parse(definition)), [definition]);
  const order = (node: GraphNode) => (node.type === 'Map' ? 0 : 1);
  const nodes = [...layout.nodes].sort((a, b) => order(a) - order(b));
  return (
    <div class="graph">
      <svg
        class="graph-svg"
        viewBox={`0 0 ${Math.ceil(layout.width)} ${Math.ceil(layout.height)}`}
        width={Math.ceil(layout.width)}
        height={Math.ceil(layout.height)}
        role="img"
        aria-label="Workflow graph"
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head" />
          </marker>
        </defs>
        {nodes
          .filter((node) => node.type === 'Map')
          .map((node) => (
            <MapBox
              key={node.id}
              node={node}
              status={states[node.id] ?? 'NOT_STARTED'}
              map={map?.state === node.id ? map : undefined}
              selected={selected === node.id}
              onSelect={onSelect}
            />
          ))}
        {layout.edges.map((edge, index) => (
          <g
            key={`${edge.from}-${edge.to}-${index}`}
            class={`edge edge-${edge.kind}`}
            data-from={edge.from}
            data-to={edge.to}
            data-kind={edge.kind}
          >
            <path d={edgePath(edge.points)} marker-end="url(#arrow)" />
            {edge.label && edge.labelAt ? (
              <text
                x={edge.labelAt.x}
                y={edge.labelAt.y + 4}
                text-anchor="middle"
                class="edge-label"
              >
                {edge.label}
              </text>
            ) : null}
          </g>
        ))}
        {nodes
          .filter((node) => node.type !== 'Map')
          .map((node) =>
            node.id === START || node.id === END ? (
              <g key={node.id} class="marker" data-marker={node.label}>
                <rect
                  x={node.x - node.width / 2}
                  y={node.y - node.height / 2}
                  width={node.width}
                  height={node.height}
                  rx={node.height / 2}
                />
                <text x={node.x} y={node.y + 4} text-anchor="middle">
                  {node.label}
                </text>
              </g>
            ) : (
              <StateNode
                key={node.id}
                node={node}
                status={states[node.id] ?? 'NOT_STARTED'}
                selected={selected === node.id}
                onSelect={onSelect}
              />
            ),
          )}
      </svg>
      <Legend />
    </div>
  );
}

function StateNode({
  node,
  status,
  selected,
  onSelect,
}: {
  node: GraphNode;
  status: StateStatus;
  selected: boolean;
  onSelect: (state: string) => void;
}) {
  return (
    // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>
    <g
      class={`state status-${status}${selected ? ' selected' : ''}`}
      data-state={node.id}
      data-status={status}
      data-type={node.type}
      tabIndex={0}
      role="button"
      aria-label={`${node.id} (${node.type}): ${statusLabel(status)}`}
      onClick={() => onSelect(node.id)}
      onKeyDown={(event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onSelect(node.id);
        }
      }}
    >
      <title>{`${node.id} · ${node.type} · ${statusLabel(status)}`}</title>
      <rect
        class="state-box"
        x={node.x - node.width / 2}
        y={node.y - node.height / 2}
        width={node.width}
        height={node.height}
        rx={6}
      />
      <text x={node.x} y={node.y + 4} text-anchor="middle" class="state-label">
        {node.label}
      </text>
    </g>
  );
}

function MapBox({
  node,
  status,
  map,
  selected,
  onSelect,
}: {
  node: GraphNode;
  status: StateStatus;
  map?: MapProgress;
  selected: boolean;
  onSelect: (state: string) => void;
}) {
  const left = node.x - node.width / 2;
  const top = node.y - node.height / 2;
  const barWidth = node.width - 24;
  const total = map?.total ?? 0;
  const part = (value: number) => (total === 0 ? 0 : (value / total) * barWidth);
  return (
    // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>
    <g
      class={`state map status-${status}${selected ? ' selected' : ''}`}
      data-state={node.id}
      data-status={status}
      data-type="Map"
      tabIndex={0}
      role="button"
      aria-label={`${node.id} (Map): ${statusLabel(status)}`}
      onClick={(event) => {
        if ((event.target as Element).closest('[data-type]') === event.currentTarget)
          onSelect(node.id);
      }}
      onKeyDown={(event) => {
        if (event.target === event.currentTarget && (event.key === 'Enter' || event.key === ' ')) {
          event.preventDefault();
          onSelect(node.id);
        }
      }}
    >
      <rect
        class="state-box map-box"
        x={left}
        y={top}
        width={node.width}
        height={node.height}
        rx={8}
      />
      <text x={left + 12} y={top + 17} class="state-label map-title">
        {node.label}
        <tspan class="map-type"> · Map</tspan>
      </text>
      <g class="map-progress" data-map-progress="">
        <rect class="map-bar" x={left + 12} y={top + 25} width={barWidth} height={5} rx={2.5} />
        <rect
          class="map-bar-done"
          x={left + 12}
          y={top + 25}
          width={part(map?.done ?? 0)}
          height={5}
          rx={2.5}
        />
        <rect
          class="map-bar-running"
          x={left + 12 + part(map?.done ?? 0)}
          y={top + 25}
          width={part(map?.running ?? 0)}
          height={5}
        />
        <rect
          class="map-bar-failed"
          x={left + 12 + part((map?.done ?? 0) + (map?.running ?? 0))}
          y={top + 25}
          width={part(map?.failed ?? 0)}
          height={5}
        />
        <text x={left + 12} y={top + 41} class="map-counts" data-testid="map-counts">
          {map
            ? `${map.done}/${map.total ?? '?'} done · ${map.running} running · ${map.failed} failed · ${map.retried} retried`
            : 'not started'}
        </text>
      </g>
    </g>
  );
}

/** What each colour means (the swatches use the same classes as the states). */
export function Legend() {
  return (
    <ul class="legend" aria-label="Legend">
      {STATE_STATUSES.map((status) => (
        <li key={status} data-legend={status}>
          <svg width="14" height="14" aria-hidden="true">
            <rect
              class={`state-box swatch status-${status}`}
              x="1"
              y="1"
              width="12"
              height="12"
              rx="3"
            />
          </svg>
          {statusLabel(status)}
        </li>
      ))}
    </ul>
  );
}
