/**
 * The page of the browser test (test/integration/browser-msc4429.test.ts), bundled with matrix-js-sdk into one
 * script by esbuild (test/browser/serve-page.ts). It signs in at a homeserver (the router, standalone or companion),
 * starts matrix-js-sdk with `unstableMSC4429SyncUserProfileFields` and shows the latest `m.status` of every user the
 * users section of /sync tells it about (its co-members) as `<li data-user="@b:hs"><span class="status">…</span></li>`,
 * from `ClientEvent.UserProfileUpdate`. The test drives it through `window.msc4429` (page.evaluate).
 */
import type { PageApi } from './api.js';
import { ClientEvent, type ICreateClientOpts, type MatrixClient, Preset, SyncState, type SyncStateData, createClient } from 'matrix-js-sdk';

/** The profile fields the page asks /sync for (MSC4429). */
const FIELDS = ['m.status'];

declare global {
  interface Window {
    msc4429: PageApi;
  }
}

type Logger = NonNullable<ICreateClientOpts['logger']>;

/** Keeps the SDK's warnings and errors on the console (the test shows them when it fails), drops the rest. */
function quietLogger(prefix: string): Logger {
  return {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (...msg: unknown[]) => console.warn(prefix, ...msg),
    error: (...msg: unknown[]) => console.error(prefix, ...msg),
    getChild: (namespace: string) => quietLogger(`${prefix} ${namespace}`),
  };
}

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} is missing from the page`);
  return found;
}

/** `m.status` as the page shows it: `{text, emoji?}` (MSC4426-style), or any other JSON value as JSON. */
function statusText(value: unknown): string {
  if (typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string') {
    const { text, emoji } = value as { text: string; emoji?: unknown };
    return typeof emoji === 'string' && emoji !== '' ? `${emoji} ${text}` : text;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Shows (or, for `null`: the user no longer shares a room, or no `m.status`, removes) a co-member's status. */
function show(userId: string, profile: Record<string, unknown> | null): void {
  const list = element('statuses');
  const existing = [...list.querySelectorAll('li')].find((item) => item.dataset['user'] === userId);
  if (profile === null || profile['m.status'] === null) {
    existing?.remove();
    return;
  }
  if (!('m.status' in profile)) return;
  const item = existing ?? document.createElement('li');
  item.dataset['user'] = userId;
  const user = document.createElement('span');
  user.className = 'user';
  user.textContent = userId;
  const text = document.createElement('span');
  text.className = 'status';
  text.textContent = statusText(profile['m.status']);
  item.replaceChildren(user, text);
  if (existing === undefined) list.append(item);
}

let client: MatrixClient | undefined;

function started(): MatrixClient {
  if (client === undefined) throw new Error('call msc4429.start first');
  return client;
}

/** Resolves at the first PREPARED; rejects at the first ERROR (the SDK would otherwise retry its start forever). */
function firstSync(sdk: MatrixClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const onSync = (state: SyncState, _previous: SyncState | null, data?: SyncStateData): void => {
      element('state').textContent = `sync: ${state}`;
      if (state === SyncState.Prepared) resolve();
      else if (state === SyncState.Error) reject(new Error(`matrix-js-sdk sync failed: ${data?.error?.message ?? 'no error'}`));
    };
    sdk.on(ClientEvent.Sync, onSync);
  });
}

window.msc4429 = {
  async start({ baseUrl, username, password, register }) {
    if (client !== undefined) throw new Error('already started');
    const bare = createClient({ baseUrl, logger: quietLogger(`[${username}]`) });
    if (register) await bare.registerRequest({ username, password, auth: { type: 'm.login.dummy' } });
    const login = await bare.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password });
    const sdk = createClient({
      baseUrl,
      userId: login.user_id,
      accessToken: login.access_token,
      deviceId: login.device_id,
      // A status page, not a phone: no TURN servers asked for.
      disableVoip: true,
      logger: quietLogger(`[${login.user_id}]`),
    });
    client = sdk;
    element('me').textContent = `signed in as ${login.user_id} at ${baseUrl}`;
    sdk.on(ClientEvent.UserProfileUpdate, (userId, profile) => {
      if (userId !== login.user_id) show(userId, profile);
    });
    const prepared = firstSync(sdk);
    await sdk.startClient({ initialSyncLimit: 10, unstableMSC4429SyncUserProfileFields: FIELDS });
    await prepared;
    return login.user_id;
  },

  async createRoom(name) {
    const { room_id: roomId } = await started().createRoom({ preset: Preset.PublicChat, name });
    return roomId;
  },

  async joinRoom(roomId) {
    await started().joinRoom(roomId);
  },

  async setStatus(text) {
    await started().setExtendedProfileProperty('m.status', { text });
  },
};

/**
 * By hand (`npm run demo:browser`, then the page with `?demo`): a form over the same API, to see MSC4429 updates in a
 * browser against the local stack (two windows, two users, one room).
 */
function demoForm(): void {
  const form = element('demo') as HTMLFormElement;
  form.hidden = false;
  const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
  const log = (text: string) => (element('demo-log').textContent = text);
  const act = (name: string, action: () => Promise<string>) =>
    (form.elements.namedItem(name) as HTMLButtonElement).addEventListener('click', (event) => {
      event.preventDefault();
      action().then(log, (error: unknown) => log(`failed: ${error instanceof Error ? error.message : String(error)}`));
    });
  act('signIn', async () =>
    window.msc4429.start({
      baseUrl: field('baseUrl').value,
      username: field('username').value,
      password: field('password').value,
      register: field('register').checked,
    }),
  );
  act('room', async () => {
    const roomId = field('roomId').value.trim();
    if (roomId === '') {
      const created = await window.msc4429.createRoom('MSC4429 demo');
      field('roomId').value = created;
      return `created ${created}: join it from the other window`;
    }
    await window.msc4429.joinRoom(roomId);
    return `joined ${roomId}`;
  });
  act('setStatus', async () => {
    await window.msc4429.setStatus(field('status').value);
    return 'status set';
  });
}

if (new URLSearchParams(window.location.search).has('demo')) demoForm();
