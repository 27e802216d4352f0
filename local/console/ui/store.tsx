import { createContext } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';
import type { ConsoleConfig, ConsoleEvent, ExecutionSummary } from '../model.js';
import type { Connection } from './client.js';

/** What every page reads: the configuration, the live executions, the stream's state. */
export interface Store {
  readonly config: ConsoleConfig;
  /** Newest first. */
  readonly executions: readonly ExecutionSummary[];
  readonly connection: Connection;
  /** Runs `listener` for each server-sent event; returns the unsubscribe function. */
  subscribe(listener: (event: ConsoleEvent) => void): () => void;
}

export const StoreContext = createContext<Store | undefined>(undefined);

export function useStore(): Store {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useStore outside <StoreContext.Provider>');
  return store;
}

/** The data of each kind of server-sent event. */
type EventData = { [E in ConsoleEvent as E['type']]: E['data'] };

/** Runs `listener` on server-sent events of one type while the component is mounted. */
export function useConsoleEvent<T extends ConsoleEvent['type']>(
  type: T,
  listener: (data: EventData[T]) => void,
): void {
  const { subscribe } = useStore();
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(
    () =>
      subscribe((event) => {
        if (event.type === type) (latest.current as (data: unknown) => void)(event.data);
      }),
    [subscribe, type],
  );
}

/** Merges one update into the list, newest first. */
export function mergeExecution(
  list: readonly ExecutionSummary[],
  update: ExecutionSummary,
): ExecutionSummary[] {
  const others = list.filter((item) => item.executionArn !== update.executionArn);
  const merged = [...others, update];
  merged.sort((a, b) => b.startDate.localeCompare(a.startDate) || a.name.localeCompare(b.name));
  return merged;
}
