import type { BrowserContext, Page } from 'playwright-core';

/**
 * Every request a page makes, as Playwright reports it (page.on('request' | 'response' | 'requestfailed')), and every
 * CORS preflight Chromium sends for them, from the DevTools protocol (Playwright does not report preflights:
 * `Network.requestWillBeSent` with `initiator.type: 'preflight'`, `Network.responseReceived` of type `Preflight`).
 */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  /** The headers the page set or the browser added, lower-cased names (Playwright's provisional headers). */
  readonly headers: Readonly<Record<string, string>>;
  status?: number;
  responseHeaders?: Readonly<Record<string, string>>;
  /** Playwright's `requestfailed` error text (a CORS refusal, a connection error, an abort). */
  failure?: string;
}

export interface RecordedPreflight {
  readonly url: string;
  /** Access-Control-Request-Method. */
  readonly requestMethod: string;
  /** Access-Control-Request-Headers, lower-cased. */
  readonly requestHeaders: readonly string[];
  status?: number;
  responseHeaders?: Readonly<Record<string, string>>;
  failure?: string;
}

export interface PageRecord {
  readonly requests: RecordedRequest[];
  readonly preflights: RecordedPreflight[];
  /** Console errors and uncaught page errors. */
  readonly errors: string[];
}

function lowerCased(headers: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
}

const commaList = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '');

export async function recordRequests(context: BrowserContext, page: Page): Promise<PageRecord> {
  const record: PageRecord = { requests: [], preflights: [], errors: [] };
  const byRequest = new Map<object, RecordedRequest>();
  page.on('request', (request) => {
    const entry: RecordedRequest = { method: request.method(), url: request.url(), headers: lowerCased(request.headers()) };
    byRequest.set(request, entry);
    record.requests.push(entry);
  });
  page.on('response', (response) => {
    const entry = byRequest.get(response.request());
    if (entry === undefined) return;
    entry.status = response.status();
    entry.responseHeaders = lowerCased(response.headers());
  });
  page.on('requestfailed', (request) => {
    const entry = byRequest.get(request);
    if (entry !== undefined) entry.failure = request.failure()?.errorText ?? 'failed';
  });
  page.on('console', (message) => {
    if (message.type() === 'error') record.errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => record.errors.push(`page error: ${error.message}`));

  const cdp = await context.newCDPSession(page);
  const preflights = new Map<string, RecordedPreflight>();
  cdp.on('Network.requestWillBeSent', (event) => {
    if (event.initiator.type !== 'preflight') return;
    const headers = lowerCased(event.request.headers);
    const entry: RecordedPreflight = {
      url: event.request.url,
      requestMethod: headers['access-control-request-method'] ?? '',
      requestHeaders: commaList(headers['access-control-request-headers']),
    };
    preflights.set(event.requestId, entry);
    record.preflights.push(entry);
  });
  cdp.on('Network.responseReceived', (event) => {
    const entry = preflights.get(event.requestId);
    if (entry === undefined) return;
    entry.status = event.response.status;
    entry.responseHeaders = lowerCased(event.response.headers);
  });
  cdp.on('Network.loadingFailed', (event) => {
    const entry = preflights.get(event.requestId);
    if (entry !== undefined) entry.failure = `${event.errorText}${event.corsErrorStatus ? ` (${event.corsErrorStatus.corsError})` : ''}`;
  });
  await cdp.send('Network.enable');
  return record;
}

/** Headers the browser sets itself: never the page's, never a reason for a preflight. */
const BROWSER_HEADER =
  /^(?:user-agent|referer|origin|host|connection|content-length|accept-encoding|cookie|upgrade-insecure-requests|sec-.*)$/;
const SAFELISTED_HEADERS = new Set(['accept', 'accept-language', 'content-language', 'range']);
const SAFELISTED_CONTENT_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);

/**
 * The request headers that make `request` need a CORS preflight (Fetch standard: not CORS-safelisted), and whether it
 * needs one at all (those headers, or a method other than GET, HEAD and POST).
 */
export function preflightNeed(request: RecordedRequest): { readonly needed: boolean; readonly headers: readonly string[] } {
  const headers = Object.entries(request.headers)
    .filter(([name, value]) => {
      if (BROWSER_HEADER.test(name) || SAFELISTED_HEADERS.has(name)) return false;
      if (name === 'content-type') return !SAFELISTED_CONTENT_TYPES.has(value.split(';')[0]!.trim().toLowerCase());
      return true;
    })
    .map(([name]) => name)
    .sort();
  return { needed: headers.length > 0 || !['GET', 'HEAD', 'POST'].includes(request.method), headers };
}

/**
 * What is wrong with the preflights of a request that needs one, or undefined when one of them (its own, or an earlier
 * one for the same URL that Chromium's preflight cache reused) was answered 2xx and allows the page's origin, the
 * method and every header asked for (`*` never covers `authorization`).
 */
export function preflightProblem(
  request: RecordedRequest,
  preflights: readonly RecordedPreflight[],
  pageOrigin: string,
): string | undefined {
  const need = preflightNeed(request);
  const candidates = preflights.filter((preflight) => preflight.url === request.url && preflight.requestMethod === request.method);
  if (candidates.length === 0) return 'no preflight was sent for it';
  const problems = candidates.map((preflight) => {
    const headers = preflight.responseHeaders ?? {};
    const allowedMethods = commaList(headers['access-control-allow-methods']);
    const allowedHeaders = commaList(headers['access-control-allow-headers']);
    const origin = headers['access-control-allow-origin'];
    if (preflight.failure !== undefined) return `failed: ${preflight.failure}`;
    if (preflight.status === undefined || preflight.status < 200 || preflight.status > 299)
      return `answered ${preflight.status ?? 'never'}`;
    if (origin !== '*' && origin !== pageOrigin) return `access-control-allow-origin: ${origin ?? 'missing'}`;
    if (
      !['GET', 'HEAD', 'POST'].includes(request.method) &&
      !allowedMethods.includes(request.method.toLowerCase()) &&
      !allowedMethods.includes('*')
    )
      return `access-control-allow-methods: ${headers['access-control-allow-methods'] ?? 'missing'}`;
    const missing = [...new Set([...need.headers, ...preflight.requestHeaders])].filter(
      (name) => !allowedHeaders.includes(name) && (name === 'authorization' || !allowedHeaders.includes('*')),
    );
    if (missing.length > 0)
      return `access-control-allow-headers: ${headers['access-control-allow-headers'] ?? 'missing'} lacks ${missing.join(', ')}`;
    return undefined;
  });
  return problems.includes(undefined) ? undefined : problems.join('; ');
}
