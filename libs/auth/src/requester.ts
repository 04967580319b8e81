/** Who made an authenticated request. */
export interface Requester {
  readonly userId: string;
  readonly deviceId: string;
}
