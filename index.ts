/**
 * Composition root: load the validated config, build the components, export the stack outputs.
 * Data flows one way: config → components → outputs.
 */
import { loadConfig } from "./config";

const config = loadConfig();

/** Environment this stack deploys. */
export const environment = config.environment;

// <snowflake>
// </snowflake>

// <runner>
// </runner>

// <triggers>
// </triggers>

// <change-detection>
// </change-detection>

// <observability>
// </observability>

// <github>
// </github>
