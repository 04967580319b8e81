import { Injectable } from '@nestjs/common';

/** Readiness goes false as soon as shutdown begins, before anything stops. */
@Injectable()
export class LifecycleState {
  private drainingSince: number | undefined;

  beginDraining(): void {
    this.drainingSince ??= Date.now();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }
}
