/** Default bound on the memory of all devices' sets together (an estimate, see `LazyProfileCache.bytes`). */
export const LAZY_PROFILE_CACHE_MAX_BYTES = 64 * 1024 * 1024;

/** Estimated cost of one remembered user beyond its string: a Set slot and its share of the table. */
const ENTRY_OVERHEAD_BYTES = 48;
/** Estimated cost of one device beyond its key: a Map slot and an empty Set. */
const DEVICE_OVERHEAD_BYTES = 160;

/** A string's memory, counted at two bytes a character (V8 uses one for Latin-1 strings): never less than it holds. */
const stringBytes = (text: string): number => 24 + 2 * text.length;

interface DeviceMemory {
  readonly users: Set<string>;
  bytes: number;
}

/**
 * Per device, which users' profiles a lazy-loading client was already sent (MSC4429
 * implementation notes). Bounded and lossy: when a device or a user falls out, their profile is
 * simply sent again, which is harmless.
 *
 * Three bounds, so no user (however many devices they log in, however many co-members they have)
 * can grow it without limit: `maxDevices` devices, `maxUsersPerDevice` users per device (the
 * oldest go first), and `maxBytes` of estimated memory for everything (the least recently synced
 * devices go first).
 */
export class LazyProfileCache {
  private readonly devices = new Map<string, DeviceMemory>();
  private totalBytes = 0;

  constructor(
    private readonly maxDevices: number,
    private readonly maxUsersPerDevice = 5000,
    private readonly maxBytes = LAZY_PROFILE_CACHE_MAX_BYTES,
  ) {}

  /** Estimated memory held (strings at two bytes a character, plus table overheads); never above `maxBytes`. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Devices remembered. */
  get size(): number {
    return this.devices.size;
  }

  /** Of `users`, those this device has not been sent yet. */
  unsent(device: string, users: Iterable<string>): string[] {
    const sent = this.devices.get(device)?.users;
    return [...users].filter((user) => !sent?.has(user));
  }

  remember(device: string, users: Iterable<string>): void {
    if (this.maxDevices === 0) return;
    let memory = this.devices.get(device);
    if (memory) this.devices.delete(device);
    else {
      memory = { users: new Set(), bytes: DEVICE_OVERHEAD_BYTES + stringBytes(device) };
      this.totalBytes += memory.bytes;
    }
    const { users: sent } = memory;
    for (const user of users) {
      if (sent.has(user)) continue;
      if (sent.size >= this.maxUsersPerDevice) {
        const oldest = sent.values().next().value!;
        sent.delete(oldest);
        this.account(memory, -(ENTRY_OVERHEAD_BYTES + stringBytes(oldest)));
      }
      sent.add(user);
      this.account(memory, ENTRY_OVERHEAD_BYTES + stringBytes(user));
    }
    this.devices.set(device, memory);
    while (this.devices.size > this.maxDevices || this.totalBytes > this.maxBytes) {
      const [oldest, evicted] = this.devices.entries().next().value!;
      this.devices.delete(oldest);
      this.totalBytes -= evicted.bytes;
    }
  }

  /** A fresh initial sync starts the device's memory over. */
  reset(device: string): void {
    const memory = this.devices.get(device);
    if (!memory) return;
    this.devices.delete(device);
    this.totalBytes -= memory.bytes;
  }

  private account(memory: DeviceMemory, delta: number): void {
    memory.bytes += delta;
    this.totalBytes += delta;
  }
}
