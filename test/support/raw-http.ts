import { connect, type Socket } from 'node:net';

/**
 * HTTP/1.1 by hand over one TCP connection, for what fetch hides: a request the server has routed
 * but whose body the test holds back (in flight for as long as the test wants), a request whose
 * last header line is held back (its connection is busy, so a closing server waits for it instead
 * of dropping it), whether the server closed the connection, and whether it is still listening.
 */
export interface RawResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export class RawConnection {
  private buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;
  /** Resolves when the server closed its side (the test never does before it destroys the connection). */
  readonly closedByServer: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    readonly host: string,
  ) {
    this.closedByServer = new Promise((resolve) => {
      socket.once('end', () => resolve());
      socket.once('close', () => resolve());
    });
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', (error) => {
      this.failure = error;
      this.notify();
    });
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port, host } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) });
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new RawConnection(socket, host));
      });
      socket.once('error', reject);
    });
  }

  /** Resolves once the bytes are handed to the kernel (on loopback: queued at the server's socket). */
  write(text: string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(text, (error) => (error ? reject(error) : resolve())));
  }

  /** The next interim (1xx) response's status. */
  async interim(): Promise<number> {
    const head = await this.head();
    if (head.status >= 200) throw new Error(`expected an interim response, got ${head.status}`);
    return head.status;
  }

  /** The next final response (interim ones skipped), its body read by Content-Length. */
  async response(): Promise<RawResponse> {
    for (;;) {
      const head = await this.head();
      if (head.status < 200) continue;
      const length = Number(head.headers['content-length'] ?? 0);
      if (head.headers['transfer-encoding'] !== undefined) throw new Error('chunked responses are not supported here');
      while (this.buffer.length < length) await this.more();
      const body = this.buffer.subarray(0, length).toString('utf8');
      this.buffer = this.buffer.subarray(length);
      return { ...head, body };
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async head(): Promise<{ status: number; headers: Record<string, string> }> {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end !== -1) {
        const [statusLine = '', ...lines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
        this.buffer = this.buffer.subarray(end + 4);
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
        if (status === undefined) throw new Error(`not an HTTP response: ${statusLine}`);
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        return { status: Number(status), headers };
      }
      await this.more();
    }
  }

  private more(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.reject(new Error('the server closed the connection before a whole response'));
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private notify(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}

/** A request in flight: routed by the server, its body not sent yet. */
export interface HeldRequest {
  readonly connection: RawConnection;
  /** Sends the body and resolves with the response. */
  release(): Promise<RawResponse>;
}

/**
 * Sends a request's head with `Expect: 100-continue` and resolves at the server's `100 Continue`.
 * Node writes it and hands the request to the framework in one go, so from then on the request has
 * been routed (Fastify's check for a closing server is behind it) and waits for its body: it is in
 * flight, deterministically, until `release`.
 */
export async function holdRequest(url: string, method: string, path: string, body: unknown): Promise<HeldRequest> {
  const connection = await RawConnection.open(url);
  const payload = JSON.stringify(body);
  await connection.write(
    `${method} ${path} HTTP/1.1\r\nHost: ${connection.host}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(payload)}\r\nExpect: 100-continue\r\n\r\n`,
  );
  const status = await connection.interim();
  if (status !== 100) throw new Error(`expected 100 Continue, got ${status}`);
  return {
    connection,
    release: async () => {
      await connection.write(payload);
      return connection.response();
    },
  };
}

/**
 * A GET whose head is sent but for its final empty line: the server has started reading a
 * request on the connection, so a closing server does not drop it as idle. `send` completes it.
 */
export async function almostSentGet(
  url: string,
  path: string,
): Promise<{ readonly connection: RawConnection; send(): Promise<RawResponse> }> {
  const connection = await RawConnection.open(url);
  await connection.write(`GET ${path} HTTP/1.1\r\nHost: ${connection.host}\r\n`);
  return {
    connection,
    send: async () => {
      await connection.write('\r\n');
      return connection.response();
    },
  };
}

/** Resolves once nothing listens on `url`'s port any more (a connection attempt is refused). */
export async function untilNotListening(url: string, timeoutMs = 20_000): Promise<void> {
  const { hostname, port } = new URL(url);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: hostname, port: Number(port) });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
    });
    if (refused) return;
    if (Date.now() >= deadline) throw new Error(`${url} still accepts connections after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
