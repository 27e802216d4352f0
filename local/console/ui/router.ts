import { useEffect, useState } from 'preact/hooks';

/** The page's place: `#/executions/<name>` → segments ['executions', name] and query. */
export interface Route {
  readonly segments: readonly string[];
  readonly params: URLSearchParams;
}

function current(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = hash.split('?');
  return {
    segments: path
      .split('/')
      .filter((segment) => segment !== '')
      .map((segment) => decodeURIComponent(segment)),
    params: new URLSearchParams(search),
  };
}

/** The current route; re-renders on navigation. */
export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** A hash link to a route (segments are encoded). */
export function href(
  segments: readonly string[],
  params?: Record<string, string | number | undefined>,
): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {}))
    if (value !== undefined && value !== '') search.set(name, String(value));
  const text = search.toString();
  return `#/${segments.map(encodeURIComponent).join('/')}${text ? `?${text}` : ''}`;
}

/** Goes to a route (keeps the token in the query string of the page). */
export function navigate(link: string, replace = false): void {
  if (replace) history.replaceState(null, '', link);
  else location.hash = link.slice(1);
  if (replace) dispatchEvent(new HashChangeEvent('hashchange'));
}
