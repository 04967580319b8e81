import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { assertLoopbackUrl } from './loopback.js';

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** Response body size in bytes (as received, no compression is negotiated). */
  readonly bytes: number;
}

export interface HttpRequestOptions {
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** The request is destroyed after this long without completing. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Plain HTTP/1.1 to one loopback origin over an undici pool with unbounded connections, so 1,000
 * parked long-polls each hold their own connection. undici rather than `node:http`: on a machine
 * whose cores the harness shares with the server it measures, every microsecond the harness spends
 * per request is taken from the server and delays its own observations (`node:http` cost it about
 * twice as much CPU per request). A kept-alive connection is not reused past the server's
 * `Keep-Alive` hint, and no request is retried (a write must not be sent twice).
 */
export class HttpClient {
  readonly origin: URL;
  private readonly pool: Pool;
  private readonly prefix: string;

  constructor(baseUrl: string) {
    this.origin = assertLoopbackUrl(baseUrl);
    this.prefix = this.origin.pathname.replace(/\/$/, '');
    this.pool = new Pool(this.origin.origin, {
      connections: null,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  async request(method: string, pathAndQuery: string, options: HttpRequestOptions): Promise<HttpResponse> {
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    try {
      const response = await this.pool.request({
        method,
        path: `${this.prefix}${pathAndQuery}`,
        headers: options.headers ?? {},
        ...(options.body !== undefined ? { body: options.body } : {}),
        signal,
      });
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        bytes += chunk.length;
      }
      return {
        status: response.statusCode,
        headers: response.headers,
        text: Buffer.concat(chunks, bytes).toString('utf8'),
        bytes,
      };
    } catch (error) {
      if (deadline.aborted && !options.signal?.aborted)
        throw new Error(`${method} timed out after ${options.timeoutMs} ms`, { cause: error });
      throw error;
    }
  }

  close(): void {
    void this.pool.destroy();
  }
}
