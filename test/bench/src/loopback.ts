/**
 * The harness only ever talks to this machine: every base URL is checked before the first request,
 * and anything that is not plain HTTP on a loopback address is refused.
 */
export function assertLoopbackUrl(raw: string, what = 'base URL'): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${what} ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'http:') throw new Error(`${what} ${raw}: only http:// on loopback is allowed`);
  if (!isLoopbackHost(url.hostname)) throw new Error(`${what} ${raw}: only loopback hosts (127.0.0.0/8, ::1, localhost) are allowed`);
  if (url.username || url.password) throw new Error(`${what} ${raw}: credentials in the URL are not allowed`);
  return url;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  const parts = host.split('.');
  return parts.length === 4 && parts[0] === '127' && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}
