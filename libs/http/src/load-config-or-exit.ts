import { type AppConfig, ConfigValidationError, loadAppConfig, type ServiceDefaults } from '@mx/config';

/** Reads the configuration before anything starts; prints what is wrong and exits 78 (EX_CONFIG) on a bad value. */
export function loadConfigOrExit(defaults: ServiceDefaults): AppConfig {
  try {
    return loadAppConfig(process.env, defaults);
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}
