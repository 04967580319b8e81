import 'reflect-metadata';
import { EVENT_LOG_CONSUMER_FACTORY, type EventLogConsumerFactory, EventLogTransport } from '@mx/event-log';
import { createHttpService, listen, loadConfigOrExit } from '@mx/http';
import { ConsumerReadinessProbe } from './consumer-readiness.probe.js';
import { PROJECTOR_DEFAULTS } from './projector.defaults.js';
import { ProjectorModule } from './projector.module.js';
import { ResumePositions } from './resume-positions.js';

const config = loadConfigOrExit(PROJECTOR_DEFAULTS);
const app = await createHttpService(ProjectorModule, config);
const consumer = app.get<EventLogConsumerFactory>(EVENT_LOG_CONSUMER_FACTORY)({
  groupId: config.projector.groupId,
  sessionTimeoutMs: config.projector.sessionTimeoutMs,
  heartbeatIntervalMs: Math.max(500, Math.floor(config.projector.sessionTimeoutMs / 10)),
  maxBytesPerPartition: 1024 * 1024,
});
// Consumption resumes where the projection stands (not where the group last committed): on every
// assignment the consumer seeks there, without awaiting the database.
const positions = app.get(ResumePositions);
await positions.load();
app.connectMicroservice({
  strategy: new EventLogTransport({
    consumer,
    streams: { profile: config.topics.profile, membership: config.topics.membership },
    resumeOffset: (topic, partition) => positions.resumeOffset(topic, partition),
  }),
});
await app.startAllMicroservices();
app.get(ConsumerReadinessProbe).watch(consumer);
await listen(app, config);
