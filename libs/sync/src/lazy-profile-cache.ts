/**
 * Per device, which users' profiles a lazy-loading client was already sent (MSC4429
 * implementation notes). Bounded and lossy: when a device or a user falls out, their profile is
 * simply sent again, which is harmless.
 */
export class LazyProfileCache {
  private readonly devices = new Map<string, Set<string>>();

  constructor(
    private readonly maxDevices: number,
    private readonly maxUsersPerDevice = 5000,
  ) {}

  /** Of `users`, those this device has not been sent yet. */
  unsent(device: string, users: Iterable<string>): string[] {
    const sent = this.devices.get(device);
    return [...users].filter((user) => !sent?.has(user));
  }

  remember(device: string, users: Iterable<string>): void {
    if (this.maxDevices === 0) return;
    let sent = this.devices.get(device);
    if (sent) this.devices.delete(device);
    sent ??= new Set();
    for (const user of users) {
      if (sent.size >= this.maxUsersPerDevice) sent.delete(sent.values().next().value!);
      sent.add(user);
    }
    this.devices.set(device, sent);
    while (this.devices.size > this.maxDevices) this.devices.delete(this.devices.keys().next().value!);
  }

  /** A fresh initial sync starts the device's memory over. */
  reset(device: string): void {
    this.devices.delete(device);
  }
}
