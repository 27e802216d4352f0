import { readFile } from 'node:fs/promises';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';

/** A definition problem found while preparing the ASL for local execution. */
export class DefinitionError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'DefinitionError';
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/**
 * Every Task state of a definition (Map and Parallel bodies included), with the
 * state name the local runner keys its overrides by.
 */
export interface TaskState {
  readonly name: string;
  readonly resource: string;
  readonly parameters?: JsonObject;
}

/** A definition ready for aws-local-stepfunctions, and what the stack binds to it. */
export interface PreparedDefinition {
  /** The definition text after substitution, as DescribeStateMachine returns it. */
  readonly text: string;
  /** The definition object the runner executes. */
  readonly definition: StateMachineDefinition;
  readonly tasks: readonly TaskState[];
  /** Map states by name, for progress reporting: ItemsPath and whether they run chunks. */
  readonly maps: ReadonlyMap<string, { readonly itemsPath: string }>;
}

// AWS's default Task timeout is 99999999 s; Node timers overflow beyond 2^31-1 ms,
// so the local equivalent of "no timeout" is the largest delay a timer can hold.
const NO_TASK_TIMEOUT_SECONDS = Math.floor(2 ** 31 / 1000) - 1;

/**
 * Reads the ASL file and applies `definitionSubstitutions` exactly as CDK and
 * CloudFormation do (`${Name}` replaced by its value everywhere in the text).
 * A placeholder without a value is an error naming it.
 */
export async function prepareDefinition(
  file: string,
  substitutions: Readonly<Record<string, string>>,
): Promise<PreparedDefinition> {
  const source = await readFile(file, 'utf8');
  const missing = new Set<string>();
  const text = source.replace(/\$\{([A-Za-z0-9_]+)\}/g, (placeholder, name: string) => {
    const value = substitutions[name];
    if (value === undefined) {
      missing.add(name);
      return placeholder;
    }
    // Values land inside JSON strings: escape them as JSON would.
    return JSON.stringify(value).slice(1, -1);
  });
  if (missing.size > 0) {
    throw new DefinitionError(
      file,
      `no local value for the substitution(s) ${[...missing].map((name) => `\${${name}}`).join(', ')} ` +
        `(local values exist for: ${Object.keys(substitutions).join(', ')})`,
    );
  }
  // The runner executes its own parsed copy (not a structuredClone of one: under a
  // VM-sandboxed runner that creates objects of another realm, which JSONPath
  // templates do not treat as objects). AWS-equivalent defaults are filled in
  // there, while DescribeStateMachine returns the substituted text unchanged.
  let runnable: JsonObject;
  try {
    runnable = JSON.parse(text) as JsonObject;
  } catch (error) {
    throw new DefinitionError(
      file,
      `not valid JSON after substitution: ${(error as Error).message}`,
    );
  }
  const tasks: TaskState[] = [];
  const maps = new Map<string, { itemsPath: string }>();
  visitStates(runnable, (name, state) => {
    if (state.Type === 'Task') {
      if (typeof state.Resource !== 'string') {
        throw new DefinitionError(file, `Task state "${name}" has no Resource`);
      }
      if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
        state.TimeoutSeconds = NO_TASK_TIMEOUT_SECONDS;
      }
      tasks.push({
        name,
        resource: state.Resource,
        ...(isObject(state.Parameters) ? { parameters: state.Parameters } : {}),
      });
    }
    if (state.Type === 'Map') {
      maps.set(name, { itemsPath: typeof state.ItemsPath === 'string' ? state.ItemsPath : '$' });
    }
    for (const field of ['Parameters', 'ItemSelector', 'ResultSelector'] as const) {
      const template = state[field];
      if (isObject(template)) inlineStateName(template, name);
    }
  });
  return { text, definition: runnable as unknown as StateMachineDefinition, tasks, maps };
}

/**
 * `$$.State.Name` is constant for a state, so it is written in as a literal:
 * the runner's Context Object has no per-state fields.
 */
function inlineStateName(template: JsonObject, stateName: string): void {
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$') && value === '$$.State.Name') {
      delete template[key];
      template[key.slice(0, -2)] = stateName;
    } else if (isObject(value)) {
      inlineStateName(value, stateName);
    }
  }
}

function visitStates(machine: JsonObject, visit: (name: string, state: JsonObject) => void): void {
  const states = machine.States;
  if (!isObject(states)) return;
  for (const [name, state] of Object.entries(states)) {
    if (!isObject(state)) continue;
    visit(name, state);
    for (const nested of [state.ItemProcessor, state.Iterator]) {
      if (isObject(nested)) visitStates(nested, visit);
    }
    if (Array.isArray(state.Branches)) {
      for (const branch of state.Branches) if (isObject(branch)) visitStates(branch, visit);
    }
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a simple JSONPath (`$`, `$.a.b`, `$['a']`) from a value; undefined when absent. */
export function readPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  const parts = path
    .replace(/^\$\.?/, '')
    .replace(/\[['"]?([^\]'"]+)['"]?\]/g, '.$1')
    .split('.')
    .filter((part) => part !== '');
  let current: unknown = value;
  for (const part of parts) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
