import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { RecordBatch } from '@mx/event-log';
import { RoomProjector } from './room-projector.js';

/** Routes batches of the `membership` stream to the room projection. */
@Controller()
export class RoomProjectionController {
  constructor(private readonly projector: RoomProjector) {}

  @EventPattern('membership')
  apply(@Payload() batch: RecordBatch): Promise<void> {
    return this.projector.applyBatch(batch);
  }
}
