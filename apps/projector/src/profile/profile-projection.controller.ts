import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { RecordBatch } from '@mx/event-log';
import { ProfileProjector } from './profile-projector.js';

/** Routes batches of the `profile` stream to the profile projection. */
@Controller()
export class ProfileProjectionController {
  constructor(private readonly projector: ProfileProjector) {}

  @EventPattern('profile')
  apply(@Payload() batch: RecordBatch): Promise<void> {
    return this.projector.applyBatch(batch);
  }
}
