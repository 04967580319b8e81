/** Which profile fields users may set, from configuration: an allow-list wins over a deny-list. */
export class ProfileFieldPolicy {
  constructor(
    readonly allowed: readonly string[] | undefined,
    readonly disallowed: readonly string[] | undefined,
  ) {}

  mayChange(field: string): boolean {
    if (this.allowed !== undefined) return this.allowed.includes(field);
    return !(this.disallowed ?? []).includes(field);
  }

  /** The `m.profile_fields` capability (spec capabilities.yaml): `allowed` wins, so only one is sent. */
  capability(): { enabled: true; allowed?: string[]; disallowed?: string[] } {
    if (this.allowed !== undefined) return { enabled: true, allowed: [...this.allowed] };
    if (this.disallowed !== undefined && this.disallowed.length > 0) return { enabled: true, disallowed: [...this.disallowed] };
    return { enabled: true };
  }
}
