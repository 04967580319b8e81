/**
 * Every port the integration tests listen on, as an offset from the run's port base (MX_TEST_PORT_BASE, 18000 by
 * default): the one registry, so that two test files, which run at the same time, never share a port. A file that
 * starts a process of its own takes its ports from here, never from a literal; test/unit/test-ports.test.ts checks
 * that no two entries share an offset and that all stay within the README's promise (base + 240).
 *
 * A broker started with startOwnBroker(name, offset) also listens on offset + 1 (its controller): that one is listed
 * too (`kafkaController`).
 */
export const PORT_OFFSETS = {
  /** The shared stack of test/support/global-setup.ts. */
  stack: { router: 8, writer: 101, syncApi: 102, projector: 103 },
  accounts: { tokenWriter: 121, disabledWriter: 122 },
  rooms: { writerB: 123 },
  scaleOut: { writerB: 141, projectorB: 142, syncApiB: 143 },
  replay: { writer: 151, projector: 152 },
  claimsStableNames: { syncApi: 160 },
  /** `unreachableBroker`: where nothing may listen (a broker address that must fail). */
  claimsQueryStringLogs: { writer: 161, syncApi: 162, writerWithoutBroker: 163, unreachableBroker: 164 },
  claimsBadConfig: { writer: 166, projector: 167, syncApi: 168, replay: 169 },
  claimsReadYourWritesTimeout: { writer: 170, projector: 175 },
  claimsNotifyReconnect: { postgres: 176, writer: 177, projector: 178, syncApi: 179 },
  brokerOutage: { kafka: 171, kafkaController: 172, writer: 173, projector: 174 },
  databaseOutage: { postgres: 181, writer: 182, projector: 183, syncApi: 184 },
  claimsProjectorConsumerRestart: { writer: 185, projector: 186 },
  abuseLimits: { writer: 191 },
  chaos: { kafka: 200, kafkaController: 201, writers: [202, 203], projectors: [204, 205, 206], syncApis: [207, 208] },
  syncAbuse: { syncApiA: 216, syncApiB: 217 },
  /** Answers from memory against answers from the database: a sync API that keeps recent changes and one that keeps none. */
  syncMemoryAnswers: { memory: 158, database: 159 },
  authAndFilterCaches: { syncApiB: 221, writerB: 222 },
  /** The writer's profile size cache: two writers of its own (a stale cache on one, a race between both). */
  writeSizeCache: { writerB: 120, writerC: 140 },
  routerCapacity: { router: 225, syncApi: 226 },
  gracefulShutdown: { writer: 227 },
  chartWiring: { router: 230, writer: 231, syncApi: 232, projector: 233 },
  /** The chart's companion-mode wiring: a router driven by the rendered Ingress/HTTPRoute, a Synapse of the test's own and the three services as the chart renders them. */
  chartWiringCompanion: { router: 153, synapse: 154, writer: 155, projector: 156, syncApi: 157 },
  routerErrors: { router: 236, closingUpstream: 237, silentUpstream: 238 },
  /** A Synapse of the test's own (test/support/synapse.ts) and the appservice the test plays, where Synapse sends to. */
  synapseAppservice: { synapse: 210, appservice: 211 },
  /** Companion mode: a Synapse of the test's own, and the writer (where Synapse sends transactions), projector and sync API of the test. */
  companionAppservice: { synapse: 212, writer: 213, projector: 214, syncApi: 215 },
  /** Companion mode's /sync: a Synapse of the test's own and a sync API in companion mode in front of it. */
  companionSync: { synapse: 218, syncApi: 219 },
  /** Companion mode's profile writes: a Synapse of the test's own, its appservice writer (where profile writes go), projector and sync API. */
  companionProfile: { synapse: 196, writer: 197, projector: 198, syncApi: 199 },
  /** Companion bootstrap and verify (ops companion-bootstrap / companion-verify): a Synapse of the test's own, its appservice writer (started late), projector; syncApi reserved. */
  companionBootstrap: { synapse: 104, writer: 105, projector: 106, syncApi: 107 },
  /** Companion mode through the router (deploy/local/router.sh, MX_MODE=companion): a Synapse, the three services and the router of the test's own. */
  companionRouter: { router: 110, synapse: 111, writer: 112, projector: 113, syncApi: 114 },
  /** matrix-js-sdk clients through the companion router only: a Synapse, the three services and the router of the test's own. */
  companionMatrixJsSdk: { router: 115, synapse: 116, writer: 117, projector: 118, syncApi: 119 },
  /** Companion mode's logout: a Synapse of the test's own, the writer that forwards logouts, two companion sync APIs, a second writer and a projector. */
  companionLogout: { synapse: 144, writer: 145, syncApiA: 146, syncApiB: 147, writerB: 148, projector: 149 },
  /** Companion mode's outages: a Synapse and a Kafka broker of the test's own (both stopped and started), and the three services. */
  companionOutages: { synapse: 124, writer: 125, projector: 126, syncApi: 127, kafka: 128, kafkaController: 129 },
  /** The MSC4429 behaviour table in companion mode: a Synapse of the test's own and the three services in companion mode. */
  companionMsc4429: { synapse: 130, writer: 131, projector: 132, syncApi: 133 },
  /** The browser test (headless Chromium): the page's static server, and a companion stack of its own (router, Synapse, the three services). */
  browser: { staticServer: 134, router: 135, synapse: 136, writer: 137, projector: 138, syncApi: 139 },
  /** Companion mode with the projection's database down: a PostgreSQL cluster of the test's own, a Synapse, a companion sync API. */
  companionDatabaseOutage: { postgres: 187, synapse: 188, syncApi: 189 },
} as const;

/** The README promises that tests listen on at most base + 240. */
export const MAX_PORT_OFFSET = 240;

/** Every registered offset with where it is used (`chaos.writers[1]`), for the uniqueness check. */
export function registeredPortOffsets(): { readonly use: string; readonly offset: number }[] {
  return Object.entries(PORT_OFFSETS).flatMap(([owner, uses]) =>
    Object.entries(uses).flatMap(([use, offsets]: [string, number | readonly number[]]) =>
      typeof offsets === 'number'
        ? [{ use: `${owner}.${use}`, offset: offsets }]
        : offsets.map((offset, index) => ({ use: `${owner}.${use}[${index}]`, offset })),
    ),
  );
}
