import 'reflect-metadata';
import { createHttpService, listen, loadConfigOrExit } from '@mx/http';
import { WriterModule } from './writer.module.js';
import { WRITER_DEFAULTS } from './writer.defaults.js';

const config = loadConfigOrExit(WRITER_DEFAULTS);
const app = await createHttpService(WriterModule, config);
await listen(app, config);
