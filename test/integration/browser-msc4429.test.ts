import { execFile } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PageGlobal, SignIn } from '../browser/page/api.js';
import { type PageRecord, type RecordedRequest, preflightNeed, preflightProblem, recordRequests } from '../browser/record-requests.js';
import { type PageServer, servePage } from '../browser/serve-page.js';
import { type CompanionStack, startCompanionStack } from '../support/companion-stack.js';
import { PASSWORD, uniqueLocalpart } from '../support/matrix-client.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { SYNAPSE_START_TIMEOUT_MS } from '../support/synapse.js';

/**
 * Issue 15, "A real browser": headless Chromium (Debian's `chromium`, installed by test/tools/ensure-chromium.sh,
 * driven by playwright-core) loads a page (test/browser/page/) that bundles matrix-js-sdk and starts it with
 * `unstableMSC4429SyncUserProfileFields`. Two pages are two users, A and B, who sign in through the router and share a
 * room; A sets m.status, B's page shows it (from `ClientEvent.UserProfileUpdate`, i.e. from the users section of
 * /sync). Once against the shared standalone stack's router, once against a companion stack of the test's own (a
 * Synapse 1.163.2 behind the companion router). The page is served from a port of its own, so everything it asks the
 * router is cross-origin: no request may fail, and every one that needs a CORS preflight must have had one answered
 * 2xx with headers that allow it.
 *
 * Screenshots go to .local/test-artifacts/browser/; with MX_BROWSER_DOCS_SCREENSHOT=1, B's page in companion mode is
 * also copied to docs/img/browser-msc4429.png (the README's picture), so that an ordinary run leaves the checkout as it
 * was.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const PORTS = PORT_OFFSETS.browser;
const ARTIFACTS = join(root, '.local', 'test-artifacts', 'browser');
const DOCS_SCREENSHOT = join(root, 'docs', 'img', 'browser-msc4429.png');
const VIEWPORT = { width: 640, height: 400 };
/** Waits on the browser: generous, a safety net only (each one ends at the event it waits for). */
const WAIT_MS = 45_000;
/**
 * What matrix-js-sdk asks for at start and takes a 404 from as "not supported": MatrixRTC transports (MSC4143), which
 * neither Synapse 1.163.2 nor the project serves.
 */
