/**
 * Composition root: load the validated config, build the components, export the stack outputs.
 */
import { loadConfig } from "./config";

const config = loadConfig();

/** Environment this stack deploys. */
export const environment = config.environment;
