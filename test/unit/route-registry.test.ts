import { describe, expect, it } from 'vitest';
import { RouteRegistry } from '@mx/http';

describe('RouteRegistry', () => {
  it('finds the methods of concrete paths, parameters included', () => {
    const routes = new RouteRegistry();
    routes.add(['GET', 'HEAD'], '/_matrix/client/v3/profile/:userId/:keyName');
    routes.add('PUT', '/_matrix/client/v3/profile/:userId/:keyName');
    routes.add('GET', '/_matrix/client/versions');
    routes.add('OPTIONS', '*');
    expect(routes.methodsFor('/_matrix/client/v3/profile/@a:b/m.tz').sort()).toEqual(['GET', 'HEAD', 'PUT']);
    expect(routes.methodsFor('/_matrix/client/versions')).toEqual(['GET']);
    expect(routes.methodsFor('/_matrix/client/v3/profile/@a:b')).toEqual([]);
    expect(routes.methodsFor('/_matrix/client/versionsX')).toEqual([]);
  });
});
