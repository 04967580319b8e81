/**
 * What the browser test's page (main.ts) offers the test as `window.msc4429`, called through page.evaluate. Types
 * only, without the DOM, so the Node side (test/integration/browser-msc4429.test.ts) can import them.
 */
export interface SignIn {
  /** The homeserver's base URL as a client knows it: the router. */
  readonly baseUrl: string;
  readonly username: string;
  readonly password: string;
  /** Register the account first (`m.login.dummy`), then log in with the password on a new device. */
  readonly register: boolean;
}

export interface PageApi {
  /** Signs in and starts matrix-js-sdk with MSC4429; resolves with the user ID at the first PREPARED sync, rejects at an ERROR. */
  start(signIn: SignIn): Promise<string>;
  /** Creates a public room; resolves with its ID. */
  createRoom(name: string): Promise<string>;
  joinRoom(roomId: string): Promise<void>;
  /** Sets this user's own `m.status` (`{text}`) through the SDK (PUT /profile/{userId}/m.status). */
  setStatus(text: string): Promise<void>;
}

/** The global the page defines: `(globalThis as unknown as PageGlobal).msc4429` inside page.evaluate. */
export interface PageGlobal {
  readonly msc4429: PageApi;
}
