/** The order methods are listed in an `Allow` header. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

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

  /**
   * The `Allow` header of a 405 on a concrete path: its methods plus OPTIONS (answered on every
   * path, for CORS), in a stable order.
   */
  allowHeader(path: string): string {
    const methods = new Set([...this.methodsFor(path), 'OPTIONS']);
    const rank = (method: string) => {
      const index = METHOD_ORDER.indexOf(method);
      return index === -1 ? METHOD_ORDER.length : index;
    };
    return [...methods].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).join(', ');
  }
}
