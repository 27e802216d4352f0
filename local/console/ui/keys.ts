import { useEffect, useRef } from 'preact/hooks';

/** Whether a key press belongs to a text field (shortcuts stay out of its way). */
export function typing(event: KeyboardEvent): boolean {
  const target = event.target as HTMLElement | null;
  if (!target) return false;
  const tag = target.tagName;
  return (
    tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable === true
  );
}

/** Runs `handler` for key presses outside text fields and without Ctrl, Alt or Meta. */
export function useKeys(handler: (event: KeyboardEvent) => void): void {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => {
    const listener = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.altKey || event.metaKey || typing(event)) return;
      latest.current(event);
    };
    addEventListener('keydown', listener);
    return () => removeEventListener('keydown', listener);
  }, []);
}

/** The shortcuts, for the help overlay. */
export const SHORTCUTS: readonly [string, string][] = [
  ['g e', 'Executions'],
  ['g f', 'Files (upload)'],
  ['g d', 'Dead-letter queue'],
  ['g r', 'Records'],
  ['/', 'Search (executions), key (records)'],
  ['j / k', 'Next / previous row'],
  ['Enter', 'Open the selected row'],
  ['u', 'Choose files to upload (Files)'],
  ['Esc', 'Back to the list, close a dialog'],
  ['t', 'Light / dark theme'],
  ['?', 'This help'],
];
