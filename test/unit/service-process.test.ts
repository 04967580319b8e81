import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ServiceProcess } from '../support/service-process.js';

/**
 * ServiceProcess.waitReady accepts only the process it started: another process answering on the port (another
 * test file's service) or a start-up that ends with EADDRINUSE fails loudly, naming the log file.
 */
const work = mkdtempSync(join(tmpdir(), 'mx-service-process-'));
/** A stand-in for a service: answers /health/ready with its pid, as the services do (libs/http/src/health.controller.ts). */
const fakeService = join(work, 'fake-service.mjs');
writeFileSync(
  fakeService,
  `import { createServer } from 'node:http';
createServer((request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ status: 'ok', info: {}, error: {}, details: {}, pid: process.pid }));
}).listen(Number(process.env.MX_HTTP_PORT), '127.0.0.1');
`,
);

const started: ServiceProcess[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((service) => service.stop(2000)));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** An HTTP server of this test process on a free port, answering every request with `body`. */
async function occupyPort(body: unknown): Promise<number> {
  const server = createServer((_request, response) => response.end(JSON.stringify(body)));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const port = await occupyPort({});
  await new Promise((resolve) => servers.pop()!.close(resolve));
  return port;
}

function service(name: string, port: number): ServiceProcess {
  const process = new ServiceProcess(
    name,
    fakeService,
    { MX_HTTP_PORT: String(port) },
    join(work, `${name}.log`),
    `http://127.0.0.1:${port}`,
    [],
  );
  started.push(process);
  return process;
}

describe('ServiceProcess.waitReady', () => {
  it('accepts the process it started, which answers with its own pid', async () => {
    const ready = service('ours', await freePort());
    ready.start();
    await expect(ready.waitReady(20_000)).resolves.toBeUndefined();
  });

  it('fails loudly when another process answers on the port, naming both pids and the log file', async () => {
    const port = await occupyPort({ status: 'ok', pid: 1 });
    const taken = service('taken', port);
    taken.start();
    await expect(taken.waitReady(20_000)).rejects.toThrow(
      new RegExp(`answered by process 1, not by the one started here \\(pid \\d+\\).*see ${join(work, 'taken.log')}`),
    );
  });

  it('fails loudly when what answers does not say its pid', async () => {
    const port = await occupyPort({ status: 'ok' });
    const taken = service('no-pid', port);
    taken.start();
    await expect(taken.waitReady(20_000)).rejects.toThrow(/answered by a process that does not say its pid/);
  });

  it('reports EADDRINUSE when the process it started could not listen and exited', async () => {
    // Held by a server that drops every connection: the fake service's listen fails and it exits.
    const holder = createServer((request) => request.socket.destroy());
    servers.push(holder);
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    const taken = service('in-use', port);
    taken.start();
    await expect(taken.waitReady(20_000)).rejects.toThrow(
      new RegExp(`in-use could not listen on http://127.0.0.1:${port}: .*EADDRINUSE.*see ${join(work, 'in-use.log')}`),
    );
  });
});
