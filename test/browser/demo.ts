/**
 * `npm run demo:browser`: serves the browser test's page (with its form: `?demo`) on MX_DEMO_PORT (8010), to see
 * MSC4429 profile updates in a browser against the local stack (standalone or companion, on :8008). Node runs this
 * TypeScript file as it is (type stripping), so the page server is imported by its .ts file name.
 */
const { servePage } = (await import(new URL('./serve-page.ts', import.meta.url).href)) as typeof import('./serve-page.js');

const port = Number(process.env['MX_DEMO_PORT'] ?? 8010);
const server = await servePage(port);
process.stdout.write(
  `Open ${server.url.replace(/\/$/, '')}/?demo in two browser windows: sign in (or register) as two users at http://127.0.0.1:8008, ` +
    `create a room in one and join it from the other, set a status in one and watch the other. Ctrl-C stops.\n`,
);
