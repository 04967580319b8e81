import http from 'node:http';
import { assertLoopbackUrl } from './loopback.js';

export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
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
 * Plain HTTP/1.1 to one loopback origin over a keep-alive agent with unbounded sockets, so 1,000
 * parked long-polls each hold their own connection. A request that fails because the server closed an
 * idle kept-alive socket just as it was reused is retried once (the documented Node.js race).
 */
export class HttpClient {
  readonly origin: URL;
  private readonly agent: http.Agent;

  constructor(baseUrl: string) {
    this.origin = assertLoopbackUrl(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: Infinity, maxFreeSockets: 4096, scheduling: 'lifo' });
  }

  /** Base path of the origin (a base URL may carry a prefix). */
  private path(pathAndQuery: string): string {
    const prefix = this.origin.pathname.replace(/\/$/, '');
    return `${prefix}${pathAndQuery}`;
  }

  async request(method: string, pathAndQuery: string, options: HttpRequestOptions): Promise<HttpResponse> {
    try {
      return await this.once(method, pathAndQuery, options);
    } catch (error) {
      if (error instanceof ReusedSocketReset) return this.once(method, pathAndQuery, options);
      throw error;
    }
  }

  private once(method: string, pathAndQuery: string, options: HttpRequestOptions): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const headers: Record<string, string | number> = { ...options.headers };
      if (options.body !== undefined) headers['Content-Length'] = Buffer.byteLength(options.body);
      const request = http.request(
        {
          agent: this.agent,
          protocol: this.origin.protocol,
          hostname: this.origin.hostname.replace(/^\[|\]$/g, ''),
          port: this.origin.port || 80,
          method,
          path: this.path(pathAndQuery),
          headers,
          ...(options.signal ? { signal: options.signal } : {}),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          response.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            bytes += chunk.length;
          });
          response.on('end', () => {
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              text: Buffer.concat(chunks, bytes).toString('utf8'),
              bytes,
            });
          });
          response.on('error', reject);
        },
      );
      request.setTimeout(options.timeoutMs, () => request.destroy(new Error(`${method} timed out after ${options.timeoutMs} ms`)));
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (request.reusedSocket && error.code === 'ECONNRESET') reject(new ReusedSocketReset());
        else reject(error);
      });
      if (options.body !== undefined) request.write(options.body);
      request.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

class ReusedSocketReset extends Error {
  constructor() {
    super('kept-alive socket reset on reuse');
  }
}
