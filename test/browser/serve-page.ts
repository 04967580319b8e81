import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * The browser test's page (test/browser/page/): its TypeScript entry bundled with matrix-js-sdk into one script by
 * esbuild (the SDK's `browser` entry point), and served with index.html by a static HTTP server on a port of the
 * test's own, so the page's origin is never the homeserver's and every request it makes there is cross-origin.
 */
const pageDir = join(import.meta.dirname, 'page');

/** The page's one script: test/browser/page/main.ts and matrix-js-sdk, as an IIFE for a plain `<script>`. */
export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [join(pageDir, 'main.ts')],
    tsconfig: join(pageDir, 'tsconfig.json'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  const [script] = result.outputFiles;
  if (script === undefined) throw new Error('esbuild wrote no bundle');
  return script.text;
}

export interface PageServer {
  /** The page's URL (its origin: http://127.0.0.1:<port>). */
  readonly url: string;
  stop(): Promise<void>;
}

/** Serves index.html at `/` and the bundle at `/page.js` on 127.0.0.1:`port`, no favicon (204); anything else is 404. */
export async function servePage(port: number): Promise<PageServer> {
  const files = new Map<string, { readonly type: string; readonly body: string }>([
    ['/', { type: 'text/html; charset=utf-8', body: await readFile(join(pageDir, 'index.html'), 'utf8') }],
    ['/page.js', { type: 'text/javascript; charset=utf-8', body: await bundlePage() }],
  ]);
  const server = createServer((request, response) => {
    if (request.url === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    const file = request.method === 'GET' ? files.get(new URL(request.url ?? '/', 'http://page').pathname) : undefined;
    if (file === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve();
    });
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      }),
  };
}
