/**
 * Remembers every route the server registered, so an unmatched request can be told apart:
 * a known path with another method (405) or an unknown path (404).
 */
export class RouteRegistry {
  private readonly routes: { readonly method: string; readonly pattern: RegExp }[] = [];

  add(method: string | readonly string[], url: string): void {
    // CORS preflight routes (OPTIONS on every path) say nothing about which paths exist.
    const methods = (typeof method === 'string' ? [method] : method).filter((each) => each.toUpperCase() !== 'OPTIONS');
    const pattern = new RegExp(
      '^' +
        url
          .split('/')
          .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('/') +
        '/?$',
    );
    for (const each of methods) this.routes.push({ method: each.toUpperCase(), pattern });
  }

  /** The methods registered for a concrete path. */
  methodsFor(path: string): string[] {
    return [...new Set(this.routes.filter((route) => route.pattern.test(path)).map((route) => route.method))];
  }
}
