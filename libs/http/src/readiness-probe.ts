/** Something a service needs before it can take traffic (database, broker, …). */
export interface ReadinessProbe {
  readonly name: string;
  /** Resolves when ready; rejects (or throws) with the reason when not. */
  check(): Promise<void>;
}

/** Injection token: the ReadinessProbe[] of this service. */
export const READINESS_PROBES = Symbol('READINESS_PROBES');