const OPTIONAL_FEATURES = ['GET /_matrix/client/unstable/org.matrix.msc4143/rtc/transports'];
/** The machine's network is closed: no background connections, no component updates, no QUIC. */
const CHROMIUM_ARGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The browser, installed when missing (waits for test/run.sh's install in the background). */
async function ensureChromium(): Promise<string> {
  const { stdout } = await run('bash', ['test/tools/ensure-chromium.sh'], { cwd: root });
  const path = /^MX_CHROMIUM=(.+)$/m.exec(stdout)?.[1];
  if (path === undefined) throw new Error(`test/tools/ensure-chromium.sh printed no MX_CHROMIUM: ${stdout}`);
  return path;
}

interface OpenPage {
  readonly label: string;
  readonly context: BrowserContext;
  readonly page: Page;
  readonly record: PageRecord;
}

const describeRequest = (request: RecordedRequest): string =>
  `${request.method} ${request.url} -> ${request.failure ?? request.status ?? 'pending'}`;

describe('a real browser: matrix-js-sdk with MSC4429 in headless Chromium, cross-origin through the router', () => {
  let browser: Browser | undefined;
  let pageServer: PageServer | undefined;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    const executablePath = await ensureChromium();
    pageServer = await servePage(inject('stack').portBase + PORTS.staticServer);
    // A fresh profile in a temporary --user-data-dir, headless, without the sandbox (root): Playwright's launch.
    browser = await chromium.launch({ executablePath, headless: true, chromiumSandbox: false, args: CHROMIUM_ARGS });
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await pageServer?.stop();
  });

  async function openPage(label: string): Promise<OpenPage> {
    const context = await browser!.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    const record = await recordRequests(context, page);
    await page.goto(pageServer!.url);
    await page.waitForFunction(() => 'msc4429' in globalThis, undefined, { timeout: WAIT_MS });
    return { label, context, page, record };
  }

  /** What a failed wait shows: the page's requests and errors. */
  function diagnostics(open: OpenPage): string {
    return `${open.label}'s requests: ${open.record.requests.map(describeRequest).join(', ')}; errors: ${open.record.errors.join(' | ') || 'none'}`;
  }

  async function step<T>(open: OpenPage, what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      await open.page.screenshot({ path: join(ARTIFACTS, `failed-${open.label}.png`) }).catch(() => undefined);
      throw new Error(`${open.label}: ${what}: ${String(error)}; ${diagnostics(open)}`, { cause: error });
    }
  }

  function signIn(open: OpenPage, baseUrl: string): Promise<string> {
    const credentials: SignIn = { baseUrl, username: uniqueLocalpart(`browser-${open.label.at(-1)!}`), password: PASSWORD, register: true };
    return step(open, 'register, log in and start the client', () =>
      open.page.evaluate((signIn) => (globalThis as unknown as PageGlobal).msc4429.start(signIn), credentials),
    );
  }

  /** The checks on every request one page made: none failed, all went to the page or the router, each preflight passed. */
  function checkRequests(open: OpenPage, baseUrl: string): RecordedRequest[] {
    const pageOrigin = new URL(pageServer!.url).origin;
    const routerOrigin = new URL(baseUrl).origin;
    expect(pageOrigin).not.toBe(routerOrigin);
    const requests = [...open.record.requests];
    const preflights = [...open.record.preflights];
    expect(requests.filter((request) => request.failure !== undefined).map(describeRequest), open.label).toEqual([]);
    expect(
      requests.filter((request) => ![pageOrigin, routerOrigin].includes(new URL(request.url).origin)).map(describeRequest),
      open.label,
    ).toEqual([]);
    const toRouter = requests.filter((request) => new URL(request.url).origin === routerOrigin);
    // Answered, never with a 5xx, and readable by a page of another origin.
    expect(
      toRouter
        .filter((request) => request.status !== undefined)
        .filter((request) => request.status! >= 500 || request.responseHeaders?.['access-control-allow-origin'] === undefined)
        .map(describeRequest),
      open.label,
    ).toEqual([]);
    // Every answer a success, but for the SDK's probes of features neither server has.
    expect(
      toRouter
        .filter((request) => request.status !== undefined && request.status >= 400)
        .filter((request) => !(request.status === 404 && OPTIONAL_FEATURES.includes(`${request.method} ${new URL(request.url).pathname}`)))
        .map(describeRequest),
      open.label,
    ).toEqual([]);
    const preflighted = toRouter.filter((request) => preflightNeed(request).needed);
    expect(
      preflighted.flatMap((request) => {
        const problem = preflightProblem(request, preflights, pageOrigin);
        return problem === undefined ? [] : [`${describeRequest(request)}: ${problem}`];
      }),
      `${open.label}: preflights ${JSON.stringify(preflights)}`,
    ).toEqual([]);
    // Chromium logs each 4xx answer as an error ("Failed to load resource"): those are checked above, by request.
    expect(
      open.record.errors.filter(
        (error) => !error.startsWith('console: Failed to load resource: the server responded with a status of 404'),
      ),
      open.label,
    ).toEqual([]);
    return preflighted;
  }

  /** A and B share a room through the router at `baseUrl`; A sets m.status; B's page shows it. */
  async function aSetsStatusBSeesIt(mode: 'standalone' | 'companion', baseUrl: string): Promise<void> {
    const a = await openPage(`${mode}-a`);
    const b = await openPage(`${mode}-b`);
    try {
      const aliceId = await signIn(a, baseUrl);
      const bobId = await signIn(b, baseUrl);
      const roomId = await step(a, 'create a room', () =>
        a.page.evaluate((name) => (globalThis as unknown as PageGlobal).msc4429.createRoom(name), `browser ${mode}`),
      );
      await step(b, 'join the room', () => b.page.evaluate((id) => (globalThis as unknown as PageGlobal).msc4429.joinRoom(id), roomId));

      const text = `Reviewing MSC4429 (${mode})`;
      await step(a, 'set m.status', () =>
        a.page.evaluate((status) => (globalThis as unknown as PageGlobal).msc4429.setStatus(status), text),
      );
      const shown = b.page.locator(`li[data-user="${aliceId}"] .status`);
      await step(b, `show ${aliceId}'s m.status "${text}"`, () => shown.filter({ hasText: text }).waitFor({ timeout: WAIT_MS }));
      expect(await shown.textContent()).toBe(text);
      // A's own status is not a co-member's: A's page lists nobody (B set none).
      expect(await a.page.locator('li').count()).toBe(0);

      await a.page.screenshot({ path: join(ARTIFACTS, `${mode}-a.png`) });
      await b.page.screenshot({ path: join(ARTIFACTS, `${mode}-b.png`) });
      if (mode === 'companion' && process.env['MX_BROWSER_DOCS_SCREENSHOT'] === '1') {
        await mkdir(join(root, 'docs', 'img'), { recursive: true });
        await copyFile(join(ARTIFACTS, `${mode}-b.png`), DOCS_SCREENSHOT);
      }

      const path = (request: RecordedRequest) => `${request.method} ${new URL(request.url).pathname}`;
      const aPreflighted = checkRequests(a, baseUrl).map(path);
      const bPreflighted = checkRequests(b, baseUrl).map(path);
      // The checks above cover the requests that matter: the profile write, and the /sync that carried it.
      expect(aPreflighted).toContain(`PUT /_matrix/client/v3/profile/${encodeURIComponent(aliceId)}/m.status`);
      expect(bPreflighted).toContain('GET /_matrix/client/v3/sync');
      // B's page learnt the status from /sync, not by asking for A's profile.
      expect(b.record.requests.filter((request) => request.url.includes('/profile/')).map(describeRequest)).toEqual([]);
      expect(bobId).not.toBe(aliceId);
    } finally {
      await a.context.close();
      await b.context.close();
    }
  }

  describe('standalone: the shared test stack’s router', () => {
    it('shows on B’s page the m.status A sets, every request cross-origin and preflighted', async () => {
      await aSetsStatusBSeesIt('standalone', inject('stack').baseUrl);
    }, 180_000);
  });

  describe('companion: a router of the test’s own in front of Synapse 1.163.2', () => {
    let companion: CompanionStack | undefined;

    beforeAll(async () => {
      companion = await startCompanionStack('browser', PORTS);
    }, SYNAPSE_START_TIMEOUT_MS);

    afterAll(async () => {
      await companion?.stop();
    }, 60_000);

    it('shows on B’s page the m.status A sets, every request cross-origin and preflighted', async () => {
      await aSetsStatusBSeesIt('companion', companion!.routerUrl);
    }, 180_000);
  });
});
